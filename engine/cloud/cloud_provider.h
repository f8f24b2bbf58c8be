// CloudProvider: what the node-boot and drain-and-delete steps need from a
// cloud. Two layers:
//
//  1. The node API (LaunchNode, DescribeNode, RetireNode, ListManagedNodes,
//     UnavailableOfferings): the same calls for every provider, so the steps
//     never branch on it. `gce` runs one standalone instance per node
//     (instances.insert from the operator's instance template); `gke` adds a
//     member to a node pool's zonal managed instance group (createInstances)
//     and removes it through that group (deleteInstances), creating the
//     pool first when needed. Every call is a reconcile step: it observes
//     the cloud, issues at most the next mutation (idempotent per key), and
//     returns where the node stands, without waiting for long operations.
//     A durable caller journals the NodeSpec (its intent: key, zone, type,
//     capacity, plus NodeGroupFor()'s pool name) before the first call and
//     simply calls again — after a restart too — until the node is
//     kRunning or kFailed:
//       kAbsent    nothing exists for this key (DescribeNode only)
//       kPreparing the node pool is being created (gke; minutes) or the
//                  cluster is busy with another operation; call again
//       kCreating  the instance is requested/booting; call again
//       kRunning   the instance runs; its Node registers on its own
//       kDeleting  being deleted (RetireNode, or someone else)
//       kFailed    this attempt is over; `error` is typed. Capacity kinds
//                  (quota, stockout) mean: try another zone, then another
//                  type. The provider has then already deleted the stuck
//                  instance and marked (type, zone, capacity) unavailable
//                  for a while (UnavailableOfferings), so planners skip it.
//                  A kFailed key stays failed: use a new key for a new attempt.
//  2. The raw instance calls (InsertInstance, GetInstance, ListInstances,
//     DeleteInstance, WaitOperation) that today's steps use. Under `gke`,
//     InsertInstance/DeleteInstance are refused: a bare instance never joins
//     a GKE cluster, and deleting a group member makes the group recreate it.
//
// Contract of the raw calls:
//   - Mutations (InsertInstance, DeleteInstance) are idempotent per
//     `idempotency_key`: a provider turns the key into its own request id
//     (GCE: the `requestId` UUID), so a retried or resumed step that repeats
//     the call with the same key cannot create a second instance or issue a
//     second delete. Use a different key for a different attempt (another
//     zone or machine type after a stockout).
//   - Mutations return an Operation. It is not DONE in general: callers pass
//     it to WaitOperation(), which returns it DONE or fails with
//     kDeadlineExceeded once `deadline` passes. A DONE operation carries its
//     outcome in Operation::error (OK = succeeded).
//   - Every failure is a Status whose CloudErrorKind can be recovered with
//     ClassifyCloudError(), also after WithContext() and after a round trip
//     through the journal (the kind is tagged in the message):
//       kAlreadyExists  (kAlreadyExists)   insert of an existing name — for an
//                                          idempotent boot this means done
//       kNotFound       (kNotFound)        get/delete of a missing instance —
//                                          for a delete this means done
//       kQuotaExceeded  (kResourceExhausted) project/region quota; try another
//                                          type or zone, or give up
//       kZoneResourcePoolExhausted (kResourceExhausted) stockout in the zone
//       kRateLimited    (kUnavailable)     API rate limit still hit after retries
//       kUnavailable    (kUnavailable)     5xx / connection failures after retries
//       kNoNodeGroup    (kFailedPrecondition) gke: no node pool may host this
//                                          (type, capacity) — try another type
//       kSpent          (kFailedPrecondition) LaunchNode: this key's node was
//                                          created and has been removed since
//                                          (or is being removed), e.g. a stuck
//                                          member the provider deleted before a
//                                          restart — a key boots at most one
//                                          node; only a new key boots another
//       kDeadlineExceeded, kInvalid (kInvalidArgument), kPermissionDenied,
//       kOther (whatever the code says).
//   - EnsureInstance()/EnsureInstanceDeleted() are the "done means done"
//     helpers the steps use: insert-or-already-there, delete-or-already-gone.
// Thread-safety: implementations must be safe to call from several threads
// (boots run in parallel).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/catalog/catalog.h"
#include "engine/common/status.h"

namespace kinema::cloud {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------- errors

enum class CloudErrorKind {
  kNone,
  kAlreadyExists,
  kNotFound,
  kQuotaExceeded,
  kZoneResourcePoolExhausted,
  kRateLimited,
  kUnavailable,
  kDeadlineExceeded,
  kInvalid,
  kPermissionDenied,
  kNoNodeGroup,
  kSpent,
  kOther,
};

// Stable names ("alreadyExists", "quotaExceeded", ...), used in the tag.
const char* CloudErrorKindName(CloudErrorKind kind);

// A Status of the code listed above whose message is
// "<message> [cloud:<kindName>]".
Status MakeCloudError(CloudErrorKind kind, const std::string& message);

// The kind of a Status: from the "[cloud:...]" tag when present (the last
// one wins), else from its code. OK → kNone.
CloudErrorKind ClassifyCloudError(const Status& status);

// Quota or stockout: the request may succeed with another zone or type.
inline bool IsCapacityError(CloudErrorKind k) {
  return k == CloudErrorKind::kQuotaExceeded || k == CloudErrorKind::kZoneResourcePoolExhausted;
}

// The attempt cannot succeed as asked, but another offering may: capacity
// errors, (gke) no usable node pool for the machine type, and a spent key
// (the node of this offering's key was created and removed since: a caller
// whose keys derive from the offering can only boot on another one).
inline bool ShouldTryAnotherOffering(CloudErrorKind k) {
  return IsCapacityError(k) || k == CloudErrorKind::kNoNodeGroup || k == CloudErrorKind::kSpent;
}

// ---------------------------------------------------------------- values

struct InstanceSpec {
  std::string name;          // RFC 1035 label, <= 63 chars
  std::string zone;          // e.g. "us-central1-a"
  std::string machine_type;  // short name, e.g. "e2-standard-4"
  CapacityType capacity = CapacityType::kOnDemand;
  Labels labels;             // cloud labels (GCE rules: lowercase, <= 63 chars)
  std::string idempotency_key;  // required; see the contract above
};

struct Instance {
  std::string name;
  std::string zone;          // short name
  std::string machine_type;  // short name
  std::string status;        // GCE: PROVISIONING, STAGING, RUNNING, STOPPING, TERMINATED, ...
  CapacityType capacity = CapacityType::kOnDemand;
  Labels labels;
  std::string id;
  std::string creation_timestamp;  // RFC 3339 as the cloud reports it
  std::string internal_ip;         // first network interface, may be empty
  std::string self_link;
  std::map<std::string, std::string> metadata;  // metadata items (created-by, kube-labels, ...)
};

struct Operation {
  std::string name;
  std::string zone;              // short name
  std::string operation_type;    // "insert", "delete", ...
  std::string target_link;
  std::string target_name;       // last path segment of target_link
  std::string status;            // PENDING | RUNNING | DONE
  int progress = 0;
  Status error;                  // meaningful when done(): OK = succeeded
  bool done() const { return status == "DONE"; }
};

struct InstanceFilter {
  std::vector<std::string> zones;  // empty: the provider's configured zones
  std::string name_prefix;         // empty: any name
  Labels labels;                   // every pair must match exactly
};

struct MachineTypeInfo {
  std::string name;
  std::string zone;
  int guest_cpus = 0;
  int64_t memory_mb = 0;
  bool is_shared_cpu = false;
  std::string deprecated_state;  // empty when not deprecated
};

// ---------------------------------------------------------------- nodes

struct NodeSpec {
  // Required: durable and unique per attempt (e.g. "<workflow>/<planned>/
  // <zone>/<type>"); every request id derives from it, and under gke the
  // instance name too, so a restarted caller addresses the same node.
  std::string key;
  // gce: the instance name (empty: InstanceNameFor(instance prefix, key)).
  // gke: ignored; the name is <group baseInstanceName>-k<hash of key>.
  std::string instance_name;
  std::string zone;
  std::string machine_type;
  CapacityType capacity = CapacityType::kOnDemand;
  // gce: cloud labels of the instance (plus kinema-managed=true).
  // gke: ignored; a group member carries its pool's template (node labels
  // and taints come from the pool's config).
  Labels labels;
};

enum class NodeState { kAbsent, kPreparing, kCreating, kRunning, kDeleting, kFailed };
const char* NodeStateName(NodeState s);  // "absent", "preparing", ...

struct NodeStatus {
  NodeState state = NodeState::kAbsent;
  std::string instance_name;  // empty while unknown (gke: pool not ready yet)
  std::string zone;
  std::string provider_id;    // gce://<project>/<zone>/<name> once the name is known
  std::string group;          // gke: the node pool; gce: empty
  std::string operation;      // the cloud operation in flight, when there is one
  std::string detail;         // what is happening, or why it failed (for logs and the journal)
  Status error;               // kFailed: the typed cloud error
};

// A node to retire. `group` (gke: the node pool, e.g. from the Node's
// cloud.google.com/gke-nodepool label) is a hint; membership decides.
struct NodeRef {
  std::string zone;
  std::string instance_name;
  std::string group;
};

// A node the provider manages: gke, a member of one of the pools Kinema
// uses, whatever its name (GKE's own repairs and surge upgrades create
// members too); gce, an instance labelled kinema-managed=true.
struct ManagedNode {
  std::string instance_name;
  std::string zone;
  std::string group;
  std::string provider_id;
  std::string status;          // gke: the member's currentAction (NONE, CREATING, ...); gce: instance status
  std::string instance_status; // RUNNING, STOPPING, ... ("" while not created)
  Status last_error;           // gke: lastAttempt.errors, typed
};

// A (machine type, zone, capacity) the cloud could not provide recently.
struct UnavailableOffering {
  std::string machine_type;
  std::string zone;
  CapacityType capacity = CapacityType::kOnDemand;
  std::string reason;
  Clock::time_point until;
};

// ---------------------------------------------------------------- interface

class CloudProvider {
 public:
  virtual ~CloudProvider() = default;

  virtual StatusOr<Operation> InsertInstance(const InstanceSpec& spec) = 0;
  virtual StatusOr<Instance> GetInstance(const std::string& zone, const std::string& name) = 0;
  virtual StatusOr<std::vector<Instance>> ListInstances(const InstanceFilter& filter) = 0;
  virtual StatusOr<Operation> DeleteInstance(const std::string& zone, const std::string& name,
                                             const std::string& idempotency_key) = 0;
  // Returns `op` refreshed until DONE; kDeadlineExceeded when `deadline`
  // passes first. The operation's own failure is in the result's `error`.
  virtual StatusOr<Operation> WaitOperation(const Operation& op, Clock::time_point deadline) = 0;

  virtual StatusOr<std::vector<MachineTypeInfo>> ListMachineTypes(const std::string& zone) = 0;
  virtual StatusOr<MachineTypeInfo> GetMachineType(const std::string& zone, const std::string& name) = 0;

  // Human-readable identity for logs ("gce project=p endpoint=...").
  virtual std::string Describe() const = 0;

  // ---- the node API (see the top of this file)
  virtual StatusOr<NodeStatus> LaunchNode(const NodeSpec& spec) = 0;
  // Observes only: never creates, deletes or marks anything.
  virtual StatusOr<NodeStatus> DescribeNode(const NodeSpec& spec) = 0;
  // Deletes the node (gke: deleteInstances on the group it is a member of,
  // never instances.delete). Returns kDeleting until it is gone, then
  // kAbsent; a node that does not exist is kAbsent. Idempotent per key.
  virtual StatusOr<NodeStatus> RetireNode(const NodeRef& node, const std::string& idempotency_key) = 0;
  virtual StatusOr<std::vector<ManagedNode>> ListManagedNodes() = 0;
  // The group a node of this type and capacity goes to (gke: the node pool
  // name, for the journal; gce: ""). Pure: no call.
  virtual std::string NodeGroupFor(const std::string& machine_type, CapacityType capacity) const = 0;
  // Offerings that failed recently (expired entries dropped).
  virtual std::vector<UnavailableOffering> UnavailableOfferings() const = 0;
};

// ---------------------------------------------------------------- helpers

// Inserts `spec` and waits for the operation. An instance that already exists
// under that name (409 at insert, or alreadyExists inside the operation)
// counts as success. Returns the instance as GetInstance sees it afterwards.
// Quota/stockout/timeout failures come back as their typed Status.
StatusOr<Instance> EnsureInstance(CloudProvider& provider, const InstanceSpec& spec, Clock::time_point deadline);

// Deletes the instance and waits for the operation; an instance that is
// already gone (404 at delete, or notFound inside the operation) counts as
// success.
Status EnsureInstanceDeleted(CloudProvider& provider, const std::string& zone, const std::string& name,
                             const std::string& idempotency_key, Clock::time_point deadline);

// Launches the node and polls (LaunchNode every `poll`) until it runs,
// fails, or `deadline` passes (kDeadlineExceeded). Transient call failures
// (kUnavailable, kRateLimited left after the client's own retries) are
// called again; any other failure is returned. For tools and tests; a
// workflow step calls LaunchNode itself between its checkpoints.
StatusOr<NodeStatus> EnsureNodeLaunched(CloudProvider& provider, const NodeSpec& spec, Clock::time_point deadline,
                                        std::chrono::milliseconds poll = std::chrono::milliseconds(1000));
// Retires the node and polls until it is gone (kAbsent).
Status EnsureNodeRetired(CloudProvider& provider, const NodeRef& node, const std::string& idempotency_key,
                         Clock::time_point deadline, std::chrono::milliseconds poll = std::chrono::milliseconds(1000));

// A deterministic RFC 1035 instance name: "<prefix>-<16 hex of SHA-256(key)>",
// the prefix lower-cased, stripped of invalid characters and cut so the
// whole name fits 63 characters. Same key → same name, so a resumed boot
// addresses the instance an earlier attempt created.
std::string InstanceNameFor(std::string_view prefix, std::string_view unique_key);

// Validation used by providers before sending anything.
Status ValidateInstanceName(std::string_view name);
Status ValidateCloudLabels(const Labels& labels);

}  // namespace kinema::cloud
