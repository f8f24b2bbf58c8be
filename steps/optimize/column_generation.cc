#include "steps/optimize/column_generation.h"

#include "steps/optimize/fluid_lp.h"

#include <lp_lib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

namespace kinema::opt {
namespace {

// Upper bound on max sum v_d x_d s.t. sum r_dk x_d <= cap_k (each k), 0 <= x_d <= ub_d:
// the minimum over the three single-dimension fractional knapsacks.
double FractionalBound(const std::vector<int>& items, const std::vector<double>& v, const std::vector<double>& ub,
                       const std::vector<Resources>& req, const double cap[3]) {
  double best = 0;
  for (size_t i = 0; i < items.size(); ++i) best += v[items[i]] * ub[items[i]];
  std::vector<std::pair<double, int>> ord;
  for (int k = 0; k < 3; ++k) {
    ord.clear();
    double free_value = 0;
    for (int d : items) {
      double w = Dim(req[d], k);
      if (w <= 0)
        free_value += v[d] * ub[d];
      else
        ord.push_back({-v[d] / w, d});
    }
    std::sort(ord.begin(), ord.end());
    double c = cap[k], val = free_value;
    for (auto& [negdens, d] : ord) {
      double w = Dim(req[d], k);
      double take = std::min(ub[d], c / w);
      val += take * v[d];
      c -= take * w;
      if (c <= 0) break;
    }
    best = std::min(best, val);
  }
  return best;
}

struct PricingResult {
  double value = 0;                        // best found
  double upper = 0;                        // proven upper bound on the optimum
  bool exact = false;
  std::vector<std::pair<int, int>> items;  // best pattern
};

// Depth-first branch and bound for one node kind. The value of t pods of
// class d is pi_d * t, plus bonus * min(t, stay_count_d) when a stay bonus is
// given (pods that stay on their current node; concave in t, so the
// fractional bounds below stay valid: the first stay_count_d pods of a class
// are worth pi_d + bonus, the rest pi_d).
class Pricer {
 public:
  Pricer(const Problem& p, int kind, const std::vector<double>& pi, int64_t node_limit,
         const std::vector<int>* max_count = nullptr, const std::vector<int>* stay_count = nullptr, double bonus = 0)
      : p_(p),
        kind_(p.kinds[kind]),
        pi_(pi),
        limit_(node_limit),
        max_count_(max_count),
        stay_count_(stay_count),
        bonus_(stay_count ? std::max(0.0, bonus) : 0.0) {}

  void SkipSurrogate() { use_surrogate_ = false; }
  // Only contents worth more than `v` matter (a column prices out only above
  // its unit's cost less its dual): the search prunes against it from the
  // start, and "exact" then means nothing is worth more than max(v, value).
  void SetValueFloor(double v) { floor_ = v; }
  // The search stops (not exact) at this instant, whatever its node limit.
  void SetDeadline(std::chrono::steady_clock::time_point t) { deadline_ = t; }

  PricingResult Solve() {
    const int D = static_cast<int>(p_.classes.size());
    req_.resize(D);
    ub_.assign(D, 0);
    for (int d = 0; d < D; ++d) {
      req_[d] = p_.classes[d].req;
      if (!kind_.compat[d] || (pi_[d] <= 1e-12 && Bonus(d) <= 0)) continue;
      int64_t u = std::min<int64_t>(p_.classes[d].cap, max_count_ ? (*max_count_)[d] : p_.classes[d].n());
      for (int k = 0; k < 3; ++k)
        if (Dim(req_[d], k) > 0) u = std::min<int64_t>(u, static_cast<int64_t>(Dim(kind_.free, k) / Dim(req_[d], k)));
      if (u <= 0) continue;
      ub_[d] = static_cast<double>(u);
      items_.push_back(d);
    }
    auto size = [&](int d) {
      double s = 1e-12;
      for (int k = 0; k < 3; ++k) s = std::max(s, Dim(req_[d], k) / std::max(1.0, Dim(kind_.free, k)));
      return s;
    };
    std::sort(items_.begin(), items_.end(), [&](int a, int b) {
      double da = (pi_[a] + Bonus(a)) / size(a), db = (pi_[b] + Bonus(b)) / size(b);
      return da != db ? da > db : a < b;
    });
    cap_[0] = Dim(kind_.free, 0);
    cap_[1] = Dim(kind_.free, 1);
    cap_[2] = Dim(kind_.free, 2);
    PricingResult r;
    r.upper = RootBound();
    if (floor_ > 0 && r.upper <= floor_ + 1e-9) {  // nothing is worth more than the floor: no search
      r.value = r.upper = floor_;
      r.exact = true;
      return r;
    }
    blocked_.assign(D, 0);
    count_.assign(D, 0);
    const size_t m = items_.size();
    suffix_sum_.assign(m + 1, 0.0);
    for (int k = 0; k < 3; ++k) suffix_density_[k].assign(m + 1, 0.0);
    for (size_t j = m; j-- > 0;) {
      int d = items_[j];
      suffix_sum_[j] = suffix_sum_[j + 1] + Value(d, static_cast<int64_t>(ub_[d]));
      for (int k = 0; k < 3; ++k) {
        double w = Dim(req_[d], k);
        double dens = w > 0 ? (pi_[d] + Bonus(d)) / w : 1e301;
        suffix_density_[k][j] = std::max(suffix_density_[k][j + 1], dens);
      }
    }
    pos_.assign(D, m);
    for (size_t j = 0; j < m; ++j) pos_[items_[j]] = j;
    if (use_surrogate_) {
      ChooseSurrogate();
      r.upper = std::min(r.upper, SurrogateSuffixBound(0));
    }
    for (int k = 0; k < 3; ++k) {
      row_weight_[k].assign(D, 0.0);
      for (int d : items_) row_weight_[k][d] = Dim(req_[d], k);
      SortRowByDensity(k);
    }
    best_ = std::max(0.0, floor_);
    Dfs(0, 0.0);
    r.value = best_;
    r.items = best_items_;
    r.exact = nodes_ < limit_;
    if (r.exact) r.upper = best_;
    r.upper = std::max(r.upper, best_);
    return r;
  }

 private:
  double Bonus(int d) const { return bonus_ > 0 && (*stay_count_)[d] > 0 ? bonus_ : 0.0; }
  double Value(int d, int64_t t) const {
    double v = pi_[d] * static_cast<double>(t);
    if (bonus_ > 0) v += bonus_ * static_cast<double>(std::min<int64_t>(t, (*stay_count_)[d]));
    return v;
  }
  // Fractional bound at the root; with a bonus each class splits into its
  // stay part (pi + bonus) and the rest (pi).
  double RootBound() const {
    if (bonus_ <= 0) return FractionalBound(items_, pi_, ub_, req_, cap_);
    std::vector<int> split;
    std::vector<double> v, ub;
    std::vector<Resources> req;
    for (int d : items_) {
      double stay = std::min<double>(ub_[d], (*stay_count_)[d]);
      for (int part = 0; part < 2; ++part) {
        double u = part == 0 ? stay : ub_[d] - stay;
        if (u <= 0) continue;
        split.push_back(static_cast<int>(v.size()));
        v.push_back(pi_[d] + (part == 0 ? bonus_ : 0.0));
        ub.push_back(u);
        req.push_back(req_[d]);
      }
    }
    return FractionalBound(split, v, ub, req, cap_);
  }

  // Orders items_ for knapsack row `row` (0-2: cpu, memory, pods; 3: the
  // surrogate row): weightless items first (they never use the row), then by
  // value per unit of weight.
  void SortRowByDensity(int row) {
    const std::vector<double>& w = row_weight_[row];
    by_row_[row] = items_;
    std::sort(by_row_[row].begin(), by_row_[row].end(), [&](int a, int b) {
      if ((w[a] <= 0) != (w[b] <= 0)) return w[a] <= 0;
      double da = w[a] > 0 ? (pi_[a] + Bonus(a)) / w[a] : 0, db = w[b] > 0 ? (pi_[b] + Bonus(b)) / w[b] : 0;
      return da != db ? da > db : a < b;
    });
  }
  // The fractional knapsack on one row over items i.. (not blocked) with
  // capacity `cap`, each item at its best per-unit value (pi + bonus): O(m).
  double FractionalOverRow(int row, size_t i, double cap) const {
    const std::vector<double>& w = row_weight_[row];
    double val = 0;
    for (int d : by_row_[row]) {
      if (pos_[d] < i || blocked_[d]) continue;
      const double per = pi_[d] + Bonus(d);
      if (w[d] <= 0) {
        val += per * ub_[d];
        continue;
      }
      if (cap <= 0) break;
      double take = std::min(ub_[d], cap / w[d]);
      val += take * per;
      cap -= take * w[d];
    }
    return val;
  }
  // Min over the three resources of their rows' fractional knapsacks: far
  // tighter than the O(1) bound when several dimensions matter.
  double FractionalSuffixBound(size_t i) const {
    double best = 1e300;
    for (int k = 0; k < 3; ++k) best = std::min(best, FractionalOverRow(k, i, cap_[k]));
    return best;
  }

  // Surrogate relaxation: the three capacity rows, each scaled by the
  // node's free capacity, added with weights lambda >= 0 (sum 1) give one
  // knapsack row; its fractional bound is valid for any lambda and, at the
  // best lambda, far tighter than the minimum of the single-row bounds when
  // two resources bind together (cpu-heavy and memory-heavy pods). Lambda is
  // chosen once, at the root, from a grid over the simplex.
  double Weight(int d, const double lambda[3]) const {
    double s = 0;
    for (int k = 0; k < 3; ++k)
      if (lambda[k] > 0 && root_cap_[k] > 0) s += lambda[k] * Dim(req_[d], k) / root_cap_[k];
    return s;
  }
  // The surrogate row's capacity left now (1 on the empty node).
  double SurrogateCapacity(const double lambda[3]) const {
    double c = 0;
    for (int k = 0; k < 3; ++k)
      if (root_cap_[k] > 0) c += lambda[k] * cap_[k] / root_cap_[k];
    return c;
  }
  // Row 3 becomes the surrogate row of `lambda`, ordered by density.
  void SetSurrogateRow(const double lambda[3]) {
    for (int d : items_) row_weight_[3][d] = Weight(d, lambda);
    SortRowByDensity(3);
  }
  void ChooseSurrogate() {
    for (int k = 0; k < 3; ++k) root_cap_[k] = cap_[k];
    row_weight_[3].assign(p_.classes.size(), 0.0);
    double best = 1e300;
    const int steps = 10;
    for (int a = 0; a <= steps; ++a)
      for (int b = 0; a + b <= steps; ++b) {
        double lambda[3] = {double(a) / steps, double(b) / steps, double(steps - a - b) / steps};
        SetSurrogateRow(lambda);
        double v = FractionalOverRow(3, 0, SurrogateCapacity(lambda));
        if (v < best) {
          best = v;
          for (int k = 0; k < 3; ++k) lambda_[k] = lambda[k];
        }
      }
    SetSurrogateRow(lambda_);
  }
  // The surrogate row's fractional bound over items i.. (not blocked) with
  // the capacity left now.
  double SurrogateSuffixBound(size_t i) const { return FractionalOverRow(3, i, SurrogateCapacity(lambda_)); }

  void Dfs(size_t i, double value) {
    if (++nodes_ > limit_) return;
    if ((nodes_ & 4095) == 0 && std::chrono::steady_clock::now() > deadline_) {
      limit_ = nodes_ - 1;  // out of time: stop here, not exact
      return;
    }
    if (value > best_ + 1e-12) {
      best_ = value;
      best_items_.clear();
      for (int d : items_)
        if (count_[d] > 0) best_items_.push_back({d, count_[d]});
    }
    if (i >= items_.size()) return;
    // O(1) bound over the remaining items: per-dimension best density times
    // the capacity left, and the sum of all remaining values.
    double bound = suffix_sum_[i];
    for (int k = 0; k < 3; ++k)
      if (suffix_density_[k][i] < 1e300) bound = std::min(bound, suffix_density_[k][i] * cap_[k]);
    if (value + bound <= best_ + 1e-9) return;
    if (value + FractionalSuffixBound(i) <= best_ + 1e-9) return;
    if (use_surrogate_ && value + SurrogateSuffixBound(i) <= best_ + 1e-9) return;
    int d = items_[i];
    int64_t maxt = blocked_[d] ? 0 : static_cast<int64_t>(ub_[d]);
    for (int k = 0; k < 3; ++k)
      if (Dim(req_[d], k) > 0) maxt = std::min<int64_t>(maxt, static_cast<int64_t>(cap_[k] / Dim(req_[d], k) + 1e-9));
    for (int64_t t = maxt; t >= 0 && nodes_ <= limit_; --t) {
      if (t > 0) {
        for (int k = 0; k < 3; ++k) cap_[k] -= t * Dim(req_[d], k);
        count_[d] = static_cast<int>(t);
        for (int e : p_.classes[d].conflicts) ++blocked_[e];
        Dfs(i + 1, value + Value(d, t));
        for (int e : p_.classes[d].conflicts) --blocked_[e];
        count_[d] = 0;
        for (int k = 0; k < 3; ++k) cap_[k] += t * Dim(req_[d], k);
      } else {
        Dfs(i + 1, value);
      }
    }
  }

  const Problem& p_;
  const Kind& kind_;
  const std::vector<double>& pi_;
  int64_t limit_;
  const std::vector<int>* max_count_;
  const std::vector<int>* stay_count_;
  double bonus_;
  int64_t nodes_ = 0;
  std::vector<int> items_;
  std::vector<double> ub_;
  std::vector<Resources> req_;
  double cap_[3];
  std::vector<int> blocked_, count_;
  std::vector<double> suffix_sum_;
  std::vector<double> suffix_density_[3];
  std::vector<size_t> pos_;             // class -> position in items_ (m if absent)
  std::vector<double> row_weight_[4];   // class -> weight in each knapsack row (3: surrogate)
  std::vector<int> by_row_[4];          // items_ by value per unit of each row's weight
  bool use_surrogate_ = true;
  double floor_ = 0;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  double root_cap_[3] = {0, 0, 0};      // the empty node's free capacity
  double lambda_[3] = {0, 0, 1};        // surrogate weights (ChooseSurrogate)
  double best_ = 0;
  std::vector<std::pair<int, int>> best_items_;
};

}  // namespace

PricedPattern PriceKind(const Problem& p, int kind, const std::vector<double>& value,
                        const std::vector<int>* stay_count, double stay_bonus, int64_t node_limit, double min_value,
                        std::chrono::steady_clock::time_point deadline) {
  Pricer pr(p, kind, value, node_limit, nullptr, stay_count, stay_bonus);
  pr.SetValueFloor(min_value);
  pr.SetDeadline(deadline);
  PricingResult r = pr.Solve();
  return PricedPattern{r.value, r.upper, r.exact, std::move(r.items)};
}

std::vector<std::pair<int, int>> BestFill(const Problem& p, int kind, const std::vector<double>& value,
                                          const std::vector<int>& max_count, int64_t node_limit, double* value_out) {
  Pricer pr(p, kind, value, node_limit, &max_count);
  pr.SkipSurrogate();  // a packing heuristic's short search: the root grid would cost more than it prunes
  PricingResult r = pr.Solve();
  if (value_out) *value_out = r.value;
  return r.items;
}

namespace {

struct PBin {            // a pricing unit: a new kind or a group of existing nodes
  int kind;              // representative kind
  int group = -1;        // existing group id, -1 for new kinds
  double price;
  double count = -1;     // group size, -1 unbounded
};

struct Pattern {
  int pbin;
  std::vector<std::pair<int, int>> items;
};

}  // namespace

CgResult RunColumnGeneration(const Problem& p, const std::vector<double>& start_duals, const Solution& incumbent,
                             double time_limit_seconds, uint64_t seed, int max_iterations) {
  (void)start_duals;
  (void)seed;
  auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  CgResult res;
  const int D = static_cast<int>(p.classes.size());
  if (D == 0) return res;
  std::vector<PBin> pbins;
  std::vector<int> pbin_of_group(p.groups.size(), -1);
  for (size_t g = 0; g < p.groups.size(); ++g) {
    pbin_of_group[g] = static_cast<int>(pbins.size());
    pbins.push_back(PBin{p.groups[g][0], static_cast<int>(g), p.kinds[p.groups[g][0]].price,
                         static_cast<double>(p.groups[g].size())});
  }
  std::vector<int> pbin_of_kind(p.kinds.size(), -1);
  for (size_t k = p.num_existing; k < p.kinds.size(); ++k) {
    pbin_of_kind[k] = static_cast<int>(pbins.size());
    pbins.push_back(PBin{static_cast<int>(k), -1, p.kinds[k].price, -1});
  }
  // Forced nodes as fluid capacity.
  double forced_cost = 0, forced_cap[3] = {0, 0, 0};
  std::vector<int> forced_compat_nodes(D, 0);
  for (int j = 0; j < p.num_existing; ++j) {
    const Kind& k = p.kinds[j];
    if (!k.forced) continue;
    forced_cost += k.price;
    forced_cap[0] += Dim(k.free, 0);
    forced_cap[1] += Dim(k.free, 1);
    forced_cap[2] += Dim(k.free, 2);
    for (int d = 0; d < D; ++d) forced_compat_nodes[d] += k.compat[d];
  }
  const int G = static_cast<int>(p.groups.size());
  const int rows = D + G + 3;
  lprec* lp = NewDemandCoveringLp(p, rows);
  if (!lp) return res;
  double max_price = 0;
  for (const auto& k : p.kinds) max_price = std::max(max_price, k.price);
  for (int g = 0; g < G; ++g) {
    set_constr_type(lp, D + 1 + g, LE);
    set_rh(lp, D + 1 + g, static_cast<double>(p.groups[g].size()));
  }
  for (int k = 0; k < 3; ++k) {
    set_constr_type(lp, D + G + 1 + k, LE);
    set_rh(lp, D + G + 1 + k, 1.0);
  }
  std::vector<double> vals;
  std::vector<int> idx;
  int ncols = 0;
  // Artificial columns keep the master feasible whatever the patterns.
  for (int d = 0; d < D; ++d) {
    double v[2] = {10 * max_price + 1, 1.0};
    int ix[2] = {0, d + 1};
    add_columnex(lp, 2, v, ix);
    ++ncols;
  }
  // Forced fluid columns.
  for (int d = 0; d < D; ++d) {
    if (!forced_compat_nodes[d]) continue;
    vals = {0.0, 1.0};
    idx = {0, d + 1};
    for (int k = 0; k < 3; ++k)
      if (Dim(p.classes[d].req, k) > 0) {
        vals.push_back(forced_cap[k] > 0 ? Dim(p.classes[d].req, k) / forced_cap[k] : 1e9);
        idx.push_back(D + G + 1 + k);
      }
    add_columnex(lp, static_cast<int>(vals.size()), vals.data(), idx.data());
    ++ncols;
    double ub = std::min<double>(p.classes[d].n(), p.classes[d].cap >= INT64_MAX / 4
                                                       ? 1e30
                                                       : double(p.classes[d].cap) * forced_compat_nodes[d]);
    set_upbo(lp, ncols, ub);
  }
  const int first_pattern_col = ncols + 1;
  std::vector<Pattern> patterns;
  std::set<std::pair<int, std::vector<std::pair<int, int>>>> seen;
  auto add_pattern = [&](int pb, std::vector<std::pair<int, int>> items) {
    std::sort(items.begin(), items.end());
    if (items.empty() || !seen.insert({pb, items}).second) return false;
    vals = {pbins[pb].price};
    idx = {0};
    for (auto& [d, n] : items) {
      vals.push_back(n);
      idx.push_back(d + 1);
    }
    if (pbins[pb].group >= 0) {
      vals.push_back(1.0);
      idx.push_back(D + 1 + pbins[pb].group);
    }
    add_columnex(lp, static_cast<int>(vals.size()), vals.data(), idx.data());
    ++ncols;
    patterns.push_back(Pattern{pb, std::move(items)});
    return true;
  };
  for (const auto& b : incumbent.bins) {
    int pb = p.IsNew(b.kind) ? pbin_of_kind[b.kind] : (p.kinds[b.kind].group >= 0 ? pbin_of_group[p.kinds[b.kind].group] : -1);
    if (pb >= 0) add_pattern(pb, b.items);
  }
  double best_lb = -1;
  std::vector<double> pi(D, 0.0);
  int64_t node_limit = 4000;
  constexpr int64_t kMaxPricingNodes = 4000 * 16 * 16;  // ~1M search nodes per kind
  bool converged = false;
  int it = 0;
  for (; elapsed() < time_limit_seconds && (max_iterations < 0 || it < max_iterations); ++it) {
    set_timeout(lp, std::max<long>(1, static_cast<long>(time_limit_seconds - elapsed() + 1)));
    SeedLpSolveRandom();
    int ret = solve(lp);
    if (ret != OPTIMAL && ret != PRESOLVED) break;
    REAL* duals = nullptr;
    if (!get_ptr_sensitivity_rhs(lp, &duals, nullptr, nullptr) || !duals) break;
    std::vector<double> mu(G, 0.0);
    for (int d = 0; d < D; ++d) pi[d] = std::max(0.0, static_cast<double>(duals[d]));
    for (int g = 0; g < G; ++g) mu[g] = std::min(0.0, static_cast<double>(duals[D + g]));
    // Price every node kind; collect bound ingredients.
    double sum_pin = 0;
    for (int d = 0; d < D; ++d) sum_pin += pi[d] * p.classes[d].n();
    double theta = 1.0;
    std::vector<double> ub(pbins.size(), 0.0);
    bool all_exact = true;
    int added = 0;
    size_t priced = 0;
    for (size_t b = 0; b < pbins.size(); ++b) {
      if (elapsed() > time_limit_seconds) {
        all_exact = false;
        break;
      }
      Pricer pr(p, pbins[b].kind, pi, node_limit);
      pr.SetValueFloor(pbins[b].price - (pbins[b].group >= 0 ? mu[pbins[b].group] : 0.0));
      PricingResult r = pr.Solve();
      ub[b] = r.upper;
      ++priced;
      all_exact = all_exact && r.exact;
      double mu_b = pbins[b].group >= 0 ? mu[pbins[b].group] : 0.0;
      double rc = pbins[b].price - mu_b - r.value;
      if (rc < -1e-9 * std::max(1.0, pbins[b].price) && add_pattern(static_cast<int>(b), r.items)) ++added;
      if (pbins[b].count < 0 && r.upper > 0) theta = std::min(theta, pbins[b].price / r.upper);
    }
    // Pricing may have been cut short by the clock: the bound needs every kind.
    const bool complete = priced == pbins.size();
    if (complete) {
      // Lagrangian bound with pi scaled by theta (valid for any pi >= 0).
      double lb = theta * sum_pin + forced_cost;
      for (size_t b = 0; b < pbins.size(); ++b)
        if (pbins[b].count >= 0) lb += pbins[b].count * std::min(0.0, pbins[b].price - theta * ub[b]);
      // Forced fluid capacity: at most the fractional knapsack over it.
      std::vector<int> fitems;
      std::vector<double> fub(D, 0.0);
      std::vector<Resources> req(D);
      for (int d = 0; d < D; ++d) {
        req[d] = p.classes[d].req;
        if (forced_compat_nodes[d] && pi[d] > 0) {
          fitems.push_back(d);
          fub[d] = std::min<double>(p.classes[d].n(), p.classes[d].cap >= INT64_MAX / 4
                                                          ? 1e30
                                                          : double(p.classes[d].cap) * forced_compat_nodes[d]);
        }
      }
      lb -= theta * FractionalBound(fitems, pi, fub, req, forced_cap);
      best_lb = std::max(best_lb, lb);
    }
    if (added == 0) {
      // Node-limited pricing found nothing: search deeper before giving up
      // (convergence needs every kind priced exactly).
      if (!all_exact && complete && node_limit < kMaxPricingNodes) {
        node_limit *= 16;
        continue;
      }
      converged = all_exact;
      break;
    }
    if (ncols > 20000) break;
  }
  res.iterations = it;
  res.columns = static_cast<int>(patterns.size());
  res.converged = converged;
  if (best_lb > 0) res.lower_bound = best_lb * (1 - 1e-7) - 1e-9;
  // Integerise: (a) floor of the LP pattern values + residual greedy;
  // (b) when the master is small, lp_solve's branch and bound on the
  // restricted master IP (patterns integer, forced capacity still fluid) under
  // a short timeout, + residual greedy for what forced nodes must take.
  Packer pk(p, pi, seed);
  auto build = [&](const std::vector<double>& xs, Solution* out) {
    Solution s;
    std::vector<int> rem(D);
    for (int d = 0; d < D; ++d) rem[d] = p.classes[d].n();
    std::vector<size_t> group_used(p.groups.size(), 0);
    for (int j = 0; j < p.num_existing; ++j)
      if (p.kinds[j].forced) {
        Bin b;
        b.kind = j;
        s.bins.push_back(b);
      }
    for (size_t c = 0; c < patterns.size(); ++c) {
      int copies = static_cast<int>(std::floor(xs[c] + 1e-6));
      const Pattern& pt = patterns[c];
      for (int r = 0; r < copies; ++r) {
        int kind = pbins[pt.pbin].kind;
        if (pbins[pt.pbin].group >= 0) {
          const auto& nodes = p.groups[pbins[pt.pbin].group];
          size_t& u = group_used[pbins[pt.pbin].group];
          if (u >= nodes.size()) break;
          kind = nodes[u++];
        }
        Bin b;
        b.kind = kind;
        for (auto& [d, n] : pt.items) {
          int t = std::min(n, rem[d]);
          if (t > 0) {
            pk.Add(&b, d, t);
            rem[d] -= t;
          }
        }
        if (!b.items.empty()) s.bins.push_back(std::move(b));
      }
    }
    if (!pk.Repack(&s, rem)) return false;
    *out = std::move(s);
    return true;
  };
  SeedLpSolveRandom();
  int ret = solve(lp);
  if (ret == OPTIMAL || ret == PRESOLVED) {
    REAL* x = nullptr;
    get_ptr_variables(lp, &x);
    std::vector<double> xs(patterns.size());
    for (size_t c = 0; c < patterns.size(); ++c) xs[c] = x[first_pattern_col - 1 + c];
    Solution s;
    if (build(xs, &s)) {
      res.has_solution = true;
      res.solution = std::move(s);
    }
    double left = time_limit_seconds - elapsed();
    // The IP stops on lp_solve's wall-clock timeout, so it is skipped when the
    // caller asked for an iteration-bounded (reproducible) run.
    if (patterns.size() <= 400 && left > 0.5 && max_iterations < 0) {
      for (size_t c = 0; c < patterns.size(); ++c) set_int(lp, first_pattern_col + static_cast<int>(c), TRUE);
      for (int d = 0; d < D; ++d) set_upbo(lp, d + 1, 0.0);  // no artificial columns in the IP
      set_bb_floorfirst(lp, BRANCH_CEILING);
      set_timeout(lp, std::max<long>(1, static_cast<long>(std::min(left, 5.0))));
      SeedLpSolveRandom();
      int ip = solve(lp);
      if (ip == OPTIMAL || ip == SUBOPTIMAL || ip == PRESOLVED) {
        get_ptr_variables(lp, &x);
        for (size_t c = 0; c < patterns.size(); ++c) xs[c] = std::round(x[first_pattern_col - 1 + c]);
        Solution t;
        if (build(xs, &t) && (!res.has_solution || Better(p, t, res.solution))) {
          res.has_solution = true;
          res.solution = std::move(t);
        }
      }
    }
  }
  delete_lp(lp);
  res.seconds = elapsed();
  return res;
}

}  // namespace kinema::opt
