// Decision (step 3, decision half): carry out the plan, discard it, or take
// no action. A pure function of the plan and two cluster identities (the
// snapshot the plan was computed on and a fresh one); every number behind
// the verdict is returned so the step can journal it and kinemactl can show
// it.
//
// The plan is already within the budgets (the optimizer planned within
// decision.maxNodesRetired, decision.maxPodsMoved and the shared disruption
// budget): its size is never a reason to reject it. Rules, in order:
//   1. change = |nodes added or removed| / nodes + |pods added or removed| /
//      pods between the identities (by node name and pod uid), not counting
//      what Kinema's own workflows changed meanwhile (OwnChanges: nodes they
//      booted or retired, pods they evicted or moved and those pods'
//      replacements). change > max_change → "discard" (the plan describes a
//      cluster that no longer exists).
//   2. whole-way savings = (cost before − target) / cost before, where the
//      target is the unconstrained plan's cost (the plan's own when it has no
//      target): < min_savings → "no_action" (rescheduling is not worth
//      starting).
//   3. a step that changes nothing or saves nothing → "no_action" (nothing
//      within the budget is worth doing now; the journal says how far the
//      target is).
//   4. otherwise "proceed", with this step's saving and its share of the way
//      to the target.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "steps/optimize/plan.h"

namespace kinema::rescheduling {

struct DecisionOptions {
  double min_savings = 0.10;
  double max_change = 0.10;
};

// The cluster a plan was computed on, by identity.
struct ClusterIdentity {
  std::set<std::string> nodes;                 // names
  std::set<std::string> pods;                  // uids (or namespace/name when uid is absent)
  std::map<std::string, std::string> pod_keys;    // uid -> "ns/name"
  std::map<std::string, std::string> pod_owners;  // uid -> "ns/<controller kind>/<name>" ("" when none)
  nlohmann::json ToJson() const;
  static StatusOr<ClusterIdentity> FromJson(const nlohmann::json& j);
};

// Collects node names and pod uids (Pending/Running pods only) from List items.
ClusterIdentity IdentityOf(const std::vector<nlohmann::json>& objects);

// What Kinema's own workflows changed while a plan was being made.
struct OwnChanges {
  std::set<std::string> nodes;     // nodes they retired or acted on
  std::string new_node_prefix;     // nodes Kinema boots are named "<prefix>-..."
  std::set<std::string> pod_keys;  // "ns/name" of pods they evicted, moved or resized
};

struct Decision {
  std::string verdict;  // proceed | discard | no_action
  std::string reason;   // one sentence with the numbers
  double change = 0;
  int nodes_added = 0, nodes_removed = 0, pods_added = 0, pods_removed = 0;
  int own_changes_ignored = 0;
  double cost_before = 0, cost_after = 0, savings = 0;  // this step
  double target_cost = 0, target_savings = 0;           // the whole way
  double share_of_way = 0;                              // this step's share of (before − target)
  int nodes_booted = 0, nodes_retired = 0, pods_moved = 0;
  nlohmann::json ToJson() const;
};

Decision Decide(const Plan& plan, const ClusterIdentity& at_plan, const ClusterIdentity& now,
                const OwnChanges& own, const DecisionOptions& options);

}  // namespace kinema::rescheduling
