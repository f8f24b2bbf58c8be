#include "steps/optimize/pattern_proof.h"

#include <lp_lib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "steps/optimize/column_generation.h"
#include "steps/optimize/fluid_lp.h"

namespace kinema::opt {
namespace {

using Clock = std::chrono::steady_clock;

double Dim(const Resources& r, int k) {
  return k == 0 ? double(r.cpu_milli) : k == 1 ? double(r.memory_bytes) : double(r.pods);
}

// A pricing unit of the exact master.
struct Unit {
  int kind;          // representative kind (the node itself for forced nodes)
  int group = -1;    // existing group, or -1
  int forced = -1;   // index among forced nodes, or -1
  double cost;       // objective coefficient (0 for forced nodes: their price is a constant)
};

struct Column {
  int unit;
  std::vector<std::pair<int, int>> items;  // sorted (class, count)
};

// Rows: 1..D demand, D+1..D+G groups, D+G+1..D+G+F forced nodes.
struct Layout {
  int D = 0, G = 0, F = 0;
  int GroupRow(int g) const { return D + 1 + g; }
  int ForcedRow(int f) const { return D + G + 1 + f; }
  int Rows() const { return D + G + F; }
};

void AddColumn(lprec* lp, const Layout& L, const Unit& u, const std::vector<std::pair<int, int>>& items) {
  std::vector<double> vals = {u.cost};
  std::vector<int> idx = {0};
  for (auto& [d, n] : items) {
    vals.push_back(n);
    idx.push_back(d + 1);
  }
  if (u.group >= 0) {
    vals.push_back(1.0);
    idx.push_back(L.GroupRow(u.group));
  }
  if (u.forced >= 0) {
    vals.push_back(1.0);
    idx.push_back(L.ForcedRow(u.forced));
  }
  add_columnex(lp, static_cast<int>(vals.size()), vals.data(), idx.data());
}

lprec* NewMaster(const Problem& p, const Layout& L, const std::vector<int>& forced_nodes) {
  lprec* lp = NewDemandCoveringLp(p, L.Rows());
  if (!lp) return nullptr;
  for (int g = 0; g < L.G; ++g) {
    set_constr_type(lp, L.GroupRow(g), LE);
    set_rh(lp, L.GroupRow(g), static_cast<double>(p.groups[g].size()));
  }
  for (int f = 0; f < L.F; ++f) {
    set_constr_type(lp, L.ForcedRow(f), EQ);
    set_rh(lp, L.ForcedRow(f), 1.0);
  }
  (void)forced_nodes;
  return lp;
}

int AbortAtDeadline(lprec*, void* handle) {
  return Clock::now() > *static_cast<Clock::time_point*>(handle) ? TRUE : FALSE;
}

// Enumerates the maximal patterns of one unit whose value sum_d pi_d a_d is
// at least `threshold` (a_d <= min(n_d, cap_d), capacity, compatibility,
// conflicts). Stops (returns false) past `limit` patterns or search nodes.
class Enumerator {
 public:
  Enumerator(const Problem& p, int kind, const std::vector<double>& pi, double threshold, int64_t limit)
      : p_(p), kind_(p.kinds[kind]), pi_(pi), threshold_(threshold), limit_(limit) {}

  bool Run(std::vector<std::vector<std::pair<int, int>>>* out) {
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
      suffix_sum_[j] = suffix_sum_[j + 1] + pi_[d] * static_cast<double>(ub_[d]);
      for (int k = 0; k < 3; ++k) {
        double w = Dim(p_.classes[d].req, k);
        suffix_density_[k][j] = std::max(suffix_density_[k][j + 1], w > 0 ? pi_[d] / w : 1e301);
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
    for (int d : items_)
      if (!blocked_[d] && count_[d] < ub_[d] && Fits(d, 1)) return false;
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
      std::vector<std::pair<int, int>> items;
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
  std::vector<std::vector<std::pair<int, int>>>* out_ = nullptr;
  std::vector<int> items_;
  std::vector<int64_t> ub_, count_;
  std::vector<int> blocked_;
  double cap_[3] = {0, 0, 0};
  std::vector<double> suffix_sum_;
  std::vector<double> suffix_density_[3];
  int64_t nodes_ = 0;
  bool overflow_ = false;
};

// Turns integer column values into a plan; false if some pod is left over
// (cannot happen for a feasible IP solution, checked anyway).
bool BuildSolution(const Problem& p, const std::vector<Unit>& units, const std::vector<int>& forced_nodes,
                   const std::vector<Column>& cols, const std::vector<double>& x, Solution* out) {
  Packer pk(p, {}, 1);
  Solution s;
  std::vector<int> rem(p.classes.size());
  for (size_t d = 0; d < p.classes.size(); ++d) rem[d] = p.classes[d].n();
  std::vector<size_t> group_used(p.groups.size(), 0);
  std::vector<int> forced_bin(forced_nodes.size(), -1);
  for (size_t f = 0; f < forced_nodes.size(); ++f) {
    Bin b;
    b.kind = forced_nodes[f];
    forced_bin[f] = static_cast<int>(s.bins.size());
    s.bins.push_back(b);
  }
  for (size_t c = 0; c < cols.size(); ++c) {
    int copies = static_cast<int>(std::llround(x[c]));
    const Unit& u = units[cols[c].unit];
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
  for (int r : rem)
    if (r > 0) return false;
  *out = std::move(s);
  return true;
}

// Every maximal column of every unit with reduced cost <= max_rc; false when
// there are more than max_columns.
bool EnumerateWithin(const Problem& p, const std::vector<Unit>& units, const std::vector<double>& pi,
                     const std::vector<double>& mu, const std::vector<double>& nu, double max_rc,
                     int64_t max_columns, std::vector<Column>* cols) {
  for (size_t u = 0; u < units.size(); ++u) {
    double dual = units[u].group >= 0 ? mu[units[u].group] : units[u].forced >= 0 ? nu[units[u].forced] : 0.0;
    std::vector<std::vector<std::pair<int, int>>> found;
    Enumerator en(p, units[u].kind, pi, units[u].cost - dual - max_rc,
                  max_columns - static_cast<int64_t>(cols->size()));
    bool complete = en.Run(&found);
    if (std::getenv("KINEMA_PROOF_TRACE"))
      std::fprintf(stderr, "max rc %.5f unit %zu kind %d group %d forced %d cost %.4f: %zu columns%s\n", max_rc, u,
                   units[u].kind, units[u].group, units[u].forced, units[u].cost, found.size(),
                   complete ? "" : " (overflow)");
    for (auto& f : found) cols->push_back(Column{static_cast<int>(u), std::move(f)});
    if (!complete) return false;
  }
  return true;
}

// lp_solve's branch and bound on the master IP over `cols` until `deadline`.
// Returns lp_solve's status (INFEASIBLE for no columns; -1 when the model
// cannot be built); *plan gets the best integer solution found (left empty
// when none maps to a plan), *z the IP optimum (without the forced nodes'
// constant) when proven (OPTIMAL/PRESOLVED), else -1.
int SolveRestrictedIp(const Problem& p, const Layout& L, const std::vector<Unit>& units,
                      const std::vector<int>& forced_nodes, const std::vector<Column>& cols,
                      Clock::time_point deadline, Solution* plan, double* z) {
  *z = -1;
  if (cols.empty()) return INFEASIBLE;
  lprec* lp = NewMaster(p, L, forced_nodes);
  if (!lp) return -1;
  for (const auto& c : cols) AddColumn(lp, L, units[c.unit], c.items);
  for (int c = 1; c <= static_cast<int>(cols.size()); ++c) set_int(lp, c, TRUE);
  set_bb_floorfirst(lp, BRANCH_CEILING);
  const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
  set_timeout(lp, std::max<long>(1, static_cast<long>(std::ceil(left))));
  put_abortfunc(lp, AbortAtDeadline, &deadline);
  SeedLpSolveRandom();
  int ret = solve(lp);
  if (ret == OPTIMAL || ret == SUBOPTIMAL || ret == PRESOLVED) {
    REAL* x = nullptr;
    get_ptr_variables(lp, &x);
    std::vector<double> xs(x, x + cols.size());
    if (BuildSolution(p, units, forced_nodes, cols, xs, plan)) {
      if (ret != SUBOPTIMAL) *z = get_objective(lp);
    } else {
      plan->bins.clear();
    }
  }
  delete_lp(lp);
  return ret;
}

// The exact master's pricing units, rows and latest duals.
struct Master {
  std::vector<Unit> units;
  std::vector<int> forced_nodes;  // forced existing nodes, in unit order
  std::vector<int> unit_of_group, unit_of_kind;
  Layout L;
  double forced_cost = 0, max_price = 1;
  std::vector<double> pi, mu, nu;  // demand, group and forced-row duals
};

double UnitDual(const Master& m, size_t u) {
  const Unit& x = m.units[u];
  return x.group >= 0 ? m.mu[x.group] : x.forced >= 0 ? m.nu[x.forced] : 0.0;
}

Master MakeMaster(const Problem& p) {
  Master m;
  m.unit_of_group.assign(p.groups.size(), -1);
  m.unit_of_kind.assign(p.kinds.size(), -1);
  for (int j = 0; j < p.num_existing; ++j)
    if (p.kinds[j].forced) {
      m.unit_of_kind[j] = static_cast<int>(m.units.size());
      m.units.push_back(Unit{j, -1, static_cast<int>(m.forced_nodes.size()), 0.0});
      m.forced_nodes.push_back(j);
      m.forced_cost += p.kinds[j].price;
    }
  for (size_t g = 0; g < p.groups.size(); ++g) {
    m.unit_of_group[g] = static_cast<int>(m.units.size());
    m.units.push_back(Unit{p.groups[g][0], static_cast<int>(g), -1, p.kinds[p.groups[g][0]].price});
  }
  for (size_t k = p.num_existing; k < p.kinds.size(); ++k) {
    m.unit_of_kind[k] = static_cast<int>(m.units.size());
    m.units.push_back(Unit{static_cast<int>(k), -1, -1, p.kinds[k].price});
  }
  m.L.D = static_cast<int>(p.classes.size());
  m.L.G = static_cast<int>(p.groups.size());
  m.L.F = static_cast<int>(m.forced_nodes.size());
  for (const auto& k : p.kinds) m.max_price = std::max(m.max_price, k.price);
  m.pi.assign(m.L.D, 0.0);
  m.mu.assign(m.L.G, 0.0);
  m.nu.assign(m.L.F, 0.0);
  return m;
}

// Column generation on the exact master from the incumbent's columns until
// no column prices out with exact pricing (true) or the deadline / a solver
// failure (false, *stopped says why). Leaves the last duals in m.
bool ConvergeMaster(const Problem& p, const Solution& incumbent, Clock::time_point deadline, Master* mp,
                    int* iterations, std::string* stopped) {
  Master& m = *mp;
  const int D = m.L.D;
  auto left = [&] { return std::chrono::duration<double>(deadline - Clock::now()).count(); };
  lprec* lp = NewMaster(p, m.L, m.forced_nodes);
  if (!lp) {
    *stopped = "lp_solve could not build the master";
    return false;
  }
  for (int d = 0; d < D; ++d) {  // artificial columns: the master is always feasible
    double v[2] = {10 * m.max_price + 1, 1.0};
    int ix[2] = {0, d + 1};
    add_columnex(lp, 2, v, ix);
  }
  std::set<std::pair<int, std::vector<std::pair<int, int>>>> seen;
  auto add = [&](int u, std::vector<std::pair<int, int>> items) {
    std::sort(items.begin(), items.end());
    if (!seen.insert({u, items}).second) return false;
    AddColumn(lp, m.L, m.units[u], items);
    return true;
  };
  for (int f = 0; f < m.L.F; ++f) add(m.unit_of_kind[m.forced_nodes[f]], {});  // the empty pattern
  for (const auto& b : incumbent.bins) {
    int u = p.IsNew(b.kind) || p.kinds[b.kind].forced ? m.unit_of_kind[b.kind]
                                                       : m.unit_of_group[p.kinds[b.kind].group];
    if (u >= 0) add(u, b.items);
  }
  bool converged = false;
  while (left() > 0) {
    ++*iterations;
    set_timeout(lp, std::max<long>(1, static_cast<long>(std::ceil(left()))));
    SeedLpSolveRandom();
    int ret = solve(lp);
    if (ret != OPTIMAL && ret != PRESOLVED) {
      *stopped = "master LP status " + std::to_string(ret);
      break;
    }
    REAL* duals = nullptr;
    if (!get_ptr_sensitivity_rhs(lp, &duals, nullptr, nullptr) || !duals) {
      *stopped = "no duals";
      break;
    }
    for (int d = 0; d < D; ++d) m.pi[d] = std::max(0.0, static_cast<double>(duals[d]));
    for (int g = 0; g < m.L.G; ++g) m.mu[g] = std::min(0.0, static_cast<double>(duals[m.L.GroupRow(g) - 1]));
    for (int f = 0; f < m.L.F; ++f) m.nu[f] = static_cast<double>(duals[m.L.ForcedRow(f) - 1]);
    // Cheap pricing first (node-limited); exact pricing only once the cheap
    // one finds nothing.
    int added = 0;
    bool exact = true;
    for (int64_t limit : {int64_t{20000}, int64_t{5000000}}) {
      exact = true;
      for (size_t u = 0; u < m.units.size() && left() > 0; ++u) {
        PricedPattern pr = PriceKind(p, m.units[u].kind, m.pi, nullptr, 0, limit);
        exact = exact && pr.exact;
        double rc = m.units[u].cost - UnitDual(m, u) - pr.value;
        if (rc < -1e-9 * std::max(1.0, m.units[u].cost) && add(static_cast<int>(u), pr.items)) ++added;
      }
      if (added > 0 || exact) break;
    }
    if (left() <= 0) {
      *stopped = "time limit during column generation";
      break;
    }
    if (added == 0) {
      converged = exact;
      if (!exact) *stopped = "pricing not exact";
      break;
    }
  }
  delete_lp(lp);
  return converged;
}

}  // namespace

PatternProofResult ProvePatternOptimum(const Problem& p, const Solution& incumbent, Clock::time_point deadline,
                                       int64_t max_columns) {
  const auto t0 = Clock::now();
  auto since = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  auto left = [&] { return std::chrono::duration<double>(deadline - Clock::now()).count(); };
  PatternProofResult res;
  const int D = static_cast<int>(p.classes.size());
  const double ub = incumbent.Cost(p);
  if (D == 0) {
    res.converged = res.proven = true;
    res.lower_bound = ub;
    return res;
  }
  // ---- 1. Column generation on the exact master.
  Master m = MakeMaster(p);
  const bool converged = ConvergeMaster(p, incumbent, deadline, &m, &res.iterations, &res.stopped);
  res.lp_seconds = since();
  if (!converged) {
    res.seconds = since();
    return res;
  }
  double lb = m.forced_cost;
  for (int d = 0; d < D; ++d) lb += m.pi[d] * p.classes[d].n();
  for (int g = 0; g < m.L.G; ++g) lb += m.mu[g] * static_cast<double>(p.groups[g].size());
  for (int f = 0; f < m.L.F; ++f) lb += m.nu[f];
  res.converged = true;
  res.lower_bound = std::min(ub, lb - 1e-7 * std::max(1.0, std::fabs(lb)));
  if (ub <= *res.lower_bound * (1 + 1e-9) + 1e-12) {  // the incumbent meets the LP bound
    res.proven = true;
    res.lower_bound = ub;
    res.seconds = since();
    return res;
  }

  // ---- 2./3. Columns with reduced cost <= delta, IP, repeat with a larger
  // delta. Any plan using a column with rc > delta costs >= lb + delta, so
  // the IP optimum z over the enumerated columns gives the bound
  // min(z, lb + delta), and proves z optimal once z <= lb + delta.
  const double eps = 1e-5 * m.max_price;  // covers the rc tolerance of "converged"
  double best_cost = ub;
  double delta = std::min(ub - lb, std::max(2e-3 * lb, 10 * eps));
  Clock::time_point dl = deadline;
  int solved_rounds = 0, shrinks = 0;
  while (left() > 0) {
    const bool covers_ub = delta >= best_cost - lb;
    std::vector<Column> cols;
    bool complete = EnumerateWithin(p, m.units, m.pi, m.mu, m.nu, delta + eps, max_columns, &cols);
    res.enumerated = static_cast<int64_t>(cols.size());
    if (!complete) {
      res.stopped = "more than " + std::to_string(max_columns) + " columns within " + std::to_string(delta) +
                    " $/h of the LP bound";
      // Too many columns: a smaller delta still gives a restricted IP whose
      // plan is a good candidate and whose optimum may raise the bound; once
      // an IP was solved, a larger delta that overflows ends the proof.
      if (solved_rounds > 0 || ++shrinks > 4 || delta / 4 < 10 * eps) break;
      delta /= 4;
      continue;
    }
    Solution s;
    double z = -1;  // IP optimum when proven, else -1
    const int ret = SolveRestrictedIp(p, m.L, m.units, m.forced_nodes, cols, dl, &s, &z);
    if (ret == -1) {
      res.stopped = "lp_solve could not build the IP";
      break;
    }
    if (!s.bins.empty() && Better(p, s, res.has_solution ? res.solution : incumbent)) {
      res.has_solution = true;
      res.solution = std::move(s);
      best_cost = res.solution.Cost(p);
    }
    if (z >= 0) z += m.forced_cost;
    if (ret == SUBOPTIMAL || (ret != OPTIMAL && ret != PRESOLVED && ret != INFEASIBLE)) {
      res.stopped = ret == SUBOPTIMAL ? "branch and bound stopped early" : "branch and bound status " + std::to_string(ret);
      break;
    }
    ++solved_rounds;
    // Proven: every plan costs >= min(z, lb + delta) (z = +inf when infeasible).
    double bound = ret == INFEASIBLE ? lb + delta : std::min(z, lb + delta);
    if (covers_ub) bound = std::min(bound, best_cost);  // the incumbent's columns were all enumerated
    res.lower_bound = std::min(best_cost, std::max(*res.lower_bound, bound - eps));
    if (best_cost <= bound + 1e-12) {
      res.proven = true;
      res.lower_bound = best_cost;
      res.stopped.clear();
      break;
    }
    if (covers_ub) break;  // cannot happen (bound == best_cost then); no loop
    delta = std::min(best_cost - lb, std::max(delta * 4, (z > 0 ? z : best_cost) - lb));
  }
  if (left() <= 0 && !res.proven && res.stopped.empty()) res.stopped = "time limit";
  res.seconds = since();
  return res;
}

}  // namespace kinema::opt
