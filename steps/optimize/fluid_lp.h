// Fluid LP: the LP relaxation of the compact placement model, solved with
// lp_solve. Its optimum (plus the cost of forced nodes) is a proven lower
// bound on every valid plan; its demand-row duals price pod classes for the
// greedy and for column generation.
//
// Model: for each "LP bin" b (a new-node kind, a group of interchangeable
// existing nodes, or an aggregate of forced existing nodes with the same
// compatibility) a fractional node count w_b (bounded by the group size for
// existing nodes; forced aggregates contribute their residual capacity for
// free) and flows f_db >= 0 of class d into b:
//   min sum_b c_b w_b
//   s.t. sum_b f_db >= n_d                       (dual pi_d >= 0)
//        sum_d r_dk / C_bk * f_db <= w_b          for k in {cpu, memory, pods}
//        f_db <= cap_d * w_b                      when the per-node cap binds
// Cross-class anti-affinity and integrality are relaxed, so this stays a
// relaxation of the real problem.
// Thread-safety: pure function; each call owns its lp_solve model.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "steps/optimize/problem.h"

struct _lprec;  // lp_solve's model (lp_lib.h: lprec)

namespace kinema::opt {

struct FluidResult {
  bool ok = false;
  double lower_bound = 0;      // LP optimum + forced cost (slightly rounded down)
  std::vector<double> duals;   // per class, >= 0
  double seconds = 0;
  std::string message;         // lp_solve status when !ok
  bool lagrangian = false;     // bound from LagrangianBound (LP cut short)
};

// lp_solve perturbs degenerate LPs with rand(), seeding it from the clock on
// first use (commonlib rand_uniform). Call before every solve(): it triggers
// that one-time seeding early and then resets rand() to a fixed seed, so
// equal inputs give equal bases, duals and plans.
void SeedLpSolveRandom();

// Makes a solve of `lp` stop at *deadline (lp_solve's whole-second timeout
// plus an abort callback checked during branch and bound). *deadline must
// outlive the solve.
void StopAtDeadline(::_lprec* lp, const std::chrono::steady_clock::time_point* deadline);

// A new lp_solve model with `rows` rows and no columns, set up as every
// master in this folder wants it: minimise, quiet, DEVEX pricing (not
// PRICE_ADAPTIVE: its random perturbation is time-seeded), and rows 1..D the
// demand rows of p's classes (sum >= n_d). nullptr when lp_solve fails.
// The caller owns the model (delete_lp).
::_lprec* NewDemandCoveringLp(const Problem& p, int rows);

FluidResult SolveFluidLp(const Problem& p, double time_limit_seconds);

// A lower bound valid for ANY prices pi >= 0 (one entry per class): the
// Lagrangian relaxation of the demand rows with Farley's scaling, exactly as
// LagrangianOracle (lagrangian_bound.h) defines and computes it. Used when
// the LP is cut short and with the aggregate prices.
double LagrangianBound(const Problem& p, const std::vector<double>& pi);

}  // namespace kinema::opt
