#include "steps/optimize/lagrangian_bound.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace kinema::opt {
namespace {

}  // namespace

LagrangianOracle::LagrangianOracle(const Problem& p) : p_(p) {
  const int D = static_cast<int>(p.classes.size());
  auto bin_of = [](const Kind& k) {
    Bin b;
    b.compat = &k.compat;
    for (int r = 0; r < 3; ++r) b.cap[r] = Dim(k.free, r);
    return b;
  };
  for (size_t k = p.num_existing; k < p.kinds.size(); ++k) new_kinds_.push_back(bin_of(p.kinds[k]));
  for (const auto& g : p.groups) {
    groups_.push_back(bin_of(p.kinds[g[0]]));
    group_size_.push_back(static_cast<double>(g.size()));
  }
  std::map<std::vector<uint8_t>, int> agg_of;
  all_compat_.assign(D, 0);
  all_forced_.nodes = 0;
  for (int j = 0; j < p.num_existing; ++j) {
    const Kind& k = p.kinds[j];
    if (!k.forced) continue;
    forced_cost_ += k.price;
    forced_nodes_.push_back(bin_of(k));
    auto [it, inserted] = agg_of.emplace(k.compat, static_cast<int>(forced_aggs_.size()));
    if (inserted) {
      forced_aggs_.push_back(Bin());
      forced_aggs_.back().nodes = 0;
      agg_compat_.push_back(k.compat);
    }
    for (Bin* b : {&forced_aggs_[it->second], &all_forced_}) {
      for (int r = 0; r < 3; ++r) b->cap[r] += Dim(k.free, r);
      b->nodes += 1;
    }
    for (int d = 0; d < D; ++d) all_compat_[d] |= k.compat[d];
  }
  // Pointers into agg_compat_ only once it stops growing.
  for (size_t a = 0; a < forced_aggs_.size(); ++a) forced_aggs_[a].compat = &agg_compat_[a];
  all_forced_.compat = &all_compat_;
  for (int r = 0; r < 3; ++r) {
    size_[r].resize(D);
    for (int d = 0; d < D; ++d) {
      size_[r][d] = Dim(p.classes[d].req, r);
      if (size_[r][d] <= 0) zero_[r].push_back(d);
    }
  }
}

double LagrangianOracle::Ub(const Bin& b, int d) const {
  const PodClass& c = p_.classes[d];
  double per = c.cap >= INT64_MAX / 4 ? 1e300 : double(c.cap) * b.nodes;
  return std::min<double>(c.n(), per);
}

double LagrangianOracle::Knapsack(const Bin& b, const std::vector<double>& pi, bool mix) const {
  const std::vector<uint8_t>& compat = *b.compat;
  double best = 0;
  for (int k = 0; k < 3; ++k) {
    // Single row k: zero-size items whole, then the densest until full.
    double val = 0;
    for (int d : zero_[k])
      if (compat[d] && pi[d] > 0) val += pi[d] * Ub(b, d);
    double room = b.cap[k];
    for (int d : order_[k]) {
      if (room <= 0) break;
      if (!compat[d]) continue;
      double take = std::min(Ub(b, d), room / size_[k][d]);
      val += take * pi[d];
      room -= take * size_[k][d];
    }
    if (k == 0 || val < best) best = val;
  }
  if (!mix || b.cap[0] <= 0 || b.cap[1] <= 0) return best;
  // Golden-section search over the surrogate mix (a = 0 and 1 are the single
  // rows above); any a gives an upper bound, so the search needs no
  // convergence guarantee.
  const double g = 0.5 * (std::sqrt(5.0) - 1);
  double lo = 0, hi = 1;
  double a1 = hi - g * (hi - lo), a2 = lo + g * (hi - lo);
  double f1 = Surrogate(b, pi, a1), f2 = Surrogate(b, pi, a2);
  for (int it = 0; it < 20; ++it) {
    if (f1 <= f2) {
      hi = a2, a2 = a1, f2 = f1, a1 = hi - g * (hi - lo);
      f1 = Surrogate(b, pi, a1);
    } else {
      lo = a1, a1 = a2, f1 = f2, a2 = lo + g * (hi - lo);
      f2 = Surrogate(b, pi, a2);
    }
  }
  return std::min({best, f1, f2});
}

double LagrangianOracle::Surrogate(const Bin& b, const std::vector<double>& pi, double alpha) const {
  const std::vector<uint8_t>& compat = *b.compat;
  std::vector<std::pair<double, int>> cand;  // (value per unit of the row, class)
  double val = 0;
  for (int d = 0; d < static_cast<int>(pi.size()); ++d) {
    if (!compat[d] || pi[d] <= 0) continue;
    double s = (1 - alpha) * size_[0][d] / b.cap[0] + alpha * size_[1][d] / b.cap[1];
    if (s > 0)
      cand.push_back({pi[d] / s, d});
    else
      val += pi[d] * Ub(b, d);
  }
  // Only the densest items until the row is full matter: select the top
  // `top` (linear time) and sort them; widen only if they do not fill it.
  auto denser = [](const auto& l, const auto& r) {
    return l.first > r.first || (l.first == r.first && l.second < r.second);
  };
  size_t top = std::min<size_t>(cand.size(), 256);
  while (true) {
    if (top < cand.size()) std::nth_element(cand.begin(), cand.begin() + top, cand.end(), denser);
    std::sort(cand.begin(), cand.begin() + top, denser);
    double room = 1;
    for (size_t i = 0; i < top && room > 0; ++i) room -= Ub(b, cand[i].second) * (pi[cand[i].second] / cand[i].first);
    if (room <= 0 || top == cand.size()) break;
    top = std::min(cand.size(), top * 4);
  }
  double room = 1;
  for (size_t i = 0; i < top && room > 0; ++i) {
    const int d = cand[i].second;
    double s = pi[d] / cand[i].first;
    double take = std::min(Ub(b, d), room / s);
    val += take * pi[d];
    room -= take * s;
  }
  return val;
}

std::vector<double> LagrangianOracle::Prepare(const std::vector<double>& pi_in) {
  const int D = static_cast<int>(p_.classes.size());
  std::vector<double> pi(D);
  for (int d = 0; d < D; ++d) pi[d] = d < static_cast<int>(pi_in.size()) ? std::max(0.0, pi_in[d]) : 0.0;
  for (int k = 0; k < 3; ++k) {
    order_[k].clear();
    for (int d = 0; d < D; ++d)
      if (pi[d] > 0 && size_[k][d] > 0) order_[k].push_back(d);
    const std::vector<double>& sz = size_[k];
    std::sort(order_[k].begin(), order_[k].end(), [&](int a, int b) {
      double da = pi[a] / sz[a], db = pi[b] / sz[b];
      return da != db ? da > db : a < b;
    });
  }
  return pi;
}

double LagrangianOracle::Evaluate(const std::vector<double>& pi_in, double* theta_out) {
  const std::vector<double> pi = Prepare(pi_in);
  double sum_pin = 0;
  for (size_t d = 0; d < pi.size(); ++d) sum_pin += pi[d] * p_.classes[d].n();
  double theta = 1.0;
  for (size_t t = 0; t < new_kinds_.size(); ++t) {
    double u = Knapsack(new_kinds_[t], pi, true);
    if (u > 0) theta = std::min(theta, p_.kinds[p_.num_existing + t].price / u);
  }
  double lb = theta * sum_pin + forced_cost_;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const double c = p_.kinds[p_.groups[g][0]].price;
    lb += group_size_[g] * std::min(0.0, c - theta * Knapsack(groups_[g], pi, true));
  }
  if (!forced_nodes_.empty()) {
    // The smallest of the three totals (header). Per node and per aggregate
    // use the single rows only: thousands of bins, and at the measured
    // scale the surrogate rows did not lower them.
    double per_node = 0, per_agg = 0;
    for (const Bin& b : forced_nodes_) per_node += Knapsack(b, pi, false);
    for (const Bin& b : forced_aggs_) per_agg += Knapsack(b, pi, false);
    lb -= theta * std::min({per_node, per_agg, Knapsack(all_forced_, pi, true)});
  }
  if (theta_out) *theta_out = theta;
  return lb;
}

}  // namespace kinema::opt
