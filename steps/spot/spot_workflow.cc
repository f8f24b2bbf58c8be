#include "steps/spot/spot_workflow.h"

#include <set>

#include "engine/workflow/step_context.h"
#include "engine/workflow/typed_result.h"
#include "steps/execute/node_marking.h"
#include "steps/execute/workload_move.h"

namespace kinema::spot {

namespace {

execute::MarkInput MarkInputFromClaim() {
  return [](StepContext& ctx) -> StatusOr<execute::MarkRequest> {
    auto claim = ResultAs<ClaimResult>(ctx, kClaimStep);
    if (!claim.ok()) return claim.status();
    auto plan = ResultAs<PlanStepResult>(ctx, kPlanStep);
    if (!plan.ok()) return plan.status();
    execute::MarkRequest req;
    req.retiring = claim->granted;
    std::set<std::string> targets;
    for (const auto& name : claim->granted) {
      if (const PlannedNode* n = plan->plan.Find(name)) {
        for (const auto& p : n->placements) targets.insert(p.to);
      }
    }
    req.targets.assign(targets.begin(), targets.end());
    req.note = "spot rescheduling: its pods fit on spot capacity";
    return req;
  };
}

execute::MoveInput MoveInputFromRecheck() {
  return [](StepContext& ctx) -> StatusOr<execute::MoveRequest> {
    auto r = ResultAs<RecheckResult>(ctx, kRecheckStep);
    if (!r.ok()) return r.status();
    execute::MoveRequest req;
    for (const auto& n : r->proceed) req.retiring_nodes.push_back(n.node);
    return req;
  };
}

execute::RetireInput RetireInputFromRecheck(const SpotDeps& deps) {
  bool del = deps.settings.DeleteAfterDrain();
  execute::DrainRecheck recheck = MakeDrainRecheck(deps);
  return [del, recheck](StepContext& ctx) -> StatusOr<execute::RetireRequest> {
    auto r = ResultAs<RecheckResult>(ctx, kRecheckStep);
    if (!r.ok()) return r.status();
    execute::RetireRequest req;
    req.nodes = r->proceed;
    req.delete_after_drain = del;
    req.before_evict = recheck;
    return req;
  };
}

}  // namespace

WorkflowType MakeSpotWorkflow(const SpotDeps& deps) {
  execute::ExecutionDeps ex;
  ex.kube = deps.kube;
  ex.cloud = deps.cloud;
  ex.catalog = deps.catalog;
  ex.settings.drain_timeout = deps.settings.drain_timeout;
  ex.settings.rollout_timeout = deps.settings.rollout_timeout;
  ex.settings.rollout_max_concurrent = deps.settings.rollout_max_concurrent;
  ex.settings.zones = deps.config.cloud.zones;
  ex.settings.instance_prefix = deps.config.cloud.instance_prefix;
  ex.settings.disruption_reason = kDisruptionReason;
  WorkflowType t;
  t.name = kWorkflowType;
  t.steps = {MakePlanStep(deps),
             MakeTaintStep(deps),
             MakeClaimStep(deps),
             execute::MakeLabelingStep(ex, MarkInputFromClaim()),
             MakeRecheckStep(deps),
             execute::MakeDeploymentPatchStep(ex, MoveInputFromRecheck()),
             execute::MakeDrainDeleteStep(ex, RetireInputFromRecheck(deps)),
             MakeReleaseStep(deps)};
  return t;
}

}  // namespace kinema::spot
