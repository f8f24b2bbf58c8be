#include "tools/kinema-sim/cluster/status_bringup.h"

#include <cmath>

#include "tools/kinema-sim/admission.h"

namespace kinema::sim::cluster {

namespace {

constexpr const char* kPodConditions[] = {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                                          "PodScheduled"};

Json& ObjectField(Json& parent, const char* key) {
  if (!parent.contains(key) || !parent[key].is_object()) parent[key] = Json::object();
  return parent[key];
}

Json NodeCondition(const char* type, const char* status, const char* reason, const char* message,
                   const std::string& ts) {
  return {{"type", type},     {"status", status},   {"reason", reason},
          {"message", message}, {"lastHeartbeatTime", ts}, {"lastTransitionTime", ts}};
}

std::string CpuQuantity(int64_t milli) {
  return milli % 1000 == 0 ? std::to_string(milli / 1000) : std::to_string(milli) + "m";
}

std::string MemoryQuantity(int64_t bytes) {
  return bytes % 1024 == 0 ? std::to_string(bytes / 1024) + "Ki" : std::to_string(bytes);
}

bool HasCondition(const Json& status, const std::string& type) {
  if (!status.is_object() || !status.contains("conditions") || !status["conditions"].is_array()) return false;
  for (const auto& c : status["conditions"]) {
    if (c.is_object() && c.value("type", "") == type) return true;
  }
  return false;
}

// The time a snapshot pod's missing conditions carry: when it started, else
// when it was created, else now.
std::string PodEpoch(const Json& pod, SimClock::TimePoint now) {
  if (pod.contains("status") && pod["status"].is_object()) {
    const Json& st = pod["status"];
    if (st.contains("startTime") && st["startTime"].is_string()) return st["startTime"].get<std::string>();
  }
  if (pod.contains("metadata") && pod["metadata"].is_object() && pod["metadata"].contains("creationTimestamp") &&
      pod["metadata"]["creationTimestamp"].is_string()) {
    return pod["metadata"]["creationTimestamp"].get<std::string>();
  }
  return SimClock::FormatTime(now);
}

const Json* FindContainerStatus(const Json& statuses, const std::string& name) {
  if (!statuses.is_array()) return nullptr;
  for (const auto& cs : statuses) {
    if (cs.is_object() && cs.value("name", "") == name) return &cs;
  }
  return nullptr;
}

}  // namespace

bool NodeNeedsBringUp(const Json& node) {
  if (!node.contains("status") || !node["status"].is_object()) return true;
  const Json& st = node["status"];
  return !st.contains("conditions") || !st["conditions"].is_array() || st["conditions"].empty();
}

void BringUpNodeStatus(Json& node, const Catalog* catalog, const std::string& internal_ip, SimClock::TimePoint now) {
  const std::string ts = SimClock::FormatTime(now);
  const std::string name = node.contains("metadata") ? node["metadata"].value("name", "") : "";
  Json& st = ObjectField(node, "status");
  st["conditions"] = Json::array({
      NodeCondition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available", ts),
      NodeCondition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", ts),
      NodeCondition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", ts),
      NodeCondition("Ready", "True", "KubeletReady", "kubelet is posting ready status", ts),
  });
  std::string type;
  if (node["metadata"].contains("labels") && node["metadata"]["labels"].is_object()) {
    type = node["metadata"]["labels"].value("node.kubernetes.io/instance-type", "");
  }
  const MachineType* mt = catalog != nullptr && !type.empty() ? catalog->FindType(type) : nullptr;
  if (mt != nullptr) {
    if (!st.contains("capacity") || !st["capacity"].is_object()) {
      st["capacity"] = {{"cpu", CpuQuantity(static_cast<int64_t>(std::llround(mt->vcpu * 1000)))},
                        {"memory", MemoryQuantity(mt->memory_mib * 1024 * 1024)},
                        {"pods", std::to_string(mt->allocatable.pods)}};
    }
    if (!st.contains("allocatable") || !st["allocatable"].is_object()) {
      st["allocatable"] = {{"cpu", CpuQuantity(mt->allocatable.cpu_milli)},
                           {"memory", MemoryQuantity(mt->allocatable.memory_bytes)},
                           {"pods", std::to_string(mt->allocatable.pods)}};
    }
  } else if (!st.contains("allocatable") && st.contains("capacity") && st["capacity"].is_object()) {
    st["allocatable"] = st["capacity"];  // no reservations known: what the kubelet reports without flags
  }
  if (!st.contains("addresses") || !st["addresses"].is_array() || st["addresses"].empty()) {
    Json addresses = Json::array();
    if (!internal_ip.empty()) addresses.push_back({{"type", "InternalIP"}, {"address", internal_ip}});
    addresses.push_back({{"type", "Hostname"}, {"address", name}});
    st["addresses"] = std::move(addresses);
  }
  if (!st.contains("daemonEndpoints")) st["daemonEndpoints"] = {{"kubeletEndpoint", {{"Port", 10250}}}};
  if (!st.contains("nodeInfo")) {
    st["nodeInfo"] = {{"kernelVersion", "6.1.0-27-cloud-amd64"},
                      {"osImage", "Debian GNU/Linux 12 (bookworm)"},
                      {"containerRuntimeVersion", "containerd://1.7.24"},
                      {"kubeletVersion", "v1.32.0"},
                      {"kubeProxyVersion", "v1.32.0"},
                      {"operatingSystem", "linux"},
                      {"architecture", "amd64"}};
  }
}

Json RunningContainerStatus(const Json& container, const std::string& started_at, const std::string& container_id) {
  std::string image = container.value("image", "");
  Json res = container.contains("resources") && container["resources"].is_object() ? container["resources"]
                                                                                    : Json::object();
  Json cs = {{"name", container.value("name", "")},
             {"image", image},
             {"imageID", "sim.local/" + image + "@sha256:0"},
             {"containerID", container_id},
             {"ready", true},
             {"started", true},
             {"restartCount", 0},
             {"state", {{"running", {{"startedAt", started_at}}}}},
             {"resources", res}};
  if (res.contains("requests")) cs["allocatedResources"] = res["requests"];
  return cs;
}

bool RunningPodNeedsBringUp(const Json& pod) {
  if (!pod.contains("status") || !pod["status"].is_object()) return true;
  const Json& st = pod["status"];
  for (const char* c : kPodConditions) {
    if (!HasCondition(st, c)) return true;
  }
  if (!pod.contains("spec") || !pod["spec"].is_object() || !pod["spec"].contains("containers") ||
      !pod["spec"]["containers"].is_array()) {
    return false;
  }
  const Json statuses = st.value("containerStatuses", Json());
  for (const auto& c : pod["spec"]["containers"]) {
    if (!c.is_object()) continue;
    const Json* cs = FindContainerStatus(statuses, c.value("name", ""));
    if (cs == nullptr || !cs->contains("resources")) return true;
  }
  return !st.contains("startTime") || !st.contains("podIP") || !st.contains("hostIP") || !st.contains("qosClass");
}

void BringUpRunningPod(Json& pod, const std::string& host_ip, const std::string& pod_ip, SimClock::TimePoint now) {
  const std::string epoch = PodEpoch(pod, now);
  const std::string qos = PodQosClass(pod);
  Json& st = ObjectField(pod, "status");
  st["phase"] = "Running";
  if (!st.contains("conditions") || !st["conditions"].is_array()) st["conditions"] = Json::array();
  for (const char* c : kPodConditions) {
    if (HasCondition(st, c)) continue;
    st["conditions"].push_back({{"type", c}, {"status", "True"}, {"lastProbeTime", nullptr},
                                {"lastTransitionTime", epoch}});
  }
  // Conditions given without a transition time (hand-written snapshots) get the epoch too.
  for (auto& c : st["conditions"]) {
    if (c.is_object() && !c.contains("lastTransitionTime")) c["lastTransitionTime"] = epoch;
  }
  if (!st.contains("startTime")) st["startTime"] = epoch;
  if (!st.contains("hostIP")) {
    st["hostIP"] = host_ip;
    st["hostIPs"] = Json::array({{{"ip", host_ip}}});
  }
  if (!st.contains("podIP")) {
    st["podIP"] = pod_ip;
    st["podIPs"] = Json::array({{{"ip", pod_ip}}});
  }
  if (!st.contains("qosClass")) st["qosClass"] = qos;
  if (!pod.contains("spec") || !pod["spec"].contains("containers") || !pod["spec"]["containers"].is_array()) return;
  if (!st.contains("containerStatuses") || !st["containerStatuses"].is_array()) st["containerStatuses"] = Json::array();
  Json& statuses = st["containerStatuses"];
  size_t n = 0;
  for (const auto& c : pod["spec"]["containers"]) {
    if (!c.is_object()) continue;
    ++n;
    std::string name = c.value("name", "");
    Json* existing = nullptr;
    for (auto& cs : statuses) {
      if (cs.is_object() && cs.value("name", "") == name) existing = &cs;
    }
    Json fresh = RunningContainerStatus(c, epoch, "containerd://sim-" + pod["metadata"].value("uid", "") + "-" +
                                                      std::to_string(n));
    if (existing == nullptr) {
      statuses.push_back(std::move(fresh));
      continue;
    }
    // Keep what the snapshot says; add what a GA in-place-resize kubelet reports.
    for (auto it = fresh.begin(); it != fresh.end(); ++it) {
      if (!existing->contains(it.key())) (*existing)[it.key()] = it.value();
    }
  }
}

}  // namespace kinema::sim::cluster
