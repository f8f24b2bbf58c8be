#include "steps/optimize/fluid_lp.h"

#include <lp_lib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

namespace kinema::opt {

FluidResult SolveFluidLp(const Problem& p, double time_limit_seconds) {
  auto t0 = std::chrono::steady_clock::now();
  FluidResult res;
  const int D = static_cast<int>(p.classes.size());
  double forced_cost = 0;
  struct LpBin {
    double price = 0;      // per unit of w (0 for forced aggregates)
    double ub = -1;        // -1 = unbounded; 0 for forced aggregates (no w column)
    bool forced = false;
    double cap[3] = {0, 0, 0};  // per node (or aggregate residual)
    int count = 1;         // nodes behind a forced aggregate
    const std::vector<uint8_t>* compat = nullptr;
  };
  std::vector<LpBin> bins;
  std::map<std::vector<uint8_t>, int> forced_agg;
  for (const auto& g : p.groups) {
    const Kind& k = p.kinds[g[0]];
    LpBin b;
    b.price = k.price;
    b.ub = static_cast<double>(g.size());
    b.cap[0] = static_cast<double>(k.free.cpu_milli);
    b.cap[1] = static_cast<double>(k.free.memory_bytes);
    b.cap[2] = static_cast<double>(k.free.pods);
    b.compat = &k.compat;
    bins.push_back(b);
  }
  for (int j = 0; j < p.num_existing; ++j) {
    const Kind& k = p.kinds[j];
    if (!k.forced) continue;
    forced_cost += k.price;
    auto it = forced_agg.find(k.compat);
    if (it == forced_agg.end()) {
      LpBin b;
      b.forced = true;
      b.ub = 0;
      b.count = 0;
      b.compat = &k.compat;
      it = forced_agg.emplace(k.compat, static_cast<int>(bins.size())).first;
      bins.push_back(b);
    }
    LpBin& b = bins[it->second];
    b.cap[0] += static_cast<double>(k.free.cpu_milli);
    b.cap[1] += static_cast<double>(k.free.memory_bytes);
    b.cap[2] += static_cast<double>(k.free.pods);
    b.count += 1;
  }
  for (size_t k = p.num_existing; k < p.kinds.size(); ++k) {
    const Kind& kd = p.kinds[k];
    LpBin b;
    b.price = kd.price;
    b.cap[0] = static_cast<double>(kd.free.cpu_milli);
    b.cap[1] = static_cast<double>(kd.free.memory_bytes);
    b.cap[2] = static_cast<double>(kd.free.pods);
    b.compat = &kd.compat;
    bins.push_back(b);
  }
  // Row numbering: 1..D demand, then 3 per bin, then cap rows.
  const int B = static_cast<int>(bins.size());
  auto cap_row = [&](int b, int k) { return D + 1 + 3 * b + k; };
  int rows = D + 3 * B;
  struct CapRow { int d, b, row; };
  std::vector<CapRow> caps;
  auto size_of = [&](int d, int k) {
    const Resources& r = p.classes[d].req;
    return k == 0 ? double(r.cpu_milli) : k == 1 ? double(r.memory_bytes) : double(r.pods);
  };
  for (int b = 0; b < B; ++b) {
    if (bins[b].forced) continue;
    for (int d = 0; d < D; ++d) {
      if (!(*bins[b].compat)[d] || p.classes[d].cap >= p.classes[d].n()) continue;
      double fit = 1e18;
      for (int k = 0; k < 3; ++k)
        if (size_of(d, k) > 0) fit = std::min(fit, std::floor(bins[b].cap[k] / size_of(d, k)));
      if (static_cast<double>(p.classes[d].cap) < fit) caps.push_back(CapRow{d, b, ++rows});
    }
  }
  lprec* lp = make_lp(rows, 0);
  if (!lp) {
    res.message = "lp_solve make_lp failed";
    return res;
  }
  set_verbose(lp, NEUTRAL);
  for (int d = 0; d < D; ++d) {
    set_constr_type(lp, d + 1, GE);
    set_rh(lp, d + 1, p.classes[d].n());
  }
  for (int b = 0; b < B; ++b)
    for (int k = 0; k < 3; ++k) {
      set_constr_type(lp, cap_row(b, k), LE);
      set_rh(lp, cap_row(b, k), bins[b].forced ? 1.0 : 0.0);
    }
  for (const auto& c : caps) {
    set_constr_type(lp, c.row, LE);
    set_rh(lp, c.row, 0);
  }
  std::vector<std::vector<std::pair<int, int>>> cap_rows_of_bin(B);  // (d, row)
  for (const auto& c : caps) cap_rows_of_bin[c.b].push_back({c.d, c.row});
  std::vector<double> vals;
  std::vector<int> idx;
  int ncols = 0;
  for (int b = 0; b < B; ++b) {
    const LpBin& bn = bins[b];
    if (!bn.forced) {  // w_b
      vals.clear();
      idx.clear();
      vals.push_back(bn.price);
      idx.push_back(0);
      for (int k = 0; k < 3; ++k) {
        vals.push_back(-1.0);
        idx.push_back(cap_row(b, k));
      }
      for (auto [d, row] : cap_rows_of_bin[b]) {
        vals.push_back(-static_cast<double>(p.classes[d].cap));
        idx.push_back(row);
      }
      add_columnex(lp, static_cast<int>(vals.size()), vals.data(), idx.data());
      ++ncols;
      if (bn.ub >= 0) set_upbo(lp, ncols, bn.ub);
    }
    for (int d = 0; d < D; ++d) {
      if (!(*bn.compat)[d]) continue;
      vals.clear();
      idx.clear();
      vals.push_back(1.0);
      idx.push_back(d + 1);
      for (int k = 0; k < 3; ++k) {
        double s = size_of(d, k);
        if (s <= 0) continue;
        vals.push_back(bn.cap[k] > 0 ? s / bn.cap[k] : 1e9);
        idx.push_back(cap_row(b, k));
      }
      for (auto [dd, row] : cap_rows_of_bin[b])
        if (dd == d) {
          vals.push_back(1.0);
          idx.push_back(row);
        }
      add_columnex(lp, static_cast<int>(vals.size()), vals.data(), idx.data());
      ++ncols;
      if (bn.forced && p.classes[d].cap < INT64_MAX)
        set_upbo(lp, ncols, static_cast<double>(p.classes[d].cap) * bn.count);
    }
  }
  set_minim(lp);
  set_presolve(lp, PRESOLVE_SENSDUALS, get_presolveloops(lp));
  set_timeout(lp, std::max<long>(1, static_cast<long>(std::ceil(time_limit_seconds))));
  int ret = solve(lp);
  if (ret == OPTIMAL || ret == PRESOLVED) {
    res.ok = true;
    double obj = get_objective(lp);
    double lb = obj + forced_cost;
    res.lower_bound = std::max(0.0, lb - 1e-7 * std::fabs(lb) - 1e-9);
    REAL* duals = nullptr;
    res.duals.assign(D, 0.0);
    if (get_ptr_sensitivity_rhs(lp, &duals, nullptr, nullptr) && duals)
      for (int d = 0; d < D; ++d) res.duals[d] = std::max(0.0, static_cast<double>(duals[d]));
  } else {
    res.message = "lp_solve returned " + std::to_string(ret);
  }
  delete_lp(lp);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace kinema::opt
