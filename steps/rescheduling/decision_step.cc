// Step 3: decision — re-snapshot and Decide() (decision.h). Journals every
// number behind the verdict. discard/no_action complete the iteration; in
// dry-run mode "proceed" completes it with outcome dry_run. Journal-only:
// reconcile re-runs it.
#include <spdlog/spdlog.h>

#include "engine/budget/disruption_ledger.h"
#include "engine/kube/object.h"
#include "engine/snapshot/cluster_snapshot.h"
#include "engine/workflow/step_context.h"
#include "steps/rescheduling/decision.h"
#include "steps/execute/execution_deps.h"
#include "steps/rescheduling/events.h"
#include "steps/rescheduling/plan_execution.h"
#include "steps/rescheduling/rescheduling_workflow.h"

namespace kinema::rescheduling {

namespace {

// Asks the shared disruption ledger for everything the plan disrupts: the
// nodes it retires and the pods it moves (all or nothing). The rescheduling
// kind's own budget (decision.maxPodsMoved) is its eviction limit; a node
// being retired is emptied whole, so there is no per-node or per-namespace
// limit.
StatusOr<ClaimGrant> ClaimPlan(const ReschedulingDeps& deps, StepContext& ctx, const nlohmann::json& plan_json,
                               const ClusterSnapshot& snap) {
  auto plan = PlanFromJson(plan_json);
  if (!plan.ok()) return plan.status().WithContext("decision: journaled plan");
  std::map<std::string, std::string> current;
  for (const auto& item : snap.list["items"]) {
    if (item.value("kind", "") == "Pod") current[kube::obj::Key(item)] = kube::pod::NodeName(item);
  }
  ClaimRequest r;
  r.reason = "rescheduling";
  r.node_count = snap.nodes;
  r.retire = RetiringNodesOf(*plan);
  for (const auto& p : plan->placements) {
    auto it = current.find(p.pod);
    if (it != current.end() && it->second != p.node) r.pods.push_back({p.pod, it->second});
  }
  r.limits = EvictionLimits{-1, -1, deps.settings.decision.max_pods_moved};
  r.all_or_nothing = true;
  return ctx.Claim(r);
}

}  // namespace

StepDefinition MakeDecisionStep(const ReschedulingDeps& deps) {
  StepDefinition s;
  s.name = "decision";
  s.run = [deps](StepContext& ctx) -> StatusOr<nlohmann::json> {
    const nlohmann::json& opt = ctx.ResultOf("optimization");
    if (!opt.is_object() || !opt.contains("plan")) {
      return Status::FailedPrecondition("decision: the optimization step left no plan in the journal");
    }
    ClusterIdentity at_plan;
    for (const auto& n : opt["identity"].value("nodes", nlohmann::json::array())) at_plan.nodes.insert(n.get<std::string>());
    for (const auto& p : opt["identity"].value("pods", nlohmann::json::array())) at_plan.pods.insert(p.get<std::string>());
    auto snap = TakeClusterSnapshot(*deps.kube);
    if (!snap.ok()) return snap.status();
    DecisionOptions o;
    o.min_savings = deps.settings.decision.min_savings;
    o.max_change = deps.settings.decision.max_change;
    o.max_nodes_retired = deps.settings.decision.max_nodes_retired;
    o.max_pods_moved = deps.settings.decision.max_pods_moved;
    Decision d = Decide(opt["plan"], at_plan, IdentityOf(snap->items()), o);
    nlohmann::json out = d.ToJson();
    spdlog::info("workflow {}: decision {}: {}", ctx.workflow_id(), d.verdict, d.reason);
    if (d.verdict == "discard" || d.verdict == "no_action") {
      out["finishWorkflow"] = d.verdict == "discard" ? "discarded" : "no_action";
      execute::AnnounceEvent(deps.kube, ControllerLeaseRef(deps), "Normal", "KinemaPlanRejected",
                    ctx.workflow_id() + ": " + d.verdict + ": " + d.reason);
    } else if (deps.dry_run || ctx.workflow_input().value("dryRun", false)) {
      out["finishWorkflow"] = "dry_run";
      out["reason"] = "dry run: would proceed — " + d.reason;
    } else {
      auto grant = ClaimPlan(deps, ctx, opt["plan"], *snap);
      if (!grant.ok()) return grant.status();
      out["budget"] = grant->ToJson();
      if (!grant->complete()) {
        const Refusal& r = grant->refused.front();
        out["verdict"] = "no_action";
        out["finishWorkflow"] = "no_action";
        out["reason"] = "the shared disruption budget refused " + std::to_string(grant->refused.size()) +
                        " part(s) of the plan, e.g. " + r.item + ": " + r.why;
        spdlog::info("workflow {}: decision no_action: {}", ctx.workflow_id(), out["reason"].get<std::string>());
        execute::AnnounceEvent(deps.kube, ControllerLeaseRef(deps), "Normal", "KinemaPlanRejected",
                               ctx.workflow_id() + ": " + out["reason"].get<std::string>());
      }
    }
    return out;
  };
  s.reconcile = ReconcileByRerunning(s.run);
  s.journal_only = true;
  return s;
}

WorkflowType MakeReschedulingWorkflow(const ReschedulingDeps& deps) {
  execute::ExecutionDeps ex;
  ex.kube = deps.kube;
  ex.cloud = deps.cloud;
  ex.catalog = deps.catalog;
  ex.settings.boot_timeout = deps.settings.boot.timeout;
  ex.settings.boot_parallelism = deps.settings.boot.parallelism;
  ex.settings.rollout_max_concurrent = deps.settings.rollout.max_concurrent;
  ex.settings.rollout_timeout = deps.settings.rollout.timeout;
  ex.settings.drain_timeout = deps.settings.drain.timeout;
  ex.settings.zones = deps.config.cloud.zones;
  ex.settings.instance_prefix = deps.config.cloud.instance_prefix;
  ex.settings.disruption_reason = "rescheduling";
  WorkflowType t;
  t.name = kWorkflowType;
  t.steps = {MakeStabilityWaitStep(deps),
             MakePredictionStep(deps),
             MakeOptimizationStep(deps),
             MakeDecisionStep(deps),
             execute::MakeNodeBootStep(ex, BootInputFromPlan(deps)),
             execute::MakeLabelingStep(ex, MarkInputFromPlan(deps)),
             execute::MakeDeploymentPatchStep(ex, MoveInputFromMarks()),
             execute::MakeDrainDeleteStep(ex, RetireInputFromMarks())};
  return t;
}

}  // namespace kinema::rescheduling
