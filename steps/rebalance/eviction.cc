#include "steps/rebalance/eviction.h"

#include "engine/kube/object.h"
#include "engine/workflow/typed_result.h"

namespace kinema::rebalance {

using nlohmann::json;

const char* EvictionOutcomeName(EvictionOutcome o) {
  switch (o) {
    case EvictionOutcome::kEvicted: return "evicted";
    case EvictionOutcome::kInBackground: return "in-background";
    case EvictionOutcome::kMigrated: return "migrated";
    case EvictionOutcome::kRefused: return "refused";
    case EvictionOutcome::kGone: return "gone";
    case EvictionOutcome::kTimedOut: return "timed-out";
  }
  return "refused";
}

StatusOr<EvictionOutcome> ParseEvictionOutcome(const std::string& s) {
  for (auto o : {EvictionOutcome::kEvicted, EvictionOutcome::kInBackground, EvictionOutcome::kMigrated,
                 EvictionOutcome::kRefused, EvictionOutcome::kGone, EvictionOutcome::kTimedOut}) {
    if (s == EvictionOutcomeName(o)) return o;
  }
  return Status::InvalidArgument("unknown eviction outcome '" + s + "'");
}

int EvictResult::Count(EvictionOutcome o) const {
  int n = 0;
  for (const auto& e : evictions) n += e.outcome == o;
  return n;
}

json EvictResult::ToJson() const {
  json ev = json::array(), rb = json::array();
  for (const auto& e : evictions) {
    json j = e.choice.ToJson();
    j["outcome"] = EvictionOutcomeName(e.outcome);
    j["detail"] = e.detail;
    j["atMs"] = e.at_ms;
    if (!e.new_pod.empty()) j["newPod"] = e.new_pod;
    if (!e.new_node.empty()) j["newNode"] = e.new_node;
    if (e.done_ms) j["doneMs"] = e.done_ms;
    ev.push_back(j);
  }
  for (const auto& r : refused_by_budget) rb.push_back({{"pod", r.pod}, {"node", r.node}, {"reason", r.reason}});
  return {{"evictions", ev}, {"refusedByBudget", rb}, {"claim", claim.is_null() ? json::object() : claim}};
}

StatusOr<EvictResult> EvictResult::FromJson(const json& j) {
  return DecodeJson<EvictResult>("rebalance evictions", [&]() -> StatusOr<EvictResult> {
    EvictResult r;
    for (const auto& e : j.at("evictions")) {
      auto c = PodChoice::FromJson(e);
      if (!c.ok()) return c.status();
      auto o = ParseEvictionOutcome(e.at("outcome").get<std::string>());
      if (!o.ok()) return o.status();
      EvictionEntry entry;
      entry.choice = *c;
      entry.outcome = *o;
      entry.detail = e.value("detail", "");
      entry.at_ms = e.value("atMs", int64_t{0});
      entry.new_pod = e.value("newPod", "");
      entry.new_node = e.value("newNode", "");
      entry.done_ms = e.value("doneMs", int64_t{0});
      r.evictions.push_back(entry);
    }
    for (const auto& x : j.at("refusedByBudget")) {
      r.refused_by_budget.push_back({x.at("pod").get<std::string>(), x.at("node").get<std::string>(), x.at("reason").get<std::string>()});
    }
    r.claim = j.value("claim", json::object());
    return r;
  });
}

EvictionAnswer ReadEvictionAnswer(int http_status, const std::string& message) {
  if (http_status >= 200 && http_status < 300) return EvictionAnswer::kAccepted;
  if (http_status == 404) return EvictionAnswer::kNotFound;
  if (http_status == 429) {
    if (message.find("Eviction triggered evacuation") != std::string::npos ||
        message.find("Evacuation in progress") != std::string::npos) {
      return EvictionAnswer::kEvacuationTriggered;
    }
    return EvictionAnswer::kRefused;
  }
  return EvictionAnswer::kError;
}

bool BackgroundEvictionFinished(const PodChoice& choice, const json* source, const std::vector<json>& vm_pods,
                                std::string* new_pod, std::string* new_node) {
  if (source && !source->is_null() && (choice.uid.empty() || kube::obj::Uid(*source) == choice.uid)) return false;
  if (choice.vm.empty()) return true;
  for (const auto& p : vm_pods) {
    if (kube::pod::Phase(p) != "Running" || kube::obj::IsTerminating(p)) continue;
    const std::string node = kube::pod::NodeName(p);
    if (node.empty() || node == choice.from) continue;
    *new_pod = kube::obj::Key(p);
    *new_node = node;
    return true;
  }
  return false;
}

}  // namespace kinema::rebalance

namespace kinema::rebalance {

std::vector<EvictionRecord> EvictionHistory(const std::vector<WorkflowView>& views, const std::string& type) {
  std::vector<EvictionRecord> out;
  for (const auto& v : views) {
    if (v.type != type) continue;
    for (const auto& s : v.steps) {
      if (s.name != "evict" || !s.result.is_object()) continue;
      auto r = EvictResult::FromJson(s.result);
      if (!r.ok()) continue;
      for (const auto& e : r->evictions) {
        if (e.outcome == EvictionOutcome::kRefused || e.outcome == EvictionOutcome::kGone) continue;
        out.push_back({e.choice.workload, e.choice.pod, e.choice.from, e.new_node.empty() ? e.choice.to : e.new_node,
                       e.at_ms, v.id});
      }
    }
  }
  return out;
}

}  // namespace kinema::rebalance
