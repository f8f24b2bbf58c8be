// SpotPlan: one spot-rescheduling cycle's decision, a pure function of the
// cluster snapshot (seed "K8s Spot Rescheduler").
//
// Rules:
//   - node classes by node_classes.h; spot nodes that are cordoned, not
//     Ready (preempted) or being retired are not filled; nodes of neither
//     class are left alone;
//   - on-demand nodes are considered emptiest first (least requested CPU,
//     then name), spot nodes are filled most free CPU first (the seed's
//     order);
//   - an on-demand node is drainable only if every pod on it that is not a
//     DaemonSet pod may move (planning.md's movable rule, disruption_policy.h's
//     WhyPodCannotMove, not in exclusions.namespaces, not matching
//     exclusions.labelSelector) AND all of them fit on spot nodes at once
//     (NodeFitter::PlaceAll: resources with DaemonSet overhead, pod count,
//     selectors, required affinity and anti-affinity, NoSchedule/NoExecute
//     taints against tolerations). Capacity promised to one node's pods is
//     not promised again to the next node's;
//   - a node that is pinned (kinema.io/do-not-disrupt), cordoned or being
//     retired (kinema.io/retire) is not drained;
//   - an on-demand node without pods to move is drained only when the node
//     is deleted afterwards (afterDrain: delete); otherwise nothing to do;
//   - nothing is drained while any pod is Pending (pusher's rule: never act
//     while the scheduler has work to do); the plan says so in `blocked`;
//   - the first max_nodes drainable nodes get action "drain", later ones
//     "eligible" (the claim step may use them if the budget refuses one);
//   - with boot_spot and no drainable node, PlanSpotBoot (spot_boot.h) may
//     plan one new spot node: that on-demand node gets action "drain" with
//     every pod placed on kBootPlannedName, and `boot` says what to boot.
// Every on-demand node carries the reason for its action.
// Thread-safety: pure functions over values.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "steps/optimize/fit_check.h"
#include "steps/optimize/snapshot.h"
#include "steps/spot/node_classes.h"
#include "steps/spot/spot_boot.h"

namespace kinema::spot {

struct PlanInputs {
  NodeClassRules rules = {};
  int max_nodes = 1;
  bool delete_after_drain = false;
  std::vector<std::string> excluded_namespaces = {};
  std::optional<LabelSelectorString> excluded_pods = std::nullopt;  // exclusions.labelSelector
  int64_t now_ms = 0;
  // spot.bootSpot (spot_boot.h): when no on-demand node fits on the spot
  // capacity there is, plan one new spot node of the catalog's cheapest
  // fitting type for the first node that gains from it.
  bool boot_spot = false;
  const Catalog* catalog = nullptr;      // needed by boot_spot; must outlive the call
  std::vector<std::string> zones = {};   // cloud.zones (empty: the catalog's)
};

enum class NodeAction {
  kDrain,     // on-demand: drain this cycle
  kEligible,  // on-demand: would fit, beyond maxNodesPerCycle
  kSkip,      // on-demand: not drained (reason)
  kFill,      // spot: a target of the moves
  kIgnore,    // spot not usable, or a node of neither class
};
const char* NodeActionName(NodeAction a);  // drain, eligible, skip, fill, ignore

struct PodPlacement {
  std::string pod;  // ns/name
  std::string to;   // spot node
  bool operator==(const PodPlacement&) const = default;
};

struct PlannedNode {
  std::string name;
  NodeClass node_class = NodeClass::kOther;
  std::string class_reason;
  NodeAction action = NodeAction::kIgnore;
  std::string reason;
  int64_t requested_cpu_milli = 0;  // pods placed there (DaemonSet overhead excluded)
  int64_t free_cpu_milli = 0;       // allocatable − overhead − requested, when planned
  std::vector<PodPlacement> placements;  // kDrain/kEligible: every pod and its spot node
  bool operator==(const PlannedNode&) const = default;
};

struct SpotPlan {
  std::vector<PlannedNode> nodes;  // on-demand (planning order), then spot (fill order), then others
  int pending_pods = 0;
  std::string blocked;                    // why nothing is drained this cycle ("" = not blocked)
  // Movable pods on on-demand nodes that a spot node of the cluster accepts
  // (by labels and taints, room aside); with no spot node at all, a new
  // spot node from the catalog (SpotNodeShape).
  int spot_tolerant_on_demand_pods = 0;
  // spot.bootSpot: the new spot node to boot first (its node's action is
  // kDrain, its placements go to kBootPlannedName), or why none.
  std::optional<SpotBootPlan> boot;
  std::string boot_skipped;

  // On-demand nodes with action kDrain, then kEligible, in planning order.
  std::vector<const PlannedNode*> Candidates() const;
  const PlannedNode* Find(const std::string& name) const;
  std::vector<std::string> OnDemandNodes() const;  // every on-demand node (to taint)
  nlohmann::json ToJson() const;
  static StatusOr<SpotPlan> FromJson(const nlohmann::json& j);
};

// The cycle's plan over `snap` (parsed from `list`, whose items the
// snapshot's item_index values point into).
SpotPlan PlanSpotCycle(const Snapshot& snap, const nlohmann::json& list, const PlanInputs& in);

// Why `pod` (raw object `raw`) must stay where it is ("" = it may move).
std::string WhyPodMustStay(const SnapshotPod& pod, const nlohmann::json& raw, const PlanInputs& in);

// Re-check before evicting from `node` (a fresh snapshot `snap` parsed from
// `list`): do the pods still on it (terminating ones aside) all fit on the
// spot nodes now, after the Pending pods were given a place first (they are
// most likely the replacements of pods already evicted)? "" when they do,
// else why not ("pod shop/a fits on no spot node now: ...": a spot node was
// preempted, or capacity was taken meanwhile).
std::string RecheckDrain(const Snapshot& snap, const nlohmann::json& list, const std::string& node,
                         const NodeClassRules& rules);

}  // namespace kinema::spot
