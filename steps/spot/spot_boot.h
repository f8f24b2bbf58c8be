// SpotBoot: spot.bootSpot's decision, a pure function of the snapshot and
// the catalog (issue 16, item 6: "boot spot capacity when on-demand nodes
// host spot-tolerant pods and no spot room exists").
//
// Rules (PlanSpotBoot):
//   - only when bootSpot is on, a catalog is loaded, nothing is Pending
//     (the plan is not blocked) and no on-demand node can be emptied into
//     the spot capacity that exists (the plan has no drain candidate);
//   - on-demand nodes are taken in the plan's order (emptiest first); a node
//     qualifies when it is not pinned, cordoned or being retired, has pods
//     to move, and every one of them may move (WhyPodMustStay);
//   - for a qualifying node, every (machine type, zone) of the catalog with
//     a spot price (zones filtered by cloud.zones when given) is a
//     candidate new node, labelled and tainted as a booted spot node is
//     (the type's labels and taints, instance-type, zone, hostname,
//     cloud.google.com/gke-spot=true, kinema.io/capacity-type=spot and the
//     catalog's spot labels and taints); ALL the node's movable pods must
//     fit on that one new node (NodeFitter: requests with DaemonSet
//     overhead, pod slots, selectors, required affinity and anti-affinity,
//     taints — a pod that does not tolerate the spot taint never fits);
//   - the new node must be spot to these node-class rules (an explicit
//     spot.spotSelector it would not match makes booting pointless);
//   - the cheapest fitting candidate wins (spot $/h, then type name, the
//     node's own zone first, then zone name); it is chosen only when it
//     costs less per hour than the on-demand node it empties (the node's
//     catalog on-demand price; a node whose type has no catalog price does
//     not qualify);
//   - at most one node is booted per cycle: the first qualifying node.
// Every considered node that is not chosen gets a reason (`why_not`).
// Thread-safety: pure functions over values.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "engine/catalog/catalog.h"
#include "engine/common/status.h"
#include "steps/optimize/snapshot.h"

namespace kinema::spot {

struct PlanInputs;
struct SpotPlan;

// The plan's name for the node spot.bootSpot boots (the node-boot step's
// BootTarget.planned); its real name comes from the node-boot result.
inline constexpr const char* kBootPlannedName = "spot-boot-1";

struct SpotBootPlan {
  std::string node;          // the on-demand node to empty into the new spot node
  std::string machine_type;  // of the new spot node
  std::string zone;
  double price_per_hour = 0;           // the new spot node's catalog spot price
  double replaced_price_per_hour = 0;  // the on-demand node's catalog on-demand price
  std::vector<std::string> pods;       // ns/name, every pod to move
  std::string reason;
  bool operator==(const SpotBootPlan&) const = default;
  nlohmann::json ToJson() const;
  static StatusOr<SpotBootPlan> FromJson(const nlohmann::json& j);
};

struct SpotBootDecision {
  std::optional<SpotBootPlan> boot;
  std::string why_not;  // no boot: why ("" when bootSpot did not apply)
  struct Considered {
    std::string node;
    std::string why;  // why this node gets no spot node booted for it
  };
  std::vector<Considered> considered;  // nodes considered and not chosen
};

// The labels and taints every new spot node carries by the catalog
// (cloud.google.com/gke-spot=true, kinema.io/capacity-type=spot, the
// catalog's spot labels and taints), before its type's own.
std::pair<Labels, std::vector<Taint>> SpotNodeShape(const Catalog& catalog);

// The decision over `snap` (parsed from `list`) given the cycle's `plan`
// (PlanSpotCycle without a boot) and its inputs (in.boot_spot, in.catalog,
// in.zones).
SpotBootDecision PlanSpotBoot(const Snapshot& snap, const nlohmann::json& list, const SpotPlan& plan,
                              const PlanInputs& in);

}  // namespace kinema::spot
