// Placement optimizer: public API.
//
// What: OptimizePlacement() finds the cheapest set of nodes (existing nodes
// kept, new nodes booted from the catalog, on-demand or spot, per zone) that
// hosts every countable pod of a snapshot, and where each pod goes, following
// every validity rule of shared/spec/planning.md §3. Secondary objectives at
// equal cost: keep existing nodes rather than boot new ones, then move the
// fewest pods. PlanToJson() renders the plan in the contract's JSON format.
//
// Pipeline (steps/optimize/optimizer.cc): pods grouped into classes
// (controller x constraint signature) -> dominated node types dropped -> fluid
// LP lower bound and duals (lp_solve) -> LP-priced bin-centric greedy ->
// column generation with our own knapsack pricing (Farley/Lagrangian bound)
// -> local search + large-neighbourhood search, best valid plan kept outside
// lp_solve -> churn budget / min-savings -> concrete pod assignment.
//
// Errors: InvalidArgument for bad input (message names the item and field);
// FailedPrecondition "infeasible: ..." when no valid plan exists (message
// names a pod that fits nowhere and why). Decisions are pure: no I/O, no
// logging side effects beyond the returned Plan.
// Determinism: for equal input, options and seed the search is deterministic
// up to the wall-clock budget (a search cut short by --time-limit can stop at
// a different iteration on a slower machine); `max_iterations` makes it
// fully reproducible.
// Thread-safety: OptimizePlacement is reentrant (no globals).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/catalog/catalog.h"
#include "engine/common/status.h"
#include "steps/optimize/snapshot.h"

namespace kinema {

struct PlanOptions {
  double time_limit_seconds = 30;         // wall-clock budget for the whole solve
  std::optional<int64_t> max_moves;       // churn cap (pods whose node changes)
  double min_savings = 0;                 // fraction of cost before; below it: no-change plan
  std::optional<double> unknown_node_price;  // price for nodes whose type is not in the catalog
  uint64_t seed = 1;
  std::vector<std::string> allow_types;   // new node types allowed; empty = all
  bool no_spot = false;                   // never boot spot nodes
  std::vector<std::string> zones;         // zones new nodes may use; empty = all
  double gap_target = 1e-4;               // stop searching once (UB-LB)/LB <= this
  int64_t max_iterations = -1;            // LNS iteration cap; -1 = until time/gap
  std::string new_node_prefix = "kinema-new-";
};

struct PlanNode {
  std::string name;
  std::string machine_type;
  std::string zone;
  std::string capacity_type;  // "on-demand" | "spot"
  double price_per_hour = 0;
  std::string action;         // "keep" | "boot" | "retire"
};

struct PlanPlacement {
  std::string pod;   // namespace/name
  std::string node;
};

struct Plan {
  std::string status;  // "optimal" | "feasible"
  double cost_before = 0;
  double cost_after = 0;
  std::optional<double> lower_bound;
  std::string bound_source;  // "fluid-lp" | "column-generation" | ...
  double solve_seconds = 0;
  std::vector<PlanNode> nodes;
  std::vector<PlanPlacement> placements;
  int64_t moves = 0;
  bool no_change = false;    // min-savings returned the current placement
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

nlohmann::json PlanToJson(const Plan& plan);
// The inverse of PlanToJson (journaled plans are read back typed);
// InvalidArgument naming the field when `j` is not a plan.
StatusOr<Plan> PlanFromJson(const nlohmann::json& j);

}  // namespace kinema
