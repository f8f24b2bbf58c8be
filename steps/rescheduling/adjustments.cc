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

json PodAdjustmentsFromRequests(const json& input) {
  json out = json::object();
  if (!input.is_object() || !input.contains("requests") || !input["requests"].is_array()) return out;
  for (const auto& r : input["requests"]) {
    if (!r.is_object() || !r.contains("input") || !r["input"].is_object()) continue;
    const json& in = r["input"];
    if (!in.contains("resize") || !in["resize"].is_object() || !in["resize"].contains("pods")) continue;
    const json& pods = in["resize"]["pods"];
    if (!pods.is_array()) continue;
    for (const auto& p : pods) {
      if (!p.is_object() || !p.contains("namespace") || !p.contains("name") || !p["namespace"].is_string() ||
          !p["name"].is_string() || !p.contains("wanted") || !p["wanted"].is_object()) {
        continue;
      }
      json& dst = out[p["namespace"].get<std::string>() + "/" + p["name"].get<std::string>()];
      for (const auto& [container, want] : p["wanted"].items()) {
        if (!want.is_object()) continue;
        for (const char* res : {"cpu", "memory"}) {
          if (want.contains(res) && want[res].is_string()) dst[container][res] = want[res];
        }
      }
    }
  }
  return out;
}

int ApplyPodAdjustments(const json& pod_adjustments, json* list) {
  if (!pod_adjustments.is_object() || pod_adjustments.empty() || !list->contains("items")) return 0;
  int changed = 0;
  for (auto& item : (*list)["items"]) {
    if (item.value("kind", "") != "Pod" || !item.contains("spec") || !item["spec"].contains("containers")) continue;
    const std::string key = kube::obj::Key(item);
    if (!pod_adjustments.contains(key)) continue;
    const json& per_container = pod_adjustments[key];
    for (auto& c : item["spec"]["containers"]) {
      const std::string name = c.value("name", "");
      if (!per_container.contains(name)) continue;
      json& requests = c["resources"]["requests"];
      if (!requests.is_object()) requests = json::object();
      for (const char* r : {"cpu", "memory"}) {
        if (!per_container[name].contains(r)) continue;
        const std::string want = per_container[name][r].get<std::string>();
        const bool cpu = std::string(r) == "cpu";
        auto w = cpu ? ParseQuantityMilli(want) : ParseQuantityValue(want);
        if (!w.ok()) continue;
        if (requests.contains(r) && requests[r].is_string()) {
          auto have = cpu ? ParseQuantityMilli(requests[r].get<std::string>())
                          : ParseQuantityValue(requests[r].get<std::string>());
          if (have.ok() && *have >= *w) continue;  // never lower a request
        }
        requests[r] = want;
        ++changed;
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
