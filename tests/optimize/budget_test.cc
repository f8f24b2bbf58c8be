// Budgeted plans (planning.md "Budgeted plans"): on micro clusters a
// brute-force search, written here from the raw numbers and sharing no code
// with the optimizer, confirms the budgeted optimum; on generated clusters
// every budgeted plan is valid (independent validator) and within its limits;
// the target and the bounds are consistent; the typed plan round-trips
// through JSON.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <set>

#include "steps/optimize/budget.h"
#include "steps/optimize/budget_cg.h"
#include "steps/optimize/budget_lp.h"
#include "steps/optimize/budget_search.h"
#include "steps/optimize/plan.h"
#include "steps/optimize/problem.h"
#include "steps/optimize/snapshot.h"
#include "tests/optimize/independent_validator.h"
#include "tests/optimize/test_cluster.h"
#include "tools/bench/plan_bench/cluster_generator.h"

namespace kinema {
namespace {

using json = nlohmann::json;

// ---- Micro clusters and their brute-force budgeted optimum.

struct MicroType {
  std::string name;
  int64_t cpu;  // millicores
  int64_t mem;  // MiB
  double price;
  bool spot;
};

struct MicroPod {
  int64_t cpu, mem;
  bool tolerates_spot;
  int node;  // existing node index, -1 = Pending
};

struct Micro {
  std::vector<MicroType> catalog;  // on-demand and spot variants, as booted
  std::vector<int> node_type;      // existing node -> index into catalog (on-demand)
  std::vector<MicroPod> pods;
  int64_t max_retire = -1, max_moves = -1;
  std::set<int> keep;
  json snapshot, catalog_json;
};

Micro MakeMicro(uint64_t seed) {
  std::mt19937_64 rng(seed);
  Micro m;
  struct Base { const char* name; int64_t cpu, mem; double od, spot; };
  const Base bases[] = {{"small", 2000, 8192, 1.0, 0.3}, {"large", 4000, 16384, 1.5, 0.45}, {"highcpu", 4000, 4096, 1.1, -1}};
  json mts = json::array();
  for (const auto& b : bases) {
    json price = {{"onDemand", b.od}};
    m.catalog.push_back({b.name, b.cpu, b.mem, b.od, false});
    if (b.spot > 0) {
      price["spot"] = b.spot;
      m.catalog.push_back({b.name, b.cpu, b.mem, b.spot, true});
    }
    mts.push_back({{"name", b.name},
                   {"zones", {"z1"}},
                   {"allocatable", {{"cpu", std::to_string(b.cpu) + "m"}, {"memory", std::to_string(b.mem) + "Mi"}, {"pods", 110}}},
                   {"pricePerHour", price}});
  }
  m.catalog_json = {{"machineTypes", mts},
                    {"spot", {{"taints", {{{"key", "kinema.io/spot"}, {"value", "true"}, {"effect", "NoSchedule"}}}}}}};
  auto od_index = [&](const std::string& name) {
    for (size_t i = 0; i < m.catalog.size(); ++i)
      if (m.catalog[i].name == name && !m.catalog[i].spot) return static_cast<int>(i);
    return -1;
  };
  const int nodes = 1 + static_cast<int>(rng() % 4);
  json items = json::array();
  std::vector<int64_t> free_cpu, free_mem;
  for (int j = 0; j < nodes; ++j) {
    const Base& b = bases[rng() % 3];
    m.node_type.push_back(od_index(b.name));
    items.push_back(testing_util::Node("n" + std::to_string(j), b.name, std::to_string(b.cpu) + "m",
                                       std::to_string(b.mem) + "Mi"));
    free_cpu.push_back(b.cpu);
    free_mem.push_back(b.mem);
  }
  const int npods = 2 + static_cast<int>(rng() % 7);
  for (int i = 0; i < npods; ++i) {
    MicroPod p;
    p.cpu = 250 * (1 + static_cast<int64_t>(rng() % 6));
    p.mem = 512 * (1 + static_cast<int64_t>(rng() % 8));
    p.tolerates_spot = rng() % 2;
    p.node = -1;
    if (rng() % 8 != 0) {  // most pods run now, where they fit
      int start = static_cast<int>(rng() % nodes);
      for (int k = 0; k < nodes; ++k) {
        int j = (start + k) % nodes;
        if (free_cpu[j] >= p.cpu && free_mem[j] >= p.mem) {
          p.node = j;
          free_cpu[j] -= p.cpu;
          free_mem[j] -= p.mem;
          break;
        }
      }
    }
    json extra = json::object();
    if (p.tolerates_spot) extra["tolerations"] = {{{"key", "kinema.io/spot"}, {"operator", "Exists"}}};
    // Distinct app labels: every pod is its own workload (no class merging to lean on).
    items.push_back(testing_util::Pod("p" + std::to_string(i) + "-x", p.node < 0 ? "" : "n" + std::to_string(p.node),
                                      std::to_string(p.cpu) + "m", std::to_string(p.mem) + "Mi", extra));
    m.pods.push_back(p);
  }
  m.snapshot = testing_util::List(items);
  // Move budgets usually cover the Pending pods (which must move); every
  // third one may not, which brute force and the optimizer must both call infeasible.
  int64_t pending = 0;
  for (const auto& p : m.pods) pending += p.node < 0;
  const int64_t base = rng() % 3 == 0 ? 0 : pending;
  switch (rng() % 4) {
    case 0: m.max_retire = static_cast<int64_t>(rng() % 2); break;
    case 1: m.max_moves = base + static_cast<int64_t>(rng() % 4); break;
    case 2:
      m.max_retire = static_cast<int64_t>(rng() % 3);
      m.max_moves = base + static_cast<int64_t>(rng() % 6);
      break;
    default: m.keep.insert(static_cast<int>(rng() % nodes)); m.max_moves = base + static_cast<int64_t>(rng() % 5);
  }
  return m;
}

// Exhaustive: every set of kept nodes, then every assignment of pods to kept
// nodes, opened new nodes, or a new node of any type (opened in order).
// Returns the cheapest cost within the budget, or -1 if none exists.
double BruteForceBudgeted(const Micro& m) {
  const int n = static_cast<int>(m.node_type.size());
  double best = -1;
  struct Bin { int64_t cpu, mem, pods; bool spot; int node; };
  for (int mask = 0; mask < (1 << n); ++mask) {
    bool ok = true;
    for (int j : m.keep) ok = ok && (mask >> j & 1);
    int retired = n - __builtin_popcount(mask);
    if (!ok || (m.max_retire >= 0 && retired > m.max_retire)) continue;
    double base = 0;
    std::vector<Bin> bins;
    for (int j = 0; j < n; ++j)
      if (mask >> j & 1) {
        const auto& t = m.catalog[m.node_type[j]];
        base += t.price;
        bins.push_back({t.cpu, t.mem, 110, false, j});
      }
    std::function<void(size_t, double, int64_t)> dfs = [&](size_t i, double cost, int64_t moves) {
      if (best >= 0 && cost >= best - 1e-12) return;
      if (m.max_moves >= 0 && moves > m.max_moves) return;
      if (i == m.pods.size()) {
        best = cost;
        return;
      }
      const MicroPod& p = m.pods[i];
      for (size_t b = 0; b < bins.size(); ++b) {  // by index: deeper calls push_back
        if ((bins[b].spot && !p.tolerates_spot) || bins[b].cpu < p.cpu || bins[b].mem < p.mem || bins[b].pods < 1)
          continue;
        bins[b].cpu -= p.cpu;
        bins[b].mem -= p.mem;
        bins[b].pods -= 1;
        dfs(i + 1, cost, moves + (bins[b].node != p.node ? 1 : 0));
        bins[b].cpu += p.cpu;
        bins[b].mem += p.mem;
        bins[b].pods += 1;
      }
      for (const auto& t : m.catalog) {
        if ((t.spot && !p.tolerates_spot) || t.cpu < p.cpu || t.mem < p.mem) continue;
        bins.push_back({t.cpu - p.cpu, t.mem - p.mem, 109, t.spot, -2});
        dfs(i + 1, cost + t.price, moves + 1);
        bins.pop_back();
      }
    };
    dfs(0, base, 0);
  }
  return best;
}

StatusOr<Plan> Solve(const json& snap_json, const json& cat_json, const PlanOptions& opt) {
  auto snap = ParseSnapshot(snap_json);
  if (!snap.ok()) return snap.status();
  auto cat = ParseCatalog(cat_json);
  if (!cat.ok()) return cat.status();
  return OptimizePlacement(*snap, *cat, opt);
}

int64_t Retired(const json& plan) {
  int64_t n = 0;
  for (const auto& node : plan["nodes"]) n += node["action"] == "retire";
  return n;
}

TEST(BudgetTest, BruteForceConfirmsTheBudgetedOptimumOnMicroClusters) {
  int checked = 0, infeasible = 0;
  for (uint64_t seed = 1; seed <= 80; ++seed) {
    Micro m = MakeMicro(seed);
    PlanOptions opt;
    opt.time_limit_seconds = 2;
    if (m.max_retire >= 0) opt.max_retire = m.max_retire;
    if (m.max_moves >= 0) opt.max_moves = m.max_moves;
    for (int j : m.keep) opt.keep_nodes.insert("n" + std::to_string(j));
    if (!opt.Budgeted()) opt.max_moves = 1000;
    double optimum = BruteForceBudgeted(m);
    auto plan = Solve(m.snapshot, m.catalog_json, opt);
    if (optimum < 0) {
      // Only Pending pods beyond --max-moves make a budgeted problem infeasible.
      ASSERT_FALSE(plan.ok()) << "seed " << seed << ": brute force finds no plan within the budget";
      EXPECT_TRUE(IsInfeasible(plan.status())) << plan.status().ToString();
      ++infeasible;
      continue;
    }
    ASSERT_TRUE(plan.ok()) << "seed " << seed << ": " << plan.status().ToString();
    json pj = PlanToJson(*plan);
    auto rep = validator::ValidatePlan(m.snapshot, m.catalog_json, pj);
    EXPECT_TRUE(rep.ok()) << "seed " << seed << ":\n" << rep.Summary();
    EXPECT_NEAR(plan->cost_after, optimum, 1e-6) << "seed " << seed << "\n" << pj.dump();
    EXPECT_EQ(plan->status, PlanStatus::kOptimal) << "seed " << seed;
    ASSERT_TRUE(plan->lower_bound.has_value());
    EXPECT_LE(*plan->lower_bound, optimum + 1e-6) << "seed " << seed;
    if (opt.max_moves) { EXPECT_LE(plan->moves, *opt.max_moves) << "seed " << seed; }
    if (opt.max_retire) { EXPECT_LE(Retired(pj), *opt.max_retire) << "seed " << seed; }
    for (const auto& node : plan->nodes)
      if (opt.keep_nodes.count(node.name)) { EXPECT_NE(node.action, NodeAction::kRetire) << "seed " << seed; }
    ++checked;
  }
  EXPECT_GE(checked, 60);  // the generator mostly makes feasible budgets
  EXPECT_GE(infeasible, 3);
  std::cout << "micro budgeted clusters: " << checked << " optimal as brute force, " << infeasible
            << " infeasible as brute force\n";
}

TEST(BudgetTest, EveryBudgetedBoundIsBelowTheBruteForceOptimum) {
  // The bounds one by one (the solver reports their maximum, and on micro
  // clusters the exact search would hide a wrong one).
  int checked = 0;
  for (uint64_t seed = 1; seed <= 80; ++seed) {
    Micro m = MakeMicro(seed);
    double optimum = BruteForceBudgeted(m);
    if (optimum < 0) continue;
    auto snap = ParseSnapshot(m.snapshot);
    auto cat = ParseCatalog(m.catalog_json);
    ASSERT_TRUE(snap.ok() && cat.ok());
    PlanOptions opt;
    auto problem = opt::BuildProblem(*snap, *cat, opt);
    ASSERT_TRUE(problem.ok()) << problem.status().ToString();
    std::set<std::string> keep;
    for (int j : m.keep) keep.insert("n" + std::to_string(j));
    opt::ProtectNodes(*snap, keep, &*problem);
    opt::BudgetLimits lim{m.max_moves, m.max_retire};
    EXPECT_LE(opt::BudgetKnapsackBound(*problem, lim), optimum + 1e-6) << "seed " << seed;
    opt::BudgetLpResult lp = opt::SolveBudgetLp(*problem, lim, 5);
    if (lp.ok) {
      EXPECT_LE(lp.lower_bound, optimum + 1e-6) << "seed " << seed;
    }
    opt::Packer pk(*problem, {}, 1);
    pk.SetBudgetMode(true);
    opt::Solution start;
    ASSERT_TRUE(pk.FromCurrent(&start, true));
    opt::BudgetCgResult cg = opt::RunBudgetColumnGeneration(*problem, lim, start, start, pk, 5);
    if (cg.lower_bound) {
      EXPECT_LE(*cg.lower_bound, optimum + 1e-6) << "seed " << seed;
    }
    if (cg.has_solution) {
      EXPECT_TRUE(opt::WithinBudget(*problem, cg.solution, lim)) << "seed " << seed;
      EXPECT_GE(cg.solution.Cost(*problem), optimum - 1e-6) << "seed " << seed;
    }
    checked += lp.ok && cg.lower_bound.has_value();
  }
  EXPECT_GE(checked, 60);
}

// ---- Generated clusters: validity and limits.

bool HasPendingPods(const json& snap) {
  for (const auto& it : snap["items"])
    if (it["kind"] == "Pod" && it["status"]["phase"] == "Pending") return true;
  return false;
}

TEST(BudgetTest, BudgetedPlansAreValidAndWithinTheirLimitsOnRandomClusters) {
  auto cat = bench::GenerateCatalog();
  for (uint64_t seed = 1; seed <= 16; ++seed) {
    bench::ClusterSpec spec;
    spec.nodes = 6 + static_cast<int>(seed % 20);
    spec.fill = 0.3 + 0.05 * static_cast<double>(seed % 6);
    spec.seed = 100 + seed;
    spec.max_replicas = 30;
    json snap = bench::GenerateCluster(spec);
    std::mt19937_64 rng(seed);
    PlanOptions opt;
    opt.time_limit_seconds = 0.4;
    opt.seed = seed;
    switch (seed % 3) {
      case 0: opt.max_retire = static_cast<int64_t>(rng() % 4); break;
      case 1: opt.max_moves = static_cast<int64_t>(rng() % 40); break;
      default:
        opt.max_retire = static_cast<int64_t>(1 + rng() % 5);
        opt.max_moves = static_cast<int64_t>(10 + rng() % 60);
    }
    // Protect one node with pods, as the controller protects young nodes.
    opt.keep_nodes.insert(snap["items"][0]["metadata"]["name"].get<std::string>());
    auto plan = Solve(snap, cat, opt);
    if (!plan.ok()) {
      // Only Pending pods beyond --max-moves may make it infeasible.
      EXPECT_TRUE(IsInfeasible(plan.status()) && HasPendingPods(snap) && opt.max_moves)
          << "seed " << seed << ": " << plan.status().ToString();
      continue;
    }
    json pj = PlanToJson(*plan);
    auto rep = validator::ValidatePlan(snap, cat, pj);
    EXPECT_TRUE(rep.ok()) << "seed " << seed << ":\n" << rep.Summary();
    if (opt.max_moves) { EXPECT_LE(pj["moves"].get<int64_t>(), *opt.max_moves) << "seed " << seed; }
    if (opt.max_retire) { EXPECT_LE(Retired(pj), *opt.max_retire) << "seed " << seed; }
    for (const auto& node : pj["nodes"])
      if (opt.keep_nodes.count(node["name"].get<std::string>())) { EXPECT_NE(node["action"], "retire"); }
    // Target present, consistent with the bounds.
    ASSERT_TRUE(pj.contains("target")) << "seed " << seed;
    double target = pj["target"]["costPerHourAfter"].get<double>();
    ASSERT_FALSE(pj["target"]["lowerBound"].is_null()) << "seed " << seed;
    double target_lb = pj["target"]["lowerBound"].get<double>();
    EXPECT_GE(target + 1e-9, target_lb) << "seed " << seed;
    EXPECT_LE(target, pj["costPerHourAfter"].get<double>() + 1e-9) << "seed " << seed;
    ASSERT_FALSE(pj["lowerBound"].is_null());
    EXPECT_GE(pj["lowerBound"].get<double>() + 1e-9, target_lb) << "seed " << seed << ": budgeted bound is weaker";
    EXPECT_LE(pj["lowerBound"].get<double>(), pj["costPerHourAfter"].get<double>() + 1e-9);
    if (!HasPendingPods(snap)) {
      EXPECT_LE(pj["costPerHourAfter"].get<double>(), pj["costPerHourBefore"].get<double>() + 1e-9)
          << "seed " << seed << ": the no-change plan is within every budget";
    }
    EXPECT_EQ(pj["budget"]["retired"].get<int64_t>(), Retired(pj));
  }
}

// The cluster after a plan has run: retired nodes gone, booted nodes there
// (labels, taints and allocatable as planning.md §2 describes a new node),
// every pod Running where the plan put it.
json ApplyPlan(const json& snap, const Catalog& cat, const json& plan, std::set<std::string>* booted) {
  std::set<std::string> retired;
  for (const auto& n : plan["nodes"])
    if (n["action"] == "retire") retired.insert(n["name"].get<std::string>());
  std::map<std::string, std::string> where;
  for (const auto& pl : plan["placements"]) where[pl["pod"].get<std::string>()] = pl["node"].get<std::string>();
  json items = json::array();
  for (auto it : snap["items"]) {
    if (it["kind"] == "Node" && retired.count(it["metadata"]["name"].get<std::string>())) continue;
    if (it["kind"] == "Pod") {
      std::string ns = it["metadata"].value("namespace", "default");
      auto w = where.find(ns + "/" + it["metadata"]["name"].get<std::string>());
      if (w != where.end()) {
        it["spec"]["nodeName"] = w->second;
        it["status"]["phase"] = "Running";
      } else if (it["spec"].contains("nodeName") && retired.count(it["spec"]["nodeName"].get<std::string>())) {
        continue;  // a DaemonSet pod of a retired node
      }
    }
    items.push_back(it);
  }
  booted->clear();
  for (const auto& n : plan["nodes"]) {
    if (n["action"] != "boot") continue;
    const MachineType* mt = cat.FindType(n["machineType"].get<std::string>());
    EXPECT_NE(mt, nullptr);
    if (!mt) continue;
    const bool spot = n["capacityType"] == "spot";
    json labels = json::object();
    for (const auto& [k, v] : mt->labels) labels[k] = v;
    labels["node.kubernetes.io/instance-type"] = mt->name;
    labels["topology.kubernetes.io/zone"] = n["zone"];
    labels["kubernetes.io/hostname"] = n["name"];
    labels["kinema.io/capacity-type"] = spot ? "spot" : "on-demand";
    json taints = json::array();
    for (const auto& t : mt->taints) taints.push_back({{"key", t.key}, {"value", t.value}, {"effect", t.effect}});
    if (spot) {
      labels["cloud.google.com/gke-spot"] = "true";
      for (const auto& [k, v] : cat.spot_labels) labels[k] = v;
      for (const auto& t : cat.spot_taints) taints.push_back({{"key", t.key}, {"value", t.value}, {"effect", t.effect}});
    }
    items.push_back({{"kind", "Node"},
                     {"metadata", {{"name", n["name"]}, {"labels", labels}}},
                     {"spec", {{"taints", taints}}},
                     {"status", {{"allocatable", {{"cpu", std::to_string(mt->allocatable.cpu_milli) + "m"},
                                                  {"memory", std::to_string(mt->allocatable.memory_bytes)},
                                                  {"pods", std::to_string(mt->allocatable.pods)}}}}}});
    booted->insert(n["name"].get<std::string>());
  }
  return {{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
}

// The controller's loop, offline: plan within the default budget (10% of
// the nodes, 100 moves), apply, re-plan; nodes booted by the last step are
// protected (decision.minNodeAge). Returns the cost after the last step and
// the first plan's target.
struct Convergence {
  double cost = -1, first_target = -1;
  int steps = 0;
  bool settled = false;  // a step found nothing left to do within the budget
};

Convergence RunSteps(json snap, const json& cat_json, const Catalog& cat, uint64_t seed, int max_steps) {
  Convergence c;
  std::set<std::string> booted;
  for (; c.steps < max_steps; ++c.steps) {
    auto parsed = ParseSnapshot(snap);
    EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
    if (!parsed.ok()) return c;
    PlanOptions opt;
    // Iteration-bounded, not time-bounded: every step searches as far on a
    // loaded machine or in the -O0 sanitizer build as on an idle one (with a
    // time limit, a step whose search found nothing in time returned the
    // no-change plan and "settled" early; 3 s per step still failed once in
    // about ten loaded sanitizer runs). The time limit is only a backstop.
    opt.time_limit_seconds = 60;
    opt.max_iterations = 400;
    opt.seed = seed;
    opt.max_retire = static_cast<int64_t>(std::ceil(0.1 * static_cast<double>(parsed->nodes.size())));
    opt.max_moves = 100;
    opt.keep_nodes = booted;
    auto plan = OptimizePlacement(*parsed, cat, opt);
    EXPECT_TRUE(plan.ok()) << "seed " << seed << " step " << c.steps << ": " << plan.status().ToString();
    if (!plan.ok()) return c;
    json pj = PlanToJson(*plan);
    auto rep = validator::ValidatePlan(snap, cat_json, pj);
    EXPECT_TRUE(rep.ok()) << "seed " << seed << " step " << c.steps << ":\n" << rep.Summary();
    EXPECT_LE(Retired(pj), *opt.max_retire);
    EXPECT_LE(plan->moves, *opt.max_moves);
    for (const auto& n : plan->nodes)
      if (booted.count(n.name)) {
        EXPECT_NE(n.action, NodeAction::kRetire) << "a node booted by the last step is protected";
      }
    if (c.first_target < 0) c.first_target = plan->target->cost_after;
    if (c.cost >= 0) {
      EXPECT_NEAR(plan->cost_before, c.cost, 1e-9) << "the cluster costs what the last plan said";
    }
    EXPECT_LT(plan->cost_after, plan->cost_before + 1e-9) << "a step never costs more";
    c.cost = plan->cost_after;
    if (plan->moves == 0 && Retired(pj) == 0) {
      c.settled = true;
      break;
    }
    snap = ApplyPlan(snap, cat, pj, &booted);
  }
  return c;
}

TEST(BudgetTest, BudgetedStepsConvergeToTheTargetOnAnOverProvisionedCluster) {
  json cat_json = bench::GenerateCatalog();
  auto cat = ParseCatalog(cat_json);
  ASSERT_TRUE(cat.ok());
  bench::ClusterSpec spec;
  spec.nodes = 30;
  spec.seed = 3;
  spec.fill = 0.35;
  spec.max_replicas = 20;
  Convergence c = RunSteps(bench::GenerateCluster(spec), cat_json, *cat, spec.seed, 12);
  EXPECT_TRUE(c.settled);
  EXPECT_LE(c.cost, c.first_target * 1.05) << c.steps << " steps";
  std::cout << c.steps << " steps to " << c.cost << " $/h, first target " << c.first_target << "\n";
}

TEST(BudgetTest, BudgetedStepsStayValidOnATightSpotHeavyCluster) {
  // Here the cheapest steps boot small spot nodes that later steps cannot
  // consolidate within 10% of the nodes at a time (linear spot prices): the
  // steps stay valid, within budget and never dearer, but may stop short of
  // the target (a documented limit of step-wise cheapest plans).
  json cat_json = bench::GenerateCatalog();
  auto cat = ParseCatalog(cat_json);
  ASSERT_TRUE(cat.ok());
  bench::ClusterSpec spec;
  spec.nodes = 30;
  spec.seed = 4;
  spec.fill = 0.35;
  spec.max_replicas = 20;
  Convergence c = RunSteps(bench::GenerateCluster(spec), cat_json, *cat, spec.seed, 6);
  std::cout << c.steps << " steps to " << c.cost << " $/h, first target " << c.first_target << "\n";
}

TEST(BudgetTest, ZeroBudgetGivesTheNoChangePlanNotInfeasible) {
  auto cat = bench::GenerateCatalog();
  bench::ClusterSpec spec;
  spec.nodes = 12;
  spec.seed = 7;
  spec.fill = 0.3;
  json snap = bench::GenerateCluster(spec);
  while (HasPendingPods(snap)) {
    ++spec.seed;
    snap = bench::GenerateCluster(spec);
  }
  PlanOptions opt;
  opt.time_limit_seconds = 0.3;
  opt.max_retire = 0;
  opt.max_moves = 0;
  auto plan = Solve(snap, cat, opt);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->moves, 0);
  EXPECT_NEAR(plan->cost_after, plan->cost_before, 1e-9);
  EXPECT_EQ(plan->status, PlanStatus::kOptimal);  // nothing else is within the budget
  for (const auto& n : plan->nodes) EXPECT_EQ(n.action, NodeAction::kKeep);
  ASSERT_TRUE(plan->target.has_value());
  EXPECT_LT(plan->target->cost_after, plan->cost_before);  // the way exists, this budget takes no step of it
  auto rep = validator::ValidatePlan(snap, cat, PlanToJson(*plan));
  EXPECT_TRUE(rep.ok()) << rep.Summary();
}

TEST(BudgetTest, EmptyNodesRetireWithoutMoves) {
  using testing_util::Node;
  using testing_util::Pod;
  json items = {Node("a", "small", "2", "8Gi"), Node("b", "small", "2", "8Gi"), Node("idle", "large", "4", "16Gi"),
                Pod("web-1", "a", "500m", "1Gi"), Pod("web-2", "b", "500m", "1Gi")};
  PlanOptions opt;
  opt.time_limit_seconds = 0.5;
  opt.max_moves = 0;
  auto plan = Solve(testing_util::List(items), testing_util::TwoTypeCatalog(), opt);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  std::map<std::string, NodeAction> action;
  for (const auto& n : plan->nodes) action[n.name] = n.action;
  EXPECT_EQ(action["idle"], NodeAction::kRetire);
  EXPECT_EQ(action["a"], NodeAction::kKeep);
  EXPECT_EQ(action["b"], NodeAction::kKeep);
  EXPECT_EQ(plan->moves, 0);
  EXPECT_NEAR(plan->cost_after, 2.0, 1e-9);
  EXPECT_EQ(plan->status, PlanStatus::kOptimal);
}

TEST(BudgetTest, RetireBudgetTakesTheBiggestSavingsFirst) {
  using testing_util::Node;
  using testing_util::Pod;
  // Three half-empty nodes; one retirement allowed: retire the dearest (large, $1.5).
  json items = {Node("s1", "small", "2", "8Gi"), Node("s2", "small", "2", "8Gi"), Node("l1", "large", "4", "16Gi"),
                Pod("a-1", "s1", "500m", "1Gi"), Pod("b-1", "s2", "500m", "1Gi"), Pod("c-1", "l1", "500m", "1Gi"),
                Pod("c-2", "l1", "500m", "1Gi")};
  PlanOptions opt;
  opt.time_limit_seconds = 0.5;
  opt.max_retire = 1;
  opt.no_spot = true;
  auto plan = Solve(testing_util::List(items), testing_util::TwoTypeCatalog(), opt);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  for (const auto& n : plan->nodes) {
    EXPECT_NE(n.action, NodeAction::kBoot) << n.name;
    EXPECT_EQ(n.action, n.name == "l1" ? NodeAction::kRetire : NodeAction::kKeep) << n.name;
  }
  EXPECT_NEAR(plan->cost_after, 2.0, 1e-9);
  EXPECT_EQ(plan->moves, 2);
  // With two moves only, the large node is still the best single step.
  opt.max_moves = 2;
  plan = Solve(testing_util::List(items), testing_util::TwoTypeCatalog(), opt);
  ASSERT_TRUE(plan.ok());
  EXPECT_NEAR(plan->cost_after, 2.0, 1e-9);
  // One move: only a small node can go ($1 saved for one pod moved).
  opt.max_moves = 1;
  plan = Solve(testing_util::List(items), testing_util::TwoTypeCatalog(), opt);
  ASSERT_TRUE(plan.ok());
  EXPECT_NEAR(plan->cost_after, 2.5, 1e-9);
  EXPECT_EQ(plan->moves, 1);
  ASSERT_TRUE(plan->target.has_value());
  EXPECT_NEAR(plan->target->cost_after, 1.0, 1e-9);  // all four pods (2 CPU) fit one small node
}

TEST(BudgetTest, ProtectedNodesAreKeptButTheirPodsMayMove) {
  using testing_util::Node;
  using testing_util::Pod;
  // "young" is protected and holds a pod that tolerates spot; "old" holds one
  // that does not. Cheapest: keep young for the on-demand pod, move the spot
  // tolerant pod off the protected node onto a spot node, retire old.
  json tol = {{"tolerations", {{{"key", "kinema.io/spot"}, {"operator", "Exists"}}}}};
  json items = {Node("young", "small", "2", "8Gi"), Node("old", "small", "2", "8Gi"),
                Pod("batch-1", "young", "2", "1Gi", tol), Pod("web-1", "old", "2", "1Gi")};
  PlanOptions opt;
  opt.time_limit_seconds = 0.5;
  opt.keep_nodes = {"young", "ghost"};
  auto plan = Solve(testing_util::List(items), testing_util::TwoTypeCatalog(), opt);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  std::map<std::string, NodeAction> action;
  for (const auto& n : plan->nodes) action[n.name] = n.action;
  EXPECT_EQ(action["young"], NodeAction::kKeep);
  EXPECT_EQ(action["old"], NodeAction::kRetire);
  EXPECT_NEAR(plan->cost_after, 1.3, 1e-9);
  std::map<std::string, std::string> where;
  for (const auto& pl : plan->placements) where[pl.pod] = pl.node;
  EXPECT_EQ(where["shop/web-1"], "young");
  EXPECT_NE(where["shop/batch-1"], "young") << "a pod on a protected node may move";
  EXPECT_EQ(plan->status, PlanStatus::kOptimal);
  ASSERT_TRUE(plan->budget.has_value());
  EXPECT_EQ(plan->budget->keep_nodes, 1);
  bool noted = false;
  for (const auto& n : plan->notes) noted = noted || n.find("ghost") != std::string::npos;
  EXPECT_TRUE(noted) << "an unknown protected node is reported";
  auto rep = validator::ValidatePlan(testing_util::List(items), testing_util::TwoTypeCatalog(), PlanToJson(*plan));
  EXPECT_TRUE(rep.ok()) << rep.Summary();
  // Protecting both leaves only the no-change plan.
  opt.keep_nodes = {"young", "old"};
  plan = Solve(testing_util::List(items), testing_util::TwoTypeCatalog(), opt);
  ASSERT_TRUE(plan.ok());
  EXPECT_NEAR(plan->cost_after, 2.0, 1e-9);
}

TEST(BudgetTest, PendingPodsBeyondMaxMovesAreInfeasibleAndNamed) {
  using testing_util::Node;
  using testing_util::Pod;
  json items = {Node("a", "small", "2", "8Gi"), Pod("web-1", "a", "500m", "1Gi"), Pod("new-1", "", "500m", "1Gi"),
                Pod("new-2", "", "500m", "1Gi")};
  PlanOptions opt;
  opt.time_limit_seconds = 0.3;
  opt.max_moves = 1;
  auto plan = Solve(testing_util::List(items), testing_util::TwoTypeCatalog(), opt);
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(IsInfeasible(plan.status()));
  EXPECT_NE(plan.status().message().find("--max-moves 1"), std::string::npos) << plan.status().message();
  EXPECT_NE(plan.status().message().find("shop/new-1"), std::string::npos) << plan.status().message();
  // Two moves place both, a retire budget of zero does not get in the way.
  opt.max_moves = 2;
  opt.max_retire = 0;
  plan = Solve(testing_util::List(items), testing_util::TwoTypeCatalog(), opt);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->moves, 2);
  EXPECT_EQ(plan->budget->forced_moves, 2);
}

TEST(BudgetTest, MinSavingsJudgesTheWholeWayNotTheStep) {
  using testing_util::Node;
  using testing_util::Pod;
  // One retirement saves 1/3.5 = 29% now; the whole way saves 71%.
  json items = {Node("s1", "small", "2", "8Gi"), Node("s2", "small", "2", "8Gi"), Node("l1", "large", "4", "16Gi"),
                Pod("a-1", "s1", "500m", "1Gi"), Pod("b-1", "s2", "500m", "1Gi"), Pod("c-1", "l1", "500m", "1Gi")};
  PlanOptions opt;
  opt.time_limit_seconds = 0.5;
  opt.no_spot = true;
  opt.max_retire = 1;
  opt.min_savings = 0.5;  // more than this step, less than the way
  auto plan = Solve(testing_util::List(items), testing_util::TwoTypeCatalog(), opt);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_FALSE(plan->no_change);
  EXPECT_NEAR(plan->cost_after, 2.0, 1e-9);
  opt.min_savings = 0.9;  // more than the whole way: no change
  plan = Solve(testing_util::List(items), testing_util::TwoTypeCatalog(), opt);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->no_change);
  EXPECT_EQ(plan->moves, 0);
  EXPECT_NEAR(plan->cost_after, 3.5, 1e-9);
  EXPECT_EQ(plan->status, PlanStatus::kFeasible);  // not the budgeted optimum
}

// 300 generated nodes at 30 % fill (seed 5, up to 40 replicas): every node's
// pods fit the others' slack. Built with `popt` (its budgets).
StatusOr<opt::Problem> OverProvisionedProblem(const PlanOptions& popt) {
  bench::ClusterSpec spec;
  spec.nodes = 300;
  spec.fill = 0.3;
  spec.seed = 5;
  spec.max_replicas = 40;
  auto snap = ParseSnapshot(bench::GenerateCluster(spec));
  auto cat = ParseCatalog(bench::GenerateCatalog());
  if (!snap.ok() || !cat.ok()) return Status::Internal("generated cluster or catalog does not parse");
  return opt::BuildProblem(*snap, *cat, popt);
}

TEST(BudgetTest, RetireGreedyFillsTheRetireBudgetWithTheDearestNodesOnAnOverProvisionedCluster) {
  // 300 nodes at 30 % fill, 30 retirements: the pods of the 30 dearest nodes
  // fit the others' slack, so the lazily ranked greedy reaches the knapsack
  // bound (cost before minus the 30 dearest prices) with no node booted.
  PlanOptions popt;
  popt.max_retire = 30;
  auto p = OverProvisionedProblem(popt);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  opt::Packer pk(*p, {}, 1);
  pk.SetBudgetMode(true);
  opt::Solution s;
  ASSERT_TRUE(pk.FromCurrent(&s, true));
  opt::BudgetLimits lim;
  lim.max_retire = 30;
  opt::BudgetSearch search(*p, &pk, lim, 1);
  const int retired = search.RetireGreedy(&s, {}, std::chrono::steady_clock::now() + std::chrono::seconds(60));
  EXPECT_EQ(retired, 30);
  EXPECT_TRUE(opt::WithinBudget(*p, s, lim));
  EXPECT_NEAR(s.Cost(*p), opt::BudgetKnapsackBound(*p, lim), 1e-6);
  std::vector<int64_t> placed(p->classes.size(), 0);
  for (const auto& b : s.bins) {
    EXPECT_FALSE(p->IsNew(b.kind)) << "no node booted";
    EXPECT_LE(b.used.cpu_milli, p->kinds[b.kind].free.cpu_milli);
    EXPECT_LE(b.used.memory_bytes, p->kinds[b.kind].free.memory_bytes);
    for (const auto& [d, n] : b.items) {
      EXPECT_TRUE(p->kinds[b.kind].compat[d]);
      placed[d] += n;
    }
  }
  for (size_t d = 0; d < p->classes.size(); ++d) EXPECT_EQ(placed[d], p->classes[d].n()) << "class " << d;
}

TEST(BudgetTest, RetireGreedyWithAMovesBudgetFillsItWithoutExceedingIt) {
  // The same cluster, 5 % of the pods may move and any number of nodes
  // retire: the greedy retires nodes until the moves run out, never past.
  auto p = OverProvisionedProblem(PlanOptions());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  int64_t pods = 0;
  for (const auto& c : p->classes) pods += c.n();
  opt::Packer pk(*p, {}, 1);
  pk.SetBudgetMode(true);
  opt::Solution s;
  ASSERT_TRUE(pk.FromCurrent(&s, true));
  const double before = s.Cost(*p);
  opt::BudgetLimits lim;
  lim.max_moves = pods / 20;
  opt::BudgetSearch search(*p, &pk, lim, 1);
  const int retired = search.RetireGreedy(&s, {}, std::chrono::steady_clock::now() + std::chrono::seconds(60));
  EXPECT_GT(retired, 0);
  EXPECT_TRUE(opt::WithinBudget(*p, s, lim)) << s.Moves(*p) << " moves of at most " << lim.max_moves;
  EXPECT_GT(s.Moves(*p), lim.max_moves * 9 / 10) << "the moves budget is nearly used";
  EXPECT_LT(s.Cost(*p), before);
  EXPECT_GE(s.Cost(*p), opt::BudgetKnapsackBound(*p, lim) - 1e-6);
}

TEST(BudgetTest, SameSeedSameIterationsSameBudgetedPlan) {
  auto cat = bench::GenerateCatalog();
  bench::ClusterSpec spec;
  spec.nodes = 20;
  spec.seed = 11;
  json snap = bench::GenerateCluster(spec);
  PlanOptions opt;
  opt.time_limit_seconds = 30;
  opt.max_iterations = 100;
  opt.max_retire = 3;
  opt.max_moves = 40;
  auto a = Solve(snap, cat, opt);
  auto b = Solve(snap, cat, opt);
  ASSERT_TRUE(a.ok() && b.ok());
  json ja = PlanToJson(*a), jb = PlanToJson(*b);
  for (const char* volatile_field : {"solveSeconds", "lowerBound", "gap", "notes"}) {
    ja.erase(volatile_field);
    jb.erase(volatile_field);
  }
  EXPECT_EQ(ja, jb);
}

// ---- JSON round trip.

TEST(PlanJsonTest, BudgetedPlanRoundTripsThroughJson) {
  using testing_util::Node;
  using testing_util::Pod;
  json items = {Node("s1", "small", "2", "8Gi"), Node("l1", "large", "4", "16Gi"), Pod("a-1", "s1", "500m", "1Gi"),
                Pod("c-1", "l1", "500m", "1Gi")};
  PlanOptions opt;
  opt.time_limit_seconds = 0.3;
  opt.max_retire = 1;
  opt.max_moves = 5;
  auto plan = Solve(testing_util::List(items), testing_util::TwoTypeCatalog(), opt);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  json j = PlanToJson(*plan);
  auto back = PlanFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(PlanToJson(*back), j);
  EXPECT_EQ(back->status, plan->status);
  ASSERT_EQ(back->nodes.size(), plan->nodes.size());
  for (size_t i = 0; i < plan->nodes.size(); ++i) {
    EXPECT_EQ(back->nodes[i].action, plan->nodes[i].action);
    EXPECT_EQ(back->nodes[i].capacity_type, plan->nodes[i].capacity_type);
  }
  ASSERT_TRUE(back->target && back->budget);
  EXPECT_EQ(back->target->cost_after, plan->target->cost_after);
  EXPECT_EQ(back->budget->max_retire, 1);
  EXPECT_EQ(back->budget->max_moves, 5);
  EXPECT_EQ(back->notes, plan->notes);
  // Unbudgeted plans have neither field, and read back without them.
  opt = PlanOptions();
  opt.time_limit_seconds = 0.3;
  plan = Solve(testing_util::List(items), testing_util::TwoTypeCatalog(), opt);
  ASSERT_TRUE(plan.ok());
  j = PlanToJson(*plan);
  EXPECT_FALSE(j.contains("target"));
  EXPECT_FALSE(j.contains("budget"));
  back = PlanFromJson(j);
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->target.has_value());
  EXPECT_EQ(PlanToJson(*back), j);
}

TEST(PlanJsonTest, MalformedPlanJsonNamesTheField) {
  json j = {{"status", "optimal"}, {"costPerHourBefore", 2.0}, {"costPerHourAfter", 1.0}, {"lowerBound", nullptr},
            {"solveSeconds", 0.1}, {"nodes", json::array()}, {"placements", json::array()}, {"moves", 0}};
  ASSERT_TRUE(PlanFromJson(j).ok());
  auto expect_error = [&](json bad, const std::string& field) {
    auto r = PlanFromJson(bad);
    ASSERT_FALSE(r.ok()) << field;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status().message();
  };
  json bad = j;
  bad["status"] = "great";
  expect_error(bad, "plan.status");
  bad = j;
  bad["nodes"] = {{{"name", "a"}, {"machineType", "t"}, {"zone", "z"}, {"capacityType", "spot"}, {"pricePerHour", 1},
                   {"action", "explode"}}};
  expect_error(bad, "plan.nodes[0].action");
  bad = j;
  bad.erase("moves");
  expect_error(bad, "plan.moves");
  bad = j;
  bad["target"] = {{"costPerHourAfter", "cheap"}};
  expect_error(bad, "plan.target.costPerHourAfter");
  bad = j;
  bad["budget"] = {{"maxRetire", 1.5}, {"retired", 0}, {"moves", 0}};
  expect_error(bad, "plan.budget.maxRetire");
  bad = j;
  bad["placements"] = {{{"pod", 3}, {"node", "a"}}};
  expect_error(bad, "plan.placements[0].pod");
  EXPECT_FALSE(PlanFromJson(json::array()).ok());
}

}  // namespace
}  // namespace kinema
