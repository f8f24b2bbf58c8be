// Evictions of the load-rebalancing workflow (the evict step): what each
// chosen pod's eviction came to, and the pure rules that read the API's
// answers and track background evictions.
//
// A pod annotated descheduler.alpha.kubernetes.io/request-evict-only is
// evicted once: a 429 whose message says the eviction triggered an
// evacuation (KubeVirt: `Eviction triggered evacuation of VMI "<ns>/<vm>"`,
// or `Evacuation in progress: ...` when it already runs) is an eviction in
// progress, not a refusal; it is tracked until the source pod is gone and
// the VM's new pod runs on another node (outcome migrated), within
// rebalance.migrationTimeout (then timed-out). Any other 429 is a
// PodDisruptionBudget refusal (refused). The pod's claim holds until the
// workflow ends, so an eviction in progress counts against the limits.
// Thread-safety: pure functions and plain values.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "engine/common/status.h"
#include "steps/rebalance/decision.h"

namespace kinema::rebalance {

inline constexpr const char* kEvictOnlyAnnotation = "descheduler.alpha.kubernetes.io/request-evict-only";
inline constexpr const char* kVmNameLabel = "vm.kubevirt.io/name";

enum class EvictionOutcome {
  kEvicted,       // the API accepted the eviction (PDBs allowed it)
  kInBackground,  // evacuation triggered, not finished yet (never a final outcome of a finished step)
  kMigrated,      // a background eviction finished: the pod is gone, the VM runs elsewhere
  kRefused,       // a PodDisruptionBudget (or the disruption budget) refused it
  kGone,          // the pod was gone before it was evicted (or evicted before a restart)
  kTimedOut,      // a background eviction did not finish within migrationTimeout
};
const char* EvictionOutcomeName(EvictionOutcome o);  // evicted, in-background, migrated, refused, gone, timed-out
StatusOr<EvictionOutcome> ParseEvictionOutcome(const std::string& s);

struct EvictionEntry {
  PodChoice choice;
  EvictionOutcome outcome = EvictionOutcome::kRefused;
  std::string detail;    // the API's message, or what was observed
  std::string new_pod;   // migrated: the VM's pod now
  std::string new_node;  // migrated: where it runs
  int64_t at_ms = 0;     // when the eviction was requested
  int64_t done_ms = 0;   // migrated: when it was seen finished
};

struct EvictResult {
  std::vector<EvictionEntry> evictions;
  std::vector<PodSkip> refused_by_budget;  // refused by the shared ledger (limits, other workflows)
  nlohmann::json claim;                    // the grant's summary
  int Count(EvictionOutcome o) const;
  nlohmann::json ToJson() const;
  static StatusOr<EvictResult> FromJson(const nlohmann::json& j);
};

// How to read the answer to POST pods/NAME/eviction.
enum class EvictionAnswer { kAccepted, kEvacuationTriggered, kRefused, kNotFound, kError };
EvictionAnswer ReadEvictionAnswer(int http_status, const std::string& message);

// Is the background eviction of `choice` finished? `source` is the source
// pod as read now (null when it is gone), `vm_pods` the pods labelled
// vm.kubevirt.io/name=<vm> in its namespace. Finished when the source pod
// (same uid) is gone and one of the VM's pods is Running on another node
// than choice.from (*new_pod, *new_node); for a pod that is not a VM's, when
// the source pod is gone.
bool BackgroundEvictionFinished(const PodChoice& choice, const nlohmann::json* source,
                                const std::vector<nlohmann::json>& vm_pods, std::string* new_pod, std::string* new_node);

}  // namespace kinema::rebalance

#include "storage/workflow_view.h"

namespace kinema::rebalance {

// The evictions earlier load-rebalancing workflows made (their evict steps'
// results), for the cooldown and ping-pong rules. Damaged results are
// skipped. Entries refused or gone are not evictions and are left out.
std::vector<EvictionRecord> EvictionHistory(const std::vector<WorkflowView>& views, const std::string& type);

}  // namespace kinema::rebalance
