// Pattern proof: proves the optimum of small instances (up to ~2,000 pods,
// a few dozen classes) by branch and price on the exact pattern master
// (pattern_master.h).
//
// 1. Column generation with exact pricing at every node of a best-first
//    tree. A node bounds how many nodes each pricing unit opens (count
//    ranges); its converged master LP value is a lower bound on every plan
//    within the ranges. Nodes whose bound reaches the incumbent are pruned.
// 2. Branching: the unit whose fractional node count in the LP solution
//    weighs most (price x distance to the nearest integer); children
//    "count <= floor" and "count >= ceil" (every plan lies in exactly one
//    child). On small clusters the integrality gap is mostly fractional node
//    counts, which this removes. A node whose pricing is not settled (no
//    bound of its own) is branched the same way on its last LP solution;
//    its children keep the parent's bound.
// 3. A node whose counts are all integral is closed by reduced cost: every
//    plan of the node costs >= LB + sum_p rc_p x_p (weak duality, rc_p >= 0),
//    so a plan cheaper than LB + delta uses only the maximal patterns with
//    rc_p <= delta (a maximal superset keeps the cost and lowers rc). Rounds
//    with a growing delta: lp_solve's branch and bound on the IP over those
//    columns gives z; the node's optimum is z once z <= LB + delta. When a
//    delta gives more than `max_columns` columns (degenerate duals) the node
//    is branched on a flow: one class's total on one unit's nodes, <= floor
//    / >= ceil (FlowBound rows, pattern_master.h); below a flow branch, flow
//    branching comes first. Among equal bounds the deepest node goes first.
// 4. Incumbent: besides the IPs of step 3, price-and-dive (proof_dive.h)
//    from the root, every 32nd node and every integral-count node left open
//    (with its counts fixed) turns node LPs into plans; a better plan prunes
//    and closes more nodes. Dives take at most a quarter of the tree's time.
// The lower bound is the least bound of the open nodes and of the nodes left
// unresolved (integral counts and flows, enumeration overflowing) whose bound
// is below the final incumbent; `proven` when no such node is left. Without
// a converged root there is no bound; the best IP plan found still counts.
// Thread-safety: pure function; owns its lp_solve models.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "steps/optimize/problem.h"
#include "steps/optimize/solution.h"

namespace kinema::opt {

struct PatternProofResult {
  bool converged = false;              // step 1 finished with exact pricing
  std::optional<double> lower_bound;   // the master LP bound (converged) or the proven optimum
  bool proven = false;                 // `solution` (or the incumbent) is optimal; lower_bound == its cost
  bool has_solution = false;           // `solution` is a valid plan cheaper than the incumbent
  Solution solution;
  std::optional<double> root_bound;    // the root's master LP bound (converged)
  int iterations = 0;                  // column-generation iterations, all nodes
  int nodes = 0;                       // branch-and-price nodes solved
  int64_t columns = 0;                 // columns generated (the pool every node's LP starts from)
  int64_t enumerated = 0;              // columns of the restricted master IPs, all nodes
  int dives = 0;                       // price-and-dive runs (proof_dive.h)
  int dive_steps = 0;                  // their LPs
  int dive_improvements = 0;           // dives that improved the incumbent
  double dive_seconds = 0;             // their time
  int flow_branches = 0;               // nodes branched on a class's total on a unit
  double lp_seconds = 0;               // to the converged LP bound
  double seconds = 0;                  // total
  std::string stopped;                 // why there is no proof ("" when proven)
};

// `incumbent` must be a valid plan (its cost is the UB of step 2).
PatternProofResult ProvePatternOptimum(const Problem& p, const Solution& incumbent,
                                       std::chrono::steady_clock::time_point deadline, int64_t max_columns = 6000,
                                       int max_nodes = 5000);

}  // namespace kinema::opt
