// on-demand-taint: keeps kinema.io/on-demand=true:PreferNoSchedule on the
// plan's on-demand nodes and off every other node (spot_workflow.h).
// Intent input: the planned changes {"add": [...], "remove": [...]} (first
// facts win across attempts), so compensation knows what this step added.
// Run and reconcile are the same procedure: each write is a no-op when the
// node is already as wanted.
#include <spdlog/spdlog.h>

#include <set>

#include "engine/kube/object.h"
#include "engine/workflow/step_context.h"
#include "engine/workflow/typed_result.h"
#include "steps/execute/execution_deps.h"
#include "steps/spot/on_demand_taint.h"
#include "steps/spot/spot_workflow.h"

namespace kinema::spot {

using nlohmann::json;

namespace {

enum class Want { kTaint, kUntaint };

json TaintsOf(const json& node) {
  if (!node.is_object() || !node.contains("spec") || !node["spec"].is_object()) return json::array();
  const json& t = node["spec"].value("taints", json::array());
  return t.is_array() ? t : json::array();
}

// Sets or removes the taint on `name`; *changed tells whether a write
// happened; NotFound when the node is gone.
Status Apply(const SpotDeps& deps, StepContext& ctx, const std::string& name, Want want, bool* changed) {
  *changed = false;
  KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
  auto updated = deps.kube->GetAndUpdate(kube::resources::kNodes, "", name, [&](json& node) -> Status {
    json& spec = node["spec"];
    if (!spec.is_object()) spec = json::object();
    json taints = TaintsOf(node);
    if (want == Want::kTaint && HasOnDemandTaint(taints)) return Status::Cancelled("unchanged");
    if (want == Want::kUntaint && TaintsWithoutOnDemand(taints).size() == taints.size()) {
      return Status::Cancelled("unchanged");
    }
    spec["taints"] = want == Want::kTaint ? TaintsWithOnDemand(taints) : TaintsWithoutOnDemand(taints);
    return Status::OK();
  });
  if (updated.ok()) {
    *changed = true;
    return Status::OK();
  }
  if (updated.status().code() == Status::Code::kCancelled) return Status::OK();
  return updated.status();
}

// What the step will change: on-demand nodes without the taint get it; the
// others lose it (all nodes lose it when taintOnDemand is off).
StatusOr<json> PlannedChanges(const SpotDeps& deps, StepContext& ctx) {
  const json& earlier = ctx.IntentInput();
  if (earlier.is_object() && earlier.contains("add")) return earlier;
  auto plan = ResultAs<PlanStepResult>(ctx, kPlanStep);
  if (!plan.ok()) return plan.status();
  std::set<std::string> on_demand;
  for (const auto& n : plan->plan.OnDemandNodes()) on_demand.insert(n);
  auto nodes = deps.kube->List(kube::resources::kNodes, "");
  if (!nodes.ok()) return nodes.status().WithContext("on-demand-taint: list nodes");
  json add = json::array(), remove = json::array();
  for (const auto& n : nodes->items) {
    std::string name = kube::obj::Name(n);
    json taints = TaintsOf(n);
    bool carries = TaintsWithoutOnDemand(taints).size() != taints.size();
    bool want = deps.settings.taint_on_demand && on_demand.count(name) > 0;
    if (want && !HasOnDemandTaint(taints)) add.push_back(name);
    if (!want && carries) remove.push_back(name);
  }
  return json{{"add", add}, {"remove", remove}};
}

StatusOr<json> Run(const SpotDeps& deps, StepContext& ctx) {
  auto changes = PlannedChanges(deps, ctx);
  if (!changes.ok()) return changes.status();
  TaintResult r;
  for (Want want : {Want::kTaint, Want::kUntaint}) {
    for (const auto& n : (*changes)[want == Want::kTaint ? "add" : "remove"]) {
      KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
      std::string name = n.get<std::string>();
      bool changed = false;
      Status st = Apply(deps, ctx, name, want, &changed);
      if (st.code() == Status::Code::kNotFound) {
        r.gone.push_back(name);
        continue;
      }
      if (!st.ok()) return st.WithContext("on-demand-taint: node " + name);
      // Reported whether this attempt or an interrupted earlier one wrote it.
      (want == Want::kTaint ? r.tainted : r.untainted).push_back(name);
      if (changed) {
        spdlog::info("workflow {}: {} {}=true:PreferNoSchedule on node {}", ctx.workflow_id(),
                     want == Want::kTaint ? "added" : "removed", kOnDemandTaintKey, name);
      }
    }
  }
  return r.ToJson();
}

// Abort: the taints this step added go again (those it removed stay
// removed: they were not Kinema's to keep).
Status Compensate(const SpotDeps& deps, StepContext& ctx) {
  const json& intent = ctx.IntentInput();
  if (!intent.is_object() || !intent.contains("add")) return Status::OK();
  for (const auto& n : intent["add"]) {
    if (!n.is_string()) continue;
    bool changed = false;
    Status st = Apply(deps, ctx, n.get<std::string>(), Want::kUntaint, &changed);
    if (!st.ok() && st.code() != Status::Code::kNotFound) {
      return st.WithContext("compensate on-demand-taint: node " + n.get<std::string>());
    }
  }
  return Status::OK();
}

}  // namespace

StepDefinition MakeTaintStep(const SpotDeps& deps) {
  StepDefinition s;
  s.name = kTaintStep;
  s.retry.max_attempts = 5;
  s.intent_input = [deps](StepContext& ctx) -> json {
    auto changes = PlannedChanges(deps, ctx);
    return changes.ok() ? *changes : json{{"error", changes.status().ToString()}};
  };
  s.run = [deps](StepContext& ctx) { return Run(deps, ctx); };
  s.reconcile = s.run;
  s.compensate = [deps](StepContext& ctx, const json&) { return Compensate(deps, ctx); };
  return s;
}

}  // namespace kinema::spot
