#include "steps/rescheduling/vpa_source.h"

#include "engine/kube/object.h"
#include "engine/quantity/quantity.h"

namespace kinema::rescheduling {

using nlohmann::json;

namespace {

// A canonical quantity string, or "" when absent or malformed.
std::string Canonical(const json& section, const char* resource, std::string* error) {
  if (!section.is_object() || !section.contains(resource)) return "";
  const json& v = section[resource];
  if (!v.is_string()) {
    *error = std::string(resource) + " is not a quantity string";
    return "";
  }
  const bool cpu = std::string(resource) == "cpu";
  auto q = cpu ? ParseQuantityMilli(v.get<std::string>()) : ParseQuantityValue(v.get<std::string>());
  if (!q.ok()) {
    *error = std::string(resource) + " '" + v.get<std::string>() + "': " + q.status().message();
    return "";
  }
  return cpu ? FormatMilliCpu(*q) : std::to_string(*q);
}

}  // namespace

VpaPrediction PredictFromVpas(const std::vector<json>& vpas) {
  VpaPrediction out;
  for (const auto& v : vpas) {
    const std::string who = "VerticalPodAutoscaler " + kube::obj::Key(v);
    const json ref = v.contains("spec") && v["spec"].is_object() ? v["spec"].value("targetRef", json::object())
                                                                  : json::object();
    const std::string kind = ref.is_object() ? ref.value("kind", "") : "";
    const std::string name = ref.is_object() ? ref.value("name", "") : "";
    if ((kind != "Deployment" && kind != "StatefulSet") || name.empty()) {
      out.notes.push_back(who + ": targetRef " + kind + "/" + name + " is not a Deployment or StatefulSet; skipped");
      continue;
    }
    const json* recs = nullptr;
    if (v.contains("status") && v["status"].is_object() && v["status"].contains("recommendation") &&
        v["status"]["recommendation"].is_object() &&
        v["status"]["recommendation"].contains("containerRecommendations") &&
        v["status"]["recommendation"]["containerRecommendations"].is_array()) {
      recs = &v["status"]["recommendation"]["containerRecommendations"];
    }
    if (recs == nullptr || recs->empty()) {
      out.notes.push_back(who + ": no recommendation yet; its workload is planned on requests");
      continue;
    }
    const std::string key = kube::obj::Namespace(v) + "/" + kind + "/" + name;
    for (const auto& r : *recs) {
      if (!r.is_object() || !r.contains("containerName") || !r["containerName"].is_string()) {
        out.notes.push_back(who + ": a container recommendation without containerName; skipped");
        continue;
      }
      const std::string container = r["containerName"].get<std::string>();
      std::string error;
      const json target = r.value("target", json::object());
      const json upper = r.value("upperBound", json::object());
      json planned = json::object(), bound = json::object();
      for (const char* res : {"cpu", "memory"}) {
        std::string t = Canonical(target, res, &error);
        if (!t.empty()) planned[res] = t;
        std::string u = Canonical(upper, res, &error);
        if (!u.empty()) bound[res] = u;
      }
      if (!error.empty()) {
        out.notes.push_back(who + " container " + container + ": " + error + "; skipped");
        continue;
      }
      if (planned.empty()) continue;
      out.adjustments[key][container] = planned;
      out.recommendations.push_back({{"vpa", kube::obj::Key(v)}, {"workload", key}, {"container", container},
                                     {"target", planned}, {"upperBound", bound}});
    }
  }
  return out;
}

json MaxAdjustments(const json& a, const json& b) {
  json out = a.is_object() ? a : json::object();
  if (!b.is_object()) return out;
  for (const auto& [workload, containers] : b.items()) {
    if (!containers.is_object()) continue;
    for (const auto& [container, want] : containers.items()) {
      if (!want.is_object()) continue;
      for (const char* res : {"cpu", "memory"}) {
        if (!want.contains(res) || !want[res].is_string()) continue;
        json& dst = out[workload][container];
        if (!dst.contains(res) || !dst[res].is_string()) {
          dst[res] = want[res];
          continue;
        }
        const bool cpu = std::string(res) == "cpu";
        auto mine = cpu ? ParseQuantityMilli(dst[res].get<std::string>()) : ParseQuantityValue(dst[res].get<std::string>());
        auto theirs = cpu ? ParseQuantityMilli(want[res].get<std::string>()) : ParseQuantityValue(want[res].get<std::string>());
        if (theirs.ok() && (!mine.ok() || *theirs > *mine)) dst[res] = want[res];
      }
    }
  }
  return out;
}

}  // namespace kinema::rescheduling
