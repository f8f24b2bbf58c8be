// Placement optimizer: public API.
//
// What: OptimizePlacement() finds the cheapest set of nodes (existing nodes
// kept, new nodes booted from the catalog, on-demand or spot, per zone) that
// hosts every countable pod of a snapshot, and where each pod goes, following
// every validity rule of shared/spec/planning.md §3. Secondary objectives at
// equal cost: keep existing nodes rather than boot new ones, then move the
// fewest pods. PlanToJson()/PlanFromJson() render and read back the plan in
// the contract's JSON format (plus the project's extra fields).
//
// Unconstrained pipeline (steps/optimize/optimizer.cc): pods grouped into
// classes (controller x constraint signature) -> dominated node types dropped
// -> fluid LP lower bound and duals (lp_solve; above 2,000 classes aggregate
// prices + the Lagrangian bound instead) -> LP-priced bin-centric greedy
// -> column generation with our own knapsack pricing (Farley/Lagrangian
// bound) -> pattern proof on small instances (pattern_proof.h) -> exact
// search on tiny instances -> local search + large-neighbourhood search
// (cut-out neighbourhoods on large plans), best valid plan kept outside
// lp_solve -> concrete pod assignment. Overview: steps/optimize/README.md.
//
// Budgeted plans (planning.md "Budgeted plans"): with `max_retire`,
// `max_moves` or `keep_nodes` set, the plan is the cheapest one the solver
// finds that retires at most max_retire snapshot nodes, moves at most
// max_moves pods and retires none of keep_nodes -- the best first step toward
// the unconstrained optimum, not the global plan cut afterwards. It may boot
// new nodes. Two solves share the time limit:
//   1. target: the unconstrained problem (no max_retire, max_moves or
//      keep_nodes) with the pipeline above, until 40% of the time limit (less
//      when it proves its optimum or reaches gap_target earlier). Its cost and
//      bound are reported as Plan::target, and its bound is a valid bound for
//      the budgeted problem too (a relaxation of it). When its plan already
//      fits the budget it is the budgeted search's starting point.
//   2. budgeted: whatever time is left until 95% of the limit, on the
//      problem with keep_nodes protected. From the no-change plan (every node
//      kept, only Pending pods placed): bounds (budget.h knapsack bound;
//      budget_lp.h compact LP with per-node keep/retire variables, a churn
//      row and a retire row, up to ~2,500 rows, 40% of the remaining time),
//      the savings-per-disruption greedy and LP-guided rounding
//      (budget_search.h), the pattern master with the same budget rows
//      (budget_cg.h: stronger bound, restricted-master IP; <= 400 classes and
//      <= 200 nodes, 40% of what remains), exact search on tiny instances
//      (exact_search.h, proves the budgeted optimum), then large-neighbourhood
//      search within the budget until the bound is reached or time is up.
// Plan::lower_bound is then a bound for the budgeted problem (the largest of
// the target's bound, the knapsack bound, the budgeted LP, the budgeted
// column generation and the exact search), and status "optimal" means proven
// optimal within the budget.
//
// Budget semantics:
//   - `moves` counts every pod whose node changes, including Pending pods
//     that get a node (the contract's definition). Pods that must move anyway
//     (Pending, or no longer fitting their node) use the budget first; when
//     they alone exceed max_moves the result is an "infeasible" error naming
//     them, since no plan can respect the limit. Otherwise a plan always
//     exists: the no-change plan (every node kept, nothing moved) is within
//     any budget, so a small budget never makes the problem infeasible.
//     (Which running pods "no longer fit" is decided greedily node by node,
//     so on an over-committed node the count may exceed the true minimum.)
//   - keep_nodes are kept (never retired) but their movable pods may move:
//     moving a pod off a node does not drain, taint or delete that node, and
//     each such move counts against max_moves like any other. A caller that
//     must freeze a node's pods too marks the node kinema.io/do-not-disrupt
//     in the snapshot (a pinned node: kept, its pods immovable).
//   - max_retire counts snapshot nodes whose action is "retire".
//   - min_savings judges the whole way: when the target saves less than that
//     fraction of the cost before, the no-change plan is returned.
//   - "Cheapest" weighs each move at 1e-6 of the cost before (budget.h
//     BudgetBetter): a step never evicts pods to save a price rounding error.
//   - Each step is the cheapest within its budget, so steps can stop short of
//     the target when every remaining saving needs more retirements at once
//     than the budget allows (e.g. earlier steps booted small spot nodes that
//     only pay to consolidate several at a time). The plan then reports no
//     change within the budget while Plan::target still shows the way left.
//
// Errors: InvalidArgument for bad input (message names the item and field);
// FailedPrecondition "infeasible: ..." when no valid plan exists (message
// names a pod that fits nowhere and why, or the forced moves that exceed
// max_moves). Decisions are pure: no I/O, no logging side effects beyond the
// returned Plan.
// Determinism: for equal input, options and seed the search is deterministic
// up to the wall-clock budget (a search cut short by --time-limit can stop at
// a different iteration on a slower machine); `max_iterations` makes it
// fully reproducible.
// Thread-safety: OptimizePlacement is reentrant (no globals).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/catalog/catalog.h"
#include "engine/common/status.h"
#include "steps/optimize/snapshot.h"

namespace kinema {

struct PlanOptions {
  double time_limit_seconds = 30;         // wall-clock budget for the whole solve (target + budgeted)
  std::optional<int64_t> max_moves;       // budget: at most this many pods change node (>= 0)
  std::optional<int64_t> max_retire;      // budget: at most this many snapshot nodes retired (>= 0)
  std::set<std::string> keep_nodes;       // budget: never retired (pods on them may move); unknown names are noted
  double min_savings = 0;                 // fraction of cost before; below it: no-change plan
  std::optional<double> unknown_node_price;  // price for nodes whose type is not in the catalog
  uint64_t seed = 1;
  std::vector<std::string> allow_types;   // new node types allowed; empty = all
  bool no_spot = false;                   // never boot spot nodes
  std::vector<std::string> zones;         // zones new nodes may use; empty = all
  double gap_target = 1e-4;               // stop searching once (UB-LB)/LB <= this
  int64_t max_iterations = -1;            // LNS iteration cap (each solve); -1 = until time/gap
  std::string new_node_prefix = "kinema-new-";
  // True when any budget option is set (then the plan carries a target).
  bool Budgeted() const { return max_moves.has_value() || max_retire.has_value() || !keep_nodes.empty(); }
};

// "optimal" only when lower_bound equals cost_after (up to 1e-6 relative;
// lower_bound is then set to cost_after exactly): a proof, never a guess.
enum class PlanStatus { kOptimal, kFeasible };
const char* PlanStatusName(PlanStatus s);        // "optimal" | "feasible"

enum class NodeAction { kKeep, kBoot, kRetire };
const char* NodeActionName(NodeAction a);        // "keep" | "boot" | "retire"

struct PlanNode {
  std::string name;
  std::string machine_type;
  std::string zone;
  CapacityType capacity_type = CapacityType::kOnDemand;
  double price_per_hour = 0;
  NodeAction action = NodeAction::kKeep;
};

struct PlanPlacement {
  std::string pod;   // namespace/name
  std::string node;
};

// The unconstrained plan's figures, reported with every budgeted plan.
struct PlanTarget {
  double cost_after = 0;               // $/h of the best unconstrained plan found (the budgeted plan counts too)
  std::optional<double> lower_bound;   // proven bound on any unconstrained plan
};

// The budget a plan was made within, and how much of it the plan uses.
struct PlanBudget {
  std::optional<int64_t> max_retire;
  std::optional<int64_t> max_moves;
  int64_t keep_nodes = 0;   // snapshot nodes protected from retirement
  int64_t retired = 0;      // snapshot nodes the plan retires
  int64_t moves = 0;        // == Plan::moves
  int64_t forced_moves = 0; // moves no plan avoids (Pending pods, pods that no longer fit their node)
};

struct Plan {
  PlanStatus status = PlanStatus::kFeasible;
  double cost_before = 0;
  double cost_after = 0;
  std::optional<double> lower_bound;  // valid for the problem solved (the budgeted one when budgeted)
  std::string bound_source;  // "fluid-lp" | "fluid-lp-lagrangian" | "aggregate-prices-lagrangian" |
                             // "column-generation[-farley]" | "pattern-master-lp" | "pattern-proof" |
                             // "exact-search" | "budget-lp" | ...
  double solve_seconds = 0;
  std::vector<PlanNode> nodes;
  std::vector<PlanPlacement> placements;
  int64_t moves = 0;
  bool no_change = false;    // min-savings returned the current placement
  std::optional<PlanTarget> target;  // set for budgeted plans
  std::optional<PlanBudget> budget;  // set for budgeted plans
  std::vector<std::string> notes;  // warnings and decisions, for logs
  // Search statistics (for benchmarks and logs).
  double first_plan_seconds = 0;
  int64_t iterations = 0;
  int classes = 0;
  int node_types = 0;
};

StatusOr<Plan> OptimizePlacement(const Snapshot& snapshot, const Catalog& catalog, const PlanOptions& options);

// True for the FailedPrecondition "infeasible" errors of OptimizePlacement.
bool IsInfeasible(const Status& s);

// The contract's JSON plus "boundSource", "gap", "noChange", "notes" (the
// first 100), and for budgeted plans "target" and "budget".
nlohmann::json PlanToJson(const Plan& plan);
// Reads PlanToJson's output back (search statistics are not serialized;
// "gap" is derived). InvalidArgument names the first bad field ("plan.nodes[3].action: ...").
StatusOr<Plan> PlanFromJson(const nlohmann::json& j);

}  // namespace kinema
