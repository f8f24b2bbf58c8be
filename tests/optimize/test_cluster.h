// Small helpers that build snapshot / catalog JSON for optimizer tests.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace kinema::testing_util {

inline nlohmann::json Node(const std::string& name, const std::string& type, const std::string& cpu,
                           const std::string& mem, nlohmann::json labels = nlohmann::json::object(),
                           nlohmann::json taints = nlohmann::json::array()) {
  labels["node.kubernetes.io/instance-type"] = type;
  labels["topology.kubernetes.io/zone"] = "z1";
  labels["kubernetes.io/hostname"] = name;
  return {{"kind", "Node"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"spec", {{"taints", taints}}},
          {"status", {{"allocatable", {{"cpu", cpu}, {"memory", mem}, {"pods", "110"}}}}}};
}

inline nlohmann::json Pod(const std::string& name, const std::string& node, const std::string& cpu,
                          const std::string& mem, nlohmann::json extra_spec = nlohmann::json::object(),
                          bool controlled = true) {
  nlohmann::json spec = {{"containers", {{{"name", "c"}, {"resources", {{"requests", {{"cpu", cpu}, {"memory", mem}}}}}}}}};
  for (auto it = extra_spec.begin(); it != extra_spec.end(); ++it) spec[it.key()] = it.value();
  if (!node.empty()) spec["nodeName"] = node;
  nlohmann::json md = {{"name", name}, {"namespace", "shop"}, {"labels", {{"app", name.substr(0, name.find('-'))}}}};
  if (controlled) md["ownerReferences"] = {{{"kind", "ReplicaSet"}, {"name", "rs"}, {"controller", true}}};
  return {{"kind", "Pod"}, {"metadata", md}, {"spec", spec}, {"status", {{"phase", node.empty() ? "Pending" : "Running"}}}};
}

// List({item}): with one element, a braced nlohmann::json is the element
// itself under clang and a one-element array under GCC (nlohmann/json's
// documented initializer-list ambiguity); a single object is wrapped here.
inline nlohmann::json List(nlohmann::json items) {
  if (items.is_object()) items = nlohmann::json::array({items});
  return {{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
}

// Types: "small" 2 CPU / 8Gi at $1, "large" 4 CPU / 16Gi at $1.5 (spot at 30%).
inline nlohmann::json TwoTypeCatalog() {
  return nlohmann::json::parse(R"({
    "machineTypes": [
      {"name": "small", "zones": ["z1"], "allocatable": {"cpu": "2", "memory": "8Gi", "pods": 110},
       "pricePerHour": {"onDemand": 1.0, "spot": 0.3}},
      {"name": "large", "zones": ["z1"], "allocatable": {"cpu": "4", "memory": "16Gi", "pods": 110},
       "pricePerHour": {"onDemand": 1.5, "spot": 0.45}}],
    "spot": {"labels": {"kinema.io/capacity-type": "spot"},
             "taints": [{"key": "kinema.io/spot", "value": "true", "effect": "NoSchedule"}]}})");
}

}  // namespace kinema::testing_util
