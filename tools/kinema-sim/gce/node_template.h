// NodeTemplate: the Node object a booted GCE instance registers, the way a
// GKE node's kubelet would (planning.md §2 "A new node of a type carries…").
//
// Contract (BuildNode; a GKE pool member, NodeParams::node_pool set, is
// labelled as GKE does instead: the generic labels above,
// cloud.google.com/gke-nodepool, for spot cloud.google.com/gke-spot=true and
// cloud.google.com/gke-provisioning=spot, then the pool's config labels
// (extra_labels); its taints are the pool's; no catalog labels or taints):
//   - metadata.labels: node.kubernetes.io/instance-type, topology.kubernetes.io/zone,
//     topology.kubernetes.io/region, kubernetes.io/hostname (= name),
//     kubernetes.io/os=linux, kubernetes.io/arch=amd64; capacity type:
//     kinema.io/capacity-type=spot|on-demand, and for spot also
//     cloud.google.com/gke-spot=true plus the catalog's spot.labels; the
//     type's catalog labels; then `extra_labels` (the instance's own, see
//     InstanceNodeLabels) — later sources win on a key clash.
//   - spec.taints: the type's catalog taints, plus spot.taints for spot;
//     spec.providerID: gce://<project>/<zone>/<name>.
//   - status.capacity: cpu = vcpu, memory = memoryMiB (in Ki), pods;
//     status.allocatable: the catalog's (as engine/catalog parsed it: given,
//     or derived with GKE's reservations when absent); conditions Ready=True
//     (KubeletReady) and the pressure conditions False; addresses; nodeInfo.
//   - MarkNotReady edits a Node as the node-lifecycle controller does when the
//     kubelet stops posting status: Ready (and the pressure conditions) become
//     Unknown/NodeStatusUnknown and the taint node.kubernetes.io/unreachable
//     NoExecute is added (once).
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "engine/catalog/catalog.h"

namespace kinema::sim::gce {

struct NodeParams {
  std::string name;
  std::string project;
  std::string zone;
  std::string machine_type;
  bool spot = false;
  std::string internal_ip;
  std::string boot_id;
  std::string timestamp;  // RFC 3339, for condition times
  std::map<std::string, std::string> extra_labels;
  // GKE node pool member: labels and taints come from the pool (GKE sets
  // cloud.google.com/gke-nodepool, and gke-spot for spot pools), not from
  // the catalog. Empty: a standalone GCE instance.
  std::string node_pool;
  std::vector<Taint> pool_taints;
};

// "us-central1-a" → "us-central1".
std::string RegionOfZone(const std::string& zone);
std::string ProviderIdFor(const std::string& project, const std::string& zone, const std::string& name);
// Parses gce://project/zone/name; false when `id` is not of that form.
bool ParseProviderId(const std::string& id, std::string* project, std::string* zone, std::string* name);

// Node labels an instance asks for: the GKE-style instance metadata item
// "kube-labels" ("k=v,k2=v2", what the kubelet's --node-labels gets), and
// every cloud label whose key starts with "kinema-" as kinema.io/<rest>
// (GCE label keys cannot hold '.' or '/'). InvalidArgument on a malformed
// kube-labels entry.
StatusOr<std::map<std::string, std::string>> InstanceNodeLabels(const nlohmann::json& cloud_labels,
                                                                const nlohmann::json& metadata);

// `type` must be in the catalog.
nlohmann::json BuildNode(const Catalog& catalog, const MachineType& type, const NodeParams& params);

// Returns true when the Node changed.
bool MarkNotReady(nlohmann::json& node, const std::string& timestamp);

// Kubernetes quantity strings the kubelet would report.
std::string CpuQuantity(int64_t milli);
std::string MemoryQuantity(int64_t bytes);

}  // namespace kinema::sim::gce
