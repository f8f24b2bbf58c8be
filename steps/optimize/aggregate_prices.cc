#include "steps/optimize/aggregate_prices.h"

#include <lp_lib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <tuple>

#include "steps/optimize/fluid_lp.h"

namespace kinema::opt {
namespace {

struct ABin {
  double price = 0;   // per node (0 for forced capacity)
  double ub = -1;     // node count bound, -1 unbounded
  bool forced = false;
  double cap[3] = {0, 0, 0};
  std::vector<uint8_t> compat;  // per class
};

}  // namespace

AggregatePrices SolveAggregatePrices(const Problem& p, double time_limit_seconds) {
  AggregatePrices res;
  const int D = static_cast<int>(p.classes.size());
  if (D == 0) {
    res.ok = true;
    return res;
  }
  // ---- Bins.
  std::vector<ABin> bins;
  std::map<std::tuple<int, double, int64_t, int64_t, int64_t>, int> merged;
  auto merge = [&](bool bounded, const Kind& k, double count) {
    auto key = std::make_tuple(bounded ? 1 : 0, k.price, k.free.cpu_milli, k.free.memory_bytes, k.free.pods);
    auto [it, inserted] = merged.emplace(key, static_cast<int>(bins.size()));
    if (inserted) {
      ABin b;
      b.price = k.price;
      b.ub = bounded ? 0 : -1;
      for (int r = 0; r < 3; ++r) b.cap[r] = Dim(k.free, r);
      b.compat.assign(D, 0);
      bins.push_back(std::move(b));
    }
    ABin& b = bins[it->second];
    if (bounded) b.ub += count;
    for (int d = 0; d < D; ++d) b.compat[d] |= k.compat[d];
  };
  for (const auto& g : p.groups) merge(true, p.kinds[g[0]], static_cast<double>(g.size()));
  for (size_t k = p.num_existing; k < p.kinds.size(); ++k) merge(false, p.kinds[k], 0);
  std::map<std::pair<std::string, int>, int> forced_of;
  for (int j = 0; j < p.num_existing; ++j) {
    const Kind& k = p.kinds[j];
    if (!k.forced) continue;
    auto [it, inserted] = forced_of.emplace(std::make_pair(k.zone, static_cast<int>(k.capacity)),
                                            static_cast<int>(bins.size()));
    if (inserted) {
      ABin b;
      b.forced = true;
      b.ub = 0;
      b.compat.assign(D, 0);
      bins.push_back(std::move(b));
    }
    ABin& b = bins[it->second];
    for (int r = 0; r < 3; ++r) b.cap[r] += Dim(k.free, r);
    for (int d = 0; d < D; ++d) b.compat[d] |= k.compat[d];
  }
  const int B = static_cast<int>(bins.size());
  // ---- Commodities: classes with equal compatibility over the bins.
  std::map<std::vector<uint8_t>, int> commodity_of;
  std::vector<std::array<double, 3>> demand;
  std::vector<std::vector<uint8_t>> ccompat;
  for (int d = 0; d < D; ++d) {
    // Key: compatibility, plus the request's shape (memory per cpu, in
    // steps of a factor sqrt(2)) so a commodity's prices fit its pods.
    std::vector<uint8_t> key(B + 1);
    for (int b = 0; b < B; ++b) key[b] = bins[b].compat[d];
    const Resources& rq = p.classes[d].req;
    double ratio = (double(rq.memory_bytes) / (1 << 20) + 1) / (double(rq.cpu_milli) + 1);
    key[B] = static_cast<uint8_t>(std::clamp<long>(std::lround(2 * std::log2(ratio)) + 64, 0, 255));
    auto [it, inserted] = commodity_of.emplace(key, static_cast<int>(demand.size()));
    if (inserted) {
      demand.push_back({0, 0, 0});
      ccompat.push_back(std::vector<uint8_t>(key.begin(), key.begin() + B));
    }
    for (int r = 0; r < 3; ++r) demand[it->second][r] += Dim(p.classes[d].req, r) * p.classes[d].n();
  }
  const int C = static_cast<int>(demand.size());
  res.commodities = C;
  res.bins = B;
  // ---- LP. Rows 1..C: sum_b y_cb >= 1; then 3 capacity rows per bin:
  // sum_c demand_ck / cap_bk * y_cb - w_b <= 0 (forced: <= 1, no w).
  lprec* lp = make_lp(C + 3 * B, 0);
  if (!lp) {
    res.message = "lp_solve make_lp failed";
    return res;
  }
  set_verbose(lp, NEUTRAL);
  set_minim(lp);
  set_pivoting(lp, PRICER_DEVEX);
  for (int c = 0; c < C; ++c) {
    set_constr_type(lp, c + 1, GE);
    set_rh(lp, c + 1, 1.0);
  }
  auto cap_row = [&](int b, int r) { return C + 1 + 3 * b + r; };
  for (int b = 0; b < B; ++b)
    for (int r = 0; r < 3; ++r) {
      set_constr_type(lp, cap_row(b, r), LE);
      set_rh(lp, cap_row(b, r), bins[b].forced ? 1.0 : 0.0);
    }
  std::vector<double> vals;
  std::vector<int> idx;
  for (int b = 0; b < B; ++b) {
    if (bins[b].forced) continue;
    vals = {bins[b].price, -1.0, -1.0, -1.0};
    idx = {0, cap_row(b, 0), cap_row(b, 1), cap_row(b, 2)};
    add_columnex(lp, 4, vals.data(), idx.data());
    if (bins[b].ub >= 0) set_upbo(lp, get_Ncolumns(lp), bins[b].ub);
  }
  for (int c = 0; c < C; ++c)
    for (int b = 0; b < B; ++b) {
      if (!ccompat[c][b]) continue;
      vals = {0.0, 1.0};
      idx = {0, c + 1};
      for (int r = 0; r < 3; ++r)
        if (demand[c][r] > 0) {
          vals.push_back(bins[b].cap[r] > 0 ? demand[c][r] / bins[b].cap[r] : 1e9);
          idx.push_back(cap_row(b, r));
        }
      add_columnex(lp, static_cast<int>(vals.size()), vals.data(), idx.data());
    }
  set_timeout(lp, std::max<long>(1, static_cast<long>(std::ceil(time_limit_seconds))));
  SeedLpSolveRandom();
  int ret = solve(lp);
  REAL* duals = nullptr;
  if ((ret != OPTIMAL && ret != PRESOLVED) || !get_ptr_sensitivity_rhs(lp, &duals, nullptr, nullptr) || !duals) {
    res.message = "lp_solve returned " + std::to_string(ret);
    delete_lp(lp);
    return res;
  }
  // ---- Class prices from the bins' resource prices.
  std::vector<std::array<double, 3>> lambda(B);
  for (int b = 0; b < B; ++b)
    for (int r = 0; r < 3; ++r) lambda[b][r] = std::max(0.0, -static_cast<double>(duals[cap_row(b, r) - 1]));
  delete_lp(lp);
  res.pi.assign(D, 0.0);
  for (int d = 0; d < D; ++d) {
    double best = -1;
    for (int b = 0; b < B; ++b) {
      if (!bins[b].compat[d]) continue;
      double v = 0;
      for (int r = 0; r < 3; ++r)
        if (bins[b].cap[r] > 0) v += lambda[b][r] * Dim(p.classes[d].req, r) / bins[b].cap[r];
      if (best < 0 || v < best) best = v;
    }
    res.pi[d] = std::max(0.0, best);
  }
  res.ok = true;
  return res;
}

}  // namespace kinema::opt
