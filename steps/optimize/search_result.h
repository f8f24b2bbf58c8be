// SearchResult: what one solve (unconstrained or budgeted) hands back to
// OptimizePlacement, and the shared "infeasible" message for pods that fit
// nowhere.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "steps/optimize/problem.h"
#include "steps/optimize/solution.h"

namespace kinema::opt {

struct SearchResult {
  Solution best;                // the best valid plan found (within the budget for budgeted solves)
  std::optional<double> lower;  // proven lower bound for the problem solved
  std::string bound_source;     // which bound `lower` is
  std::vector<double> duals;    // per class prices (may be empty)
  int64_t iterations = 0;       // LNS iterations
  double first_plan_seconds = 0;
};

// "infeasible: pod ns/name cannot be placed: ..." for the first class that
// `s` does not place completely.
std::string UnplacedMessage(const Problem& p, const Snapshot& snap, const Solution& s);

}  // namespace kinema::opt
