// Exact search for tiny instances (a handful of movable pods): depth-first
// branch and bound over single pods (each goes to an open node or opens a
// new one of any kind), with symmetry breaking (pods of one class fill nodes
// in non-decreasing order; only the first unopened node of a group of
// interchangeable existing nodes may open) and cost pruning against the
// incumbent. When it completes, its plan is a proven optimum, so its cost is
// also a valid lower bound.
// Thread-safety: pure function.
#pragma once

#include <chrono>

#include "steps/optimize/problem.h"
#include "steps/optimize/solution.h"

namespace kinema::opt {

// Returns true when the search completed (then *best is optimal; it is only
// replaced when strictly cheaper than the incumbent passed in).
bool ExactSearch(const Problem& p, Packer* packer, Solution* best, std::chrono::steady_clock::time_point deadline,
                 int64_t node_limit);

}  // namespace kinema::opt
