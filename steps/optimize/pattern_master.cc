#include "steps/optimize/pattern_master.h"

#include <lp_lib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>

#include "steps/optimize/column_generation.h"
#include "steps/optimize/fluid_lp.h"
#include "steps/optimize/pricing_mip.h"

namespace kinema::opt {
namespace {

using Clock = std::chrono::steady_clock;

int Count(const PatternItems& items, int d) {
  for (const auto& [e, n] : items)
    if (e == d) return n;
  return 0;
}

void AddColumn(lprec* lp, const PatternMaster& m, const PricingUnit& u, const PatternItems& items) {
  std::vector<double> vals = {u.cost};
  std::vector<int> idx = {0};
  for (auto& [d, n] : items) {
    vals.push_back(n);
    idx.push_back(d + 1);
  }
  for (size_t k = 0; k < m.flows.size(); ++k) {
    const int t = &m.units[m.flows[k].unit] == &u ? Count(items, m.flows[k].cls) : 0;
    if (t == 0) continue;
    vals.push_back(t);
    idx.push_back(m.Rows() + 1 + static_cast<int>(k));
  }
  if (u.group >= 0) {
    vals.push_back(1.0);
    idx.push_back(m.GroupRow(u.group));
  }
  if (u.forced >= 0) {
    vals.push_back(1.0);
    idx.push_back(m.ForcedRow(u.forced));
  }
  if (u.count_row >= 0) {
    vals.insert(vals.end(), {1.0, 1.0});
    idx.insert(idx.end(), {u.count_row, u.count_row + 1});
  }
  add_columnex(lp, static_cast<int>(vals.size()), vals.data(), idx.data());
}

// The master's rows with `ranges` on the count rows; no columns.
lprec* NewMaster(const Problem& p, const PatternMaster& m, const std::vector<CountRange>& ranges) {
  lprec* lp = NewDemandCoveringLp(p, m.Rows() + static_cast<int>(m.flows.size()));
  if (!lp) return nullptr;
  for (size_t k = 0; k < m.flows.size(); ++k) {
    const int row = m.Rows() + 1 + static_cast<int>(k);
    set_constr_type(lp, row, m.flows[k].upper ? LE : GE);
    set_rh(lp, row, m.flows[k].rhs);
  }
  for (int g = 0; g < m.G; ++g) {
    set_constr_type(lp, m.GroupRow(g), LE);
    set_rh(lp, m.GroupRow(g), static_cast<double>(p.groups[g].size()));
  }
  for (int f = 0; f < m.F; ++f) {
    set_constr_type(lp, m.ForcedRow(f), EQ);
    set_rh(lp, m.ForcedRow(f), 1.0);
  }
  for (size_t u = 0; u < m.units.size(); ++u) {
    const int row = m.units[u].count_row;
    if (row < 0) continue;
    set_constr_type(lp, row, GE);
    set_rh(lp, row, ranges[u].lo);
    set_constr_type(lp, row + 1, LE);
    set_rh(lp, row + 1, std::isfinite(ranges[u].hi) ? ranges[u].hi : 1e30);
  }
  return lp;
}

// Enumerates the maximal patterns of one unit whose value sum_d pi_d a_d is
// at least `threshold` (a_d <= min(n_d, cap_d), capacity, compatibility,
// conflicts). Maximal over the classes of value >= 0 not `capped` (adding
// their pods keeps the cost, lowers no value and breaks no bound); a class
// of negative value (an upper flow bound's dual) counts 0 in the bounds.
// Stops (returns false) past `limit` patterns or search nodes.
class Enumerator {
 public:
  Enumerator(const Problem& p, int kind, const std::vector<double>& pi, double threshold, int64_t limit,
             const std::vector<uint8_t>* capped = nullptr)
      : p_(p), kind_(p.kinds[kind]), pi_(pi), threshold_(threshold), limit_(limit), capped_(capped) {}

  bool Run(std::vector<PatternItems>* out) {
    out_ = out;
    const int D = static_cast<int>(p_.classes.size());
    ub_.assign(D, 0);
    count_.assign(D, 0);
    blocked_.assign(D, 0);
    for (int k = 0; k < 3; ++k) cap_[k] = Dim(kind_.free, k);
    for (int d = 0; d < D; ++d) {
      if (!kind_.compat[d]) continue;
      int64_t u = std::min<int64_t>(p_.classes[d].cap, p_.classes[d].n());
      for (int k = 0; k < 3; ++k) {
        double w = Dim(p_.classes[d].req, k);
        if (w > 0) u = std::min<int64_t>(u, static_cast<int64_t>(cap_[k] / w + 1e-9));
      }
      if (u <= 0) continue;
      ub_[d] = u;
      items_.push_back(d);
    }
    auto size = [&](int d) {
      double s = 1e-12;
      for (int k = 0; k < 3; ++k) s = std::max(s, Dim(p_.classes[d].req, k) / std::max(1.0, cap_[k]));
      return s;
    };
    std::sort(items_.begin(), items_.end(), [&](int a, int b) {
      double da = pi_[a] / size(a), db = pi_[b] / size(b);
      return da != db ? da > db : a < b;
    });
    const size_t m = items_.size();
    suffix_sum_.assign(m + 1, 0.0);
    for (int k = 0; k < 3; ++k) suffix_density_[k].assign(m + 1, 0.0);
    for (size_t j = m; j-- > 0;) {
      int d = items_[j];
      const double v = std::max(0.0, pi_[d]);
      suffix_sum_[j] = suffix_sum_[j + 1] + v * static_cast<double>(ub_[d]);
      for (int k = 0; k < 3; ++k) {
        double w = Dim(p_.classes[d].req, k);
        suffix_density_[k][j] = std::max(suffix_density_[k][j + 1], w > 0 ? v / w : 1e301);
      }
    }
    Dfs(0, 0.0);
    return !overflow_;
  }

 private:
  bool Fits(int d, int64_t t) const {
    for (int k = 0; k < 3; ++k)
      if (Dim(p_.classes[d].req, k) * static_cast<double>(t) > cap_[k] + 1e-9) return false;
    return true;
  }
  bool Maximal() const {
    for (int d : items_) {
      if (pi_[d] < 0 || (capped_ && (*capped_)[d])) continue;
      if (!blocked_[d] && count_[d] < ub_[d] && Fits(d, 1)) return false;
    }
    return true;
  }
  void Dfs(size_t i, double value) {
    if (overflow_) return;
    if (++nodes_ > 200 * limit_) {
      overflow_ = true;
      return;
    }
    double bound = suffix_sum_[i];
    for (int k = 0; k < 3; ++k)
      if (suffix_density_[k][i] < 1e300) bound = std::min(bound, suffix_density_[k][i] * cap_[k]);
    if (value + bound < threshold_ - 1e-12) return;
    if (i == items_.size()) {
      if (value < threshold_ - 1e-12 || !Maximal()) return;
      PatternItems items;
      for (int d : items_)
        if (count_[d] > 0) items.push_back({d, static_cast<int>(count_[d])});
      std::sort(items.begin(), items.end());
      if (static_cast<int64_t>(out_->size()) >= limit_) {
        overflow_ = true;
        return;
      }
      out_->push_back(std::move(items));
      return;
    }
    int d = items_[i];
    int64_t maxt = blocked_[d] ? 0 : ub_[d];
    for (int k = 0; k < 3; ++k) {
      double w = Dim(p_.classes[d].req, k);
      if (w > 0) maxt = std::min<int64_t>(maxt, static_cast<int64_t>(cap_[k] / w + 1e-9));
    }
    for (int64_t t = maxt; t >= 0 && !overflow_; --t) {
      if (t == 0) {
        Dfs(i + 1, value);
        continue;
      }
      for (int k = 0; k < 3; ++k) cap_[k] -= static_cast<double>(t) * Dim(p_.classes[d].req, k);
      count_[d] = t;
      for (int e : p_.classes[d].conflicts) ++blocked_[e];
      Dfs(i + 1, value + pi_[d] * static_cast<double>(t));
      for (int e : p_.classes[d].conflicts) --blocked_[e];
      count_[d] = 0;
      for (int k = 0; k < 3; ++k) cap_[k] += static_cast<double>(t) * Dim(p_.classes[d].req, k);
    }
  }

  const Problem& p_;
  const Kind& kind_;
  const std::vector<double>& pi_;
  double threshold_;
  int64_t limit_;
  const std::vector<uint8_t>* capped_;
  std::vector<PatternItems>* out_ = nullptr;
  std::vector<int> items_;
  std::vector<int64_t> ub_, count_;
  std::vector<int> blocked_;
  double cap_[3] = {0, 0, 0};
  std::vector<double> suffix_sum_;
  std::vector<double> suffix_density_[3];
  int64_t nodes_ = 0;
  bool overflow_ = false;
};

}  // namespace

bool PlanFromColumns(const Problem& p, const PatternMaster& m, const std::vector<PatternColumn>& cols,
                     const std::vector<double>& x, Solution* out, std::vector<int>* left) {
  Packer pk(p, {}, 1);
  Solution s;
  std::vector<int> rem(p.classes.size());
  for (size_t d = 0; d < p.classes.size(); ++d) rem[d] = p.classes[d].n();
  std::vector<size_t> group_used(p.groups.size(), 0);
  std::vector<int> forced_bin(m.forced_nodes.size(), -1);
  for (size_t f = 0; f < m.forced_nodes.size(); ++f) {
    Bin b;
    b.kind = m.forced_nodes[f];
    forced_bin[f] = static_cast<int>(s.bins.size());
    s.bins.push_back(b);
  }
  for (size_t c = 0; c < cols.size(); ++c) {
    int copies = static_cast<int>(std::llround(x[c]));
    const PricingUnit& u = m.units[cols[c].unit];
    for (int r = 0; r < copies; ++r) {
      Bin fresh;
      Bin* b = &fresh;
      if (u.forced >= 0) {
        b = &s.bins[forced_bin[u.forced]];
      } else if (u.group >= 0) {
        const auto& nodes = p.groups[u.group];
        if (group_used[u.group] >= nodes.size()) return false;
        fresh.kind = nodes[group_used[u.group]++];
      } else {
        fresh.kind = u.kind;
      }
      for (auto& [d, n] : cols[c].items) {
        int t = std::min(n, rem[d]);
        if (t > 0 && pk.CanAdd(*b, d, t)) {
          pk.Add(b, d, t);
          rem[d] -= t;
        }
      }
      if (u.forced < 0 && !fresh.items.empty()) s.bins.push_back(std::move(fresh));
    }
  }
  if (left) {
    *left = rem;
  } else {
    for (int r : rem)
      if (r > 0) return false;
  }
  *out = std::move(s);
  return true;
}

namespace {

// Reads the duals of a solved master into m (signs clamped to the rows' types).
bool ReadDuals(lprec* lp, PatternMaster* mp) {
  PatternMaster& m = *mp;
  REAL* duals = nullptr;
  if (!get_ptr_sensitivity_rhs(lp, &duals, nullptr, nullptr) || !duals) return false;
  for (int d = 0; d < m.D; ++d) m.pi[d] = std::max(0.0, static_cast<double>(duals[d]));
  for (int g = 0; g < m.G; ++g) m.mu[g] = std::min(0.0, static_cast<double>(duals[m.GroupRow(g) - 1]));
  for (int f = 0; f < m.F; ++f) m.nu[f] = static_cast<double>(duals[m.ForcedRow(f) - 1]);
  for (size_t u = 0; u < m.units.size(); ++u) {
    const int row = m.units[u].count_row;
    m.sigma[u] = row < 0 ? 0.0
                         : std::max(0.0, static_cast<double>(duals[row - 1])) +
                               std::min(0.0, static_cast<double>(duals[row]));
  }
  m.rho.assign(m.flows.size(), 0.0);
  for (size_t k = 0; k < m.flows.size(); ++k) {
    const double y = duals[m.Rows() + static_cast<int>(k)];
    m.rho[k] = m.flows[k].upper ? std::min(0.0, y) : std::max(0.0, y);
  }
  return true;
}

// A unit that may open no node: none of its columns can be used, so none
// needs pricing or enumerating.
bool Closed(const CountRange& r) { return r.hi < 0.5; }

// Adds the column if it prices out and is new.
bool OfferColumn(const PatternMaster& m, size_t u, double value, const PatternItems& items, lprec* lp,
                 ColumnPool* pool) {
  double rc = m.units[u].cost - m.UnitDual(u) - value;
  if (items.empty() || rc >= -1e-9 * std::max(1.0, m.units[u].cost)) return false;
  if (!pool->Add(static_cast<int>(u), items)) return false;
  AddColumn(lp, m, m.units[u], pool->cols.back().items);
  return true;
}

// Prices the units in *unsettled by the depth-first search (node limit
// `limit`) or, with limit 0, by lp_solve's branch and bound until `until`;
// keeps in *unsettled the units not priced exactly. Returns the columns added.
int PriceRound(const Problem& p, const PatternMaster& m, int64_t limit, Clock::time_point until, lprec* lp,
               ColumnPool* pool, std::vector<size_t>* unsettled) {
  int added = 0;
  std::vector<size_t> still;
  for (size_t u : *unsettled) {
    if (Clock::now() >= until) {
      still.push_back(u);
      continue;
    }
    const double floor = m.units[u].cost - m.UnitDual(u);
    bool exact = false;
    if (limit > 0) {
      PricedPattern pr = PriceKind(p, m.units[u].kind, m.UnitValues(u), nullptr, 0, limit, floor, until);
      exact = pr.exact;
      if (OfferColumn(m, u, pr.value, pr.items, lp, pool)) ++added;
    } else {
      MipPricing mp = PriceKindByMip(p, m.units[u].kind, m.UnitValues(u), floor, until);
      exact = mp.exact;
      if (OfferColumn(m, u, mp.value, mp.items, lp, pool)) ++added;
    }
    if (!exact) still.push_back(u);
  }
  unsettled->swap(still);
  return added;
}

// One pricing round over every unit: the depth-first search node-limited;
// when it finds nothing, for the units it left unsettled lp_solve's branch
// and bound for at most 50 ms each round (it settles in a millisecond the
// memory-tight small kinds the search cannot: e2-highcpu-4 on the 337-pod
// cluster, 0.5 s of search per node before), then the deep search, then the
// branch and bound until the deadline. Each stage runs only while nothing
// was added. Returns the columns added; *exact says whether every unit was
// priced exactly.
int PriceUnits(const Problem& p, const PatternMaster& m, const std::vector<CountRange>& ranges,
               Clock::time_point deadline, bool cheap, lprec* lp, ColumnPool* pool, bool* exact) {
  std::vector<size_t> unsettled;
  for (size_t u = 0; u < m.units.size(); ++u)
    if (!Closed(ranges[u])) unsettled.push_back(u);
  int added = PriceRound(p, m, 20000, deadline, lp, pool, &unsettled);
  if (!cheap && added == 0 && !unsettled.empty())
    added = PriceRound(p, m, 0, std::min(deadline, Clock::now() + std::chrono::milliseconds(50)), lp, pool, &unsettled);
  if (!cheap && added == 0 && !unsettled.empty()) added = PriceRound(p, m, 5000000, deadline, lp, pool, &unsettled);
  if (!cheap && added == 0 && !unsettled.empty()) added = PriceRound(p, m, 0, deadline, lp, pool, &unsettled);
  *exact = Clock::now() < deadline && unsettled.empty();
  return added;
}

}  // namespace

bool ColumnPool::Add(int unit, PatternItems items) {
  std::sort(items.begin(), items.end());
  if (!seen.insert({unit, items}).second) return false;
  cols.push_back(PatternColumn{unit, std::move(items)});
  return true;
}

int PatternMaster::Rows() const {
  int non_forced = 0;
  for (const auto& u : units) non_forced += u.count_row >= 0 ? 1 : 0;
  return D + G + F + 2 * non_forced;
}

std::vector<double> PatternMaster::UnitValues(size_t u) const {
  std::vector<double> v = pi;
  for (size_t k = 0; k < flows.size() && k < rho.size(); ++k)
    if (static_cast<size_t>(flows[k].unit) == u) v[flows[k].cls] += rho[k];
  return v;
}

double PatternMaster::UnitDual(size_t u) const {
  const PricingUnit& x = units[u];
  return (x.group >= 0 ? mu[x.group] : x.forced >= 0 ? nu[x.forced] : 0.0) + sigma[u];
}

PatternMaster MakePatternMaster(const Problem& p) {
  PatternMaster m;
  m.unit_of_group.assign(p.groups.size(), -1);
  m.unit_of_kind.assign(p.kinds.size(), -1);
  for (int j = 0; j < p.num_existing; ++j)
    if (p.kinds[j].forced) {
      m.unit_of_kind[j] = static_cast<int>(m.units.size());
      m.units.push_back(PricingUnit{j, -1, static_cast<int>(m.forced_nodes.size()), 0.0});
      m.forced_nodes.push_back(j);
      m.forced_cost += p.kinds[j].price;
    }
  for (size_t g = 0; g < p.groups.size(); ++g) {
    m.unit_of_group[g] = static_cast<int>(m.units.size());
    m.units.push_back(PricingUnit{p.groups[g][0], static_cast<int>(g), -1, p.kinds[p.groups[g][0]].price});
  }
  for (size_t k = p.num_existing; k < p.kinds.size(); ++k) {
    m.unit_of_kind[k] = static_cast<int>(m.units.size());
    m.units.push_back(PricingUnit{static_cast<int>(k), -1, -1, p.kinds[k].price});
  }
  m.D = static_cast<int>(p.classes.size());
  m.G = static_cast<int>(p.groups.size());
  m.F = static_cast<int>(m.forced_nodes.size());
  int row = m.D + m.G + m.F + 1;
  for (auto& u : m.units)
    if (u.forced < 0) {
      u.count_row = row;
      row += 2;
    }
  for (const auto& k : p.kinds) m.max_price = std::max(m.max_price, k.price);
  m.pi.assign(m.D, 0.0);
  m.mu.assign(m.G, 0.0);
  m.nu.assign(m.F, 0.0);
  m.sigma.assign(m.units.size(), 0.0);
  return m;
}

void SeedPool(const Problem& p, const PatternMaster& m, const Solution& incumbent, ColumnPool* pool) {
  for (size_t u = 0; u < m.units.size(); ++u) pool->Add(static_cast<int>(u), {});
  for (const auto& b : incumbent.bins) {
    int u = p.IsNew(b.kind) || p.kinds[b.kind].forced ? m.unit_of_kind[b.kind]
                                                       : m.unit_of_group[p.kinds[b.kind].group];
    if (u >= 0) pool->Add(u, b.items);
  }
}

NodeLp ConvergeNode(const Problem& p, const std::vector<CountRange>& ranges, Clock::time_point deadline,
                    PatternMaster* mp, ColumnPool* pool, int* iterations, const NodeLpOptions& options) {
  PatternMaster& m = *mp;
  NodeLp res;
  auto left = [&] { return std::chrono::duration<double>(deadline - Clock::now()).count(); };
  m.flows = options.flows ? *options.flows : std::vector<FlowBound>();
  m.rho.assign(m.flows.size(), 0.0);
  lprec* lp = NewMaster(p, m, ranges);
  if (!lp) {
    res.stopped = "lp_solve could not build the master";
    return res;
  }
  for (int d = 0; d < m.D; ++d) {  // artificial columns: the demand rows are always feasible
    double v[2] = {10 * m.max_price + 1, 1.0};
    int ix[2] = {0, d + 1};
    add_columnex(lp, 2, v, ix);
  }
  for (const auto& c : pool->cols) AddColumn(lp, m, m.units[c.unit], c.items);
  if (options.column_lo)
    for (size_t c = 0; c < options.column_lo->size() && c < pool->cols.size(); ++c)
      if ((*options.column_lo)[c] > 0) set_lowbo(lp, m.D + 1 + static_cast<int>(c), (*options.column_lo)[c]);
  while (left() > 0) {
    ++*iterations;
    set_timeout(lp, std::max<long>(1, static_cast<long>(std::ceil(left()))));
    SeedLpSolveRandom();
    int ret = solve(lp);
    if (ret == INFEASIBLE) {  // the count ranges admit no plan at all
      res.converged = true;
      res.objective = std::numeric_limits<double>::infinity();
      break;
    }
    if (ret != OPTIMAL && ret != PRESOLVED) {
      res.stopped = "master LP status " + std::to_string(ret);
      break;
    }
    if (!ReadDuals(lp, &m)) {
      res.stopped = "no duals";
      break;
    }
    bool exact = true;
    const int added = PriceUnits(p, m, ranges, deadline, !options.exact_pricing, lp, pool, &exact);
    if (left() <= 0) {
      res.stopped = "time limit during column generation";
      break;
    }
    if (added == 0) {
      res.converged = exact && options.exact_pricing;
      if (!res.converged) res.stopped = options.exact_pricing ? "pricing not exact" : "cheap pricing";
      res.objective = get_objective(lp) + m.forced_cost;
      REAL* x = nullptr;
      get_ptr_variables(lp, &x);
      res.x.assign(x + m.D, x + m.D + pool->cols.size());
      break;
    }
  }
  delete_lp(lp);
  return res;
}

int SolveMasterIp(const Problem& p, const PatternMaster& m, const std::vector<CountRange>& ranges,
                  const std::vector<PatternColumn>& cols, Clock::time_point deadline, Solution* plan, double* z) {
  *z = -1;
  if (cols.empty()) return INFEASIBLE;
  lprec* lp = NewMaster(p, m, ranges);
  if (!lp) return -1;
  for (const auto& c : cols) AddColumn(lp, m, m.units[c.unit], c.items);
  for (int c = 1; c <= static_cast<int>(cols.size()); ++c) set_int(lp, c, TRUE);
  set_bb_floorfirst(lp, BRANCH_CEILING);
  StopAtDeadline(lp, &deadline);
  SeedLpSolveRandom();
  int ret = solve(lp);
  if (ret == OPTIMAL || ret == SUBOPTIMAL || ret == PRESOLVED) {
    REAL* x = nullptr;
    get_ptr_variables(lp, &x);
    std::vector<double> xs(x, x + cols.size());
    if (PlanFromColumns(p, m, cols, xs, plan)) {
      if (ret != SUBOPTIMAL) *z = get_objective(lp) + m.forced_cost;
    } else {
      plan->bins.clear();
    }
  }
  delete_lp(lp);
  return ret;
}

bool EnumerateColumnsWithin(const Problem& p, const PatternMaster& m, const std::vector<CountRange>& ranges,
                            double max_rc, int64_t max_columns, std::vector<PatternColumn>* cols) {
  for (size_t u = 0; u < m.units.size(); ++u) {
    if (Closed(ranges[u])) continue;
    std::vector<PatternItems> found;
    const std::vector<double> values = m.UnitValues(u);
    std::vector<uint8_t> capped(p.classes.size(), 0);  // an upper flow bound: a superset may break it
    for (const auto& fb : m.flows)
      if (fb.upper && static_cast<size_t>(fb.unit) == u) capped[fb.cls] = 1;
    Enumerator en(p, m.units[u].kind, values, m.units[u].cost - m.UnitDual(u) - max_rc,
                  max_columns - static_cast<int64_t>(cols->size()), &capped);
    bool complete = en.Run(&found);
    if (std::getenv("KINEMA_PROOF_TRACE"))
      std::fprintf(stderr, "max rc %.5f unit %zu kind %d group %d forced %d cost %.4f: %zu columns%s\n", max_rc, u,
                   m.units[u].kind, m.units[u].group, m.units[u].forced, m.units[u].cost, found.size(),
                   complete ? "" : " (overflow)");
    for (auto& f : found) cols->push_back(PatternColumn{static_cast<int>(u), std::move(f)});
    if (!complete) return false;
  }
  return true;
}

}  // namespace kinema::opt
