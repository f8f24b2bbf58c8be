// The exact pattern master (Dantzig-Wolfe of the whole placement problem, no
// fluid part) and what the pattern proof does with it: column generation to
// convergence under count ranges (a branch-and-price node), and lp_solve's
// branch and bound on the master IP over a set of columns.
//
// Pricing units: one per new-node kind (unbounded, cost c_t), per group of
// interchangeable existing nodes (<= |g| nodes, cost c_g) and per forced
// existing node (exactly one pattern, the empty one included; cost 0 here,
// its price is the constant `forced_cost`). Rows, in this order:
//   demand     sum_p a_pd x_p >= n_d              dual pi_d >= 0
//   group      sum_{p in g} x_p <= |g|            mu_g <= 0
//   forced     sum_{p of j} x_p = 1               nu_j free
//   count lo   sum_{p of u} x_p >= lo_u           } per non-forced unit: the
//   count hi   sum_{p of u} x_p <= hi_u           } branching rows (sigma_u)
// A column's reduced cost is c_u - sum_d pi_d a_d - UnitDual(u).
// Invariant: with every unit priced exactly and no column of negative
// reduced cost, the LP objective + forced_cost is the master LP optimum under
// those ranges, a lower bound on every plan that respects them.
// Thread-safety: pure functions and plain data; each call owns its lp_solve
// model.
#pragma once

#include <chrono>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "steps/optimize/problem.h"
#include "steps/optimize/solution.h"

namespace kinema::opt {

using PatternItems = std::vector<std::pair<int, int>>;  // sorted (class, count)

struct PricingUnit {
  int kind;          // representative kind (the node itself for forced nodes)
  int group = -1;    // existing group, or -1
  int forced = -1;   // index among forced nodes, or -1
  double cost;       // objective coefficient (0 for forced nodes)
  int count_row = -1;  // first of its two count rows (lo, hi); -1 for forced nodes
};

struct PatternColumn {
  int unit;
  PatternItems items;
};

// Columns found so far (valid at every branch-and-price node: branching
// bounds counts, never forbids a column).
struct ColumnPool {
  std::vector<PatternColumn> cols;
  std::set<std::pair<int, PatternItems>> seen;
  bool Add(int unit, PatternItems items);  // false when already there
};

// Bounds on the number of nodes a unit opens (a branch-and-price node).
struct CountRange {
  double lo = 0;
  double hi = std::numeric_limits<double>::infinity();
};

// A bound on the pods of class `cls` that the nodes of `unit` hold in total,
// sum_{p of unit} a_p,cls x_p >= rhs (upper: <= rhs): branching where every
// node count is integral but the master is not (pattern_proof.h). Its row's
// dual adds to the class's value when the unit is priced.
struct FlowBound {
  int unit;
  int cls;
  bool upper;
  double rhs;
};

struct PatternMaster {
  std::vector<PricingUnit> units;
  std::vector<int> forced_nodes;  // forced existing nodes, in unit order
  std::vector<int> unit_of_group, unit_of_kind;
  int D = 0, G = 0, F = 0;
  double forced_cost = 0, max_price = 1;
  std::vector<double> pi, mu, nu, sigma;  // last duals: demand, group, forced, count (per unit)
  std::vector<FlowBound> flows;            // the last node's flow bounds (rows after Rows())
  std::vector<double> rho;                 // their duals

  int GroupRow(int g) const { return D + 1 + g; }
  int ForcedRow(int f) const { return D + G + 1 + f; }
  int Rows() const;
  double UnitDual(size_t u) const;
  // Value of a pod of each class in unit u's pricing: pi plus the duals of
  // the unit's flow bounds.
  std::vector<double> UnitValues(size_t u) const;
};

PatternMaster MakePatternMaster(const Problem& p);

// The incumbent's columns, the empty pattern of every unit (forced nodes may
// stay empty; a lower count bound always has a column).
void SeedPool(const Problem& p, const PatternMaster& m, const Solution& incumbent, ColumnPool* pool);

struct NodeLp {
  bool converged = false;  // exact pricing found no negative reduced cost
  double objective = 0;    // LP optimum + forced_cost (a bound when converged)
  std::vector<double> x;   // value of every pool column
  std::string stopped;     // why not converged
};

// How a node's LP is solved. The defaults are a branch-and-price node:
// exact pricing, no column bounded. A dive (proof_dive.h) fixes columns from
// below and prices cheaply: its LP value is then no bound.
struct NodeLpOptions {
  const std::vector<double>* column_lo = nullptr;  // per pool column (missing = 0): x_c >= column_lo[c]
  bool exact_pricing = true;  // false: only the node-limited depth-first search; `converged` stays false
  const std::vector<FlowBound>* flows = nullptr;  // the node's flow bounds (copied into m->flows)
};

// Column generation on the master under `ranges` (one per unit; a unit
// whose range allows no node is not priced: its columns stay at 0) from the
// pool's columns, adding what pricing finds to the pool, until convergence
// (with cheap pricing: until it finds nothing; `x` and `objective` are then
// set, `converged` false), the deadline or a solver failure. Leaves the last
// duals in *m. Infeasible ranges (or column bounds): converged, objective +inf.
NodeLp ConvergeNode(const Problem& p, const std::vector<CountRange>& ranges,
                    std::chrono::steady_clock::time_point deadline, PatternMaster* m, ColumnPool* pool,
                    int* iterations, const NodeLpOptions& options = {});

// The plan of integral column values x (one per column of `cols`, rounded):
// forced nodes always open, group nodes in order, new nodes per copy. False
// when the columns use more nodes than a group has, or leave a pod unplaced
// and `left` is null; with `left`, *out is the partial plan and *left the
// pods per class still to place.
bool PlanFromColumns(const Problem& p, const PatternMaster& m, const std::vector<PatternColumn>& cols,
                     const std::vector<double>& x, Solution* out, std::vector<int>* left = nullptr);

// lp_solve's branch and bound on the master IP over `cols` under `ranges`
// until `deadline`. Returns lp_solve's status (INFEASIBLE for no columns; -1
// when the model cannot be built); *plan gets the best integer solution found
// (empty when none maps to a plan), *z its cost including forced_cost when
// proven optimal (OPTIMAL/PRESOLVED), else -1.
int SolveMasterIp(const Problem& p, const PatternMaster& m, const std::vector<CountRange>& ranges,
                  const std::vector<PatternColumn>& cols, std::chrono::steady_clock::time_point deadline,
                  Solution* plan, double* z);

// Every maximal column of every unit with reduced cost <= max_rc under the
// duals in m; false when there are more than max_columns. Units whose range
// allows no node (hi < 1) have no usable column and are skipped (as they are
// in pricing).
bool EnumerateColumnsWithin(const Problem& p, const PatternMaster& m, const std::vector<CountRange>& ranges,
                            double max_rc, int64_t max_columns, std::vector<PatternColumn>* cols);

}  // namespace kinema::opt
