// cbc_bound: an independent lower bound for plan_bench, from the CBC MIP solver.
//
// What: WriteCompactMip() writes the optimizer's own Problem (problem.h) as a
// compact MIP in CPLEX LP format; RunCbc() runs the `cbc` command-line solver
// (Debian package coinor-cbc) on it with a time limit and parses its log.
// Benchmark-only: the product never calls it, and no test depends on CBC.
//
// The model (same problem the optimizer solves):
//   - one binary y per existing node (forced nodes fixed to 1), and per new
//     kind t `slots` binaries y_{t,k}; objective = sum price * y;
//   - integer x_{n,d} = pods of class d on node/slot n, only where
//     compat[kind][d]; upper bound min(cap_d, n_d, what fits alone);
//   - demand: sum_n x_{n,d} = n_d; capacity (cpu, memory, pods):
//     sum_d req_d x_{n,d} <= free_n y_n; linking x_{n,d} <= ub y_n;
//   - conflicts: binary u_{n,d} >= x_{n,d}/ub, u_{n,d} + u_{n,e} <= 1;
//   - budgets: retired unforced existing nodes <= max_retire; moves
//     (pods whose node changes, as Solution::Moves counts them) <= max_moves
//     via s_{j,d} <= min(x_{j,d}, current count);
//   - symmetry: slot k of a kind used => slot k-1 used; without a moves
//     budget, the same order inside each group of interchangeable nodes.
// Slots per new kind: every plan cheaper than `incumbent` (a valid plan's
// cost) opens at most floor((incumbent - forced cost) / price_t) nodes of t,
// and never more than the pods t can host; so the optimum of the written
// MIP equals the problem's optimum whenever that optimum is below
// `incumbent`, else the incumbent is optimal, and CBC's bound (min with the
// incumbent) is a valid lower bound on every plan.
// Thread-safety: pure functions; RunCbc starts a child process.
#pragma once

#include <cstdint>
#include <string>

#include "engine/common/status.h"
#include "steps/optimize/problem.h"

namespace kinema::bench {

struct CbcModelOptions {
  double incumbent = -1;   // cost of a known valid plan (> 0); bounds the slots
  int64_t max_retire = -1;  // -1: no limit
  int64_t max_moves = -1;   // -1: no limit
  // Pass the incumbent (+1e-6 relative) to CBC as its cutoff: it prunes every
  // subtree that cannot beat our plan. CBC then calls "infeasible" a search
  // that proved no plan cheaper than the incumbent exists (bound = incumbent).
  // Off for model checks, where "infeasible" must mean a wrong model.
  bool cutoff = false;
};

struct MipSize {
  int64_t columns = 0;
  int64_t rows = 0;
};

// Writes the MIP to `path`. InvalidArgument when incumbent <= 0.
Status WriteCompactMip(const opt::Problem& p, const CbcModelOptions& o, const std::string& path, MipSize* size);

// True when a `cbc` executable is on PATH.
bool CbcAvailable();

struct CbcResult {
  std::string status;      // "optimal", "time limit", "infeasible", ...
  double objective = -1;   // best integer solution found; -1: none
  double bound = -1;       // best possible (== objective when optimal); -1: unknown
  double seconds = 0;      // wall seconds of the cbc run
};

// Parses a CBC log: the "Result - " line gives the status, "Objective value:"
// the best plan, the last "best possible" (else "Lower bound:") the bound;
// when optimal, bound = objective. Internal when there is no result line.
StatusOr<CbcResult> ParseCbcLog(const std::string& log);

// Runs `cbc <lp_path> [cutoff C] sec <seconds> solve` (cutoff <= 0: none) and
// parses its log (ParseCbcLog). Unavailable when cbc cannot be started;
// Internal when the log has no result line.
StatusOr<CbcResult> RunCbc(const std::string& lp_path, double seconds, double cutoff);

// WriteCompactMip to a temp file + RunCbc; the temp file is removed. The
// bound is min(CBC's bound, incumbent) (see the slot argument above).
StatusOr<CbcResult> CbcLowerBound(const opt::Problem& p, const CbcModelOptions& o, double seconds, MipSize* size);

}  // namespace kinema::bench
