#include "steps/optimize/budget_cg.h"

#include <lp_lib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "steps/optimize/column_generation.h"
#include "steps/optimize/fluid_lp.h"

namespace kinema::opt {
namespace {

constexpr int64_t kPricingNodeLimit = 4000;

struct Pattern {
  int kind;
  std::vector<std::pair<int, int>> items;  // sorted (class, count)
};

class BudgetMaster {
 public:
  BudgetMaster(const Problem& p, const BudgetLimits& b, const Packer& pk) : p_(p), b_(b), pk_(pk) {}
  ~BudgetMaster() {
    if (lp_) delete_lp(lp_);
  }

  BudgetCgResult Run(const Solution& incumbent, const Solution& start, double time_limit, int max_iterations);

 private:
  bool Build();
  bool AddPattern(int kind, std::vector<std::pair<int, int>> items);
  int Stays(int node, const std::vector<std::pair<int, int>>& items) const;
  bool Price(double deadline_s, double* lb, int* added, bool* exact);
  bool SolveIp(double seconds, Solution* out);
  void TrimSurplus(Solution* s) const;

  double Elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }

  const Problem& p_;
  BudgetLimits b_;
  const Packer& pk_;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  lprec* lp_ = nullptr;
  int D_ = 0, N_ = 0;
  int churn_row_ = 0, retire_row_ = 0;
  double min_stays_ = 0, min_kept_ = 0;
  int first_pattern_col_ = 0;
  std::vector<Pattern> patterns_;
  std::set<std::pair<int, std::vector<std::pair<int, int>>>> seen_;
  std::vector<std::vector<int>> cur_;  // [node][class] pods there now
  std::vector<double> duals_;          // copy of the last LP's row duals
};

int BudgetMaster::Stays(int node, const std::vector<std::pair<int, int>>& items) const {
  int s = 0;
  for (const auto& [d, n] : items) s += std::min(n, cur_[node][d]);
  return s;
}

bool BudgetMaster::Build() {
  D_ = static_cast<int>(p_.classes.size());
  N_ = p_.num_existing;
  cur_.assign(N_, std::vector<int>(D_, 0));
  for (int j = 0; j < N_; ++j)
    for (const auto& [d, n] : p_.current[j]) cur_[j][d] = n;
  int64_t total = 0;
  for (const auto& c : p_.classes) total += c.n();
  int unforced = 0;
  for (int j = 0; j < N_; ++j) unforced += !p_.kinds[j].forced;
  int rows = D_ + N_;
  if (b_.max_moves >= 0 && total - b_.max_moves > 0) {
    churn_row_ = ++rows;
    min_stays_ = static_cast<double>(total - b_.max_moves);
  }
  if (b_.max_retire >= 0 && unforced - b_.max_retire > 0) {
    retire_row_ = ++rows;
    min_kept_ = static_cast<double>(unforced - b_.max_retire);
  }
  lp_ = NewDemandCoveringLp(p_, rows);
  if (!lp_) return false;
  for (int j = 0; j < N_; ++j) {
    set_constr_type(lp_, D_ + 1 + j, p_.kinds[j].forced ? EQ : LE);
    set_rh(lp_, D_ + 1 + j, 1.0);
  }
  if (churn_row_) {
    set_constr_type(lp_, churn_row_, GE);
    set_rh(lp_, churn_row_, min_stays_);
  }
  if (retire_row_) {
    set_constr_type(lp_, retire_row_, GE);
    set_rh(lp_, retire_row_, min_kept_);
  }
  // Artificial columns keep the master feasible whatever the patterns.
  double max_price = 0;
  for (const auto& k : p_.kinds) max_price = std::max(max_price, k.price);
  for (int d = 0; d < D_; ++d) {
    double v[2] = {10 * max_price + 1, 1.0};
    int ix[2] = {0, d + 1};
    add_columnex(lp_, 2, v, ix);
  }
  first_pattern_col_ = D_ + 1;
  return true;
}

bool BudgetMaster::AddPattern(int kind, std::vector<std::pair<int, int>> items) {
  std::sort(items.begin(), items.end());
  const bool existing = !p_.IsNew(kind);
  if ((!existing && items.empty()) || !seen_.insert({kind, items}).second) return false;
  std::vector<double> vals = {p_.kinds[kind].price};
  std::vector<int> idx = {0};
  for (const auto& [d, n] : items) {
    vals.push_back(n);
    idx.push_back(d + 1);
  }
  if (existing) {
    vals.push_back(1.0);
    idx.push_back(D_ + 1 + kind);
    int stays = Stays(kind, items);
    if (churn_row_ && stays > 0) {
      vals.push_back(stays);
      idx.push_back(churn_row_);
    }
    if (retire_row_ && !p_.kinds[kind].forced) {
      vals.push_back(1.0);
      idx.push_back(retire_row_);
    }
  }
  add_columnex(lp_, static_cast<int>(vals.size()), vals.data(), idx.data());
  patterns_.push_back(Pattern{kind, std::move(items)});
  return true;
}

// Prices every kind; on success *lb is the Lagrangian bound of this round.
bool BudgetMaster::Price(double deadline_s, double* lb, int* added, bool* exact) {
  std::vector<double> pi(D_, 0.0);
  for (int d = 0; d < D_; ++d) pi[d] = std::max(0.0, duals_[d]);
  const double rho = churn_row_ ? std::max(0.0, duals_[churn_row_ - 1]) : 0.0;
  const double lam = retire_row_ ? std::max(0.0, duals_[retire_row_ - 1]) : 0.0;
  *added = 0;
  *exact = true;
  double theta = 1.0, bound = 0;
  for (int d = 0; d < D_; ++d) bound += pi[d] * p_.classes[d].n();
  double existing_terms = rho * min_stays_ + lam * min_kept_;
  for (int k = 0; k < static_cast<int>(p_.kinds.size()); ++k) {
    if (Elapsed() > deadline_s) return false;
    const Kind& kd = p_.kinds[k];
    const bool existing = !p_.IsNew(k);
    PricedPattern r = existing ? PriceKind(p_, k, pi, &cur_[k], rho, kPricingNodeLimit)
                               : PriceKind(p_, k, pi, nullptr, 0.0, kPricingNodeLimit);
    *exact = *exact && r.exact;
    if (existing) {
      const double mu = duals_[D_ + k];
      const double retire_dual = kd.forced ? 0.0 : lam;
      if (kd.price - r.value - mu - retire_dual < -1e-9 * std::max(1.0, kd.price) && AddPattern(k, r.items)) ++*added;
      existing_terms += kd.forced ? kd.price - r.upper : std::min(0.0, kd.price - lam - r.upper);
    } else {
      if (kd.price - r.value < -1e-9 * std::max(1.0, kd.price) && AddPattern(k, r.items)) ++*added;
      if (r.upper > 0) theta = std::min(theta, kd.price / r.upper);
    }
  }
  *lb = theta * bound + existing_terms;
  return true;
}

void BudgetMaster::TrimSurplus(Solution* s) const {
  std::vector<int64_t> placed(D_, 0);
  for (const auto& b : s->bins)
    for (const auto& [d, n] : b.items) placed[d] += n;
  // Booted nodes first, then pods that would move anyway, then stays.
  for (int pass = 0; pass < 3; ++pass)
    for (auto& b : s->bins) {
      const bool is_new = p_.IsNew(b.kind);
      if ((pass == 0) != is_new) continue;
      for (const auto& [d, n] : std::vector<std::pair<int, int>>(b.items)) {
        int64_t surplus = placed[d] - p_.classes[d].n();
        if (surplus <= 0) continue;
        int removable = is_new || pass == 2 ? n : n - std::min(n, cur_[b.kind][d]);
        int t = static_cast<int>(std::min<int64_t>(surplus, removable));
        if (t <= 0) continue;
        pk_.Remove(&b, d, t);
        placed[d] -= t;
      }
    }
  s->bins.erase(std::remove_if(s->bins.begin(), s->bins.end(),
                               [&](const Bin& b) { return b.items.empty() && p_.IsNew(b.kind); }),
                s->bins.end());
}

bool BudgetMaster::SolveIp(double seconds, Solution* out) {
  const int np = static_cast<int>(patterns_.size());
  for (int c = 0; c < np; ++c) set_int(lp_, first_pattern_col_ + c, TRUE);
  for (int d = 0; d < D_; ++d) set_upbo(lp_, d + 1, 0.0);  // no artificial columns in the IP
  set_bb_floorfirst(lp_, BRANCH_CEILING);
  set_timeout(lp_, std::max<long>(1, static_cast<long>(seconds)));
  SeedLpSolveRandom();
  int ret = solve(lp_);
  if (ret != OPTIMAL && ret != SUBOPTIMAL && ret != PRESOLVED) return false;
  REAL* x = nullptr;
  if (!get_ptr_variables(lp_, &x) || !x) return false;
  Solution s;
  for (int c = 0; c < np; ++c) {
    int copies = static_cast<int>(std::lround(x[first_pattern_col_ - 1 + c]));
    for (int r = 0; r < copies; ++r) {
      Bin b;
      b.kind = patterns_[c].kind;
      for (const auto& [d, n] : patterns_[c].items) pk_.Add(&b, d, n);
      s.bins.push_back(std::move(b));
    }
  }
  TrimSurplus(&s);
  std::vector<int64_t> placed(D_, 0);
  for (const auto& b : s.bins)
    for (const auto& [d, n] : b.items) placed[d] += n;
  for (int d = 0; d < D_; ++d)
    if (placed[d] != p_.classes[d].n()) return false;
  if (!WithinBudget(p_, s, b_)) return false;
  *out = std::move(s);
  return true;
}

BudgetCgResult BudgetMaster::Run(const Solution& incumbent, const Solution& start, double time_limit,
                                 int max_iterations) {
  BudgetCgResult res;
  if (!Build()) return res;
  for (const Solution* s : {&start, &incumbent})
    for (const auto& b : s->bins) AddPattern(b.kind, b.items);
  // Every forced node needs a column to satisfy its "= 1" row.
  for (int j = 0; j < N_; ++j)
    if (p_.kinds[j].forced) AddPattern(j, {});
  double best_lb = -1e300;
  bool converged = false;
  int it = 0;
  for (; Elapsed() < time_limit && (max_iterations < 0 || it < max_iterations); ++it) {
    set_timeout(lp_, std::max<long>(1, static_cast<long>(time_limit - Elapsed() + 1)));
    SeedLpSolveRandom();
    int ret = solve(lp_);
    if (ret != OPTIMAL && ret != PRESOLVED) break;
    REAL* dp = nullptr;
    if (!get_ptr_sensitivity_rhs(lp_, &dp, nullptr, nullptr) || !dp) break;
    duals_.assign(dp, dp + get_Nrows(lp_));  // copy: lp_solve frees it when columns are added
    const double obj = get_objective(lp_);
    double lb;
    int added;
    bool exact;
    if (!Price(time_limit, &lb, &added, &exact)) break;
    best_lb = std::max(best_lb, lb);
    if (added == 0) {
      converged = exact;
      if (converged) best_lb = std::max(best_lb, obj);
      break;
    }
    if (patterns_.size() > 20000) break;
  }
  res.iterations = it;
  res.columns = static_cast<int>(patterns_.size());
  res.converged = converged;
  if (best_lb > 0) res.lower_bound = best_lb * (1 - 1e-7) - 1e-9;
  const double left = time_limit - Elapsed();
  if (patterns_.size() <= 400 && left > 0.3 && max_iterations < 0) {
    res.has_solution = SolveIp(std::min(left, 5.0), &res.solution);
    res.ip_status = res.has_solution ? "integer plan from " + std::to_string(patterns_.size()) + " patterns"
                                     : "no integer plan within the budget in time";
  } else {
    res.ip_status = "skipped (" + std::to_string(patterns_.size()) + " patterns, " + std::to_string(left) + " s left)";
  }
  res.seconds = Elapsed();
  return res;
}

}  // namespace

BudgetCgResult RunBudgetColumnGeneration(const Problem& p, const BudgetLimits& b, const Solution& incumbent,
                                         const Solution& start, const Packer& packer, double time_limit_seconds,
                                         int max_iterations) {
  if (p.classes.empty()) return BudgetCgResult();
  BudgetMaster m(p, b, packer);
  return m.Run(incumbent, start, time_limit_seconds, max_iterations);
}

}  // namespace kinema::opt
