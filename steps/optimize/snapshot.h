// Snapshot: the typed cluster state the optimizer plans over.
//
// What: ParseSnapshot() reads the `kubectl get nodes,pods,...,daemonsets -A
// -o json` List of shared/spec/planning.md §1 into nodes, countable pods and
// DaemonSet templates. Every malformed field is an InvalidArgument naming the
// item index and field ("items[12].spec.containers[0].resources.requests.cpu:
// invalid quantity ...").
//
// Rules implemented here:
//   - Only Pending/Running pods count (a pod without status.phase counts as
//     Pending); DaemonSet-owned pods are not placed, their DaemonSet's template
//     is per-node overhead instead. If a DaemonSet object is missing but its
//     pods are present, the first pod stands in as the template (with the
//     per-node metadata.name matchFields the controller adds removed).
//   - Pod requests: sum over containers, max with each init container (plus
//     restartable "sidecar" init containers, as kube-scheduler computes it),
//     plus spec.overhead; one pod slot.
//   - Movable unless: no controller owner reference; mirror/static pod
//     (kubernetes.io/config.mirror annotation or Node owner); a hostPath
//     volume; kinema.io/do-not-disrupt: "true"; or on a pinned node.
//   - Pinned node: annotation kinema.io/do-not-disrupt: "true".
//   - Spot node: label cloud.google.com/gke-spot=true or kinema.io/capacity-type=spot.
//   - Required pod anti-affinity is kept for topologyKey kubernetes.io/hostname;
//     other topology keys are ignored with a warning. A non-empty
//     namespaceSelector is treated as "all namespaces" (namespace labels are
//     not in the snapshot), which can only add conflicts.
//   - Unknown kinds are ignored with a warning.
//   - Quantities are capped at kMaxPlannableQuantity and sums of requests
//     saturate there (engine/quantity): a pod asking for 2 x 7Ei fits no
//     machine, it never overflows into a negative request; a snapshot of
//     more than kMaxPlannableItems items is refused.
// Thread-safety: a Snapshot is an immutable value once parsed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/catalog/catalog.h"
#include "engine/common/status.h"
#include "steps/optimize/scheduling.h"

namespace kinema {

struct SnapshotNode {
  int item_index = -1;
  std::string name;
  Labels labels;
  std::string instance_type;  // "" when unlabelled
  std::string zone;
  CapacityType capacity_type = CapacityType::kOnDemand;
  bool pinned = false;
  bool unschedulable = false;
  std::vector<Taint> taints;
  Resources allocatable;
};

// Required anti-affinity term with topologyKey kubernetes.io/hostname.
struct AntiAffinityTerm {
  LabelSelector selector;
  std::vector<std::string> namespaces;  // empty = the pod's own namespace
  bool all_namespaces = false;          // namespaceSelector present
};

struct SnapshotPod {
  int item_index = -1;
  std::string namespace_;
  std::string name;
  std::string node_name;  // "" when unscheduled
  std::string phase;
  Labels labels;
  Resources requests;  // pods == 1
  NodeConstraints constraints;
  std::vector<AntiAffinityTerm> anti_affinity;
  std::string owner_kind;  // controller owner kind, "" if none
  std::string owner_name;
  bool movable = true;
  std::string immovable_reason;  // set when !movable
  std::string FullName() const { return namespace_ + "/" + name; }
};

struct DaemonSetSpec {
  int item_index = -1;
  std::string namespace_;
  std::string name;
  Resources requests;  // per node, pods == 1
  NodeConstraints constraints;  // includes the tolerations the controller adds
};

struct Snapshot {
  std::vector<SnapshotNode> nodes;
  std::vector<SnapshotPod> pods;  // countable, non-DaemonSet pods
  std::vector<DaemonSetSpec> daemonsets;
  std::vector<std::string> warnings;
  int FindNode(const std::string& name) const;  // -1 if absent
};

StatusOr<Snapshot> ParseSnapshot(const nlohmann::json& list);
StatusOr<Snapshot> LoadSnapshotFile(const std::string& path);

// True when `term` (owned by a pod in namespace owner_ns) selects `pod`.
bool AntiAffinityMatches(const AntiAffinityTerm& term, const std::string& owner_ns, const SnapshotPod& pod);
// Scheduler request computation over a pod spec; `where` prefixes errors.
StatusOr<Resources> PodSpecRequests(const nlohmann::json& spec, const std::string& where);

}  // namespace kinema
