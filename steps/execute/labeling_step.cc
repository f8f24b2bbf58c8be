// Node marking: the effects (see node_marking.h for the contract).
#include <spdlog/spdlog.h>

#include <map>
#include <set>

#include "engine/kube/object.h"
#include "engine/workflow/step_context.h"
#include "engine/workflow/typed_result.h"
#include "steps/execute/disruption_policy.h"
#include "steps/execute/marks.h"
#include "steps/execute/node_marking.h"

namespace kinema::execute {

using nlohmann::json;

json MarkResult::ToJson() const {
  json t = json::array(), r = json::array(), s = json::array();
  for (const auto& x : targets) t.push_back({{"node", x.node}, {"previousIterationLabel", x.previous_label}});
  for (const auto& x : retiring) r.push_back({{"node", x.node}, {"uid", x.uid}, {"providerID", x.provider_id}});
  for (const auto& x : skipped) s.push_back({{"node", x.node}, {"why", x.why}});
  return {{"iteration", iteration}, {"targets", t}, {"retiring", r}, {"skipped", s}};
}

StatusOr<MarkResult> MarkResult::FromJson(const json& j) {
  return DecodeJson<MarkResult>("labeling result", [&]() -> StatusOr<MarkResult> {
    MarkResult m;
    m.iteration = j.value("iteration", std::string());
    for (const auto& x : j.value("targets", json::array())) {
      m.targets.push_back({x.at("node").get<std::string>(), x.value("previousIterationLabel", std::string())});
    }
    for (const auto& x : j.value("retiring", json::array())) {
      m.retiring.push_back({x.at("node").get<std::string>(), x.value("uid", std::string()),
                            x.value("providerID", std::string())});
    }
    for (const auto& x : j.value("skipped", json::array())) {
      m.skipped.push_back({x.at("node").get<std::string>(), x.value("why", std::string())});
    }
    return m;
  });
}

namespace {

constexpr const char* kPreviousLabels = "previousIterationLabels";

// The iteration labels recorded at the first intent (facts recorded before
// the first write win over what a later attempt sees: by then they are ours).
std::map<std::string, std::string> RecordedPreviousLabels(StepContext& ctx) {
  std::map<std::string, std::string> out;
  const json& intent = ctx.IntentInput();
  if (!intent.is_object() || !intent.contains(kPreviousLabels) || !intent[kPreviousLabels].is_object()) return out;
  for (const auto& [node, value] : intent[kPreviousLabels].items()) {
    if (value.is_string()) out[node] = value.get<std::string>();
  }
  return out;
}

Status LabelTargets(const ExecutionDeps& deps, StepContext& ctx, const MarkRequest& req, const std::string& iteration,
                    MarkResult* result) {
  std::map<std::string, std::string> previous = RecordedPreviousLabels(ctx);
  for (const auto& name : req.targets) {
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
        result->skipped.push_back({name, "target node is gone"});
        continue;
      }
      return updated.status().WithContext("labeling: label node " + name);
    }
    if (!previous.count(name)) previous[name] = before == iteration ? "" : before;
    result->targets.push_back({name, previous[name]});
  }
  return Status::OK();
}

// The nodes to retire this workflow holds in the shared ledger, claiming
// the ones it does not hold yet; the others are skipped with the reason.
StatusOr<std::vector<std::string>> HeldForRetirement(const ExecutionDeps& deps, StepContext& ctx,
                                                     const std::vector<std::string>& wanted, MarkResult* result) {
  if (ctx.ledger_options() == nullptr || deps.settings.disruption_reason.empty()) return wanted;
  auto holds = ctx.Holds();
  if (!holds.ok()) return holds.status();
  std::vector<std::string> missing;
  for (const auto& n : wanted) {
    if (!holds->retiring.count(n)) missing.push_back(n);
  }
  if (missing.empty()) return wanted;
  int64_t node_count = holds->node_count;
  if (node_count == 0) {
    auto nodes = deps.kube->List(kube::resources::kNodes, "");
    if (!nodes.ok()) return nodes.status().WithContext("labeling: count nodes for the disruption budget");
    node_count = static_cast<int64_t>(nodes->items.size());
  }
  ClaimRequest r;
  r.reason = deps.settings.disruption_reason;
  r.node_count = node_count;
  r.retire = missing;
  auto grant = ctx.Claim(r);
  if (!grant.ok()) return grant.status();
  for (const auto& refusal : grant->refused) {
    result->skipped.push_back({refusal.item, "disruption budget: " + refusal.why});
  }
  std::set<std::string> ok(grant->retire.begin(), grant->retire.end());
  for (const auto& n : wanted) {
    if (holds->retiring.count(n)) ok.insert(n);
  }
  std::vector<std::string> out;
  for (const auto& n : wanted) {
    if (ok.count(n)) out.push_back(n);
  }
  return out;
}

Status TaintRetiring(const ExecutionDeps& deps, StepContext& ctx, const MarkRequest& req, const std::string& iteration,
                     MarkResult* result) {
  auto held = HeldForRetirement(deps, ctx, req.retiring, result);
  if (!held.ok()) return held.status();
  for (const auto& name : *held) {
    KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    std::string why_skip;
    auto updated = deps.kube->GetAndUpdate(kube::resources::kNodes, "", name, [&](json& node) -> Status {
      std::string protect = DoNotDisruptReason(node, NowMs());
      if (!protect.empty() && LabelOf(node, kRetireLabel) != iteration) {
        why_skip = protect + " since the plan";
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
      result->skipped.push_back({name, why_skip});
      continue;
    }
    if (!updated.ok()) {
      if (updated.status().code() == Status::Code::kNotFound) {
        result->skipped.push_back({name, "node to retire is already gone"});
        continue;
      }
      return updated.status().WithContext("labeling: taint node " + name);
    }
    AnnounceEvent(deps.kube, *updated, "Normal", "KinemaRetiring",
                  "retired by " + ctx.workflow_id() + ": tainted " + kRetireTaintKey + "=" + iteration +
                      ":NoSchedule" + (req.note.empty() ? "" : "; " + req.note));
    result->retiring.push_back({name, kube::obj::Uid(*updated), kube::node::ProviderId(*updated)});
  }
  return Status::OK();
}

StatusOr<json> MarkNodes(const ExecutionDeps& deps, const MarkInput& input, StepContext& ctx) {
  auto req = input(ctx);
  if (!req.ok()) return req.status();
  MarkResult result;
  result.iteration = IterationValue(ctx.workflow_id());
  KINEMA_RETURN_IF_ERROR(LabelTargets(deps, ctx, *req, result.iteration, &result));
  KINEMA_RETURN_IF_ERROR(TaintRetiring(deps, ctx, *req, result.iteration, &result));
  spdlog::info("workflow {}: labelled {} target node(s) {}={}, tainted {} node(s) to retire, skipped {}",
               ctx.workflow_id(), result.targets.size(), kIterationLabel, result.iteration, result.retiring.size(),
               result.skipped.size());
  return result.ToJson();
}

Status Unmark(const ExecutionDeps& deps, StepContext& ctx, const json& result_json) {
  const std::string iteration = IterationValue(ctx.workflow_id());
  // Every node that may carry our marks: from the result, else from the
  // intent (an interrupted step).
  std::map<std::string, std::string> previous = RecordedPreviousLabels(ctx);
  if (auto result = MarkResult::FromJson(result_json); result.ok()) {
    for (const auto& t : result->targets) previous[t.node] = t.previous_label;
  }
  auto nodes = deps.kube->List(kube::resources::kNodes, "");
  if (!nodes.ok()) return nodes.status().WithContext("compensate labeling: list nodes");
  for (const auto& n : nodes->items) {
    std::string name = kube::obj::Name(n);
    if (LabelOf(n, kRetireLabel) != iteration && LabelOf(n, kIterationLabel) != iteration) continue;
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    auto updated = deps.kube->GetAndUpdate(kube::resources::kNodes, "", name, [&](json& node) -> Status {
      json& labels = node["metadata"]["labels"];
      if (labels.is_object() && LabelOf(node, kRetireLabel) == iteration) {
        labels.erase(kRetireLabel);
        node["spec"]["taints"] = TaintsWithoutRetire(node["spec"].value("taints", json::array()));
      }
      if (labels.is_object() && LabelOf(node, kIterationLabel) == iteration) {
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
    spdlog::info("workflow {}: compensation removed this workflow's marks from node {}", ctx.workflow_id(), name);
  }
  return Status::OK();
}

}  // namespace

StepDefinition MakeLabelingStep(const ExecutionDeps& deps, MarkInput input) {
  StepDefinition s;
  s.name = kLabelingStep;
  s.retry.max_attempts = 5;
  s.intent_input = [deps](StepContext& ctx) -> json {
    // Record the iteration labels the nodes carry BEFORE we touch them (kept
    // from an earlier attempt's intent when there is one).
    const json& earlier = ctx.IntentInput();
    if (earlier.is_object() && earlier.contains(kPreviousLabels)) return earlier;
    json prev = json::object();
    auto nodes = deps.kube->List(kube::resources::kNodes, "");
    if (nodes.ok()) {
      for (const auto& n : nodes->items) {
        std::string v = LabelOf(n, kIterationLabel);
        if (!v.empty()) prev[kube::obj::Name(n)] = v;
      }
    }
    return json{{kPreviousLabels, prev}};
  };
  s.run = [deps, input](StepContext& ctx) { return MarkNodes(deps, input, ctx); };
  s.reconcile = s.run;
  s.compensate = [deps](StepContext& ctx, const json& result) { return Unmark(deps, ctx, result); };
  return s;
}

}  // namespace kinema::execute
