#include "tools/kinema-sim/gce/node_template.h"

#include <cmath>

namespace kinema::sim::gce {

namespace {

using nlohmann::json;

json Condition(const std::string& type, const std::string& status, const std::string& reason,
               const std::string& message, const std::string& ts) {
  return json{{"type", type},           {"status", status},   {"reason", reason},
              {"message", message},     {"lastHeartbeatTime", ts}, {"lastTransitionTime", ts}};
}

json TaintJson(const Taint& t) {
  json j{{"key", t.key}, {"effect", t.effect}};
  if (!t.value.empty()) j["value"] = t.value;
  return j;
}

void AddTaint(json& taints, const json& t) {
  for (const auto& existing : taints) {
    if (existing.value("key", "") == t.value("key", "") && existing.value("effect", "") == t.value("effect", "")) {
      return;
    }
  }
  taints.push_back(t);
}

}  // namespace

std::string RegionOfZone(const std::string& zone) {
  size_t dash = zone.rfind('-');
  return dash == std::string::npos ? zone : zone.substr(0, dash);
}

std::string ProviderIdFor(const std::string& project, const std::string& zone, const std::string& name) {
  return "gce://" + project + "/" + zone + "/" + name;
}

bool ParseProviderId(const std::string& id, std::string* project, std::string* zone, std::string* name) {
  const std::string prefix = "gce://";
  if (id.rfind(prefix, 0) != 0) return false;
  std::string rest = id.substr(prefix.size());
  size_t a = rest.find('/');
  if (a == std::string::npos) return false;
  size_t b = rest.find('/', a + 1);
  if (b == std::string::npos || rest.find('/', b + 1) != std::string::npos) return false;
  *project = rest.substr(0, a);
  *zone = rest.substr(a + 1, b - a - 1);
  *name = rest.substr(b + 1);
  return !project->empty() && !zone->empty() && !name->empty();
}

StatusOr<std::map<std::string, std::string>> InstanceNodeLabels(const json& cloud_labels, const json& metadata) {
  std::map<std::string, std::string> out;
  if (cloud_labels.is_object()) {
    for (auto it = cloud_labels.begin(); it != cloud_labels.end(); ++it) {
      if (it.key().rfind("kinema-", 0) == 0 && it.key().size() > 7 && it.value().is_string()) {
        out["kinema.io/" + it.key().substr(7)] = it.value().get<std::string>();
      }
    }
  }
  if (metadata.is_object() && metadata.contains("items") && metadata["items"].is_array()) {
    for (const auto& item : metadata["items"]) {
      if (!item.is_object() || item.value("key", "") != "kube-labels" || !item.contains("value") ||
          !item["value"].is_string()) {
        continue;
      }
      std::string v = item["value"].get<std::string>();
      size_t start = 0;
      while (start <= v.size()) {
        size_t comma = v.find(',', start);
        std::string pair = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!pair.empty()) {
          size_t eq = pair.find('=');
          if (eq == std::string::npos || eq == 0) {
            return Status::InvalidArgument("metadata kube-labels: entry '" + pair + "' is not key=value");
          }
          out[pair.substr(0, eq)] = pair.substr(eq + 1);
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
  }
  return out;
}

std::string CpuQuantity(int64_t milli) {
  if (milli % 1000 == 0) return std::to_string(milli / 1000);
  return std::to_string(milli) + "m";
}

std::string MemoryQuantity(int64_t bytes) {
  if (bytes % 1024 == 0) return std::to_string(bytes / 1024) + "Ki";
  return std::to_string(bytes);
}

json BuildNode(const Catalog& catalog, const MachineType& type, const NodeParams& p) {
  json labels = json::object();
  labels["kubernetes.io/arch"] = "amd64";
  labels["kubernetes.io/os"] = "linux";
  labels["kubernetes.io/hostname"] = p.name;
  labels["node.kubernetes.io/instance-type"] = type.name;
  labels["topology.kubernetes.io/zone"] = p.zone;
  labels["topology.kubernetes.io/region"] = RegionOfZone(p.zone);
  json taints = json::array();
  if (!p.node_pool.empty()) {
    labels["cloud.google.com/gke-nodepool"] = p.node_pool;
    labels["cloud.google.com/machine-family"] = type.name.substr(0, type.name.find('-'));
    if (p.spot) {
      labels["cloud.google.com/gke-spot"] = "true";
      labels["cloud.google.com/gke-provisioning"] = "spot";
    }
    for (const auto& [k, v] : p.extra_labels) labels[k] = v;
    for (const auto& t : p.pool_taints) AddTaint(taints, TaintJson(t));
  } else {
    labels["kinema.io/capacity-type"] = p.spot ? "spot" : "on-demand";
    if (p.spot) {
      labels["cloud.google.com/gke-spot"] = "true";
      for (const auto& [k, v] : catalog.spot_labels) labels[k] = v;
    }
    for (const auto& [k, v] : type.labels) labels[k] = v;
    for (const auto& [k, v] : p.extra_labels) labels[k] = v;
    for (const auto& t : type.taints) AddTaint(taints, TaintJson(t));
    if (p.spot) {
      for (const auto& t : catalog.spot_taints) AddTaint(taints, TaintJson(t));
    }
  }

  int64_t cap_cpu_milli = static_cast<int64_t>(std::llround(type.vcpu * 1000));
  json capacity{{"cpu", CpuQuantity(cap_cpu_milli)},
                {"memory", MemoryQuantity(type.memory_mib * 1024 * 1024)},
                {"pods", std::to_string(type.allocatable.pods)},
                {"ephemeral-storage", "98831908Ki"},
                {"hugepages-1Gi", "0"},
                {"hugepages-2Mi", "0"}};
  json allocatable{{"cpu", CpuQuantity(type.allocatable.cpu_milli)},
                   {"memory", MemoryQuantity(type.allocatable.memory_bytes)},
                   {"pods", std::to_string(type.allocatable.pods)},
                   {"ephemeral-storage", "47093746742"},
                   {"hugepages-1Gi", "0"},
                   {"hugepages-2Mi", "0"}};

  json spec{{"providerID", ProviderIdFor(p.project, p.zone, p.name)}};
  if (!taints.empty()) spec["taints"] = taints;

  const std::string& ts = p.timestamp;
  json conditions = json::array({
      Condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available", ts),
      Condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", ts),
      Condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", ts),
      Condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", ts),
  });
  json addresses = json::array();
  if (!p.internal_ip.empty()) addresses.push_back({{"type", "InternalIP"}, {"address", p.internal_ip}});
  addresses.push_back({{"type", "Hostname"}, {"address", p.name}});

  json node_info{{"machineID", p.boot_id},
                 {"systemUUID", p.boot_id},
                 {"bootID", p.boot_id},
                 {"kernelVersion", "6.1.0-27-cloud-amd64"},
                 {"osImage", "Debian GNU/Linux 12 (bookworm)"},
                 {"containerRuntimeVersion", "containerd://1.7.24"},
                 {"kubeletVersion", "v1.32.0"},
                 {"kubeProxyVersion", "v1.32.0"},
                 {"operatingSystem", "linux"},
                 {"architecture", "amd64"}};

  return json{{"apiVersion", "v1"},
              {"kind", "Node"},
              {"metadata",
               {{"name", p.name},
                {"labels", labels},
                {"annotations",
                 {{"node.alpha.kubernetes.io/ttl", "0"},
                  {"volumes.kubernetes.io/controller-managed-attach-detach", "true"}}}}},
              {"spec", spec},
              {"status",
               {{"capacity", capacity},
                {"allocatable", allocatable},
                {"conditions", conditions},
                {"addresses", addresses},
                {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}},
                {"nodeInfo", node_info}}}};
}

bool MarkNotReady(json& node, const std::string& ts) {
  bool changed = false;
  if (!node.contains("status") || !node["status"].is_object()) node["status"] = json::object();
  json& st = node["status"];
  if (!st.contains("conditions") || !st["conditions"].is_array()) st["conditions"] = json::array();
  bool has_ready = false;
  for (auto& c : st["conditions"]) {
    std::string type = c.value("type", "");
    if (type != "Ready" && type != "MemoryPressure" && type != "DiskPressure" && type != "PIDPressure") continue;
    has_ready = has_ready || type == "Ready";
    if (c.value("status", "") == "Unknown") continue;
    c["status"] = "Unknown";
    c["reason"] = "NodeStatusUnknown";
    c["message"] = "Kubelet stopped posting node status.";
    c["lastTransitionTime"] = ts;
    changed = true;
  }
  if (!has_ready) {
    st["conditions"].push_back(
        Condition("Ready", "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.", ts));
    changed = true;
  }
  if (!node.contains("spec") || !node["spec"].is_object()) node["spec"] = json::object();
  json& spec = node["spec"];
  if (!spec.contains("taints") || !spec["taints"].is_array()) spec["taints"] = json::array();
  bool tainted = false;
  for (const auto& t : spec["taints"]) {
    if (t.value("key", "") == "node.kubernetes.io/unreachable" && t.value("effect", "") == "NoExecute") tainted = true;
  }
  if (!tainted) {
    spec["taints"].push_back(
        {{"key", "node.kubernetes.io/unreachable"}, {"effect", "NoExecute"}, {"timeAdded", ts}});
    changed = true;
  }
  return changed;
}

}  // namespace kinema::sim::gce
