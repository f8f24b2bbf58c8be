// Step 5: labeling — mark where pods should go and where they must leave.
//
// Effect:
//   - booted nodes and kept nodes that receive moved pods get
//     kinema.io/iteration=<iteration> (replacing an earlier iteration's value:
//     labels never pile up);
//   - nodes to retire get kinema.io/retire=<iteration> and the NoSchedule
//     taint kinema.io/retire=<iteration>, so nothing new is scheduled there
//     (the original relied on preferred affinity alone, which the scheduler
//     may ignore). A node to retire that is gone, or that has been annotated
//     kinema.io/do-not-disrupt since the plan, is skipped and said so.
// Every write is a read-modify-write with conflict retries, and a no-op when
// the mark is already there: run and reconcile are the same procedure.
// Result: per node the marks set, the previous iteration label (to restore),
// and for retiring nodes their uid and providerID (drain-and-delete needs
// them after the Node is gone).
// Compensation: removes the retire label and taint, restores the previous
// iteration label (or removes it).
#include <spdlog/spdlog.h>

#include <map>
#include <set>

#include "engine/workflow/step_context.h"
#include "steps/rescheduling/execution.h"
#include "steps/rescheduling/events.h"
#include "steps/rescheduling/rescheduling_workflow.h"

namespace kinema::rescheduling {

namespace {

using nlohmann::json;

std::string LabelOf(const json& node, const char* key) {
  const json& labels = node["metadata"].value("labels", json::object());
  return labels.is_object() ? labels.value(key, "") : "";
}

StatusOr<json> LabelNodes(const ReschedulingDeps& deps, StepContext& ctx) {
  const json& opt = ctx.ResultOf("optimization");
  const json& boot = ctx.ResultOf("node-boot");
  if (!opt.is_object() || !opt.contains("plan")) {
    return Status::FailedPrecondition("labeling: the optimization step left no plan in the journal");
  }
  const json& plan = opt["plan"];
  const std::string iteration = IterationValue(ctx.workflow_id());
  // Facts recorded at the first intent win over what a later attempt sees
  // (by then the labels are ours).
  const json& earlier = ctx.IntentInput();
  json previous_labels = earlier.is_object() ? earlier.value("previousIterationLabels", json::object()) : json::object();

  // Where pods are now, to find the kept nodes that receive moved pods.
  auto pods = deps.kube->List(kube::resources::kPods, "");
  if (!pods.ok()) return pods.status().WithContext("labeling: list pods");
  std::map<std::string, std::string> current;
  for (const auto& p : pods->items) {
    current[p["metadata"].value("namespace", "") + "/" + p["metadata"].value("name", "")] =
        p.value("spec", json::object()).value("nodeName", "");
  }
  std::vector<std::string> targets = KeptNodesReceivingPods(plan, current);
  if (boot.is_object()) {
    for (const auto& b : boot.value("booted", json::array())) targets.push_back(b.value("node", ""));
  }

  json result = {{"iteration", iteration}, {"targets", json::array()}, {"retiring", json::array()},
                 {"skipped", json::array()}};
  for (const auto& name : targets) {
    KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    std::string before;
    auto updated = deps.kube->GetAndUpdate(kube::resources::kNodes, "", name, [&](json& node) -> Status {
      before = LabelOf(node, kIterationLabel);
      node["metadata"]["labels"][kIterationLabel] = iteration;
      return Status::OK();
    });
    if (!updated.ok()) {
      if (updated.status().code() == Status::Code::kNotFound) {
        result["skipped"].push_back({{"node", name}, {"why", "target node is gone"}});
        continue;
      }
      return updated.status().WithContext("labeling: label node " + name);
    }
    if (!previous_labels.contains(name)) previous_labels[name] = before == iteration ? "" : before;
    result["targets"].push_back({{"node", name}, {"previousIterationLabel", previous_labels[name]}});
  }

  for (const auto& name : RetiringNodesOf(plan)) {
    KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    std::string why_skip;
    json seen;
    auto updated = deps.kube->GetAndUpdate(kube::resources::kNodes, "", name, [&](json& node) -> Status {
      if (HasDoNotDisrupt(node) && LabelOf(node, kRetireLabel) != iteration) {
        why_skip = std::string("annotated ") + kDoNotDisrupt + " since the plan";
        return Status::Cancelled("skip");
      }
      node["metadata"]["labels"][kRetireLabel] = iteration;
      json& spec = node["spec"];
      if (!spec.is_object()) spec = json::object();
      spec["taints"] = TaintsWithRetire(spec.value("taints", json::array()), iteration);
      return Status::OK();
    });
    if (!why_skip.empty()) {
      spdlog::warn("workflow {}: not retiring node {}: {}", ctx.workflow_id(), name, why_skip);
      result["skipped"].push_back({{"node", name}, {"why", why_skip}});
      continue;
    }
    if (!updated.ok()) {
      if (updated.status().code() == Status::Code::kNotFound) {
        result["skipped"].push_back({{"node", name}, {"why", "node to retire is already gone"}});
        continue;
      }
      return updated.status().WithContext("labeling: taint node " + name);
    }
    const json& n = *updated;
    AnnounceEvent(deps, n, "Normal", "KinemaRetiring",
                  "retired by " + ctx.workflow_id() + ": tainted " + kRetireTaintKey + "=" + iteration +
                      ":NoSchedule; plan " + std::to_string(plan.value("costPerHourBefore", 0.0)) + " -> " +
                      std::to_string(plan.value("costPerHourAfter", 0.0)) + " $/h");
    result["retiring"].push_back({{"node", name},
                                  {"uid", n["metadata"].value("uid", "")},
                                  {"providerID", n.value("spec", json::object()).value("providerID", "")}});
  }
  spdlog::info("workflow {}: labelled {} target node(s) {}={}, tainted {} node(s) to retire, skipped {}",
               ctx.workflow_id(), result["targets"].size(), kIterationLabel, iteration, result["retiring"].size(),
               result["skipped"].size());
  return result;
}

Status Unlabel(const ReschedulingDeps& deps, StepContext& ctx, const json& result) {
  const std::string iteration = IterationValue(ctx.workflow_id());
  // Every node that may carry our marks: from the result, else from the
  // intent (an interrupted step), else the plan.
  std::map<std::string, std::string> previous;
  const json& intent = ctx.IntentInput();
  if (intent.is_object() && intent.contains("previousIterationLabels")) {
    const json& recorded = intent["previousIterationLabels"];
    for (auto it = recorded.begin(); it != recorded.end(); ++it) previous[it.key()] = it.value().get<std::string>();
  }
  if (result.is_object()) {
    for (const auto& t : result.value("targets", json::array())) {
      previous[t.value("node", "")] = t.value("previousIterationLabel", "");
    }
  }
  auto nodes = deps.kube->List(kube::resources::kNodes, "");
  if (!nodes.ok()) return nodes.status().WithContext("compensate labeling: list nodes");
  for (const auto& n : nodes->items) {
    std::string name = n["metadata"].value("name", "");
    bool ours_retire = LabelOf(n, kRetireLabel) == iteration;
    bool ours_target = LabelOf(n, kIterationLabel) == iteration;
    if (!ours_retire && !ours_target) continue;
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    auto updated = deps.kube->GetAndUpdate(kube::resources::kNodes, "", name, [&](json& node) -> Status {
      json& labels = node["metadata"]["labels"];
      if (labels.is_object() && labels.value(kRetireLabel, "") == iteration) {
        labels.erase(kRetireLabel);
        node["spec"]["taints"] = TaintsWithoutRetire(node["spec"].value("taints", json::array()));
      }
      if (labels.is_object() && labels.value(kIterationLabel, "") == iteration) {
        auto it = previous.find(name);
        if (it != previous.end() && !it->second.empty()) {
          labels[kIterationLabel] = it->second;
        } else {
          labels.erase(kIterationLabel);
        }
      }
      return Status::OK();
    });
    if (!updated.ok() && updated.status().code() != Status::Code::kNotFound) {
      return updated.status().WithContext("compensate labeling: node " + name);
    }
    spdlog::info("workflow {}: compensation removed this iteration's marks from node {}", ctx.workflow_id(), name);
  }
  return Status::OK();
}

}  // namespace

StepDefinition MakeLabelingStep(const ReschedulingDeps& deps) {
  StepDefinition s;
  s.name = "labeling";
  s.retry.max_attempts = 5;
  s.intent_input = [deps](StepContext& ctx) -> json {
    // Record the iteration labels the target nodes carry BEFORE we touch them
    // (kept from an earlier attempt's intent when there is one).
    const json& earlier = ctx.IntentInput();
    if (earlier.is_object() && earlier.contains("previousIterationLabels")) return earlier;
    json prev = json::object();
    auto nodes = deps.kube->List(kube::resources::kNodes, "");
    if (nodes.ok()) {
      for (const auto& n : nodes->items) {
        std::string v = LabelOf(n, kIterationLabel);
        if (!v.empty()) prev[n["metadata"].value("name", "")] = v;
      }
    }
    return json{{"previousIterationLabels", prev}};
  };
  s.run = [deps](StepContext& ctx) { return LabelNodes(deps, ctx); };
  s.reconcile = s.run;
  s.compensate = [deps](StepContext& ctx, const json& result) { return Unlabel(deps, ctx, result); };
  return s;
}

}  // namespace kinema::rescheduling
