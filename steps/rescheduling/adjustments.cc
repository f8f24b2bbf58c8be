#include "steps/rescheduling/adjustments.h"

#include <cmath>
#include <map>
#include <string>

#include "engine/kube/object.h"
#include "engine/common/numeric.h"
#include "engine/quantity/quantity.h"

namespace kinema::rescheduling {

using nlohmann::json;

int ApplyAdjustments(const json& adjustments, json* list) {
  if (!adjustments.is_object() || adjustments.empty() || !list->contains("items")) return 0;
  // ReplicaSet → its Deployment.
  std::map<std::string, std::string> rs_to_deploy;
  for (const auto& item : (*list)["items"]) {
    if (item.value("kind", "") != "ReplicaSet") continue;
    if (kube::obj::ControllerKind(item) == "Deployment") {
      rs_to_deploy[kube::obj::Key(item)] = kube::obj::ControllerName(item);
    }
  }
  int changed = 0;
  for (auto& item : (*list)["items"]) {
    if (item.value("kind", "") != "Pod") continue;
    std::string ns = item["metadata"].value("namespace", "");
    const std::string owner_kind = kube::obj::ControllerKind(item), owner = kube::obj::ControllerName(item);
    std::string key;
    if (owner_kind == "ReplicaSet") {
      auto it = rs_to_deploy.find(ns + "/" + owner);
      if (it != rs_to_deploy.end()) key = ns + "/Deployment/" + it->second;
    } else if (owner_kind == "StatefulSet") {
      key = ns + "/StatefulSet/" + owner;
    }
    if (key.empty() || !adjustments.contains(key)) continue;
    const json& per_container = adjustments[key];
    if (!item.contains("spec") || !item["spec"].contains("containers")) continue;
    for (auto& c : item["spec"]["containers"]) {
      std::string name = c.value("name", "");
      if (!per_container.contains(name)) continue;
      const json& want = per_container[name];
      json& requests = c["resources"]["requests"];
      if (!requests.is_object()) requests = json::object();
      for (const char* r : {"cpu", "memory"}) {
        if (!want.contains(r)) continue;
        if (!requests.contains(r) || requests[r] != want[r]) {
          requests[r] = want[r];
          ++changed;
        }
      }
    }
  }
  return changed;
}

int InflateRequests(double fraction, json* list) {
  if (fraction <= 0 || !list->contains("items")) return 0;
  int changed = 0;
  for (auto& item : (*list)["items"]) {
    if (item.value("kind", "") != "Pod" || !item.contains("spec")) continue;
    for (const char* group : {"containers", "initContainers"}) {
      if (!item["spec"].contains(group)) continue;
      for (auto& c : item["spec"][group]) {
        if (!c.contains("resources") || !c["resources"].contains("requests")) continue;
        json& requests = c["resources"]["requests"];
        if (requests.contains("cpu") && requests["cpu"].is_string()) {
          auto m = ParseQuantityMilli(requests["cpu"].get<std::string>());
          if (m.ok()) {
            requests["cpu"] = FormatMilliCpu(CeilToInt64Clamped(*m * (1 + fraction), 0));
            ++changed;
          }
        }
        if (requests.contains("memory") && requests["memory"].is_string()) {
          auto b = ParseQuantityValue(requests["memory"].get<std::string>());
          if (b.ok()) {
            requests["memory"] = std::to_string(CeilToInt64Clamped(*b * (1 + fraction), 0));
            ++changed;
          }
        }
      }
    }
  }
  return changed;
}

}  // namespace kinema::rescheduling
