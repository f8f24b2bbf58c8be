#include "steps/spot/spot_workflow.h"

#include <algorithm>
#include <map>
#include <set>

#include "engine/workflow/step_context.h"
#include "engine/workflow/typed_result.h"
#include "steps/execute/node_boot.h"
#include "steps/execute/node_marking.h"
#include "steps/execute/workload_move.h"

namespace kinema::spot {

namespace {

// spot.bootSpot: the planned spot node, once its on-demand node was granted.
execute::BootInput BootInputFromClaim(const SpotDeps& deps) {
  const std::string prefix = deps.config.cloud.instance_prefix;
  return [prefix](StepContext& ctx) -> StatusOr<execute::BootRequest> {
    auto claim = ResultAs<ClaimResult>(ctx, kClaimStep);
    if (!claim.ok()) return claim.status();
    auto plan = ResultAs<PlanStepResult>(ctx, kPlanStep);
    if (!plan.ok()) return plan.status();
    return BootRequestFor(plan->plan, claim->granted, prefix, ctx.workflow_id());
  };
}

execute::MarkInput MarkInputFromClaim() {
  return [](StepContext& ctx) -> StatusOr<execute::MarkRequest> {
    auto claim = ResultAs<ClaimResult>(ctx, kClaimStep);
    if (!claim.ok()) return claim.status();
    auto plan = ResultAs<PlanStepResult>(ctx, kPlanStep);
    if (!plan.ok()) return plan.status();
    auto booted = ResultAs<execute::BootResult>(ctx, execute::kNodeBootStep);
    if (!booted.ok()) return booted.status();
    std::map<std::string, std::string> real;  // planned -> Node name
    for (const auto& b : booted->booted) real[b.planned] = b.node;
    execute::MarkRequest req;
    req.retiring = claim->granted;
    std::set<std::string> targets;
    for (const auto& name : claim->granted) {
      if (const PlannedNode* n = plan->plan.Find(name)) {
        for (const auto& p : n->placements) {
          auto it = real.find(p.to);
          targets.insert(it != real.end() ? it->second : p.to);
        }
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
    req.evict_others = false;  // evicted by the drain, re-checked before each eviction
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

execute::BootRequest BootRequestFor(const SpotPlan& plan, const std::vector<std::string>& granted,
                                    const std::string& instance_prefix, const std::string& workflow_id) {
  execute::BootRequest req;
  if (!plan.boot || std::find(granted.begin(), granted.end(), plan.boot->node) == granted.end()) return req;
  execute::BootTarget t;
  t.planned = kBootPlannedName;
  t.instance_name = execute::BootInstanceName(instance_prefix, workflow_id, kBootPlannedName);
  t.machine_type = plan.boot->machine_type;
  t.zone = plan.boot->zone;
  t.capacity = "spot";
  req.targets.push_back(std::move(t));
  return req;
}

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
  ex.settings.room_hold_namespace = deps.config.leader_election.namespace_;
  ex.settings.disruption_reason = kDisruptionReason;
  ex.settings.boot_timeout = deps.settings.boot_timeout;
  WorkflowType t;
  t.name = kWorkflowType;
  t.steps = {MakePlanStep(deps),
             MakeTaintStep(deps),
             MakeClaimStep(deps),
             execute::MakeNodeBootStep(ex, BootInputFromClaim(deps)),
             execute::MakeLabelingStep(ex, MarkInputFromClaim()),
             MakeRecheckStep(deps),
             execute::MakeDeploymentPatchStep(ex, MoveInputFromRecheck()),
             execute::MakeDrainDeleteStep(ex, RetireInputFromRecheck(deps)),
             MakeReleaseStep(deps)};
  return t;
}

}  // namespace kinema::spot
