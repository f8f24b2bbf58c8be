#include "steps/optimize/fluid_lp.h"

#include <lp_lib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <tuple>

#include "steps/optimize/lagrangian_bound.h"

extern "C" REAL rand_uniform(lprec* lp, REAL range);  // exported by liblpsolve55

namespace kinema::opt {

void SeedLpSolveRandom() {
  static std::once_flag once;
  std::call_once(once, [] { rand_uniform(nullptr, 1.0); });
  std::srand(1);
}

namespace {
int AbortAtDeadline(lprec*, void* handle) {
  return std::chrono::steady_clock::now() > *static_cast<const std::chrono::steady_clock::time_point*>(handle)
             ? TRUE
             : FALSE;
}
}  // namespace

void StopAtDeadline(::_lprec* lp, const std::chrono::steady_clock::time_point* deadline) {
  const double left = std::chrono::duration<double>(*deadline - std::chrono::steady_clock::now()).count();
  set_timeout(lp, std::max<long>(1, static_cast<long>(std::ceil(left))));
  put_abortfunc(lp, AbortAtDeadline, const_cast<std::chrono::steady_clock::time_point*>(deadline));
}

::_lprec* NewDemandCoveringLp(const Problem& p, int rows) {
  lprec* lp = make_lp(rows, 0);
  if (lp == nullptr) return nullptr;
  set_verbose(lp, NEUTRAL);
  set_minim(lp);
  set_pivoting(lp, PRICER_DEVEX);
  for (int d = 0; d < static_cast<int>(p.classes.size()); ++d) {
    set_constr_type(lp, d + 1, GE);
    set_rh(lp, d + 1, p.classes[d].n());
  }
  return lp;
}

double LagrangianBound(const Problem& p, const std::vector<double>& pi) {
  LagrangianOracle oracle(p);
  return oracle.Evaluate(pi);
}

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
    std::vector<uint8_t> compat;
  };
  std::vector<LpBin> bins;
  // Forced nodes with equal compatibility form one aggregate (a relaxation).
  std::map<std::vector<uint8_t>, int> forced_agg;
  // Nodes of equal price and capacity (existing groups across zones and pools;
  // new kinds across zones) are merged with the union of their compatibility:
  // a relaxation that keeps the bound valid, costs little strength (only
  // zone-pinned classes lose the separation) and shrinks the LP a lot.
  std::map<std::tuple<int, double, int64_t, int64_t, int64_t>, int> merged;
  auto merge_in = [&](int bounded, const Kind& k, double count) {
    auto key = std::make_tuple(bounded, k.price, k.free.cpu_milli, k.free.memory_bytes, k.free.pods);
    auto it = merged.find(key);
    if (it == merged.end()) {
      LpBin b;
      b.price = k.price;
      b.ub = bounded ? 0 : -1;
      b.cap[0] = static_cast<double>(k.free.cpu_milli);
      b.cap[1] = static_cast<double>(k.free.memory_bytes);
      b.cap[2] = static_cast<double>(k.free.pods);
      b.compat.assign(D, 0);
      it = merged.emplace(key, static_cast<int>(bins.size())).first;
      bins.push_back(b);
    }
    LpBin& b = bins[it->second];
    if (bounded) b.ub += count;
    for (int d = 0; d < D; ++d) b.compat[d] |= k.compat[d];
  };
  for (const auto& g : p.groups) merge_in(1, p.kinds[g[0]], static_cast<double>(g.size()));
  for (size_t k = p.num_existing; k < p.kinds.size(); ++k) merge_in(0, p.kinds[k], 0);
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
      b.compat = k.compat;
      it = forced_agg.emplace(k.compat, static_cast<int>(bins.size())).first;
      bins.push_back(b);
    }
    LpBin& b = bins[it->second];
    b.cap[0] += static_cast<double>(k.free.cpu_milli);
    b.cap[1] += static_cast<double>(k.free.memory_bytes);
    b.cap[2] += static_cast<double>(k.free.pods);
    b.count += 1;
  }
  // Rows: 1..D demand, then 3 capacity rows per bin; per-node cap rows are
  // appended when a flow column that needs one enters.
  // Columns are generated: the LP starts with a few cheap bins per class and
  // flow columns with negative reduced cost are added until none is left, so
  // the final value is the optimum over all columns (a valid bound).
  const int B = static_cast<int>(bins.size());
  if (getenv("KINEMA_LP_TRACE")) fprintf(stderr, "fluid: %d classes, %d LP bins (%zu forced aggregates)\n", D, B, forced_agg.size());
  auto cap_row = [&](int b, int k) { return D + 1 + 3 * b + k; };
  auto size_of = [&](int d, int k) {
    const Resources& r = p.classes[d].req;
    return k == 0 ? double(r.cpu_milli) : k == 1 ? double(r.memory_bytes) : double(r.pods);
  };
  auto needs_cap_row = [&](int d, int b) {
    if (bins[b].forced || p.classes[d].cap >= p.classes[d].n()) return false;
    double fit = 1e18;
    for (int k = 0; k < 3; ++k)
      if (size_of(d, k) > 0) fit = std::min(fit, std::floor(bins[b].cap[k] / size_of(d, k)));
    return static_cast<double>(p.classes[d].cap) < fit;
  };
  lprec* lp = NewDemandCoveringLp(p, D + 3 * B);
  if (!lp) {
    res.message = "lp_solve make_lp failed";
    return res;
  }
  for (int b = 0; b < B; ++b)
    for (int k = 0; k < 3; ++k) {
      set_constr_type(lp, cap_row(b, k), LE);
      set_rh(lp, cap_row(b, k), bins[b].forced ? 1.0 : 0.0);
    }
  std::vector<double> vals;
  std::vector<int> idx;
  int ncols = 0;
  std::vector<int> w_col(B, 0);
  for (int b = 0; b < B; ++b) {
    if (bins[b].forced) continue;
    vals = {bins[b].price, -1.0, -1.0, -1.0};
    idx = {0, cap_row(b, 0), cap_row(b, 1), cap_row(b, 2)};
    add_columnex(lp, 4, vals.data(), idx.data());
    w_col[b] = ++ncols;
    if (bins[b].ub >= 0) set_upbo(lp, ncols, bins[b].ub);
  }
  // Artificial columns: one pod at the price of the cheapest node that fits it
  // (more columns only lower a minimum, so the bound stays valid).
  for (int d = 0; d < D; ++d) {
    double cheapest = 0;
    for (int b = 0; b < B; ++b)
      if (bins[b].compat[d] && !bins[b].forced && (cheapest == 0 || bins[b].price < cheapest)) cheapest = bins[b].price;
    double v[2] = {cheapest > 0 ? cheapest : 1e-6, 1.0};
    int ix[2] = {0, d + 1};
    add_columnex(lp, 2, v, ix);
    ++ncols;
  }
  std::vector<std::vector<uint8_t>> in_lp(D, std::vector<uint8_t>(B, 0));
  auto add_flow = [&](int d, int b) {
    const LpBin& bn = bins[b];
    in_lp[d][b] = 1;
    vals = {0.0, 1.0};
    idx = {0, d + 1};
    for (int k = 0; k < 3; ++k) {
      double sz = size_of(d, k);
      if (sz <= 0) continue;
      vals.push_back(bn.cap[k] > 0 ? sz / bn.cap[k] : 1e9);
      idx.push_back(cap_row(b, k));
    }
    add_columnex(lp, static_cast<int>(vals.size()), vals.data(), idx.data());
    int col = ++ncols;
    if (bn.forced && p.classes[d].cap < INT64_MAX)
      set_upbo(lp, col, static_cast<double>(p.classes[d].cap) * bn.count);
    if (needs_cap_row(d, b)) {
      double rv[2] = {1.0, -static_cast<double>(p.classes[d].cap)};
      int rc[2] = {col, w_col[b]};
      add_constraintex(lp, 2, rv, rc, LE, 0.0);
    }
  };
  // Start: per class, its forced capacity and the 3 cheapest bins per pod.
  for (int d = 0; d < D; ++d) {
    std::vector<std::pair<double, int>> cand;
    for (int b = 0; b < B; ++b) {
      if (!bins[b].compat[d]) continue;
      double share = 0;
      for (int k = 0; k < 3; ++k)
        if (size_of(d, k) > 0) share = std::max(share, size_of(d, k) / std::max(1.0, bins[b].cap[k]));
      cand.push_back({bins[b].forced ? share * 1e-9 : bins[b].price * share, b});
    }
    std::sort(cand.begin(), cand.end());
    for (size_t i = 0; i < cand.size() && i < 3; ++i) add_flow(d, cand[i].second);
  }
  // Duals come from the final basis; full sensitivity analysis
  // (PRESOLVE_SENSDUALS) is not needed and costs more than the solve.
  bool converged = false;
  int ret = -1;
  int rounds = 0;
  std::vector<double> last_duals;
  for (int round = 0; round < 200; ++round, ++rounds) {
    double left = time_limit_seconds -
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (left <= 0) break;
    set_timeout(lp, std::max<long>(1, static_cast<long>(std::ceil(left))));
    auto ts = std::chrono::steady_clock::now();
    SeedLpSolveRandom();
    ret = solve(lp);
    if (getenv("KINEMA_LP_TRACE"))
      fprintf(stderr, "fluid round %d: %d cols %d rows solve %.3fs, restricted LP %.6f + forced %.6f\n", round,
              get_Ncolumns(lp), get_Nrows(lp), std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count(),
              static_cast<double>(get_objective(lp)), forced_cost);
    if (ret != OPTIMAL && ret != PRESOLVED) break;
    REAL* duals_ptr = nullptr;
    if (!get_ptr_sensitivity_rhs(lp, &duals_ptr, nullptr, nullptr) || !duals_ptr) break;
    // Copy: lp_solve frees this array when columns are added below.
    const std::vector<double> duals(duals_ptr, duals_ptr + get_Nrows(lp));
    last_duals.assign(D, 0.0);
    for (int d = 0; d < D; ++d) last_duals[d] = std::max(0.0, static_cast<double>(duals[d]));
    // Price every omitted flow column: rc = -pi_d - sum_k (r_dk / C_bk) y_bk.
    int added = 0;
    for (int d = 0; d < D; ++d) {
      double pi = duals[d];
      std::vector<std::pair<double, int>> neg;
      for (int b = 0; b < B; ++b) {
        if (in_lp[d][b] || !bins[b].compat[d]) continue;
        double rc = -pi;
        for (int k = 0; k < 3; ++k) {
          double sz = size_of(d, k);
          if (sz > 0) rc -= (bins[b].cap[k] > 0 ? sz / bins[b].cap[k] : 1e9) * duals[cap_row(b, k) - 1];
        }
        if (rc < -1e-9 * std::max(1.0, pi)) neg.push_back({rc, b});
      }
      std::sort(neg.begin(), neg.end());
      for (size_t i = 0; i < neg.size() && i < 3; ++i) {
        add_flow(d, neg[i].second);
        ++added;
      }
    }
    if (added == 0) {
      converged = true;
      break;
    }
  }
  if (!converged && !last_duals.empty()) {
    // Cut short: the restricted LP's value is not a bound, but its last prices
    // are good Lagrangian multipliers.
    {
      res.duals = last_duals;
      double lb = LagrangianBound(p, res.duals);
      if (lb > 0) {
        res.ok = true;
        res.lagrangian = true;
        res.lower_bound = std::max(0.0, lb - 1e-7 * std::fabs(lb) - 1e-9);
      }
    }
  }
  if (converged) {
    res.ok = true;
    double obj = get_objective(lp);
    double lb = obj + forced_cost;
    res.lower_bound = std::max(0.0, lb - 1e-7 * std::fabs(lb) - 1e-9);
    REAL* duals = nullptr;
    res.duals.assign(D, 0.0);
    if (get_ptr_sensitivity_rhs(lp, &duals, nullptr, nullptr) && duals)
      for (int d = 0; d < D; ++d) res.duals[d] = std::max(0.0, static_cast<double>(duals[d]));
  } else {
    res.message = ret == OPTIMAL ? "time limit before the column generation converged"
                                 : "lp_solve returned " + std::to_string(ret);
    res.message += " (" + std::to_string(rounds) + " rounds, " + std::to_string(ncols) + " columns)";
  }
  delete_lp(lp);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace kinema::opt
