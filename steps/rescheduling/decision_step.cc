// Step 3: decision — re-snapshot and Decide() (decision.h), not counting
// what Kinema's other workflows changed meanwhile. Journals every number
// behind the verdict. discard/no_action complete the iteration; in dry-run
// mode "proceed" completes it with outcome dry_run. Otherwise it claims the
// plan's retired nodes and moved pods from the shared disruption ledger (all
// or nothing; journaled before anything is touched). Journal-only: reconcile
// re-runs it, and re-claims are idempotent.
#include <spdlog/spdlog.h>

#include "engine/budget/disruption_ledger.h"
#include "engine/kube/object.h"
#include "engine/workflow/typed_result.h"
#include "engine/snapshot/cluster_snapshot.h"
#include "engine/workflow/step_context.h"
#include "steps/rescheduling/decision.h"
#include "steps/execute/execution_deps.h"
#include "steps/rescheduling/events.h"
#include "steps/rescheduling/optimization_result.h"
#include "steps/rescheduling/plan_execution.h"
#include "steps/rescheduling/rescheduling_workflow.h"

namespace kinema::rescheduling {

namespace {

// What the other Kinema workflows changed since the plan's snapshot: the
// nodes they retired or acted on and the pods they claimed (evictions,
// moves, resizes). Their boots are recognised by the instance prefix.
StatusOr<OwnChanges> OwnChangesSince(const ReschedulingDeps& deps, StepContext& ctx, int64_t since_ms) {
  OwnChanges own;
  own.new_node_prefix = deps.config.cloud.instance_prefix;
  auto others = ctx.OtherWorkflowsSince(since_ms);
  if (!others.ok()) return others.status();
  for (const auto& v : *others) {
    own.nodes.insert(v.holds.retiring.begin(), v.holds.retiring.end());
    own.nodes.insert(v.holds.nodes.begin(), v.holds.nodes.end());
    for (const auto& [key, node] : v.holds.pods) own.pod_keys.insert(key);
  }
  return own;
}

// Asks the shared disruption ledger for everything the plan disrupts: the
// nodes it retires and the pods it moves (all or nothing). The rescheduling
// kind's own budget (decision.maxPodsMoved) is its eviction limit; a node
// being retired is emptied whole, so there is no per-node or per-namespace
// limit.
StatusOr<ClaimGrant> ClaimPlan(const ReschedulingDeps& deps, StepContext& ctx, const OptimizationResult& r) {
  ClaimRequest req;
  req.reason = "rescheduling";
  req.node_count = r.snapshot_nodes;
  req.retire = RetiringNodesOf(*r.plan);
  for (const auto& m : r.moves) req.pods.push_back({m.pod, m.from});
  req.limits = EvictionLimits{-1, -1, deps.settings.decision.max_pods_moved};
  req.all_or_nothing = true;
  return ctx.Claim(req);
}

nlohmann::json Rejected(const ReschedulingDeps& deps, StepContext& ctx, nlohmann::json out, const std::string& outcome,
                        const std::string& reason) {
  out["finishWorkflow"] = outcome;
  out["reason"] = reason;
  execute::AnnounceEvent(deps.kube, ControllerLeaseRef(deps), "Normal", "KinemaPlanRejected",
                         ctx.workflow_id() + ": " + outcome + ": " + reason);
  return out;
}

}  // namespace

StepDefinition MakeDecisionStep(const ReschedulingDeps& deps) {
  StepDefinition s;
  s.name = "decision";
  s.run = [deps](StepContext& ctx) -> StatusOr<nlohmann::json> {
    auto r = ResultAs<OptimizationResult>(ctx, kOptimizationStep);
    if (!r.ok()) return r.status();
    if (!r->plan) return Status::FailedPrecondition("decision: the optimization step left no plan in the journal");
    auto snap = TakeClusterSnapshot(*deps.kube);
    if (!snap.ok()) return snap.status();
    auto own = OwnChangesSince(deps, ctx, r->snapshot_taken_ms);
    if (!own.ok()) return own.status();
    DecisionOptions o;
    o.min_savings = deps.settings.decision.min_savings;
    o.max_change = deps.settings.decision.max_change;
    Decision d = Decide(*r->plan, r->identity, IdentityOf(snap->items()), *own, o);
    nlohmann::json out = d.ToJson();
    spdlog::info("workflow {}: decision {}: {}", ctx.workflow_id(), d.verdict, d.reason);
    if (d.verdict == "discard" || d.verdict == "no_action") {
      return Rejected(deps, ctx, out, d.verdict == "discard" ? "discarded" : "no_action", d.reason);
    }
    if (deps.dry_run || ctx.workflow_input().value("dryRun", false)) {
      out["finishWorkflow"] = "dry_run";
      out["reason"] = "dry run: would proceed — " + d.reason;
      return out;
    }
    auto grant = ClaimPlan(deps, ctx, *r);
    if (!grant.ok()) return grant.status();
    out["budget"] = grant->ToJson();
    if (!grant->complete()) {
      const Refusal& x = grant->refused.front();
      out["verdict"] = "no_action";
      return Rejected(deps, ctx, out, "no_action",
                      "the shared disruption budget refused " + std::to_string(grant->refused.size()) +
                          " part(s) of the plan, e.g. " + x.item + ": " + x.why);
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
  ex.settings.rollout_stall_timeout = deps.settings.rollout.stall_timeout;
  ex.settings.room_hold_share = deps.settings.rollout.hold_room_share;
  ex.settings.move_limit = deps.settings.decision.max_pods_moved;
  ex.settings.drain_timeout = deps.settings.drain.timeout;
  ex.settings.zones = deps.config.cloud.zones;
  ex.settings.instance_prefix = deps.config.cloud.instance_prefix;
  ex.settings.room_hold_namespace = deps.config.leader_election.namespace_;
  ex.settings.disruption_reason = "rescheduling";
  WorkflowType t;
  t.name = kWorkflowType;
  t.steps = {MakeStabilityWaitStep(deps),
             MakePredictionStep(deps),
             MakeOptimizationStep(deps),
             MakeDecisionStep(deps),
             execute::MakeNodeBootStep(ex, BootInputFromPlan(deps)),
             execute::MakeLabelingStep(ex, MarkInputFromPlan(deps)),
             execute::MakeDeploymentPatchStep(ex, MoveInputFromPlan()),
             execute::MakeDrainDeleteStep(ex, RetireInputFromMarks())};
  return t;
}

}  // namespace kinema::rescheduling
