// `kinemactl plan`: offline planning over a snapshot and a catalog.
//
// Usage: plan --snapshot S --catalog C [--json] [--time-limit SECONDS]
//             [--max-moves N] [--min-savings F] [--unknown-node-price P]
//             [--seed N] [--allow-types T1,T2] [--no-spot] [--zones Z1,Z2]
//             [--max-iterations N]   (caps the search so runs are reproducible)
// Exit codes (shared/spec/planning.md): 0 a plan was printed (including a
// no-change plan), 2 invalid input or usage (one line on stderr naming the
// item index and field), 3 infeasible (one line naming a pod and why),
// 1 internal error. Warnings go to stderr; the plan to stdout.
// Thread-safety: writes to stdout/stderr; call from one thread.
#pragma once

#include <string>
#include <vector>

namespace kinema {

// `args` excludes the program name and the word "plan".
int RunPlanCommand(const std::vector<std::string>& args);

}  // namespace kinema
