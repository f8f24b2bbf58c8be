#include "steps/optimize/budgeted_solve.h"

#include <algorithm>
#include <memory>

#include "steps/optimize/budget.h"
#include "steps/optimize/budget_cg.h"
#include "steps/optimize/budget_lp.h"
#include "steps/optimize/budget_search.h"
#include "steps/optimize/exact_search.h"

namespace kinema::opt {
namespace {

using Clock = std::chrono::steady_clock;

std::string Num(double v) { return std::to_string(v); }

// Names the pods that must move in any plan (no node now, or no room on it).
std::string ForcedMovesMessage(const Problem& p, const Snapshot& snap, int64_t forced, int64_t max_moves) {
  std::string example;
  for (const auto& pod : snap.pods)
    if (pod.movable && (pod.node_name.empty() || snap.FindNode(pod.node_name) < 0)) {
      example = pod.FullName();
      break;
    }
  const int64_t stuck = forced - p.unplaced_now;
  std::string msg = "infeasible: --max-moves " + std::to_string(max_moves) + " is below the " +
                    std::to_string(forced) + " moves every plan needs: " + std::to_string(p.unplaced_now) +
                    " pod(s) without a node to place";
  if (!example.empty()) msg += " (e.g. " + example + ")";
  if (stuck > 0) msg += " and " + std::to_string(stuck) + " pod(s) that no longer fit or may not stay on their node";
  return msg;
}

class BudgetedSolve {
 public:
  BudgetedSolve(const Problem& bp, const Snapshot& snap, const PlanOptions& opt, const SearchResult& target,
                Clock::time_point deadline, std::vector<std::string>* notes)
      : p_(bp), snap_(snap), opt_(opt), target_(target), deadline_(deadline), notes_(notes) {
    lim_.max_moves = opt.max_moves.value_or(-1);
    lim_.max_retire = opt.max_retire.value_or(-1);
    r_.lower = target.lower;
    r_.bound_source = target.bound_source;
  }

  Status Start(Solution* no_change);
  void Bound();
  void Construct(const Solution& no_change);
  void Prove();
  void Improve();
  SearchResult Result() {
    r_.best = std::move(best_);
    return std::move(r_);
  }

 private:
  void Note(const std::string& s) { notes_->push_back("budgeted: " + s); }
  double SecondsLeft() const { return std::chrono::duration<double>(deadline_ - Clock::now()).count(); }
  double Elapsed() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }
  void OfferBound(std::optional<double> lb, const char* source) {
    if (lb && (!r_.lower || *lb > *r_.lower)) {
      r_.lower = lb;
      r_.bound_source = source;
    }
  }
  void Offer(Solution&& s) {
    if (BudgetBetter(p_, s, best_)) best_ = std::move(s);
  }
  bool GapReached() const { return r_.lower && best_.Cost(p_) <= *r_.lower * (1 + opt_.gap_target) + 1e-9; }

  const Problem& p_;
  const Snapshot& snap_;
  const PlanOptions& opt_;
  const SearchResult& target_;
  const Clock::time_point deadline_;
  const Clock::time_point t0_ = Clock::now();
  std::vector<std::string>* notes_;
  BudgetLimits lim_;
  SearchResult r_;
  Solution best_;
  std::vector<double> keep_hint_;       // budgeted LP keep values per node (may be empty)
  std::unique_ptr<Packer> pk_;          // budget mode, priced by the best duals available
  std::unique_ptr<BudgetSearch> search_;
};

Status BudgetedSolve::Start(Solution* no_change) {
  Packer pk(p_, target_.duals, opt_.seed);
  pk.SetBudgetMode(true);
  if (!pk.FromCurrent(no_change, true)) {
    if (!WithinBudget(p_, target_.best, lim_))
      return Status::Infeasible(UnplacedMessage(p_, snap_, *no_change) +
                                        " without moving running pods, and no plan within the budget was found "
                                        "that makes room");
    *no_change = target_.best;
  }
  pk.ReduceMoves(no_change);
  const int64_t forced = no_change->Moves(p_);
  if (lim_.max_moves >= 0 && forced > lim_.max_moves)
    return Status::Infeasible(ForcedMovesMessage(p_, snap_, forced, lim_.max_moves));
  Note("no-change plan: cost " + Num(no_change->Cost(p_)) + ", " + std::to_string(forced) + " forced move(s)");
  best_ = *no_change;
  // The unconstrained plan, when it fits, is the best candidate so far.
  if (WithinBudget(p_, target_.best, lim_) && BudgetBetter(p_, target_.best, best_)) {
    Note("the unconstrained plan fits the budget");
    best_ = target_.best;
  }
  return Status::OK();
}

void BudgetedSolve::Bound() {
  const double knap = BudgetKnapsackBound(p_, lim_);
  OfferBound(knap, "budget-knapsack");
  BudgetLpResult lp = SolveBudgetLp(p_, lim_, std::max(0.05, SecondsLeft() * 0.4));
  if (lp.ok) OfferBound(lp.lower_bound, "budget-lp");
  Note("phase budget-lp: " + Num(lp.seconds) + " s, " + std::to_string(lp.rounds) + " rounds, " +
       std::to_string(lp.columns) + " columns, " + (lp.ok ? "bound " + Num(lp.lower_bound) : lp.message) +
       "; knapsack bound " + Num(knap));
  r_.duals = !lp.duals.empty() ? lp.duals : target_.duals;
  keep_hint_ = std::move(lp.keep);
  pk_ = std::make_unique<Packer>(p_, r_.duals, opt_.seed);
  pk_->SetBudgetMode(true);
  pk_->SetDeadline(deadline_);
  search_ = std::make_unique<BudgetSearch>(p_, pk_.get(), lim_, opt_.seed);
}

void BudgetedSolve::Construct(const Solution& no_change) {
  {
    Solution g = no_change;
    int n = search_->RetireGreedy(&g, keep_hint_, deadline_);
    search_->ConsolidateNew(&g);
    Note("phase greedy: " + Num(Elapsed()) + " s, retired " + std::to_string(n) + ", cost " + Num(g.Cost(p_)));
    Offer(std::move(g));
  }
  if (!keep_hint_.empty()) {
    Solution l = no_change;
    int n = search_->RetireByLp(&l, keep_hint_, deadline_);
    search_->RetireGreedy(&l, keep_hint_, deadline_);
    search_->ConsolidateNew(&l);
    Note("phase lp-rounding: " + Num(Elapsed()) + " s, retired " + std::to_string(n) + ", cost " + Num(l.Cost(p_)));
    Offer(std::move(l));
  }
  // The pattern master with the budget rows: stronger bound, and its
  // restricted IP chooses retirements and contents jointly. One knapsack per
  // node and kind per round, hence small and medium clusters only.
  if (p_.classes.size() > 400 || p_.num_existing > 200 || SecondsLeft() <= 0.1) return;
  BudgetCgResult cg = RunBudgetColumnGeneration(p_, lim_, best_, no_change, *pk_, SecondsLeft() * 0.4,
                                                opt_.max_iterations >= 0 ? 25 : -1);
  OfferBound(cg.lower_bound, cg.converged ? "budget-column-generation" : "budget-column-generation-lagrangian");
  Note("phase column-generation: " + Num(Elapsed()) + " s, " + std::to_string(cg.iterations) + " iterations, " +
       std::to_string(cg.columns) + " columns, " + (cg.converged ? "converged" : "not converged") +
       (cg.lower_bound ? ", bound " + Num(*cg.lower_bound) : "") + "; " + cg.ip_status +
       (cg.has_solution ? ", plan cost " + Num(cg.solution.Cost(p_)) : ""));
  if (cg.has_solution) Offer(std::move(cg.solution));
}

void BudgetedSolve::Prove() {
  int64_t movable_pods = 0;
  for (const auto& c : p_.classes) movable_pods += c.n();
  if (movable_pods > 16 || p_.num_existing > 40 || GapReached()) return;
  Solution exact = best_;
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(std::max(0.0, SecondsLeft()) * 0.6));
  const bool proven = ExactSearch(p_, pk_.get(), &exact, until, 20000000, &lim_);
  if (proven) {
    Offer(std::move(exact));
    r_.lower = best_.Cost(p_);  // the proven optimum bounds every plan within the budget
    r_.bound_source = "exact-search";
  }
  Note(std::string("phase exact-search: ") + (proven ? "optimum proven" : "stopped early"));
}

void BudgetedSolve::Improve() {
  int64_t improvements = 0;
  const double cost_before = best_.Cost(p_);
  while (!GapReached() && Clock::now() < deadline_ && (opt_.max_iterations < 0 || r_.iterations < opt_.max_iterations)) {
    if (search_->Step(&best_)) ++improvements;
    ++r_.iterations;
  }
  Note("phase lns: " + Num(Elapsed()) + " s, " + std::to_string(r_.iterations) + " iterations, " +
       std::to_string(improvements) + " improvements, cost " + Num(cost_before) + " -> " + Num(best_.Cost(p_)));
  pk_->ReduceMoves(&best_);
}

}  // namespace

StatusOr<SearchResult> SolveBudgeted(const Problem& bp, const Snapshot& snap, const PlanOptions& opt,
                                     const SearchResult& target, Clock::time_point deadline,
                                     std::vector<std::string>* notes, Solution* no_change) {
  BudgetedSolve solve(bp, snap, opt, target, deadline, notes);
  Status st = solve.Start(no_change);
  if (!st.ok()) return st;
  solve.Bound();
  solve.Construct(*no_change);
  solve.Prove();
  solve.Improve();
  return solve.Result();
}

}  // namespace kinema::opt
