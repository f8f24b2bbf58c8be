// Lagrangian bound: a lower bound on every valid plan's cost from class
// prices pi >= 0, valid for ANY such prices (LagrangianBound in fluid_lp.h
// calls it; at scale the prices come from aggregate_prices.h).
//
// Relax the demand rows with prices pi; one node of bin b can then hold at
// most UB_b(pi) worth of pods, UB_b an upper bound on the fractional knapsack
// max sum_d pi_d x_d s.t. sum_d r_dk x_d <= C_bk (k = cpu, memory, pods),
// 0 <= x_d <= min(n_d, cap_d). With theta = min(1, min over new kinds t of
// c_t / UB_t(pi)) (Farley's scaling, so unbounded new kinds cannot make the
// bound -infinity), every plan costs at least
//   theta sum_d pi_d n_d + sum_groups |g| min(0, c_g - theta UB_g)
//   - theta UB_forced + forced cost,
// UB_forced bounding what all forced nodes together can hold: the smallest of
// (a) the sum over forced nodes of their own UB, (b) the sum over aggregates
// of forced nodes with equal compatibility (summed capacity, items bounded by
// min(n_d, cap_d * nodes)), (c) one aggregate of all forced nodes.
//
// UB_b: the smallest of the three single-row knapsacks (cpu, memory, pods)
// and, for new kinds, groups and the all-forced aggregate, of surrogate rows
// (1-a) cpu/C_cpu + a memory/C_mem <= 1 over a golden-section search on a.
// Every surrogate row is implied by the real rows, so each is an upper bound;
// with two binding resources the best one equals the LP knapsack (surrogate
// duality), where the single rows alone overvalue nodes whose cpu and memory
// both bind (at 100k pods they set theta to 0.74 instead of 1).
// Thread-safety: single-threaded object; construct one per thread.
#pragma once

#include <cstdint>
#include <vector>

#include "steps/optimize/problem.h"

namespace kinema::opt {

class LagrangianOracle {
 public:
  // Precomputes the bins (new kinds, groups, forced nodes and aggregates).
  // `p` must outlive the oracle.
  explicit LagrangianOracle(const Problem& p);

  // The bound at pi (one entry per class; negative or missing entries read
  // as 0). `theta`, when not null, receives theta. Costs O(D log D) for three
  // density orders plus, per bin, a walk of that order until the bin is full,
  // and ~22 surrogate knapsacks (linear selection) per new kind and group.
  double Evaluate(const std::vector<double>& pi, double* theta = nullptr);

 private:
  struct Bin {
    std::vector<uint8_t> const* compat = nullptr;  // per class
    double cap[3] = {0, 0, 0};                      // summed capacity
    double nodes = 1;                               // nodes behind it (per-class caps scale)
  };
  // pi clamped at 0 (missing entries 0); sorts order_ by density at pi.
  std::vector<double> Prepare(const std::vector<double>& pi_in);
  // UB_b at pi: the smallest single-row knapsack and, when `mix`, the
  // smallest surrogate row found.
  double Knapsack(const Bin& b, const std::vector<double>& pi, bool mix) const;
  // The fractional knapsack of `b` on the surrogate row (1-alpha) x cpu/C_cpu
  // + alpha x memory/C_mem <= 1.
  double Surrogate(const Bin& b, const std::vector<double>& pi, double alpha) const;
  double Ub(const Bin& b, int d) const;  // min(n_d, cap_d * nodes)

  const Problem& p_;
  std::vector<Bin> new_kinds_, groups_, forced_nodes_, forced_aggs_;
  std::vector<double> group_size_;
  Bin all_forced_;
  double forced_cost_ = 0;
  std::vector<std::vector<uint8_t>> agg_compat_;
  std::vector<uint8_t> all_compat_;
  std::vector<double> size_[3];  // per class per dimension
  std::vector<int> order_[3];    // classes with pi > 0 and size > 0, densest first (per Evaluate)
  std::vector<int> zero_[3];     // classes with size 0 in that dimension
};

}  // namespace kinema::opt
