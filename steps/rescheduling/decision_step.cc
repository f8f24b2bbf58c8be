// Step 3: decision — re-snapshot and Decide() (decision.h). Journals every
// number behind the verdict. discard/no_action complete the iteration; in
// dry-run mode "proceed" completes it with outcome dry_run. Journal-only:
// reconcile re-runs it.
#include <spdlog/spdlog.h>

#include "engine/snapshot/cluster_snapshot.h"
#include "engine/workflow/step_context.h"
#include "steps/rescheduling/decision.h"
#include "steps/rescheduling/events.h"
#include "steps/rescheduling/rescheduling_workflow.h"

namespace kinema::rescheduling {

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
    o.min_savings = deps.config.decision.min_savings;
    o.max_change = deps.config.decision.max_change;
    o.max_nodes_retired = deps.config.decision.max_nodes_retired;
    o.max_pods_moved = deps.config.decision.max_pods_moved;
    Decision d = Decide(opt["plan"], at_plan, IdentityOf(snap->items()), o);
    nlohmann::json out = d.ToJson();
    spdlog::info("workflow {}: decision {}: {}", ctx.workflow_id(), d.verdict, d.reason);
    if (d.verdict == "discard" || d.verdict == "no_action") {
      out["finishWorkflow"] = d.verdict == "discard" ? "discarded" : "no_action";
      AnnounceEvent(deps, ControllerLeaseRef(deps), "Normal", "KinemaPlanRejected",
                    ctx.workflow_id() + ": " + d.verdict + ": " + d.reason);
    } else if (deps.dry_run || ctx.workflow_input().value("dryRun", false)) {
      out["finishWorkflow"] = "dry_run";
      out["reason"] = "dry run: would proceed — " + d.reason;
    }
    return out;
  };
  s.reconcile = ReconcileByRerunning(s.run);
  return s;
}

WorkflowType MakeReschedulingWorkflow(const ReschedulingDeps& deps) {
  WorkflowType t;
  t.name = kWorkflowType;
  t.steps = {MakeStabilityWaitStep(deps), MakePredictionStep(deps), MakeOptimizationStep(deps),
             MakeDecisionStep(deps),     MakeNodeBootStep(deps),   MakeLabelingStep(deps),
             MakeDeploymentPatchStep(deps), MakeDrainDeleteStep(deps)};
  return t;
}

}  // namespace kinema::rescheduling
