// Column generation on the pattern (Gilmore-Gomory) master, with our own
// exact pricing, a Lagrangian/Farley lower bound valid at every iteration,
// and integerisation of the LP solution.
//
// Master (LP, lp_solve, columns appended with add_columnex):
//   min  sum_p c_p x_p
//   s.t. sum_p a_pd x_p + f_d >= n_d        demand, dual pi_d >= 0
//        sum_{p in g} x_p <= |g|              per group of interchangeable existing nodes
//        sum_d r_dk f_d <= R_k, f_d <= cap_d*F  forced nodes as fluid capacity (a relaxation)
// Pricing per node kind / group: max sum_d pi_d a_d over feasible contents
// (3-D capacity, per-node caps, compatibility, class conflicts) by
// depth-first branch and bound with fractional-knapsack bounds (min over the
// three dimensions), node-limited; the root bound is kept when the limit hits.
// Bound: L(theta*pi) = theta*sum n_d pi_d + sum_g |g|*min(0, c_g - theta*UB_g)
//   - theta*UB_forced + forced cost, theta = min(1, min_new c_t/UB_t);
// valid for any pi >= 0 (Farley's scaling for unbounded node types), equal
// to the master LP optimum at convergence.
// Thread-safety: pure function.
#pragma once

#include <chrono>
#include <optional>
#include <vector>

#include "steps/optimize/problem.h"
#include "steps/optimize/solution.h"

namespace kinema::opt {

struct CgResult {
  std::optional<double> lower_bound;
  bool converged = false;
  bool has_solution = false;
  Solution solution;  // integerised plan (floor + greedy residual)
  int iterations = 0;
  int columns = 0;
  double seconds = 0;
};

// Best-value contents of one empty node of `kind`: max sum value_d a_d with
// a_d <= max_count_d, per-node caps, capacity, compatibility and conflicts;
// exact unless the branch and bound hits node_limit.
std::vector<std::pair<int, int>> BestFill(const Problem& p, int kind, const std::vector<double>& value,
                                          const std::vector<int>& max_count, int64_t node_limit, double* value_out);

// Pricing one node kind: max sum_d value_d a_d + stay_bonus * sum_d
// min(a_d, stay_count_d) over feasible contents (stay_count may be null: no
// bonus). `upper` is a proven upper bound on that maximum (== value when exact).
// With `min_value` > 0 only contents worth more count: when none is found,
// `value` is min_value and `items` is empty (exact: nothing is worth more).
// The search also stops (not exact) at `deadline`.
struct PricedPattern {
  double value = 0;
  double upper = 0;
  bool exact = false;
  std::vector<std::pair<int, int>> items;
};
PricedPattern PriceKind(const Problem& p, int kind, const std::vector<double>& value,
                        const std::vector<int>* stay_count, double stay_bonus, int64_t node_limit,
                        double min_value = 0,
                        std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());

CgResult RunColumnGeneration(const Problem& p, const std::vector<double>& start_duals, const Solution& incumbent,
                             double time_limit_seconds, uint64_t seed, int max_iterations = -1);

}  // namespace kinema::opt
