#include "steps/optimize/proof_dive.h"

#include <algorithm>
#include <cmath>

namespace kinema::opt {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kIntegral = 1e-6;  // an LP value this close to an integer counts as integral

double Frac(double v) { return v - std::floor(v + kIntegral); }

// Node counts the fixings `lo` already open, per unit and per group.
struct FixedCounts {
  std::vector<double> unit, group;
  FixedCounts(const PatternMaster& m, const ColumnPool& pool, const std::vector<double>& lo)
      : unit(m.units.size(), 0.0), group(m.G, 0.0) {
    for (size_t c = 0; c < lo.size(); ++c) {
      const PricingUnit& u = m.units[pool.cols[c].unit];
      unit[pool.cols[c].unit] += lo[c];
      if (u.group >= 0) group[u.group] += lo[c];
    }
  }
};

// Raises lo to the floor of every LP value and one fractional column (the
// largest fractional part; ties: the dearer unit) to its ceiling, when the
// unit's range and the group's size allow one more node. False when no
// fractional column can be fixed.
bool FixColumns(const Problem& p, const PatternMaster& m, const ColumnPool& pool, const std::vector<CountRange>& ranges,
                const std::vector<double>& x, std::vector<double>* lo) {
  for (size_t c = 0; c < x.size(); ++c) (*lo)[c] = std::max((*lo)[c], std::floor(x[c] + kIntegral));
  FixedCounts fixed(m, pool, *lo);
  int best = -1;
  double best_frac = kIntegral;
  for (size_t c = 0; c < x.size(); ++c) {
    const double f = Frac(x[c]);
    if (f <= kIntegral) continue;
    const int u = pool.cols[c].unit;
    const PricingUnit& unit = m.units[u];
    if (fixed.unit[u] + 1 > ranges[u].hi + kIntegral) continue;
    if (unit.group >= 0 && fixed.group[unit.group] + 1 > static_cast<double>(p.groups[unit.group].size()) + kIntegral)
      continue;
    if (unit.forced >= 0 && fixed.unit[u] >= 1) continue;  // a forced node holds one pattern
    const bool better = f > best_frac + 1e-9 ||
                        (best >= 0 && f > best_frac - 1e-9 && unit.cost > m.units[pool.cols[best].unit].cost);
    if (!better) continue;
    best = static_cast<int>(c);
    best_frac = f;
  }
  if (best < 0) return false;
  (*lo)[best] = std::ceil(x[best]);
  return true;
}

// The plan of the floors of the LP values, the pods they leave placed by
// the LP-priced greedy and tidied by local search. False when the greedy
// fails (it never should: every pod fits some kind).
bool RepairFloor(const Problem& p, const PatternMaster& m, const ColumnPool& pool, const std::vector<double>& x,
                 Solution* out) {
  std::vector<double> floors(x.size());
  for (size_t c = 0; c < x.size(); ++c) floors[c] = std::floor(x[c] + kIntegral);
  std::vector<PatternColumn> cols(pool.cols.begin(), pool.cols.begin() + static_cast<long>(x.size()));
  std::vector<int> left;
  Solution s;
  if (!PlanFromColumns(p, m, cols, floors, &s, &left)) return false;
  Packer pk(p, m.pi, 1);
  if (!pk.Repack(&s, left)) return false;
  pk.Improve(&s);
  *out = std::move(s);
  return true;
}

// Keeps the better of *best and s.
void Keep(const Problem& p, Solution s, DiveResult* res) {
  if (res->has_plan && !Better(p, s, res->plan)) return;
  res->has_plan = true;
  res->cost = s.Cost(p);
  res->plan = std::move(s);
}

bool Integral(const std::vector<double>& x) {
  return std::all_of(x.begin(), x.end(), [](double v) { return Frac(v) <= kIntegral; });
}

}  // namespace

DiveResult DiveForPlan(const Problem& p, const PatternMaster& master, const std::vector<CountRange>& ranges,
                       double cutoff, Clock::time_point deadline, ColumnPool* pool, int max_steps) {
  DiveResult res;
  PatternMaster m = master;
  const std::vector<FlowBound> flows = master.flows;  // the node's flow bounds hold in the dive too
  std::vector<double> lo;
  NodeLpOptions options;
  options.column_lo = &lo;
  options.exact_pricing = false;
  options.flows = &flows;
  while (res.steps < max_steps) {
    if (Clock::now() >= deadline) {
      res.stopped = "time limit";
      return res;
    }
    ++res.steps;
    lo.resize(pool->cols.size(), 0.0);
    NodeLp lp = ConvergeNode(p, ranges, deadline, &m, pool, &res.iterations, options);
    if (lp.x.empty()) {
      res.stopped = std::isinf(lp.objective) ? "fixings infeasible" : lp.stopped;
      return res;
    }
    if (lp.objective >= cutoff * (1 - 1e-9)) {
      res.stopped = "LP value reached the incumbent";
      return res;
    }
    Solution s;
    if (RepairFloor(p, m, *pool, lp.x, &s)) Keep(p, std::move(s), &res);
    if (Integral(lp.x)) return res;
    lo.resize(lp.x.size(), 0.0);
    if (!FixColumns(p, m, *pool, ranges, lp.x, &lo)) {
      res.stopped = "no column can be fixed";
      return res;
    }
  }
  res.stopped = "step limit";
  return res;
}

}  // namespace kinema::opt
