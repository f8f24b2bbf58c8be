// Builders for the Node and Pod JSON the scheduler tests feed to the core,
// the in-process Scheduler and the kinema-sim binary.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace kinema::sim::sched::testing {

using nlohmann::json;

// A Ready node with allocatable cpu/memory/pods, hostname and zone labels.
inline json NodeJson(const std::string& name, const std::string& cpu = "4", const std::string& memory = "16Gi",
                     const std::string& zone = "zone-a", const std::string& pods = "110") {
  return json{{"apiVersion", "v1"},
              {"kind", "Node"},
              {"metadata",
               {{"name", name},
                {"labels",
                 {{"kubernetes.io/hostname", name}, {"topology.kubernetes.io/zone", zone}}}}},
              {"spec", json::object()},
              {"status",
               {{"allocatable", {{"cpu", cpu}, {"memory", memory}, {"pods", pods}}},
                {"capacity", {{"cpu", cpu}, {"memory", memory}, {"pods", pods}}},
                {"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
}

// A pod with one container requesting cpu/memory ("" = no request).
inline json PodJson(const std::string& name, const std::string& cpu = "100m", const std::string& memory = "128Mi",
                    const std::string& ns = "shop") {
  json requests = json::object();
  if (!cpu.empty()) requests["cpu"] = cpu;
  if (!memory.empty()) requests["memory"] = memory;
  return json{{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", name}, {"namespace", ns}, {"labels", json::object()}}},
              {"spec",
               {{"containers", json::array({{{"name", "c"}, {"image", "i"}, {"resources", {{"requests", requests}}}}})},
                {"schedulerName", "default-scheduler"}}},
              {"status", {{"phase", "Pending"}}}};
}

inline json Bound(json pod, const std::string& node) {
  pod["spec"]["nodeName"] = node;
  pod["status"]["phase"] = "Running";
  return pod;
}

inline json WithLabels(json obj, const json& labels) {
  for (auto it = labels.begin(); it != labels.end(); ++it) obj["metadata"]["labels"][it.key()] = it.value();
  return obj;
}

// Required anti-affinity against pods labelled app=<app> on the given topology key.
inline json WithAntiAffinity(json pod, const std::string& app, const std::string& key = "kubernetes.io/hostname") {
  pod["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = json::array(
      {{{"labelSelector", {{"matchLabels", {{"app", app}}}}}, {"topologyKey", key}}});
  return pod;
}

inline json WithTaint(json node, const std::string& key, const std::string& value, const std::string& effect) {
  if (!node["spec"].contains("taints")) node["spec"]["taints"] = json::array();
  node["spec"]["taints"].push_back({{"key", key}, {"value", value}, {"effect", effect}});
  return node;
}

}  // namespace kinema::sim::sched::testing
