// OptimizePlacement: orchestrates the pipeline described in plan.h.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <unordered_set>

#include "steps/optimize/column_generation.h"
#include "steps/optimize/exact_search.h"
#include "steps/optimize/fluid_lp.h"
#include "steps/optimize/plan.h"
#include "steps/optimize/problem.h"
#include "steps/optimize/solution.h"

namespace kinema {
namespace {

using opt::Bin;
using opt::Packer;
using opt::Problem;
using opt::Solution;

class Clock {
 public:
  Clock() : t0_(std::chrono::steady_clock::now()) {}
  double Elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }

 private:
  std::chrono::steady_clock::time_point t0_;
};

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
    plan.nodes.push_back(PlanNode{n.name, n.instance_type, n.zone, CapacityTypeName(n.capacity_type), k.price,
                                  bin_of_node[j] >= 0 ? "keep" : "retire"});
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
    plan.nodes.push_back(PlanNode{name, k.type_name, k.zone, CapacityTypeName(k.capacity), k.price, "boot"});
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
    if (n.action != "retire") plan.cost_after += n.price_per_hour;
  return plan;
}

}  // namespace

bool IsInfeasible(const Status& s) {
  return s.code() == Status::Code::kFailedPrecondition && s.message().rfind("infeasible", 0) == 0;
}

StatusOr<Plan> OptimizePlacement(const Snapshot& snap, const Catalog& cat, const PlanOptions& opt) {
  Clock clock;
  const auto start_time = std::chrono::steady_clock::now();
  const double budget = std::max(0.05, opt.time_limit_seconds);
  auto problem = opt::BuildProblem(snap, cat, opt);
  if (!problem.ok()) return problem.status();
  const Problem& p = *problem;
  std::vector<std::string> notes = snap.warnings;
  notes.insert(notes.end(), p.notes.begin(), p.notes.end());

  // 1. First valid plan: bin-centric greedy priced by each class's cheapest
  // per-pod node cost (no LP yet), so a plan exists within milliseconds.
  Solution quick;
  {
    Packer quick_packer(p, std::vector<double>(), opt.seed);
    if (!quick_packer.Greedy(&quick)) return Status::FailedPrecondition(UnplacedMessage(p, snap, quick));
  }
  double first_plan_seconds = clock.Elapsed();
  notes.push_back("phase first-plan: " + std::to_string(first_plan_seconds) + " s, cost " +
                  std::to_string(quick.Cost(p)));

  // 2. Fluid LP: bound and duals.
  opt::FluidResult fluid = opt::SolveFluidLp(p, std::max(0.5, budget * 0.5 - clock.Elapsed()));
  std::optional<double> lower;
  std::string bound_source;
  if (fluid.ok) {
    lower = fluid.lower_bound;
    bound_source = fluid.lagrangian ? "fluid-lp-lagrangian" : "fluid-lp";
  } else {
    notes.push_back("fluid LP not solved (" + fluid.message + "); no lower bound from it");
  }

  notes.push_back("phase fluid-lp: " + std::to_string(clock.Elapsed()) + " s, " +
                  (fluid.ok ? "bound " + std::to_string(fluid.lower_bound) : fluid.message));
  // 3. LP-priced greedy.
  Packer pk(p, fluid.ok ? fluid.duals : std::vector<double>(), opt.seed);
  // Leave a little of the budget for the final move reduction and output.
  pk.SetDeadline(start_time + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                  std::chrono::duration<double>(budget * 0.95)));
  Solution greedy;
  if (!pk.Greedy(&greedy)) return Status::FailedPrecondition(UnplacedMessage(p, snap, greedy));
  if (Better(p, quick, greedy)) greedy = quick;
  pk.Improve(&greedy);
  notes.push_back("phase greedy: " + std::to_string(clock.Elapsed()) + " s, cost " + std::to_string(greedy.Cost(p)));

  // 4. Column generation: stronger bound, and patterns for an integer plan.
  Solution best = greedy;
  Solution current;
  bool current_ok = pk.FromCurrent(&current, false);
  if (current_ok && Better(p, current, best)) best = current;
  double time_left = budget - clock.Elapsed();
  opt::CgResult cg;
  // Column generation pays off on small and medium instances (stronger bound
  // where pods are large relative to nodes); at scale the fluid bound is
  // nearly as tight and the time is better spent in LNS.
  if (time_left > 0.05 && p.classes.size() <= 400) {
    cg = opt::RunColumnGeneration(p, fluid.ok ? fluid.duals : std::vector<double>(), best,
                                  std::min(time_left * 0.35, budget * 0.35), opt.seed,
                                  opt.max_iterations >= 0 ? 25 : -1);
    if (cg.lower_bound && (!lower || *cg.lower_bound > *lower)) {
      lower = cg.lower_bound;
      bound_source = cg.converged ? "column-generation" : "column-generation-farley";
    }
    notes.push_back("phase column-generation: " + std::to_string(clock.Elapsed()) + " s, " +
                    std::to_string(cg.iterations) + " iterations, " + std::to_string(cg.columns) + " columns, " +
                    (cg.converged ? "converged" : "not converged") +
                    (cg.lower_bound ? ", bound " + std::to_string(*cg.lower_bound) : ""));
    if (cg.has_solution) {
      Solution s = cg.solution;
      pk.Improve(&s);
      notes.push_back("phase column-generation plan: cost " + std::to_string(s.Cost(p)));
      if (Better(p, s, best)) best = s;
    }
  }
  // 4b. Tiny instances: exact search proves the optimum.
  bool proven_optimal = false;
  int64_t movable_pods = 0;
  for (const auto& c : p.classes) movable_pods += c.n();
  if (movable_pods <= 16 && p.num_existing <= 40) {
    auto deadline = start_time + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                     std::chrono::duration<double>(budget * 0.6));
    Solution exact = best;
    if (opt::ExactSearch(p, &pk, &exact, deadline, 20000000)) {
      proven_optimal = true;
      if (Better(p, exact, best)) best = exact;
      double c = best.Cost(p);
      lower = c;  // the proven optimum bounds every plan from below
      bound_source = "exact-search";
    }
    notes.push_back(std::string("phase exact-search: ") + (proven_optimal ? "optimum proven" : "stopped early"));
  }
  auto gap_reached = [&](const Solution& s) {
    if (!lower) return false;
    double c = s.Cost(p);
    return c <= *lower * (1 + opt.gap_target) + 1e-9;
  };

  // 5. Large-neighbourhood search on the best plan.
  int64_t iterations = 0, improvements = 0;
  const double lns_start = clock.Elapsed();
  const double cost_before_lns = best.Cost(p);
  const bool churn_limited = opt.max_moves.has_value();
  double lns_end = churn_limited ? budget * 0.6 : budget * 0.95;
  while (!gap_reached(best) && clock.Elapsed() < lns_end &&
         (opt.max_iterations < 0 || iterations < opt.max_iterations)) {
    if (pk.LnsStep(&best, -1)) ++improvements;
    ++iterations;
    if (iterations % 200 == 0) pk.Improve(&best);
  }
  notes.push_back("phase lns: " + std::to_string(clock.Elapsed() - lns_start) + " s, " +
                  std::to_string(iterations) + " iterations, " + std::to_string(improvements) + " improvements, cost " +
                  std::to_string(cost_before_lns) + " -> " + std::to_string(best.Cost(p)));
  Finalize(p, &pk, &best);

  // 6. Churn budget: consolidate from the current placement within max-moves.
  if (churn_limited && best.Moves(p) > *opt.max_moves) {
    if (!current_ok) return Status::FailedPrecondition(UnplacedMessage(p, snap, current));
    Finalize(p, &pk, &current);
    if (current.Moves(p) > *opt.max_moves)
      return Status::FailedPrecondition(
          "infeasible: --max-moves " + std::to_string(*opt.max_moves) + " is below the " +
          std::to_string(current.Moves(p)) +
          " moves needed just to place pending pods and pods that cannot stay on their node");
    Solution limited = current;
    int64_t it2 = 0;
    while (!gap_reached(limited) && clock.Elapsed() < budget * 0.95 &&
           (opt.max_iterations < 0 || it2 < opt.max_iterations)) {
      pk.LnsStep(&limited, *opt.max_moves);
      ++it2;
    }
    Finalize(p, &pk, &limited);
    if (limited.Moves(p) > *opt.max_moves) limited = current;
    iterations += it2;
    best = limited;
    notes.push_back("churn budget: plan limited to " + std::to_string(*opt.max_moves) + " moves");
  }

  // 7. Minimum savings: otherwise return the no-change plan.
  bool no_change = false;
  if (opt.min_savings > 0 && p.cost_before > 0) {
    double saving = (p.cost_before - best.Cost(p)) / p.cost_before;
    if (saving < opt.min_savings) {
      Solution keep_all;
      if (pk.FromCurrent(&keep_all, true)) {
        Finalize(p, &pk, &keep_all);
        best = keep_all;
        no_change = true;
        notes.push_back("saving " + std::to_string(saving * 100) + "% is below --min-savings " +
                        std::to_string(opt.min_savings * 100) + "%: returning the no-change plan");
      }
    }
  }

  Plan plan = BuildPlan(p, snap, opt, best);
  plan.lower_bound = lower;
  if (plan.lower_bound && *plan.lower_bound > plan.cost_after) plan.lower_bound = plan.cost_after;
  plan.bound_source = bound_source;
  bool optimal = lower && plan.cost_after <= *lower * (1 + 1e-6) + 1e-9;
  plan.status = optimal ? "optimal" : "feasible";
  plan.no_change = no_change;
  plan.notes = std::move(notes);
  plan.first_plan_seconds = first_plan_seconds;
  plan.iterations = iterations;
  plan.classes = static_cast<int>(p.classes.size());
  plan.node_types = static_cast<int>(p.kinds.size()) - p.num_existing;
  plan.solve_seconds = clock.Elapsed();
  return plan;
}

nlohmann::json PlanToJson(const Plan& plan) {
  nlohmann::json j;
  j["status"] = plan.status;
  j["costPerHourBefore"] = plan.cost_before;
  j["costPerHourAfter"] = plan.cost_after;
  j["lowerBound"] = plan.lower_bound ? nlohmann::json(*plan.lower_bound) : nlohmann::json(nullptr);
  j["solveSeconds"] = plan.solve_seconds;
  j["nodes"] = nlohmann::json::array();
  for (const auto& n : plan.nodes)
    j["nodes"].push_back({{"name", n.name},
                          {"machineType", n.machine_type},
                          {"zone", n.zone},
                          {"capacityType", n.capacity_type},
                          {"pricePerHour", n.price_per_hour},
                          {"action", n.action}});
  j["placements"] = nlohmann::json::array();
  for (const auto& pl : plan.placements) j["placements"].push_back({{"pod", pl.pod}, {"node", pl.node}});
  j["moves"] = plan.moves;
  if (!plan.bound_source.empty()) j["boundSource"] = plan.bound_source;
  if (plan.lower_bound && *plan.lower_bound > 0)
    j["gap"] = (plan.cost_after - *plan.lower_bound) / *plan.lower_bound;
  j["noChange"] = plan.no_change;
  return j;
}

}  // namespace kinema
