#include "steps/rescheduling/stability.h"

namespace kinema::rescheduling {

namespace {

using nlohmann::json;

int64_t Int(const json& j, std::initializer_list<const char*> path, int64_t def = 0) {
  const json* cur = &j;
  for (const char* k : path) {
    if (!cur->is_object()) return def;
    auto it = cur->find(k);
    if (it == cur->end()) return def;
    cur = &*it;
  }
  return cur->is_number() ? cur->get<int64_t>() : def;
}

std::string Str(const json& j, std::initializer_list<const char*> path) {
  const json* cur = &j;
  for (const char* k : path) {
    if (!cur->is_object()) return "";
    auto it = cur->find(k);
    if (it == cur->end()) return "";
    cur = &*it;
  }
  return cur->is_string() ? cur->get<std::string>() : "";
}

std::string Name(const json& o) {
  std::string ns = Str(o, {"metadata", "namespace"});
  std::string n = Str(o, {"metadata", "name"});
  return ns.empty() ? n : ns + "/" + n;
}

}  // namespace

StabilityReport EvaluateStability(const std::vector<json>& objects, const StabilityOptions& options) {
  StabilityReport r;
  auto unstable = [&](const std::string& why) {
    r.stable = false;
    ++r.unstable_objects;
    if (r.reasons.size() < 20) r.reasons.push_back(why);
  };
  for (const json& o : objects) {
    std::string kind = Str(o, {"kind"});
    std::string ns = Str(o, {"metadata", "namespace"});
    if (!ns.empty() && options.excluded_namespaces.count(ns)) continue;
    if (kind == "Pod") {
      if (Str(o, {"status", "phase"}) == "Pending" && !o["metadata"].contains("deletionTimestamp")) {
        unstable("pod " + Name(o) + " is Pending");
      }
    } else if (kind == "Deployment") {
      int64_t want = Int(o, {"spec", "replicas"}, 1);
      int64_t gen = Int(o, {"metadata", "generation"});
      int64_t observed = Int(o, {"status", "observedGeneration"});
      int64_t updated = Int(o, {"status", "updatedReplicas"});
      int64_t ready = Int(o, {"status", "readyReplicas"});
      int64_t available = Int(o, {"status", "availableReplicas"});
      int64_t total = Int(o, {"status", "replicas"});
      if (observed < gen) {
        unstable("deployment " + Name(o) + " generation " + std::to_string(gen) + " not yet observed");
      } else if (updated != want || ready != want || available != want || total != want) {
        unstable("deployment " + Name(o) + " not rolled out (" + std::to_string(ready) + "/" + std::to_string(want) +
                 " ready, " + std::to_string(updated) + " updated, " + std::to_string(total) + " total)");
      }
    } else if (kind == "StatefulSet") {
      int64_t want = Int(o, {"spec", "replicas"}, 1);
      if (Int(o, {"status", "observedGeneration"}) < Int(o, {"metadata", "generation"})) {
        unstable("statefulset " + Name(o) + " generation not yet observed");
      } else if (Int(o, {"status", "readyReplicas"}) != want) {
        unstable("statefulset " + Name(o) + " has " + std::to_string(Int(o, {"status", "readyReplicas"})) + "/" +
                 std::to_string(want) + " ready");
      } else {
        std::string cur = Str(o, {"status", "currentRevision"}), upd = Str(o, {"status", "updateRevision"});
        if (!upd.empty() && cur != upd) unstable("statefulset " + Name(o) + " is rolling out " + upd);
      }
    } else if (kind == "HorizontalPodAutoscaler") {
      int64_t current = Int(o, {"status", "currentReplicas"});
      int64_t desired = Int(o, {"status", "desiredReplicas"});
      if (current != desired) {
        unstable("hpa " + Name(o) + " scaling " + std::to_string(current) + " -> " + std::to_string(desired));
        continue;
      }
      // Resource metrics: compare current average utilisation to target.
      const json& spec_metrics = o.value("spec", json::object()).value("metrics", json::array());
      const json& cur_metrics = o.value("status", json::object()).value("currentMetrics", json::array());
      for (const json& sm : spec_metrics) {
        if (Str(sm, {"type"}) != "Resource") continue;
        std::string res = Str(sm, {"resource", "name"});
        int64_t target = Int(sm, {"resource", "target", "averageUtilization"});
        if (target <= 0) continue;
        for (const json& cm : cur_metrics) {
          if (Str(cm, {"type"}) != "Resource" || Str(cm, {"resource", "name"}) != res) continue;
          int64_t now = Int(cm, {"resource", "current", "averageUtilization"}, -1);
          if (now >= 0 && static_cast<double>(now) > options.max_hpa_utilization * static_cast<double>(target)) {
            unstable("hpa " + Name(o) + " " + res + " at " + std::to_string(now) + "% of requests (target " +
                     std::to_string(target) + "%)");
          }
        }
      }
    } else if (kind == "Node") {
      bool ready = false;
      for (const json& c : o.value("status", json::object()).value("conditions", json::array())) {
        if (Str(c, {"type"}) == "Ready") ready = Str(c, {"status"}) == "True";
      }
      if (!ready) unstable("node " + Name(o) + " is not Ready");
      const json& labels = o.value("metadata", json::object()).value("labels", json::object());
      if (labels.contains(kRetireLabel)) {
        unstable("node " + Name(o) + " from iteration " + labels[kRetireLabel].get<std::string>() +
                 " is still draining");
      }
    }
  }
  return r;
}

}  // namespace kinema::rescheduling
