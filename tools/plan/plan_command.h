// `kinemactl plan`: offline planning over a snapshot and a catalog.
//
// Usage: plan --snapshot S --catalog C [--json] [--time-limit SECONDS]
//             [--max-moves N] [--max-retire N] [--keep-nodes N1,N2]
//             [--min-savings F] [--unknown-node-price P]
//             [--seed N] [--allow-types T1,T2] [--no-spot] [--zones Z1,Z2]
//             [--max-iterations N]   (caps the search so runs are reproducible)
// With --max-moves/--max-retire/--keep-nodes the plan is the cheapest within
// that budget and also prints the unconstrained "target" (planning.md
// "Budgeted plans"; semantics in steps/optimize/plan.h).
// Exit codes (shared/spec/planning.md): 0 a plan was printed (including a
// no-change plan, which every budget allows), 2 invalid input or usage (one line on stderr naming the
// item index and field), 3 infeasible (one line naming a pod and why, or the
// pods that must move anyway when they alone exceed --max-moves),
// 1 internal error. Warnings go to stderr; the plan to stdout.
// Thread-safety: writes to stdout/stderr; call from one thread.
#pragma once

#include <string>
#include <vector>

namespace kinema {

// `args` excludes the program name and the word "plan".
int RunPlanCommand(const std::vector<std::string>& args);

}  // namespace kinema
