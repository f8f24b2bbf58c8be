// Price-and-dive: turns a branch-and-price node's master LP into plans, so
// the tree's incumbent improves while it proves (pattern_proof.h).
//
// From the node's count ranges, repeatedly: column generation with cheap
// pricing (the node-limited depth-first search) under lower bounds on the
// pool's columns; the floors of the LP values, with the pods they leave
// placed by the LP-priced greedy (Packer::Repack) and tidied by local search,
// give a plan at every step (the best one is kept); then every column is
// fixed at the floor of its LP value and the most fractional one (the
// largest fractional part, the dearer unit on ties) at its ceiling, unless
// that would exceed its unit's count range, its group's size or a forced
// node's one pattern. It ends when the LP solution is integral, its value
// reaches `cutoff` (nothing below the incumbent down there), the LP is
// infeasible, no column can be fixed, the step limit or the deadline.
// Contract: a returned plan is a valid Solution of `p` (capacity, caps,
// compatibility, conflicts, forced nodes open, each existing node at most
// once); the greedy part may leave `ranges`. A dive proves nothing: its LP
// values are no bounds. The pool only grows (its columns stay valid for the
// tree).
// Thread-safety: pure function over its arguments; owns its lp_solve models.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "steps/optimize/pattern_master.h"
#include "steps/optimize/problem.h"
#include "steps/optimize/solution.h"

namespace kinema::opt {

struct DiveResult {
  bool has_plan = false;
  Solution plan;         // valid when has_plan
  double cost = 0;       // plan's cost
  int steps = 0;         // fixing rounds (one converged LP each)
  int iterations = 0;    // column-generation iterations
  std::string stopped;   // why the dive ended before an integral LP solution
};

// `m` is copied: the caller's duals stay as they were; its flow bounds (the
// node's, pattern_master.h) hold in every LP of the dive.
DiveResult DiveForPlan(const Problem& p, const PatternMaster& m, const std::vector<CountRange>& ranges, double cutoff,
                       std::chrono::steady_clock::time_point deadline, ColumnPool* pool, int max_steps = 200);

}  // namespace kinema::opt
