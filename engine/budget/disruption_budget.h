// Disruption budgets and eviction limits shared by every workflow kind
// (operations.md, "Disruption budgets"). Pure values and functions; the
// ledger (disruption_ledger.h) applies them to what workflows hold.
//
// Node budgets (Karpenter's model):
//   - `nodes` is a count ("3") or a percent of the current nodes ("10%",
//     rounded up);
//   - `reasons` limits a budget to some kinds' disruption reasons
//     (rescheduling, spot, rebalance, resize); empty = all;
//   - `schedule` (cron, UTC) with `duration`: the budget applies only from
//     each firing for `duration`;
//   - the most restrictive budget that applies wins; none applies =
//     unlimited; the default is one budget of 10%.
// Eviction limits (the descheduler's): pods a workflow may evict or move,
// per node, per namespace and in total; a kind may override them. A limit
// of -1 means unlimited.
// Thread-safety: plain values; functions are pure.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/budget/cron_schedule.h"
#include "engine/common/status.h"
#include "engine/common/time.h"

namespace kinema {

// The disruption reasons budgets may name (one per workflow kind).
const std::set<std::string>& KnownDisruptionReasons();

struct NodeBudget {
  std::string nodes = "10%";        // as written: "10%" or "3"
  bool is_percent = true;
  double percent = 10;              // when is_percent
  int64_t count = 0;                // otherwise
  std::set<std::string> reasons;    // empty: every reason
  std::optional<CronSchedule> schedule;
  Duration duration{0};             // with schedule

  // Parses "10%" / "3" (InvalidArgument naming the text otherwise).
  static StatusOr<NodeBudget> FromNodes(const std::string& nodes);
  bool AppliesTo(const std::string& reason, int64_t now_ms) const;
  // The number of nodes this budget allows out of `node_count`.
  int64_t Allowed(int64_t node_count) const;
  // "10% of 20 nodes = 2 (reasons: spot; 0 22 * * * for 8h)".
  std::string Describe(int64_t node_count) const;
};

struct EvictionLimits {
  int64_t per_node = 10;
  int64_t per_namespace = 20;
  int64_t total = 100;
  std::string Describe() const;  // "10 per node, 20 per namespace, 100 in total"
};

struct NodeAllowance {
  int64_t allowed = 0;   // INT64_MAX when no budget applies
  std::string binding;   // the budget that set it, described; "no budget applies" otherwise
};

// The most restrictive budget applying to `reason` at `now_ms` out of
// `node_count` nodes.
NodeAllowance AllowedNodes(const std::vector<NodeBudget>& budgets, const std::string& reason, int64_t node_count,
                           int64_t now_ms);

// The default budget list: one budget of 10% for every reason.
std::vector<NodeBudget> DefaultNodeBudgets();

}  // namespace kinema
