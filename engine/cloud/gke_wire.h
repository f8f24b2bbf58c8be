// The GKE container API v1 wire format: node pools and cluster operations.
// Pure functions, tested on the golden fixtures in
// tests/fixtures/gcp/container/.
//
// Contract:
//   - BuildNodePoolCreateBody(spec): {"nodePool":{name, initialNodeCount 0,
//     locations (omitted when empty: the cluster's), config{machineType,
//     spot, labels, taints (effects as NO_SCHEDULE/PREFER_NO_SCHEDULE/
//     NO_EXECUTE), resourceLabels}, autoscaling{enabled:false},
//     management{autoRepair, autoUpgrade}}}.
//   - ParseNodePool reads name, status, statusMessage, config (machineType,
//     spot or preemptible, labels, taints), locations, instanceGroupUrls,
//     autoscaling.enabled. ParseClusterOperation reads name, operationType,
//     status (PENDING, RUNNING, DONE, ABORTING), targetLink, statusMessage
//     and error (google.rpc.Status: numeric code + message); a DONE
//     operation's failure is in ClusterOperation::error, typed: code 8
//     RESOURCE_EXHAUSTED → kQuotaExceeded, or kZoneResourcePoolExhausted
//     when the message says the zone has no resources; 5 → kNotFound;
//     6 → kAlreadyExists; 3 → kInvalid; 7/16 → kPermissionDenied; 14 →
//     kUnavailable; otherwise kOther. A DONE operation with only a
//     statusMessage (the deprecated field) fails the same way.
//   - IsClusterBusyError: GKE allows one operation per cluster at a time;
//     it answers a second with 400 FAILED_PRECONDITION ("Operation … is
//     currently … Please wait and try again once it is done.", ErrorInfo
//     reason CLUSTER_ALREADY_HAS_OPERATION) or 429 "Too many operations".
//   - NodePoolNameFor(type, capacity) = "kinema-<type>-<od|spot>", a valid
//     pool name ([a-z]([-a-z0-9]{0,38}[a-z0-9])?): a longer one is cut and
//     ends with 6 hex of SHA-256 of the full name, so it stays unique.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/cloud/cloud_provider.h"

namespace kinema::cloud {

// Kinema's marks: the node label of the pools it uses, and the GCE resource
// label of the pools it created.
inline constexpr const char* kManagedPoolLabel = "kinema.io/managed-pool";
inline constexpr const char* kManagedResourceLabel = "kinema-managed";

struct NodePoolSpec {
  std::string name;
  std::string machine_type;
  bool spot = false;
  std::vector<std::string> locations;  // zones; empty = the cluster's node locations
  Labels node_labels;
  std::vector<Taint> taints;           // Kubernetes effects (NoSchedule, ...)
  Labels resource_labels;
  bool auto_repair = true;
  bool auto_upgrade = true;
};

struct NodePool {
  std::string name;
  std::string status;          // PROVISIONING, RUNNING, RUNNING_WITH_ERROR, RECONCILING, STOPPING, ERROR
  std::string status_message;
  std::string machine_type;
  bool spot = false;           // config.spot or config.preemptible
  Labels node_labels;
  std::vector<Taint> taints;
  std::vector<std::string> locations;
  std::vector<std::string> instance_group_urls;
  bool autoscaling_enabled = false;
  bool Usable() const { return status == "RUNNING" || status == "RUNNING_WITH_ERROR" || status == "RECONCILING"; }
};

struct ClusterOperation {
  std::string name;
  std::string operation_type;  // CREATE_NODE_POOL, DELETE_NODE_POOL, SET_NODE_POOL_SIZE, ...
  std::string status;          // PENDING, RUNNING, DONE, ABORTING
  std::string target_link;
  std::string target_name;     // last path segment of target_link
  std::string status_message;
  Status error;                // meaningful when done(): OK = succeeded
  bool done() const { return status == "DONE"; }
};

nlohmann::json BuildNodePoolCreateBody(const NodePoolSpec& spec);
StatusOr<NodePool> ParseNodePool(const nlohmann::json& j, const std::string& what);
StatusOr<std::vector<NodePool>> ParseNodePoolList(const nlohmann::json& j, const std::string& what);
StatusOr<ClusterOperation> ParseClusterOperation(const nlohmann::json& j, const std::string& what);
StatusOr<std::vector<ClusterOperation>> ParseClusterOperationList(const nlohmann::json& j, const std::string& what);

bool IsClusterBusyError(long http_status, std::string_view body);

std::string GkeTaintEffect(std::string_view kubernetes_effect);   // NoSchedule → NO_SCHEDULE
std::string KubernetesTaintEffect(std::string_view gke_effect);   // NO_SCHEDULE → NoSchedule

std::string NodePoolNameFor(std::string_view machine_type, CapacityType capacity);
bool IsValidNodePoolName(std::string_view name);

}  // namespace kinema::cloud
