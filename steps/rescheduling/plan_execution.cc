#include "steps/rescheduling/plan_execution.h"

#include <set>

#include "engine/kube/object.h"
#include "engine/workflow/step_context.h"
#include "engine/workflow/typed_result.h"
#include "steps/rescheduling/optimization_result.h"

namespace kinema::rescheduling {

std::vector<execute::BootTarget> BootTargetsOf(const Plan& plan, const std::string& workflow_id,
                                               const std::string& prefix) {
  std::vector<execute::BootTarget> out;
  for (const auto& n : plan.nodes) {
    if (n.action != NodeAction::kBoot) continue;
    out.push_back({n.name, execute::BootInstanceName(prefix, workflow_id, n.name), n.machine_type, n.zone,
                   CapacityTypeName(n.capacity_type)});
  }
  return out;
}

std::vector<std::string> RetiringNodesOf(const Plan& plan) {
  std::vector<std::string> out;
  for (const auto& n : plan.nodes) {
    if (n.action == NodeAction::kRetire) out.push_back(n.name);
  }
  return out;
}

std::vector<std::string> KeptNodesReceivingPods(const Plan& plan, const std::map<std::string, std::string>& current_node) {
  std::set<std::string> kept;
  for (const auto& n : plan.nodes) {
    if (n.action == NodeAction::kKeep) kept.insert(n.name);
  }
  std::set<std::string> receiving;
  for (const auto& p : plan.placements) {
    auto cur = current_node.find(p.pod);
    if (kept.count(p.node) && cur != current_node.end() && cur->second != p.node) receiving.insert(p.node);
  }
  return {receiving.begin(), receiving.end()};
}

StatusOr<Plan> JournaledPlan(const StepContext& ctx) {
  auto r = ResultAs<OptimizationResult>(ctx, kOptimizationStep);
  if (!r.ok()) return r.status();
  if (!r->plan) return Status::FailedPrecondition(ctx.step_name() + ": the optimization step left no plan in the journal");
  return *r->plan;
}

execute::BootInput BootInputFromPlan(const ReschedulingDeps& deps) {
  std::string prefix = deps.config.cloud.instance_prefix;
  return [prefix](StepContext& ctx) -> StatusOr<execute::BootRequest> {
    auto plan = JournaledPlan(ctx);
    if (!plan.ok()) return plan.status();
    return execute::BootRequest{BootTargetsOf(*plan, ctx.workflow_id(), prefix)};
  };
}

execute::MarkInput MarkInputFromPlan(const ReschedulingDeps& deps) {
  kube::Client* kube = deps.kube;
  return [kube](StepContext& ctx) -> StatusOr<execute::MarkRequest> {
    auto plan = JournaledPlan(ctx);
    if (!plan.ok()) return plan.status();
    auto boot = ResultAs<execute::BootResult>(ctx, execute::kNodeBootStep);
    if (!boot.ok()) return boot.status();
    // Where pods are now, to find the kept nodes that receive moved pods.
    auto pods = kube->List(kube::resources::kPods, "");
    if (!pods.ok()) return pods.status().WithContext("labeling: list pods");
    std::map<std::string, std::string> current;
    for (const auto& p : pods->items) current[kube::obj::Key(p)] = kube::pod::NodeName(p);
    execute::MarkRequest req;
    req.targets = KeptNodesReceivingPods(*plan, current);
    for (const auto& b : boot->booted) req.targets.push_back(b.node);
    req.retiring = RetiringNodesOf(*plan);
    req.note = "plan " + std::to_string(plan->cost_before) + " -> " + std::to_string(plan->cost_after) + " $/h";
    return req;
  };
}

std::map<std::string, std::string> PlacementsOnRealNodes(const Plan& plan, const execute::BootResult& boot) {
  std::map<std::string, std::string> booted;
  for (const auto& b : boot.booted) booted[b.planned] = b.node;
  std::set<std::string> planned_boots;
  for (const auto& n : plan.nodes) {
    if (n.action == NodeAction::kBoot) planned_boots.insert(n.name);
  }
  std::map<std::string, std::string> out;
  for (const auto& p : plan.placements) {
    if (!planned_boots.count(p.node)) {
      out[p.pod] = p.node;
    } else if (auto it = booted.find(p.node); it != booted.end()) {
      out[p.pod] = it->second;
    }
  }
  return out;
}

execute::MoveInput MoveInputFromPlan() {
  return [](StepContext& ctx) -> StatusOr<execute::MoveRequest> {
    auto marks = ResultAs<execute::MarkResult>(ctx, execute::kLabelingStep);
    if (!marks.ok()) return marks.status();
    auto plan = JournaledPlan(ctx);
    if (!plan.ok()) return plan.status();
    auto boot = ResultAs<execute::BootResult>(ctx, execute::kNodeBootStep);
    if (!boot.ok()) return boot.status();
    execute::MoveRequest req;
    for (const auto& r : marks->retiring) req.retiring_nodes.push_back(r.node);
    req.placements = PlacementsOnRealNodes(*plan, *boot);
    return req;
  };
}

execute::RetireInput RetireInputFromMarks() {
  return [](StepContext& ctx) -> StatusOr<execute::RetireRequest> {
    auto marks = ResultAs<execute::MarkResult>(ctx, execute::kLabelingStep);
    if (!marks.ok()) return marks.status();
    return execute::RetireRequest{marks->retiring, /*delete_after_drain=*/true};
  };
}

}  // namespace kinema::rescheduling
