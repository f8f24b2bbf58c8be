// Budgeted column generation: the pattern master of optimizer.md §1
// ("Existing nodes") with the budget as binding rows, its Lagrangian bound,
// and a restricted-master integer program that picks the retired nodes and
// every node's contents jointly (exact over the generated patterns).
//
// Master (LP, lp_solve, columns appended with add_columnex):
//   min  sum_t c_t z_tp + sum_j c_j lambda_jp
//   s.t. sum_p a_pd (z + lambda) >= n_d                  demand, dual pi_d >= 0
//        sum_p lambda_jp <= 1  (unforced j; = 1 forced)   keep node j with one pattern, or retire it
//        sum_jp stays(j,p) lambda_jp >= sum_d n_d - M     churn row, dual rho >= 0
//        sum_{unforced j,p} lambda_jp >= N_unforced - R   retire row, dual lambda >= 0
// where stays(j,p) = sum_d min(cur_jd, a_pd): the pods of the pattern that
// are on node j now (all others move).
// Pricing, per new kind t: max pi.a (as in column_generation.h); per
// existing node j: max pi.a + rho * stays(j, a), a knapsack whose value is
// concave per class (the first cur_jd pods of class d are worth pi_d + rho).
// Bound, valid at every iteration once every kind is priced (Lagrangian
// relaxation of demand, churn and retire rows, Farley's scaling theta for the
// unbounded new kinds, theta = min(1, min_t c_t / UB_t)):
//   theta sum_d pi_d n_d + rho S + lambda K
//   + sum_{unforced j} min(0, c_j - lambda - UB_j) + sum_{forced j} (c_j - UB_j)
// with UB the pricing upper bounds (UB_j at (pi, rho) bounds it at (theta pi, rho)).
// Equal to the master LP optimum at convergence with exact pricing.
// Integer plan: lp_solve's branch and bound on the restricted master (all
// generated patterns integer, no artificial columns) under a short timeout;
// surplus pods are dropped from booted nodes first, then from pods that
// would move, never from pods that stay.
// Cost: one knapsack per existing node and new kind per iteration, so it is
// meant for small and medium clusters (the caller gates it).
// Thread-safety: pure function; each call owns its lp_solve model.
#pragma once

#include <cstdint>
#include <optional>

#include "steps/optimize/budget.h"
#include "steps/optimize/problem.h"
#include "steps/optimize/solution.h"

namespace kinema::opt {

struct BudgetCgResult {
  std::optional<double> lower_bound;
  bool converged = false;
  bool has_solution = false;
  Solution solution;   // within the budget when has_solution
  int iterations = 0;
  int columns = 0;
  double seconds = 0;
  std::string ip_status;  // what the restricted-master IP did
};

// `incumbent` (within the budget) and `start` (the no-change plan) seed the
// master's columns. `packer` is only used for Add/Remove bookkeeping.
BudgetCgResult RunBudgetColumnGeneration(const Problem& p, const BudgetLimits& b, const Solution& incumbent,
                                         const Solution& start, const Packer& packer, double time_limit_seconds,
                                         int max_iterations = -1);

}  // namespace kinema::opt
