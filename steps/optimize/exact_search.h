// Exact search for tiny instances (a handful of movable pods): depth-first
// branch and bound over single pods (each goes to an open node or opens a
// new one of any kind), with symmetry breaking (pods of one class fill nodes
// in non-decreasing order; only the first unopened node of a group of
// interchangeable existing nodes may open) and cost pruning against the
// incumbent. When it completes, its plan is a proven optimum, so its cost is
// also a valid lower bound.
//
// With a budget (budget.h): existing nodes are told apart by the pods on them
// now (no group symmetry), a pod placed beyond its class's current count on
// a node is a move and the search prunes past max_moves, and a leaf that
// retires more than max_retire nodes keeps the cheapest of its unopened
// nodes (empty) to respect it. The incumbent passed in must be within the
// budget; the result then is the budgeted optimum.
// Thread-safety: pure function.
#pragma once

#include <chrono>

#include "steps/optimize/budget.h"
#include "steps/optimize/problem.h"
#include "steps/optimize/solution.h"

namespace kinema::opt {

// Returns true when the search completed (then *best is optimal; it is only
// replaced when strictly cheaper than the incumbent passed in).
bool ExactSearch(const Problem& p, Packer* packer, Solution* best, std::chrono::steady_clock::time_point deadline,
                 int64_t node_limit, const BudgetLimits* budget = nullptr);

}  // namespace kinema::opt
