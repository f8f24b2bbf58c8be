// Exact pricing of one node kind by lp_solve's branch and bound: the
// fallback when the depth-first pricing (column_generation.h PriceKind) hits
// its node limit. Its LP relaxation is the exact three-row fractional
// knapsack at every node of the search, so it closes instances with many
// classes and large nodes where the depth-first bounds are too loose.
//
//   max  sum_d pi_d a_d
//   s.t. sum_d r_dk a_d <= free_k           k = cpu, memory, pods (scaled to 1)
//        sum_d pi_d a_d >= min_value        only columns that price out
//        0 <= a_d <= min(n_d, cap_d, fit)   integer; compatible classes only
//        a_d <= ub_d y_d, y_d + y_e <= 1    y binary, classes d, e in conflict
// Invariant: a returned pattern fits the node (checked in integers after
// rounding); `exact` means the optimum (or "nothing above min_value") is
// proven.
// Thread-safety: pure function; owns its lp_solve model.
#pragma once

#include <chrono>
#include <vector>

#include "steps/optimize/pattern_master.h"
#include "steps/optimize/problem.h"

namespace kinema::opt {

struct MipPricing {
  bool exact = false;
  double value = 0;    // of `items` (0 when empty)
  PatternItems items;  // empty when nothing is worth more than min_value
};

MipPricing PriceKindByMip(const Problem& p, int kind, const std::vector<double>& pi, double min_value,
                          std::chrono::steady_clock::time_point deadline);

}  // namespace kinema::opt
