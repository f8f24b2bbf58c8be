// CloudProvider: what the node-boot and drain-and-delete steps need from a
// cloud — create an instance, look at it, list ours, delete it, and wait for
// the asynchronous operation behind a mutation.
//
// Contract:
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
//       kDeadlineExceeded, kInvalid (kInvalidArgument), kPermissionDenied,
//       kOther (whatever the code says).
//   - EnsureInstance()/EnsureInstanceDeleted() are the "done means done"
//     helpers the steps use: insert-or-already-there, delete-or-already-gone.
// Thread-safety: implementations must be safe to call from several threads
// (boots run in parallel).
#pragma once

#include <chrono>
#include <cstdint>
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

// A deterministic RFC 1035 instance name: "<prefix>-<16 hex of SHA-256(key)>",
// the prefix lower-cased, stripped of invalid characters and cut so the
// whole name fits 63 characters. Same key → same name, so a resumed boot
// addresses the instance an earlier attempt created.
std::string InstanceNameFor(std::string_view prefix, std::string_view unique_key);

// Validation used by providers before sending anything.
Status ValidateInstanceName(std::string_view name);
Status ValidateCloudLabels(const Labels& labels);

}  // namespace kinema::cloud
