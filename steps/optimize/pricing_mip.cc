#include "steps/optimize/pricing_mip.h"

#include <lp_lib.h>

#include <algorithm>
#include <cmath>

#include "steps/optimize/fluid_lp.h"

namespace kinema::opt {
namespace {

using Clock = std::chrono::steady_clock;

// The classes worth pricing on this kind and how many of each fit.
struct Items {
  std::vector<int> cls;
  std::vector<int64_t> ub;
};

Items UsefulItems(const Problem& p, const Kind& kind, const std::vector<double>& pi) {
  Items it;
  for (size_t d = 0; d < p.classes.size(); ++d) {
    if (!kind.compat[d] || pi[d] <= 1e-12) continue;
    int64_t u = std::min<int64_t>(p.classes[d].cap, p.classes[d].n());
    for (int k = 0; k < 3; ++k) {
      double w = Dim(p.classes[d].req, k);
      if (w > 0) u = std::min<int64_t>(u, static_cast<int64_t>(Dim(kind.free, k) / w + 1e-9));
    }
    if (u <= 0) continue;
    it.cls.push_back(static_cast<int>(d));
    it.ub.push_back(u);
  }
  return it;
}

// Rows and columns of the pricing MIP (columns 1..m: a_d; then y per class
// with conflicts).
lprec* BuildModel(const Problem& p, const Kind& kind, const std::vector<double>& pi, const Items& it,
                  double min_value) {
  const int m = static_cast<int>(it.cls.size());
  lprec* lp = make_lp(0, m);
  if (!lp) return nullptr;
  set_verbose(lp, NEUTRAL);
  set_maxim(lp);
  set_add_rowmode(lp, TRUE);
  std::vector<double> obj(m + 1, 0.0);
  for (int j = 0; j < m; ++j) obj[j + 1] = pi[it.cls[j]];
  set_obj_fn(lp, obj.data());
  for (int k = 0; k < 3; ++k) {
    const double cap = Dim(kind.free, k);
    if (cap <= 0) continue;
    std::vector<double> row(m + 1, 0.0);
    for (int j = 0; j < m; ++j) row[j + 1] = Dim(p.classes[it.cls[j]].req, k) / cap;
    add_constraint(lp, row.data(), LE, 1.0);
  }
  add_constraint(lp, obj.data(), GE, min_value + 1e-9);
  set_add_rowmode(lp, FALSE);
  for (int j = 0; j < m; ++j) {
    set_upbo(lp, j + 1, static_cast<double>(it.ub[j]));
    set_int(lp, j + 1, TRUE);
  }
  // Conflicts: a binary per class in a conflict; a_d <= ub_d y_d, y_d + y_e <= 1.
  std::vector<int> pos(p.classes.size(), -1), ycol(m, 0);
  for (int j = 0; j < m; ++j) pos[it.cls[j]] = j;
  for (int j = 0; j < m; ++j) {
    bool any = false;
    for (int e : p.classes[it.cls[j]].conflicts) any = any || pos[e] >= 0;
    if (!any) continue;
    double zero = 0;
    add_columnex(lp, 0, &zero, nullptr);
    ycol[j] = get_Ncolumns(lp);
    set_binary(lp, ycol[j], TRUE);
    double v[2] = {1.0, -static_cast<double>(it.ub[j])};
    int ix[2] = {j + 1, ycol[j]};
    add_constraintex(lp, 2, v, ix, LE, 0.0);
  }
  for (int j = 0; j < m; ++j)
    for (int e : p.classes[it.cls[j]].conflicts) {
      int k = pos[e];
      if (k <= j || ycol[j] == 0 || ycol[k] == 0) continue;
      double v[2] = {1.0, 1.0};
      int ix[2] = {ycol[j], ycol[k]};
      add_constraintex(lp, 2, v, ix, LE, 1.0);
    }
  return lp;
}

// The rounded solution as a pattern, or false when it does not fit exactly.
bool ReadPattern(const Problem& p, const Kind& kind, const std::vector<double>& pi, const Items& it, lprec* lp,
                 MipPricing* out) {
  REAL* x = nullptr;
  get_ptr_variables(lp, &x);
  double used[3] = {0, 0, 0};
  out->items.clear();
  out->value = 0;
  for (size_t j = 0; j < it.cls.size(); ++j) {
    const int64_t a = std::llround(x[j]);
    if (a <= 0) continue;
    const int d = it.cls[j];
    for (int k = 0; k < 3; ++k) used[k] += Dim(p.classes[d].req, k) * static_cast<double>(a);
    out->items.push_back({d, static_cast<int>(a)});
    out->value += pi[d] * static_cast<double>(a);
  }
  for (int k = 0; k < 3; ++k)
    if (used[k] > Dim(kind.free, k)) return false;
  for (auto& [d, n] : out->items)
    for (auto& [e, t] : out->items)
      if (std::find(p.classes[d].conflicts.begin(), p.classes[d].conflicts.end(), e) != p.classes[d].conflicts.end())
        return false;
  return true;
}

}  // namespace

MipPricing PriceKindByMip(const Problem& p, int kind_index, const std::vector<double>& pi, double min_value,
                          Clock::time_point deadline) {
  MipPricing res;
  const Kind& kind = p.kinds[kind_index];
  Items it = UsefulItems(p, kind, pi);
  if (it.cls.empty()) {
    res.exact = true;  // nothing fits: the empty pattern is worth 0
    return res;
  }
  lprec* lp = BuildModel(p, kind, pi, it, std::max(0.0, min_value));
  if (!lp) return res;
  set_bb_depthlimit(lp, 0);  // no depth limit: the search ends at its deadline
  StopAtDeadline(lp, &deadline);
  SeedLpSolveRandom();
  const int ret = solve(lp);
  if (ret == INFEASIBLE) {
    res.exact = true;  // nothing is worth more than min_value
  } else if (ret == OPTIMAL || ret == PRESOLVED || ret == SUBOPTIMAL) {
    if (ReadPattern(p, kind, pi, it, lp, &res)) {
      res.exact = ret != SUBOPTIMAL;
    } else {
      res.items.clear();
      res.value = 0;
    }
  }
  delete_lp(lp);
  return res;
}

}  // namespace kinema::opt
