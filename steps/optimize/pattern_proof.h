// Pattern proof: proves the optimum of small instances (up to ~1,000 pods,
// a few dozen classes) by price-and-branch with every useful column.
//
// 1. Exact pattern master (Dantzig-Wolfe of the whole problem, no fluid
//    part): one pricing unit per new-node kind (unbounded, cost c_t), per
//    group of interchangeable existing nodes (<= |g| nodes, cost c_g) and per
//    forced existing node (exactly one pattern, the empty one included; its
//    price is a constant). Rows: demand sum_p a_pd x_p >= n_d (dual pi_d >= 0),
//    group sum_{p in g} x_p <= |g| (mu_g <= 0), forced sum_{p of j} x_p = 1
//    (nu_j free). Column generation with exact pricing (column_generation.h
//    PriceKind) until no column has a negative reduced cost: then
//      LB = sum_d pi_d n_d + sum_g mu_g |g| + sum_j nu_j + forced cost
//    is the master LP optimum and a proven lower bound on every plan.
// 2. Reduced-cost enumeration: every plan of cost C satisfies
//    C >= LB + sum_p rc_p x_p with rc_p >= 0 (weak duality), so a plan
//    cheaper than the incumbent UB uses only patterns with rc_p <= UB - LB.
//    Replacing a pattern by a maximal superset (no more pods of any class fit,
//    a_d <= n_d) keeps the cost and lowers rc, so enumerating the maximal
//    patterns with rc <= UB - LB of every unit gives a restricted master IP
//    that contains an optimal plan. In practice: rounds with a growing
//    delta <= UB - LB; the IP over the columns with rc <= delta has optimum z,
//    every plan costs >= min(z, LB + delta) (a bound even without a proof),
//    and z is optimal once z <= LB + delta. When a delta gives more than
//    `max_columns` columns the first rounds shrink it (the restricted IP is
//    then a price-and-branch heuristic), later ones stop.
// 3. lp_solve's branch and bound on that IP (integer columns, no fluid part,
//    no artificial columns). When it finishes (OPTIMAL), min(UB, IP optimum)
//    is the proven optimum. When the enumeration exceeds `max_columns`, the
//    clock runs out or lp_solve stops early, there is no proof; the LP bound
//    (step 1, when converged) and the best IP plan still count.
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
  int iterations = 0;                  // column-generation iterations
  int64_t enumerated = 0;              // columns of the restricted master IP
  double lp_seconds = 0;               // to the converged LP bound
  double seconds = 0;                  // total
  std::string stopped;                 // why there is no proof ("" when proven)
};

// `incumbent` must be a valid plan (its cost is the UB of step 2).
PatternProofResult ProvePatternOptimum(const Problem& p, const Solution& incumbent,
                                       std::chrono::steady_clock::time_point deadline, int64_t max_columns = 6000);

}  // namespace kinema::opt
