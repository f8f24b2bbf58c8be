// GkeCloudProvider: CloudProvider for GKE clusters (`cloud.provider: gke`).
// Nodes are members of node pools' zonal managed instance groups, because
// GKE approves a kubelet's certificate only for VMs that are members of one
// of the cluster's node-pool groups (research: gke-provisioning.md §0).
//
// Contract:
//   - Pools. A node of (machine type, capacity) goes to one pool:
//       cloud.nodePools: create (default) — the pool named
//         NodePoolNameFor(type, capacity) ("kinema-e2-standard-4-spot"),
//         else an existing pool labelled kinema.io/managed-pool=true of that
//         type and capacity; when neither exists, Kinema creates the named
//         pool (initialNodeCount 0, autoscaling off, locations = the type's
//         catalog zones within cloud.zones, node labels = the type's catalog
//         labels without cloud.google.com/gke-nodepool + spot.labels for
//         spot + kinema.io/capacity-type + kinema.io/managed-pool=true,
//         taints = the type's + spot.taints for spot, resource label
//         kinema-managed=true).
//       cloud.nodePools: existing — only pools whose config.labels carry
//         kinema.io/managed-pool=true; none for the type → kNoNodeGroup.
//     Creating a pool is a cluster operation of minutes, and GKE runs one
//     at a time: EnsureNodePool() issues nodePools.create at most once per
//     call and never waits; 400 FAILED_PRECONDITION/CLUSTER_ALREADY_HAS_
//     OPERATION and 429 are "busy, call again". The pool name is a pure
//     function of (type, capacity), so a caller journals it before the call;
//     after a restart nodePools.get finds the pool (PROVISIONING: the
//     operation is found again with operations.list), 404 means create
//     again, 409 at create means it exists. A pool in ERROR is kFailed
//     (the operator deletes it; Kinema never deletes pools).
//   - Add (LaunchNode): the pool's group in the node's zone (from
//     instanceGroupUrls) → its baseInstanceName → the member name
//     GroupMemberNameFor(base, key) → listManagedInstances; absent:
//     createInstances {"instances":[{"name"}]} with requestId from the key.
//     Never instances.insert (InsertInstance is refused).
//   - Stockout and quota appear as a member stuck in CREATING with
//     lastAttempt.errors (mapped as cluster-autoscaler does, mig_wire.h):
//     the provider deletes that member (deleteInstances), marks
//     (type, zone, capacity) unavailable for options.unavailable_ttl and
//     returns kFailed with the typed error.
//   - Remove (RetireNode, and DeleteInstance for the raw API): find the
//     group the instance is a member of — its `created-by` metadata, the
//     hinted pool, else every pool's group in the zone (a member stuck in
//     CREATING has no instance yet) — then deleteInstances with
//     skipInstancesOnValidationError and a requestId from the key. Never
//     instances.delete on a member (its group would recreate it), never
//     resize/setSize to remove a chosen node. An instance that is no
//     group's member is deleted with instances.delete.
//   - Ownership is membership: ListManagedNodes lists every member of every
//     pool labelled kinema.io/managed-pool=true, including members GKE
//     created itself (auto-repair, surge upgrade, spot recreation under the
//     same name).
//   - Pools read as usable are cached for options.pool_cache_ttl, group
//     base names until the group answers 404.
// Thread-safety: safe for concurrent use.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/catalog/catalog.h"
#include "engine/cloud/gce_provider.h"
#include "engine/cloud/gke_wire.h"
#include "engine/cloud/mig_wire.h"

namespace kinema::cloud {

inline constexpr const char* kDefaultContainerEndpoint = "https://container.googleapis.com/v1";

enum class NodePoolMode { kCreate, kExisting };

struct GkeOptions {
  GceOptions compute;  // Compute endpoint, project, zones, retry, timeouts
  std::string container_endpoint = kDefaultContainerEndpoint;
  std::string location;  // the cluster's region or zone (required)
  std::string cluster;   // required
  NodePoolMode pool_mode = NodePoolMode::kCreate;
  Catalog catalog;       // zones, labels and taints of each type; spot labels/taints
  std::chrono::milliseconds unavailable_ttl{180000};
  std::chrono::milliseconds pool_cache_ttl{30000};
};

// Where a pool stands after EnsureNodePool / ResolvePool.
struct NodePoolProgress {
  enum class State { kAbsent, kReady, kCreating, kBusy, kFailed };
  State state = State::kFailed;
  NodePool pool;          // kReady (and kCreating once it exists)
  std::string operation;  // the cluster operation creating it, when known
  std::string detail;
  Status error;           // kFailed
};

class GkeCloudProvider : public CloudProvider {
 public:
  static StatusOr<std::unique_ptr<GkeCloudProvider>> Create(GkeOptions options, std::unique_ptr<TokenSource> tokens,
                                                            std::shared_ptr<const http::HttpClient> http);

  // ---- raw calls
  StatusOr<Operation> InsertInstance(const InstanceSpec& spec) override;  // refused
  StatusOr<Instance> GetInstance(const std::string& zone, const std::string& name) override;
  StatusOr<std::vector<Instance>> ListInstances(const InstanceFilter& filter) override;
  StatusOr<Operation> DeleteInstance(const std::string& zone, const std::string& name,
                                     const std::string& idempotency_key) override;  // through the group
  StatusOr<Operation> WaitOperation(const Operation& op, Clock::time_point deadline) override;
  StatusOr<std::vector<MachineTypeInfo>> ListMachineTypes(const std::string& zone) override;
  StatusOr<MachineTypeInfo> GetMachineType(const std::string& zone, const std::string& name) override;
  std::string Describe() const override;

  // ---- node API
  StatusOr<NodeStatus> LaunchNode(const NodeSpec& spec) override;
  StatusOr<NodeStatus> DescribeNode(const NodeSpec& spec) override;
  StatusOr<NodeStatus> RetireNode(const NodeRef& node, const std::string& idempotency_key) override;
  StatusOr<std::vector<ManagedNode>> ListManagedNodes() override;
  std::string NodeGroupFor(const std::string& machine_type, CapacityType capacity) const override;
  std::vector<UnavailableOffering> UnavailableOfferings() const override { return offerings_.List(); }

  // ---- pools and cluster operations (GKE container API v1)
  NodePoolSpec NodePoolSpecFor(const std::string& machine_type, CapacityType capacity) const;
  StatusOr<NodePool> GetNodePool(const std::string& name);  // kNotFound when absent
  StatusOr<std::vector<NodePool>> ListNodePools();
  // One step towards `spec` existing and usable: get, and create when absent.
  StatusOr<NodePoolProgress> EnsureNodePool(const NodePoolSpec& spec);
  // The pool for (type, capacity) per cloud.nodePools (see the contract);
  // without create_missing a missing pool is kAbsent (never created).
  StatusOr<NodePoolProgress> ResolvePool(const std::string& machine_type, CapacityType capacity,
                                         bool create_missing = true);
  StatusOr<ClusterOperation> GetClusterOperation(const std::string& name);
  StatusOr<std::vector<ClusterOperation>> ListClusterOperations();
  StatusOr<ClusterOperation> WaitClusterOperation(const std::string& name, Clock::time_point deadline,
                                                  std::chrono::milliseconds poll = std::chrono::milliseconds(1000));

  // ---- groups (Compute instanceGroupManagers)
  StatusOr<InstanceGroupManager> GetGroup(const GroupRef& group);
  StatusOr<std::vector<ManagedInstance>> ListMembers(const GroupRef& group);

  const GkeOptions& options() const { return options_; }
  GceCloudProvider& compute() { return *compute_; }

 private:
  GkeCloudProvider(GkeOptions options, std::unique_ptr<GceCloudProvider> compute, std::shared_ptr<TokenSource> tokens,
                   std::shared_ptr<const http::HttpClient> http);

  std::string ClusterUrl() const;
  std::string LocationUrl() const;
  StatusOr<NodePoolProgress> ProgressOf(const NodePool& pool);
  StatusOr<std::string> FindCreateOperation(const std::string& pool);
  StatusOr<GroupRef> GroupInZone(const NodePool& pool, const std::string& zone) const;
  NodeStatus FromMember(const ManagedInstance& m, const GroupRef& group, const std::string& pool) const;
  NodeStatus FailStuckMember(NodeStatus st, const NodeSpec& spec, const GroupRef& group, const Status& error);
  StatusOr<Operation> DeleteMembers(const GroupRef& group, const std::vector<std::string>& names,
                                    const std::string& request_key);
  // The group `name` in `zone` is a member of, or nullopt (searches as RetireNode does).
  StatusOr<std::optional<std::pair<GroupRef, ManagedInstance>>> FindMembership(const std::string& zone,
                                                                               const std::string& name,
                                                                               const std::string& pool_hint);
  StatusOr<NodeStatus> LaunchOrDescribe(const NodeSpec& spec, bool mutate);
  void RememberPool(const NodePool& pool);
  void ForgetGroup(const GroupRef& group);

  GkeOptions options_;
  std::unique_ptr<GceCloudProvider> compute_;
  GoogleApiCaller container_;
  OfferingAvailability offerings_;
  mutable std::mutex mu_;
  struct CachedPool {
    NodePool pool;
    Clock::time_point at;
  };
  std::map<std::string, CachedPool> pools_;                 // usable pools by name
  std::map<std::string, InstanceGroupManager> groups_;      // by zone/name
  std::map<std::string, std::string> create_ops_;           // pool → operation creating it
};

}  // namespace kinema::cloud
