#include "steps/optimize/budget_lp.h"

#include <lp_lib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <tuple>
#include <unordered_map>

#include "steps/optimize/fluid_lp.h"

namespace kinema::opt {
namespace {

// One LP bin: an existing node (individually: its current pods matter) or a
// merged new kind (equal price and capacity; union of compatibility).
struct LpBin {
  bool existing = false;
  bool forced = false;
  int node = -1;
  double price = 0;
  double cap[3] = {0, 0, 0};
  const std::vector<uint8_t>* compat = nullptr;
  std::vector<uint8_t> own_compat;  // merged new kinds
  int var_col = 0;                  // y_j or w_b column (0: none, forced)
  int first_cap_row = 0;            // 3 rows
  int link_row = 0;                 // stay link (unforced existing with pods)
};

class BudgetLp {
 public:
  BudgetLp(const Problem& p, const BudgetLimits& b) : p_(p), b_(b), D_(static_cast<int>(p.classes.size())) {}

  BudgetLpResult Solve(double time_limit_seconds);

 private:
  void BuildBins();
  bool BuildModel();
  int AddColumn(double cost, std::vector<std::pair<int, double>> entries, double ub);
  double Coef(int d, int bin, int k) const {
    double sz = Dim(p_.classes[d].req, k);
    return bins_[bin].cap[k] > 0 ? sz / bins_[bin].cap[k] : 1e9;
  }
  bool Compat(int d, int bin) const { return (*bins_[bin].compat)[d]; }
  void AddFlow(int d, int bin);
  bool CapBinds(int d, int bin) const;
  int PriceFlows(const std::vector<double>& duals);

  const Problem& p_;
  BudgetLimits b_;
  const int D_;
  std::vector<LpBin> bins_;
  double forced_cost_ = 0;
  lprec* lp_ = nullptr;
  int ncols_ = 0;
  std::vector<std::vector<uint8_t>> in_lp_;        // [class][bin]
  std::unordered_map<int64_t, int> stay_col_;       // node * D + class -> column
};

void BudgetLp::BuildBins() {
  for (int j = 0; j < p_.num_existing; ++j) {
    const Kind& k = p_.kinds[j];
    LpBin b;
    b.existing = true;
    b.forced = k.forced;
    b.node = j;
    b.price = k.price;
    for (int i = 0; i < 3; ++i) b.cap[i] = Dim(k.free, i);
    b.compat = &k.compat;
    if (k.forced) forced_cost_ += k.price;
    bins_.push_back(std::move(b));
  }
  std::map<std::tuple<double, int64_t, int64_t, int64_t>, int> merged;
  for (size_t kk = p_.num_existing; kk < p_.kinds.size(); ++kk) {
    const Kind& k = p_.kinds[kk];
    auto key = std::make_tuple(k.price, k.free.cpu_milli, k.free.memory_bytes, k.free.pods);
    auto it = merged.find(key);
    if (it == merged.end()) {
      LpBin b;
      b.price = k.price;
      for (int i = 0; i < 3; ++i) b.cap[i] = Dim(k.free, i);
      b.own_compat.assign(D_, 0);
      it = merged.emplace(key, static_cast<int>(bins_.size())).first;
      bins_.push_back(std::move(b));
    }
    LpBin& b = bins_[it->second];
    for (int d = 0; d < D_; ++d) b.own_compat[d] |= k.compat[d];
  }
  for (auto& b : bins_)
    if (!b.existing) b.compat = &b.own_compat;
}

int BudgetLp::AddColumn(double cost, std::vector<std::pair<int, double>> entries, double ub) {
  std::vector<double> vals = {cost};
  std::vector<int> idx = {0};
  for (auto& [row, v] : entries) {
    idx.push_back(row);
    vals.push_back(v);
  }
  add_columnex(lp_, static_cast<int>(vals.size()), vals.data(), idx.data());
  ++ncols_;
  if (ub >= 0) set_upbo(lp_, ncols_, ub);
  return ncols_;
}

bool BudgetLp::CapBinds(int d, int bin) const {
  const auto& c = p_.classes[d];
  if (c.cap >= c.n()) return false;
  double fit = 1e18;
  for (int k = 0; k < 3; ++k)
    if (Dim(c.req, k) > 0) fit = std::min(fit, std::floor(bins_[bin].cap[k] / Dim(c.req, k)));
  return static_cast<double>(c.cap) < fit;
}

void BudgetLp::AddFlow(int d, int bin) {
  const LpBin& b = bins_[bin];
  in_lp_[d][bin] = 1;
  std::vector<std::pair<int, double>> e = {{d + 1, 1.0}};
  for (int k = 0; k < 3; ++k)
    if (Dim(p_.classes[d].req, k) > 0) e.push_back({b.first_cap_row + k, Coef(d, bin, k)});
  int col = AddColumn(0.0, e, -1);
  if (!CapBinds(d, bin)) return;
  double cap = static_cast<double>(p_.classes[d].cap);
  std::vector<double> rv = {1.0};
  std::vector<int> rc = {col};
  if (b.existing) {
    auto it = stay_col_.find(static_cast<int64_t>(b.node) * D_ + d);
    if (it != stay_col_.end()) {
      rv.push_back(1.0);
      rc.push_back(it->second);
    }
  }
  if (b.var_col > 0) {
    rv.push_back(-cap);
    rc.push_back(b.var_col);
    add_constraintex(lp_, static_cast<int>(rv.size()), rv.data(), rc.data(), LE, 0.0);
  } else {
    add_constraintex(lp_, static_cast<int>(rv.size()), rv.data(), rc.data(), LE, cap);
  }
}

bool BudgetLp::BuildModel() {
  const int B = static_cast<int>(bins_.size());
  int rows = D_;
  for (auto& b : bins_) {
    b.first_cap_row = rows + 1;
    rows += 3;
  }
  int unforced = 0;
  for (auto& b : bins_) {
    if (!b.existing || b.forced) continue;
    ++unforced;
    if (PodsOnNode(p_, b.node) > 0) b.link_row = ++rows;
  }
  int64_t total = 0;
  for (const auto& c : p_.classes) total += c.n();
  int churn_row = 0, retire_row = 0;
  const double min_stays = b_.max_moves >= 0 ? static_cast<double>(total - b_.max_moves) : 0;
  if (min_stays > 0) churn_row = ++rows;
  const double min_kept = b_.max_retire >= 0 ? static_cast<double>(unforced - b_.max_retire) : 0;
  if (min_kept > 0) retire_row = ++rows;
  lp_ = NewDemandCoveringLp(p_, rows);
  if (!lp_) return false;
  for (const auto& b : bins_) {
    for (int k = 0; k < 3; ++k) {
      set_constr_type(lp_, b.first_cap_row + k, LE);
      set_rh(lp_, b.first_cap_row + k, b.forced ? 1.0 : 0.0);
    }
    if (b.link_row) {
      set_constr_type(lp_, b.link_row, LE);
      set_rh(lp_, b.link_row, 0.0);
    }
  }
  if (churn_row) {
    set_constr_type(lp_, churn_row, GE);
    set_rh(lp_, churn_row, min_stays);
  }
  if (retire_row) {
    set_constr_type(lp_, retire_row, GE);
    set_rh(lp_, retire_row, min_kept);
  }
  // Keep / new-node variables.
  for (auto& b : bins_) {
    if (b.forced) continue;
    std::vector<std::pair<int, double>> e;
    for (int k = 0; k < 3; ++k) e.push_back({b.first_cap_row + k, -1.0});
    if (b.link_row) e.push_back({b.link_row, -static_cast<double>(PodsOnNode(p_, b.node))});
    if (b.existing && retire_row) e.push_back({retire_row, 1.0});
    b.var_col = AddColumn(b.price, e, b.existing ? 1.0 : -1.0);
  }
  // Stays.
  for (int bin = 0; bin < B; ++bin) {
    const LpBin& b = bins_[bin];
    if (!b.existing) continue;
    for (const auto& [d, cur] : p_.current[b.node]) {
      if (!Compat(d, bin)) continue;
      std::vector<std::pair<int, double>> e = {{d + 1, 1.0}};
      for (int k = 0; k < 3; ++k)
        if (Dim(p_.classes[d].req, k) > 0) e.push_back({b.first_cap_row + k, Coef(d, bin, k)});
      if (b.link_row) e.push_back({b.link_row, 1.0});
      if (churn_row) e.push_back({churn_row, 1.0});
      double ub = std::min<double>(cur, static_cast<double>(std::min<int64_t>(p_.classes[d].cap, INT32_MAX)));
      stay_col_[static_cast<int64_t>(b.node) * D_ + d] = AddColumn(0.0, e, ub);
    }
  }
  // Artificial columns: one pod at the price of a whole node that fits it
  // (only lowers the minimum: the bound stays valid; keeps the LP feasible).
  for (int d = 0; d < D_; ++d) {
    double cheapest = 0;
    for (int bin = 0; bin < B; ++bin)
      if (Compat(d, bin) && (cheapest == 0 || bins_[bin].price < cheapest)) cheapest = bins_[bin].price;
    AddColumn(cheapest > 0 ? cheapest : 1e-6, {{d + 1, 1.0}}, -1);
  }
  // Start: the 3 cheapest new bins per class.
  in_lp_.assign(D_, std::vector<uint8_t>(B, 0));
  for (int d = 0; d < D_; ++d) {
    std::vector<std::pair<double, int>> cand;
    for (int bin = 0; bin < B; ++bin) {
      if (bins_[bin].existing || !Compat(d, bin)) continue;
      double share = 0;
      for (int k = 0; k < 3; ++k)
        if (Dim(p_.classes[d].req, k) > 0) share = std::max(share, Coef(d, bin, k));
      cand.push_back({bins_[bin].price * share, bin});
    }
    std::sort(cand.begin(), cand.end());
    for (size_t i = 0; i < cand.size() && i < 3; ++i) AddFlow(d, cand[i].second);
  }
  return true;
}

// Adds flow columns with negative reduced cost (at most 3 per class).
int BudgetLp::PriceFlows(const std::vector<double>& duals) {
  const int B = static_cast<int>(bins_.size());
  int added = 0;
  std::vector<std::pair<double, int>> neg;
  for (int d = 0; d < D_; ++d) {
    const double pi = duals[d];
    if (pi <= 0) continue;
    neg.clear();
    for (int bin = 0; bin < B; ++bin) {
      if (in_lp_[d][bin] || !Compat(d, bin)) continue;
      double rc = -pi;
      for (int k = 0; k < 3; ++k)
        if (Dim(p_.classes[d].req, k) > 0) rc -= Coef(d, bin, k) * duals[bins_[bin].first_cap_row + k - 1];
      if (rc < -1e-9 * std::max(1.0, pi)) neg.push_back({rc, bin});
    }
    std::partial_sort(neg.begin(), neg.begin() + std::min<size_t>(3, neg.size()), neg.end());
    for (size_t i = 0; i < neg.size() && i < 3; ++i) {
      AddFlow(d, neg[i].second);
      ++added;
    }
  }
  return added;
}

BudgetLpResult BudgetLp::Solve(double time_limit_seconds) {
  auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  BudgetLpResult res;
  BuildBins();
  if (!BuildModel()) {
    res.message = "lp_solve make_lp failed";
    return res;
  }
  bool converged = false;
  int ret = -1;
  for (; res.rounds < 400; ++res.rounds) {
    double left = time_limit_seconds - elapsed();
    if (left <= 0) break;
    set_timeout(lp_, std::max<long>(1, static_cast<long>(std::ceil(left))));
    SeedLpSolveRandom();
    ret = solve(lp_);
    if (ret != OPTIMAL && ret != PRESOLVED) break;
    REAL* dp = nullptr;
    if (!get_ptr_sensitivity_rhs(lp_, &dp, nullptr, nullptr) || !dp) break;
    // Copies: lp_solve frees these arrays when columns are added.
    const std::vector<double> duals(dp, dp + get_Nrows(lp_));
    res.duals.assign(D_, 0.0);
    for (int d = 0; d < D_; ++d) res.duals[d] = std::max(0.0, duals[d]);
    REAL* x = nullptr;
    if (get_ptr_variables(lp_, &x) && x) {
      res.keep.assign(p_.num_existing, 1.0);
      for (const auto& b : bins_)
        if (b.existing && b.var_col > 0) res.keep[b.node] = x[b.var_col - 1];
    }
    const double obj = get_objective(lp_);
    if (PriceFlows(duals) == 0) {
      converged = true;
      double lb = obj + forced_cost_;
      res.lower_bound = std::max(0.0, lb - 1e-7 * std::fabs(lb) - 1e-9);
      break;
    }
  }
  res.ok = converged;
  res.columns = ncols_;
  if (!converged) {
    res.message = ret == INFEASIBLE ? "budgeted LP infeasible (forced moves exceed the budget)"
                  : (ret == OPTIMAL || ret == PRESOLVED) ? "time limit before the column generation converged"
                                                         : "lp_solve returned " + std::to_string(ret);
    res.message += " (" + std::to_string(res.rounds) + " rounds, " + std::to_string(ncols_) + " columns)";
  }
  delete_lp(lp_);
  lp_ = nullptr;
  res.seconds = elapsed();
  return res;
}

}  // namespace

BudgetLpResult SolveBudgetLp(const Problem& p, const BudgetLimits& b, double time_limit_seconds) {
  if (p.classes.empty()) {
    // Nothing to place: keep the forced nodes and, under a retire limit, the
    // cheapest unforced ones the limit does not allow to retire.
    BudgetLpResult r;
    r.ok = true;
    std::vector<double> unforced;
    for (int j = 0; j < p.num_existing; ++j)
      if (p.kinds[j].forced)
        r.lower_bound += p.kinds[j].price;
      else
        unforced.push_back(p.kinds[j].price);
    std::sort(unforced.begin(), unforced.end());
    int64_t must_keep = b.max_retire >= 0 ? static_cast<int64_t>(unforced.size()) - b.max_retire : 0;
    for (int64_t i = 0; i < must_keep; ++i) r.lower_bound += unforced[i];
    r.lower_bound = std::max(0.0, r.lower_bound * (1 - 1e-9) - 1e-12);
    return r;
  }
  // Rows: demand, 3 capacity rows per existing node and new kind, a stay link per node.
  const int64_t rows = static_cast<int64_t>(p.classes.size()) + 4 * static_cast<int64_t>(p.num_existing) +
                       3 * static_cast<int64_t>(p.kinds.size() - p.num_existing);
  if (rows > kMaxBudgetLpRows) {
    BudgetLpResult r;
    r.message = "skipped: about " + std::to_string(rows) + " rows, above the " + std::to_string(kMaxBudgetLpRows) +
                " lp_solve solves in seconds";
    return r;
  }
  BudgetLp lp(p, b);
  return lp.Solve(time_limit_seconds);
}

}  // namespace kinema::opt
