#include "steps/spot/spot_workflow.h"

#include "engine/workflow/step_context.h"
#include "engine/workflow/typed_result.h"
#include "steps/execute/node_marking.h"

namespace kinema::spot {

namespace {

execute::MarkInput MarkInputFromClaim() {
  return [](StepContext& ctx) -> StatusOr<execute::MarkRequest> {
    auto claim = ResultAs<ClaimResult>(ctx, kClaimStep);
    if (!claim.ok()) return claim.status();
    execute::MarkRequest req;
    req.retiring = claim->granted;
    req.note = "spot rescheduling: its pods fit on spot capacity";
    return req;
  };
}

execute::RetireInput RetireInputFromMarks(const SpotDeps& deps) {
  bool del = deps.settings.DeleteAfterDrain();
  execute::DrainRecheck recheck = MakeDrainRecheck(deps);
  return [del, recheck](StepContext& ctx) -> StatusOr<execute::RetireRequest> {
    auto marks = ResultAs<execute::MarkResult>(ctx, execute::kLabelingStep);
    if (!marks.ok()) return marks.status();
    execute::RetireRequest req;
    req.nodes = marks->retiring;
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
  ex.settings.zones = deps.config.cloud.zones;
  ex.settings.instance_prefix = deps.config.cloud.instance_prefix;
  ex.settings.disruption_reason = kDisruptionReason;
  WorkflowType t;
  t.name = kWorkflowType;
  t.steps = {MakePlanStep(deps),
             MakeTaintStep(deps),
             MakeClaimStep(deps),
             execute::MakeLabelingStep(ex, MarkInputFromClaim()),
             execute::MakeDrainDeleteStep(ex, RetireInputFromMarks(deps)),
             MakeReleaseStep(deps)};
  return t;
}

}  // namespace kinema::spot
