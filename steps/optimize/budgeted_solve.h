// The budgeted solve of OptimizePlacement (plan.h "Budgeted plans"): the
// cheapest plan within max_retire / max_moves on a Problem whose protected
// nodes are forced (ProtectNodes), from the no-change plan, in phases:
//   Start      the no-change plan (every node kept, only pods that must move
//              move); "infeasible" when those alone exceed max_moves.
//   Bound      knapsack bound, budgeted LP (budget_lp.h).
//   Construct  savings-per-disruption greedy, LP-guided rounding
//              (budget_search.h), budgeted column generation and its
//              restricted IP (budget_cg.h) on small and medium clusters.
//   Prove      exact search on tiny clusters (exact_search.h).
//   Improve    LNS within the budget until the bound or the deadline.
// Every phase keeps the best plan within the budget and the best valid bound;
// each writes one note ("budgeted: phase ...") with its time and result.
// Thread-safety: single-threaded, no globals.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "steps/optimize/plan.h"
#include "steps/optimize/problem.h"
#include "steps/optimize/search_result.h"

namespace kinema::opt {

// `target` is the unconstrained result: its bound is valid here (a
// relaxation) and its plan a candidate. *no_change receives the no-change
// plan (what --min-savings falls back to).
StatusOr<SearchResult> SolveBudgeted(const Problem& bp, const Snapshot& snap, const PlanOptions& opt,
                                     const SearchResult& target, std::chrono::steady_clock::time_point deadline,
                                     std::vector<std::string>* notes, Solution* no_change);

}  // namespace kinema::opt
