// Decision (step 4, decision half): carry out the plan, discard it, or take
// no action. A pure function of the plan and two snapshots (the one the plan
// was computed on and a fresh one); every number behind the verdict is
// returned so the step can journal it and kinemactl can show it.
//
// Rules, in order:
//   1. change = |nodes added or removed| / nodes + |pods added or removed| /
//      pods between the snapshots (by identity: node name, pod uid — a
//      stricter measure than the original's count difference). change >
//      max_change → "discard" (the plan describes a cluster that no longer
//      exists).
//   2. savings = (costBefore − costAfter) / costBefore < min_savings →
//      "no_action".
//   3. nodes retired > max_nodes_retired or pods moved > max_pods_moved →
//      "no_action" (disruption beyond budget).
//   4. otherwise "proceed".
#pragma once

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

namespace kinema::rescheduling {

struct DecisionOptions {
  double min_savings = 0.10;
  double max_change = 0.10;
  int max_nodes_retired = 10;
  int max_pods_moved = 500;
};

struct ClusterIdentity {
  std::set<std::string> nodes;  // names
  std::set<std::string> pods;   // uids (or namespace/name when uid is absent)
};

// Collects node names and pod uids (Pending/Running pods only) from List items.
ClusterIdentity IdentityOf(const std::vector<nlohmann::json>& objects);

struct Decision {
  std::string verdict;  // proceed | discard | no_action
  std::string reason;   // one sentence with the numbers
  double change = 0;
  int nodes_added = 0, nodes_removed = 0, pods_added = 0, pods_removed = 0;
  double cost_before = 0, cost_after = 0, savings = 0;
  int nodes_booted = 0, nodes_retired = 0, pods_moved = 0;
  nlohmann::json ToJson() const;
};

// `plan`: the optimizer's plan JSON (planning.md §3).
Decision Decide(const nlohmann::json& plan, const ClusterIdentity& at_plan, const ClusterIdentity& now,
                const DecisionOptions& options);

}  // namespace kinema::rescheduling
