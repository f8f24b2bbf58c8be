// OptimizePlacement: orchestrates the pipeline described in plan.h.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>

#include "steps/optimize/aggregate_prices.h"
#include "steps/optimize/budgeted_solve.h"
#include "steps/optimize/column_generation.h"
#include "steps/optimize/exact_search.h"
#include "steps/optimize/fluid_lp.h"
#include "steps/optimize/lns_forced.h"
#include "steps/optimize/lns_retype.h"
#include "steps/optimize/pattern_proof.h"
#include "steps/optimize/plan.h"
#include "steps/optimize/problem.h"
#include "steps/optimize/search_result.h"
#include "steps/optimize/solution.h"

namespace kinema {
namespace opt {

std::string UnplacedMessage(const Problem& p, const Snapshot& snap, const Solution& s) {
  std::vector<int> placed(p.classes.size(), 0);
  for (const auto& b : s.bins)
    for (auto& [d, n] : b.items) placed[d] += n;
  for (size_t d = 0; d < p.classes.size(); ++d)
    if (placed[d] < p.classes[d].n()) {
      const auto& pod = snap.pods[p.classes[d].pods[placed[d]]];
      return "infeasible: pod " + pod.FullName() +
             " cannot be placed: every node it may run on (node selector, affinity, taints, anti-affinity) "
             "is full or already holds a conflicting pod";
    }
  return "infeasible: some pods cannot be placed";
}

}  // namespace opt

namespace {

using opt::Bin;
using opt::SearchResult;
using opt::UnplacedMessage;
using opt::Packer;
using opt::Problem;
using opt::Solution;

// Assigns the patterns of each group of interchangeable existing nodes to the
// concrete nodes that already host most of those pods.
void RemapGroups(const Problem& p, Solution* s) {
  std::map<int, std::vector<int>> bins_of_group;
  for (size_t i = 0; i < s->bins.size(); ++i) {
    int k = s->bins[i].kind;
    if (!p.IsNew(k) && p.kinds[k].group >= 0) bins_of_group[p.kinds[k].group].push_back(static_cast<int>(i));
  }
  for (auto& [g, bins] : bins_of_group) {
    const auto& nodes = p.groups[g];
    std::map<int, std::vector<std::pair<int, int>>> holders;  // class -> (node, count now)
    for (int j : nodes)
      for (auto& [d, n] : p.current[j]) holders[d].push_back({j, n});
    std::sort(bins.begin(), bins.end(), [&](int a, int b) {
      return std::make_pair(s->bins[a].Pods(), -a) > std::make_pair(s->bins[b].Pods(), -b);
    });
    std::set<int> taken;
    for (int bi : bins) {
      std::map<int, int64_t> overlap;
      for (auto& [d, n] : s->bins[bi].items) {
        auto it = holders.find(d);
        if (it == holders.end()) continue;
        for (auto& [j, c] : it->second)
          if (!taken.count(j)) overlap[j] += std::min(n, c);
      }
      int best = -1;
      int64_t best_ov = -1;
      for (auto& [j, ov] : overlap)
        if (ov > best_ov) {
          best = j;
          best_ov = ov;
        }
      if (best < 0) {
        // Prefer a node that hosts nothing movable now (keeps others' pods countable elsewhere).
        for (int j : nodes)
          if (!taken.count(j) && p.current[j].empty()) {
            best = j;
            break;
          }
        if (best < 0)
          for (int j : nodes)
            if (!taken.count(j)) {
              best = j;
              break;
            }
      }
      taken.insert(best);
      s->bins[bi].kind = best;
    }
  }
}

void Finalize(const Problem& p, Packer* pk, Solution* s) {
  RemapGroups(p, s);
  pk->ReduceMoves(s);
}

Plan BuildPlan(const Problem& p, const Snapshot& snap, const PlanOptions& opt, const Solution& s) {
  Plan plan;
  std::vector<int> bin_of_node(p.num_existing, -1);
  for (size_t i = 0; i < s.bins.size(); ++i)
    if (!p.IsNew(s.bins[i].kind)) bin_of_node[s.bins[i].kind] = static_cast<int>(i);
  std::unordered_set<std::string> names;
  for (const auto& n : snap.nodes) names.insert(n.name);
  std::vector<std::string> bin_name(s.bins.size());
  for (int j = 0; j < p.num_existing; ++j) {
    const auto& n = snap.nodes[j];
    const auto& k = p.kinds[j];
    plan.nodes.push_back(PlanNode{n.name, n.instance_type, n.zone, n.capacity_type, k.price,
                                  bin_of_node[j] >= 0 ? NodeAction::kKeep : NodeAction::kRetire});
    if (bin_of_node[j] >= 0) bin_name[bin_of_node[j]] = n.name;
  }
  int counter = 0;
  for (size_t i = 0; i < s.bins.size(); ++i) {
    const auto& k = p.kinds[s.bins[i].kind];
    if (!p.IsNew(s.bins[i].kind)) continue;
    std::string name;
    do {
      name = opt.new_node_prefix + std::to_string(++counter);
    } while (names.count(name));
    names.insert(name);
    bin_name[i] = name;
    plan.nodes.push_back(PlanNode{name, k.type_name, k.zone, k.capacity, k.price, NodeAction::kBoot});
  }
  // Concrete pods: stay where possible, then fill remaining slots.
  std::map<std::string, int> node_index;
  for (int j = 0; j < p.num_existing; ++j) node_index[snap.nodes[j].name] = j;
  std::vector<std::string> pod_node(snap.pods.size());
  for (size_t d = 0; d < p.classes.size(); ++d) {
    std::vector<int> slots_bin;  // one entry per free slot
    std::vector<int> left;
    std::vector<int> stay_room(s.bins.size(), 0);
    for (size_t i = 0; i < s.bins.size(); ++i) stay_room[i] = s.bins[i].Count(static_cast<int>(d));
    for (int pi : p.classes[d].pods) {
      const auto& pod = snap.pods[pi];
      auto it = node_index.find(pod.node_name);
      int bi = (pod.node_name.empty() || it == node_index.end()) ? -1 : bin_of_node[it->second];
      if (bi >= 0 && stay_room[bi] > 0) {
        --stay_room[bi];
        pod_node[pi] = bin_name[bi];
      } else {
        left.push_back(pi);
      }
    }
    size_t li = 0;
    for (size_t i = 0; i < s.bins.size(); ++i)
      for (int r = 0; r < stay_room[i] && li < left.size(); ++r) pod_node[left[li++]] = bin_name[i];
  }
  for (size_t i = 0; i < snap.pods.size(); ++i) {
    const auto& pod = snap.pods[i];
    if (pod_node[i].empty()) pod_node[i] = pod.node_name;  // fixed pods stay
    plan.placements.push_back(PlanPlacement{pod.FullName(), pod_node[i]});
    if (pod_node[i] != pod.node_name) ++plan.moves;
  }
  plan.cost_before = p.cost_before;
  plan.cost_after = 0;
  for (const auto& n : plan.nodes)
    if (n.action != NodeAction::kRetire) plan.cost_after += n.price_per_hour;
  return plan;
}


using TimePoint = std::chrono::steady_clock::time_point;

// Size limits of the pattern proof (beyond them the fluid/CG bounds and LNS
// are the better use of the time).
constexpr int64_t kProofMaxPods = 2000;
// Above this many classes the bound comes from aggregate prices.
constexpr size_t kAggregateAboveClasses = 2000;
// Above this many bins LNS works on cut-out neighbourhoods (LnsStepLocal).
constexpr size_t kLocalLnsAboveBins = 2000;
constexpr size_t kProofMaxClasses = 80;
constexpr size_t kProofMaxKinds = 400;

TimePoint At(TimePoint start, double seconds) {
  return start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

double Since(TimePoint t) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count(); }

std::string Num(double v) { return std::to_string(v); }

// The plan is within the gap target of the bound.
bool GapReached(const Problem& p, const PlanOptions& opt, const SearchResult& r, const Solution& s) {
  return r.lower && s.Cost(p) <= *r.lower * (1 + opt.gap_target) + 1e-9;
}

// Large-neighbourhood search on *best until `until` seconds after `start`,
// the gap target or the iteration cap; notes one line named `phase`.
void RunLns(const Problem& p, const PlanOptions& opt, TimePoint start, double until, const std::string& phase,
            Packer* pk, Solution* best, SearchResult* r, const std::string& tag, std::vector<std::string>* notes) {
  int64_t improvements = 0, steps = 0;
  const double lns_start = Since(start);
  const double cost_before = best->Cost(p);
  // Beyond the pattern proof's size, of every six steps two trade pods
  // between forced nodes and the others (lns_forced.h) and one re-types a
  // few non-forced nodes (lns_retype.h). Below it the whole-plan steps do
  // better in the time (measured: ≤ 600 pods, 10 s).
  int64_t movable_pods = 0;
  for (const auto& c : p.classes) movable_pods += c.n();
  std::optional<opt::ForcedTrade> trade;
  std::optional<opt::Retype> retype;
  if (movable_pods > kProofMaxPods && std::any_of(p.kinds.begin(), p.kinds.begin() + p.num_existing,
                                                  [](const opt::Kind& k) { return k.forced; })) {
    trade.emplace(p, pk, r->duals, opt.seed + static_cast<uint64_t>(r->iterations));
    retype.emplace(p, pk, opt.seed + static_cast<uint64_t>(r->iterations));
  }
  while (!GapReached(p, opt, *r, *best) && Since(start) < until &&
         (opt.max_iterations < 0 || r->iterations < opt.max_iterations)) {
    const bool local = best->bins.size() > kLocalLnsAboveBins;
    bool improved = false;
    if (trade && steps % 6 == 4) improved = retype->Step(best);
    else if (trade && steps % 2 == 0) improved = trade->Step(best);
    else improved = local ? pk->LnsStepLocal(best, 40) : pk->LnsStep(best, -1);
    if (improved) ++improvements;
    ++r->iterations;
    ++steps;
    if (r->iterations % (local ? 5000 : 200) == 0) pk->Improve(best);
  }
  std::string of_which;
  if (trade)
    of_which = " (" + std::to_string(trade->improvements()) + " of " + std::to_string(trade->steps()) +
               " forced-trade steps, " + std::to_string(retype->improvements()) + " of " +
               std::to_string(retype->steps()) + " retype steps)";
  notes->push_back(tag + "phase " + phase + ": " + Num(Since(start) - lns_start) + " s, " + std::to_string(steps) +
                   " iterations, " + std::to_string(improvements) + " improvements" + of_which + ", cost " +
                   Num(cost_before) + " -> " + Num(best->Cost(p)));
}

// Branch and price (pattern_proof.h) until `until` seconds after `start`:
// a better plan replaces *best, a better bound r->lower. True when the
// optimum is proven.
bool RunPatternProof(const Problem& p, TimePoint start, double until, const std::string& phase, Solution* best,
                     SearchResult* r, const std::string& tag, std::vector<std::string>* notes) {
  opt::PatternProofResult pr = opt::ProvePatternOptimum(p, *best, At(start, until));
  if (pr.has_solution && Better(p, pr.solution, *best)) *best = pr.solution;
  if (pr.proven) {
    r->lower = best->Cost(p);  // the proven optimum
    r->bound_source = "pattern-proof";
  } else if (pr.lower_bound && (!r->lower || *pr.lower_bound > *r->lower)) {
    r->lower = pr.lower_bound;
    r->bound_source = "pattern-master-lp";
  }
  notes->push_back(
      tag + "phase " + phase + ": " + Num(Since(start)) + " s, " + std::to_string(pr.iterations) +
      " iterations, root LP bound " +
      (pr.converged ? Num(*pr.root_bound) + " at " + Num(pr.lp_seconds) + " s" : "not converged") + ", " +
      std::to_string(pr.nodes) + " branch-and-price nodes, " + std::to_string(pr.columns) + " columns generated, " +
      std::to_string(pr.enumerated) +
      " columns enumerated, " +
      (pr.proven ? "optimum proven, cost " + Num(best->Cost(p))
                 : "no proof (" + pr.stopped + ")" + (pr.lower_bound ? ", bound " + Num(*pr.lower_bound) : "")));
  return pr.proven;
}

// The unconstrained pipeline (plan.h), with `budget` seconds from `start`.
// Notes are prefixed with `tag`.
StatusOr<SearchResult> SolveUnconstrained(const Problem& p, const Snapshot& snap, const PlanOptions& opt,
                                          TimePoint start, double budget, const std::string& tag,
                                          std::vector<std::string>* notes) {
  SearchResult r;
  auto note = [&](const std::string& s) { notes->push_back(tag + s); };
  // 1. First valid plan: bin-centric greedy priced by each class's cheapest
  // per-pod node cost (no LP yet), so a plan exists within milliseconds.
  Solution quick;
  {
    Packer quick_packer(p, std::vector<double>(), opt.seed);
    if (!quick_packer.Greedy(&quick)) return Status::Infeasible(UnplacedMessage(p, snap, quick));
  }
  r.first_plan_seconds = Since(start);
  note("phase first-plan: " + Num(r.first_plan_seconds) + " s, cost " + Num(quick.Cost(p)));

  // 2. Fluid LP: bound and duals. With thousands of classes the full LP
  // does not fit the budget: aggregate prices (aggregate_prices.h) and the
  // Lagrangian bound at those prices instead.
  opt::FluidResult fluid;
  if (p.classes.size() > kAggregateAboveClasses) {
    opt::AggregatePrices ap = opt::SolveAggregatePrices(p, std::max(3.0, budget * 0.3 - Since(start)));
    if (ap.ok) {
      fluid.ok = true;
      fluid.duals = ap.pi;
      fluid.lower_bound = opt::LagrangianBound(p, ap.pi);
      fluid.lagrangian = true;
      if (fluid.lower_bound > 0) fluid.lower_bound = fluid.lower_bound * (1 - 1e-7) - 1e-9;
      else fluid.ok = false, fluid.message = "aggregate prices gave no positive bound";
    } else {
      fluid.message = "aggregate prices: " + ap.message;
    }
    note("phase aggregate-prices: " + Num(Since(start)) + " s, " + std::to_string(ap.commodities) +
         " commodities x " + std::to_string(ap.bins) + " bins");
  } else {
    fluid = opt::SolveFluidLp(p, std::max(0.5, budget * 0.5 - Since(start)));
    // Cut short (a loaded machine, ~1,000+ classes): the aggregate prices'
    // bound costs a fraction of a second and may be the better one.
    if ((!fluid.ok || fluid.lagrangian) && p.classes.size() > 400) {
      opt::AggregatePrices ap = opt::SolveAggregatePrices(p, 3.0);
      const double lb = ap.ok ? opt::LagrangianBound(p, ap.pi) * (1 - 1e-7) - 1e-9 : 0;
      if (lb > 0 && (!fluid.ok || lb > fluid.lower_bound)) {
        if (!fluid.ok) fluid.duals = ap.pi;
        fluid.ok = fluid.lagrangian = true;
        fluid.lower_bound = lb;
      }
      note("phase aggregate-prices (fluid LP cut short): " + Num(Since(start)) + " s, bound " + Num(lb));
    }
  }
  if (fluid.ok) {
    r.lower = fluid.lower_bound;
    r.bound_source = p.classes.size() > kAggregateAboveClasses ? "aggregate-prices-lagrangian"
                     : fluid.lagrangian                            ? "fluid-lp-lagrangian"
                                                                   : "fluid-lp";
    r.duals = fluid.duals;
  } else {
    note("fluid LP not solved (" + fluid.message + "); no lower bound from it");
  }
  note("phase fluid-lp: " + Num(Since(start)) + " s, " + (fluid.ok ? "bound " + Num(fluid.lower_bound) : fluid.message));

  // 3. LP-priced greedy.
  Packer pk(p, r.duals, opt.seed);
  // Leave a little of the budget for the final move reduction and output.
  pk.SetDeadline(At(start, budget * 0.95));
  // With thousands of classes a second greedy costs seconds and barely
  // differs from the first (the aggregate prices are close to the per-pod
  // node costs it already used): the time goes to LNS instead.
  Solution greedy;
  if (p.classes.size() > kAggregateAboveClasses) {
    greedy = quick;
  } else {
    if (!pk.Greedy(&greedy)) return Status::Infeasible(UnplacedMessage(p, snap, greedy));
    if (Better(p, quick, greedy)) greedy = quick;
  }
  pk.Improve(&greedy);
  note("phase greedy: " + Num(Since(start)) + " s, cost " + Num(greedy.Cost(p)));

  // 4. Column generation: stronger bound, and patterns for an integer plan.
  Solution best = greedy;
  Solution current;
  if (pk.FromCurrent(&current, false) && Better(p, current, best)) best = current;
  double time_left = budget - Since(start);
  // Column generation pays off on small and medium instances (stronger bound
  // where pods are large relative to nodes); at scale the fluid bound is
  // nearly as tight and the time is better spent in LNS.
  // Small instances get the pattern proof (4a), whose master is exact: the
  // column generation here then only seeds a plan, in 3 % of the budget (the
  // tree's dives and LNS make better plans with the time).
  int64_t movable_pods = 0;
  for (const auto& c : p.classes) movable_pods += c.n();
  const bool proof_applies = movable_pods <= kProofMaxPods && p.classes.size() <= kProofMaxClasses &&
                             p.kinds.size() <= kProofMaxKinds && opt.max_iterations < 0;
  if (time_left > 0.05 && p.classes.size() <= 400) {
    const double share = proof_applies ? 0.03 : 0.35;
    opt::CgResult cg = opt::RunColumnGeneration(p, r.duals, best, std::min(time_left * share, budget * share),
                                                opt.seed, opt.max_iterations >= 0 ? 25 : -1);
    if (cg.lower_bound && (!r.lower || *cg.lower_bound > *r.lower)) {
      r.lower = cg.lower_bound;
      r.bound_source = cg.converged ? "column-generation" : "column-generation-farley";
    }
    note("phase column-generation: " + Num(Since(start)) + " s, " + std::to_string(cg.iterations) + " iterations, " +
         std::to_string(cg.columns) + " columns, " + (cg.converged ? "converged" : "not converged") +
         (cg.lower_bound ? ", bound " + Num(*cg.lower_bound) : ""));
    if (cg.has_solution) {
      Solution s = cg.solution;
      pk.Improve(&s);
      note("phase column-generation plan: cost " + Num(s.Cost(p)));
      if (Better(p, s, best)) best = s;
    }
  }
  // 4a. Small instances: branch and price on the exact pattern master
  // (pattern_proof.h); it gives up by itself when its root's pricing is too
  // dear (no bound from it then). A short first try (a tenth of the budget)
  // proves the easy ones; otherwise LNS (another tenth), the proof again (to
  // 92 %: it prunes and closes nodes against the incumbent, so a good plan
  // makes it far shorter; its dives improve the plan too), and LNS the rest.
  bool proven = false;
  if (proof_applies && Since(start) < budget * 0.6) {
    proven = RunPatternProof(p, start, Since(start) + budget * 0.1, "pattern-proof-first", &best, &r, tag, notes);
    if (!proven && !GapReached(p, opt, r, best)) {
      RunLns(p, opt, start, Since(start) + budget * 0.1, "lns-before-proof", &pk, &best, &r, tag, notes);
      if (!GapReached(p, opt, r, best))
        proven = RunPatternProof(p, start, std::min(budget * 0.92, Since(start) + budget * 0.72), "pattern-proof",
                                 &best, &r, tag, notes);
    }
  }
  // 4b. Tiny instances: exact search proves the optimum.
  if (!proven && movable_pods <= 16 && p.num_existing <= 40) {
    Solution exact = best;
    bool proven = opt::ExactSearch(p, &pk, &exact, At(start, budget * 0.6), 20000000);
    if (proven) {
      if (Better(p, exact, best)) best = exact;
      r.lower = best.Cost(p);  // the proven optimum bounds every plan from below
      r.bound_source = "exact-search";
    }
    note(std::string("phase exact-search: ") + (proven ? "optimum proven" : "stopped early"));
  }
  // 5. Large-neighbourhood search on the best plan.
  RunLns(p, opt, start, budget * 0.95, "lns", &pk, &best, &r, tag, notes);
  const double finish_start = Since(start);
  Finalize(p, &pk, &best);
  note("phase finish: " + Num(Since(start) - finish_start) + " s, " + std::to_string(best.Moves(p)) + " moves");
  r.best = std::move(best);
  return r;
}

// Fills status, bound (never above the plan's cost) and statistics.
void FinishPlan(const Problem& p, const SearchResult& r, double first_plan_seconds, int64_t iterations, Plan* plan) {
  plan->lower_bound = r.lower;
  if (plan->lower_bound && *plan->lower_bound > plan->cost_after) plan->lower_bound = plan->cost_after;
  plan->bound_source = r.bound_source;
  // "optimal" only with a proof: the bound equals the cost (up to 1e-6
  // relative, the margin every LP bound here is shaved by); the reported
  // bound is then the cost itself.
  bool optimal = r.lower && plan->cost_after <= *r.lower * (1 + 1e-6) + 1e-9;
  if (optimal) plan->lower_bound = plan->cost_after;
  plan->status = optimal ? PlanStatus::kOptimal : PlanStatus::kFeasible;
  plan->first_plan_seconds = first_plan_seconds;
  plan->iterations = iterations;
  plan->classes = static_cast<int>(p.classes.size());
  plan->node_types = static_cast<int>(p.kinds.size()) - p.num_existing;
}

// Below --min-savings (judged on `saving_cost`): the no-change plan instead.
bool BelowMinSavings(const Problem& p, const PlanOptions& opt, double saving_cost, std::vector<std::string>* notes) {
  if (opt.min_savings <= 0 || p.cost_before <= 0) return false;
  double saving = (p.cost_before - saving_cost) / p.cost_before;
  if (saving >= opt.min_savings) return false;
  notes->push_back("saving " + Num(saving * 100) + "% is below --min-savings " + Num(opt.min_savings * 100) +
                   "%: returning the no-change plan");
  return true;
}

}  // namespace

bool IsInfeasible(const Status& s) {
  return s.subcode() == Status::SubCode::kInfeasible;
}

StatusOr<Plan> OptimizePlacement(const Snapshot& snap, const Catalog& cat, const PlanOptions& opt) {
  const TimePoint start_time = std::chrono::steady_clock::now();
  const double budget = std::max(0.05, opt.time_limit_seconds);
  if (opt.max_moves && *opt.max_moves < 0)
    return Status::InvalidArgument("max_moves: " + std::to_string(*opt.max_moves) + " is negative");
  if (opt.max_retire && *opt.max_retire < 0)
    return Status::InvalidArgument("max_retire: " + std::to_string(*opt.max_retire) + " is negative");
  auto problem = opt::BuildProblem(snap, cat, opt);
  if (!problem.ok()) return problem.status();
  const Problem& p = *problem;
  std::vector<std::string> notes = snap.warnings;
  notes.insert(notes.end(), p.notes.begin(), p.notes.end());
  notes.push_back("phase model: " + Num(Since(start_time)) + " s, " + std::to_string(p.classes.size()) +
                  " classes, " + std::to_string(p.kinds.size() - p.num_existing) + " new-node kinds, " +
                  std::to_string(p.groups.size()) + " groups of interchangeable nodes");

  if (!opt.Budgeted()) {
    auto r = SolveUnconstrained(p, snap, opt, start_time, budget, "", &notes);
    if (!r.ok()) return r.status();
    Solution best = r->best;
    bool no_change = false;
    if (BelowMinSavings(p, opt, best.Cost(p), &notes)) {
      Packer pk(p, r->duals, opt.seed);
      Solution keep_all;
      if (pk.FromCurrent(&keep_all, true)) {
        Finalize(p, &pk, &keep_all);
        best = keep_all;
        no_change = true;
      }
    }
    Plan plan = BuildPlan(p, snap, opt, best);
    FinishPlan(p, *r, r->first_plan_seconds, r->iterations, &plan);
    plan.no_change = no_change;
    plan.notes = std::move(notes);
    plan.solve_seconds = Since(start_time);
    return plan;
  }

  // Budgeted: target first (up to 40% of the time), then the budgeted solve.
  auto target = SolveUnconstrained(p, snap, opt, start_time, budget * 0.4, "target: ", &notes);
  if (!target.ok()) return target.status();
  const double target_cost = target->best.Cost(p);
  Problem bp = p;
  opt::ProtectNodes(snap, opt.keep_nodes, &bp);
  for (size_t i = p.notes.size(); i < bp.notes.size(); ++i) notes.push_back(bp.notes[i]);
  Solution no_change_plan;
  auto r = opt::SolveBudgeted(bp, snap, opt, *target, At(start_time, budget * 0.95), &notes, &no_change_plan);
  if (!r.ok()) return r.status();
  Solution best = r->best;
  bool no_change = false;
  if (BelowMinSavings(p, opt, target_cost, &notes)) {
    best = no_change_plan;
    no_change = true;
  }
  Plan plan = BuildPlan(bp, snap, opt, best);
  FinishPlan(bp, *r, target->first_plan_seconds, target->iterations + r->iterations, &plan);
  plan.no_change = no_change;
  // The budgeted plan is an unconstrained plan too: the target is the best of both.
  plan.target = PlanTarget{std::min(target_cost, r->best.Cost(bp)), target->lower};
  if (plan.target->lower_bound && *plan.target->lower_bound > target_cost) plan.target->lower_bound = target_cost;
  PlanBudget pb;
  pb.max_retire = opt.max_retire;
  pb.max_moves = opt.max_moves;
  pb.keep_nodes = bp.protected_nodes;
  pb.retired = best.Retired(bp);
  pb.moves = plan.moves;
  pb.forced_moves = no_change_plan.Moves(bp);
  plan.budget = pb;
  notes.push_back("budget: retired " + std::to_string(pb.retired) +
                  (pb.max_retire ? " of at most " + std::to_string(*pb.max_retire) : "") + ", moved " +
                  std::to_string(pb.moves) + (pb.max_moves ? " of at most " + std::to_string(*pb.max_moves) : "") +
                  "; target " + Num(plan.target->cost_after) + " $/h");
  plan.notes = std::move(notes);
  plan.solve_seconds = Since(start_time);
  return plan;
}

}  // namespace kinema
