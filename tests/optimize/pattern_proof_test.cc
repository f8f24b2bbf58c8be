// The pattern proof (steps/optimize/pattern_proof.h): its proven optima agree
// with brute force on micro-clusters (existing, pinned and new nodes), its
// bounds never exceed the optimum, its plans pass the independent validator,
// and a plan says "optimal" only when its bound equals its cost.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <limits>
#include <optional>
#include <random>

#include "steps/optimize/aggregate_prices.h"
#include "steps/optimize/fluid_lp.h"
#include "steps/optimize/column_generation.h"
#include "steps/optimize/lagrangian_bound.h"
#include "steps/optimize/pattern_master.h"
#include "steps/optimize/pattern_proof.h"
#include "steps/optimize/proof_dive.h"
#include "steps/optimize/pricing_mip.h"
#include "steps/optimize/plan.h"
#include "steps/optimize/problem.h"
#include "steps/optimize/snapshot.h"
#include "steps/optimize/solution.h"
#include "tests/optimize/independent_validator.h"
#include "tests/optimize/solution_invariants.h"
#include "tests/optimize/test_cluster.h"
#include "tools/bench/plan_bench/cluster_generator.h"

namespace kinema {
namespace {

using json = nlohmann::json;
using testing_util::List;
using testing_util::Node;
using testing_util::Pod;
using testing_util::ExpectValidSolution;
using testing_util::TwoTypeCatalog;

struct MicroPod {
  int64_t cpu, mem;  // milli, MiB
  int node;          // existing node index or -1 (Pending)
  bool pinned_node;  // its node is pinned (kinema.io/do-not-disrupt)
};

struct Micro {
  json snapshot;
  std::vector<std::pair<int64_t, int64_t>> node_cap;  // existing nodes: cpu milli, MiB
  std::vector<double> node_price;
  std::vector<uint8_t> node_pinned;
  std::vector<MicroPod> pods;
};

// Existing nodes of the two catalog types ("small" $1: 2 CPU / 8Gi, "large"
// $1.5: 4 CPU / 16Gi), one maybe pinned, and up to 9 pods, no spot tolerance
// (new nodes are on-demand small or large).
Micro MakeMicro(uint64_t seed) {
  std::mt19937_64 rng(seed);
  Micro m;
  json items = json::array();
  int nodes = 1 + static_cast<int>(rng() % 3);
  for (int j = 0; j < nodes; ++j) {
    bool large = rng() % 2;
    bool pinned = j == 0 && rng() % 3 == 0;
    json n = Node("n" + std::to_string(j), large ? "large" : "small", large ? "4" : "2", large ? "16Gi" : "8Gi");
    if (pinned) n["metadata"]["annotations"] = {{"kinema.io/do-not-disrupt", "true"}};
    items.push_back(n);
    m.node_cap.push_back({large ? 4000 : 2000, large ? 16384 : 8192});
    m.node_price.push_back(large ? 1.5 : 1.0);
    m.node_pinned.push_back(pinned);
  }
  int npods = 3 + static_cast<int>(rng() % 7);
  for (int i = 0; i < npods; ++i) {
    int64_t cpu = 250 * (1 + static_cast<int64_t>(rng() % 6));
    int64_t mem = 1024 * (1 + static_cast<int64_t>(rng() % 5));
    int node = static_cast<int>(rng() % (nodes + 1)) - 1;
    // Keep the current placement valid: only put a pod where it fits now.
    if (node >= 0) {
      int64_t ucpu = 0, umem = 0;
      for (const auto& p : m.pods)
        if (p.node == node) {
          ucpu += p.cpu;
          umem += p.mem;
        }
      if (ucpu + cpu > m.node_cap[node].first || umem + mem > m.node_cap[node].second) node = -1;
    }
    m.pods.push_back({cpu, mem, node, node >= 0 && m.node_pinned[node]});
    items.push_back(Pod("app" + std::to_string(i % 3) + "-" + std::to_string(i), node >= 0 ? "n" + std::to_string(node) : "",
                        std::to_string(cpu) + "m", std::to_string(mem) + "Mi"));
  }
  m.snapshot = List(items);
  return m;
}

// Exhaustive: pods on a pinned node stay; every other pod goes to an existing
// node or a new small/large node; a node costs its price when it is pinned
// or hosts a pod. Shares no code with the optimizer.
double BruteForce(const Micro& m) {
  struct Open { int64_t cpu, mem; int pods; double price; bool counted; };
  std::vector<Open> bins;
  double base = 0;
  for (size_t j = 0; j < m.node_cap.size(); ++j) {
    bins.push_back({m.node_cap[j].first, m.node_cap[j].second, 110, m.node_price[j], bool(m.node_pinned[j])});
    if (m.node_pinned[j]) base += m.node_price[j];
  }
  std::vector<int> order;
  for (size_t i = 0; i < m.pods.size(); ++i) {
    if (m.pods[i].pinned_node) {
      Open& b = bins[m.pods[i].node];
      b.cpu -= m.pods[i].cpu;
      b.mem -= m.pods[i].mem;
      b.pods -= 1;
    } else {
      order.push_back(static_cast<int>(i));
    }
  }
  const int64_t types[2][2] = {{2000, 8192}, {4000, 16384}};
  const double prices[2] = {1.0, 1.5};
  double best = 1e18;
  std::function<void(size_t, double)> dfs = [&](size_t k, double cost) {
    if (cost >= best - 1e-12) return;
    if (k == order.size()) {
      best = cost;
      return;
    }
    const MicroPod& p = m.pods[order[k]];
    for (size_t b = 0; b < bins.size(); ++b) {
      if (bins[b].cpu < p.cpu || bins[b].mem < p.mem || bins[b].pods < 1) continue;
      bool was = bins[b].counted;
      bins[b].cpu -= p.cpu;
      bins[b].mem -= p.mem;
      bins[b].pods -= 1;
      bins[b].counted = true;
      dfs(k + 1, cost + (was ? 0 : bins[b].price));
      bins[b].counted = was;
      bins[b].cpu += p.cpu;
      bins[b].mem += p.mem;
      bins[b].pods += 1;
    }
    for (int t = 0; t < 2; ++t) {
      if (types[t][0] < p.cpu || types[t][1] < p.mem) continue;
      bins.push_back({types[t][0] - p.cpu, types[t][1] - p.mem, 109, prices[t], true});
      dfs(k + 1, cost + prices[t]);
      bins.pop_back();
    }
  };
  dfs(0, base);
  return best;
}

PlanOptions NoSpot() {
  PlanOptions o;
  o.no_spot = true;
  o.time_limit_seconds = 5;
  return o;
}

// One micro-cluster as the optimizer's Problem, with its brute-force optimum
// and a deliberately poor incumbent (the greedy without prices). `problem` is
// empty, with a test failure recorded, when the cluster does not build.
struct MicroProblem {
  std::optional<opt::Problem> problem;
  double optimum = 0;
  opt::Solution start;
};

MicroProblem LoadMicro(uint64_t seed) {
  MicroProblem mp;
  Micro m = MakeMicro(seed);
  auto snap = ParseSnapshot(m.snapshot);
  auto cat = ParseCatalog(TwoTypeCatalog());
  if (!snap.ok() || !cat.ok()) {
    ADD_FAILURE() << "seed " << seed << ": micro-cluster or catalog does not parse";
    return mp;
  }
  auto problem = opt::BuildProblem(*snap, *cat, NoSpot());
  if (!problem.ok()) {
    ADD_FAILURE() << "seed " << seed << ": " << problem.status().ToString();
    return mp;
  }
  opt::Packer pk(*problem, {}, seed);
  if (!pk.Greedy(&mp.start)) {
    ADD_FAILURE() << "seed " << seed << ": the greedy finds no plan";
    return mp;
  }
  mp.problem = std::move(*problem);
  mp.optimum = BruteForce(m);
  return mp;
}

TEST(PatternProofTest, ProvenOptimaMatchBruteForceOnMicroClusters) {
  int proven = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    MicroProblem mp = LoadMicro(seed);
    ASSERT_TRUE(mp.problem.has_value());
    const opt::Problem* problem = &*mp.problem;
    const double optimum = mp.optimum;
    const opt::Solution& start = mp.start;
    auto r = opt::ProvePatternOptimum(*problem, start, std::chrono::steady_clock::now() + std::chrono::seconds(20));
    if (r.lower_bound) { EXPECT_LE(*r.lower_bound, optimum + 1e-9) << "seed " << seed; }
    if (!r.proven) continue;
    ++proven;
    const opt::Solution& best = r.has_solution ? r.solution : start;
    EXPECT_NEAR(best.Cost(*problem), optimum, 1e-9) << "seed " << seed;
    ASSERT_TRUE(r.lower_bound.has_value());
    EXPECT_DOUBLE_EQ(*r.lower_bound, best.Cost(*problem)) << "seed " << seed;
  }
  EXPECT_GE(proven, 36) << "the proof should complete on nearly every micro-cluster";
}

// Branch and price closes what the root LP leaves: on micro-clusters whose
// master LP bound is below the optimum (fractional node counts), the tree
// still proves the brute-force optimum.
TEST(PatternProofTest, BranchingProvesOptimaTheRootLpBoundCannot) {
  int gaps = 0, gaps_proven = 0;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    MicroProblem mp = LoadMicro(seed);
    ASSERT_TRUE(mp.problem.has_value());
    const opt::Problem* problem = &*mp.problem;
    const double optimum = mp.optimum;
    const opt::Solution& start = mp.start;
    auto r = opt::ProvePatternOptimum(*problem, start, std::chrono::steady_clock::now() + std::chrono::seconds(20));
    if (!r.root_bound || *r.root_bound > optimum * (1 - 1e-6)) continue;  // the root LP alone suffices
    ++gaps;
    EXPECT_GT(r.nodes, 1) << "seed " << seed;
    if (!r.proven) continue;
    ++gaps_proven;
    const opt::Solution& best = r.has_solution ? r.solution : start;
    EXPECT_NEAR(best.Cost(*problem), optimum, 1e-9) << "seed " << seed;
  }
  EXPECT_GE(gaps, 3) << "the micro-clusters should include integrality gaps";
  EXPECT_EQ(gaps_proven, gaps) << "branching should prove every micro-cluster the root LP does not";
}

// A tree cut short (node limit) still reports a valid bound: never above the
// brute-force optimum, whatever the cut.
TEST(PatternProofTest, ATreeCutShortStillBoundsTheOptimum) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    MicroProblem mp = LoadMicro(seed);
    ASSERT_TRUE(mp.problem.has_value());
    const opt::Problem* problem = &*mp.problem;
    const double optimum = mp.optimum;
    const opt::Solution& start = mp.start;
    for (int nodes : {1, 2, 3, 5, 8}) {
      auto r = opt::ProvePatternOptimum(*problem, start, std::chrono::steady_clock::now() + std::chrono::seconds(20),
                                        6000, nodes);
      EXPECT_LE(r.nodes, nodes) << "seed " << seed;
      if (r.lower_bound) { EXPECT_LE(*r.lower_bound, optimum * (1 + 1e-6)) << "seed " << seed << " nodes " << nodes; }
      if (r.proven) {
        const opt::Solution& best = r.has_solution ? r.solution : start;
        EXPECT_NEAR(best.Cost(*problem), optimum, 1e-9) << "seed " << seed << " nodes " << nodes;
      }
    }
  }
}

// The optimizer's Problem (default options, the generated catalog) of a
// generated cluster; empty, with a test failure recorded, when it does not
// build.
std::optional<opt::Problem> GeneratedProblem(const bench::ClusterSpec& spec) {
  auto snap = ParseSnapshot(bench::GenerateCluster(spec));
  auto cat = ParseCatalog(bench::GenerateCatalog());
  if (!snap.ok() || !cat.ok()) {
    ADD_FAILURE() << "seed " << spec.seed << ": generated cluster or catalog does not parse";
    return std::nullopt;
  }
  auto problem = opt::BuildProblem(*snap, *cat, PlanOptions());
  if (!problem.ok()) {
    ADD_FAILURE() << "seed " << spec.seed << ": " << problem.status().ToString();
    return std::nullopt;
  }
  return std::move(*problem);
}

// A generated cluster (seed 1, `nodes` nodes) with the greedy plan the proof
// and dive tests start from; empty, with a test failure recorded, when the
// cluster does not build or the greedy places nothing.
struct GreedyStart {
  opt::Problem problem;
  opt::Solution start;
};
std::optional<GreedyStart> GeneratedWithGreedyStart(int nodes) {
  bench::ClusterSpec spec;
  spec.nodes = nodes;
  spec.seed = 1;
  auto problem = GeneratedProblem(spec);
  if (!problem) return std::nullopt;
  GreedyStart g{std::move(*problem), {}};
  opt::Packer pk(g.problem, {}, 1);
  if (!pk.Greedy(&g.start)) {
    ADD_FAILURE() << nodes << " nodes: the greedy found no plan";
    return std::nullopt;
  }
  return g;
}

// The lp_solve pricing (the fallback of exact pricing) and the depth-first
// pricing agree on the best column of every kind of generated clusters
// (selectors, anti-affinity conflicts, per-node caps, three resources) under
// random duals, and with a floor both say when nothing is worth more.
TEST(PatternProofTest, MipPricingAgreesWithTheDepthFirstSearch) {
  int compared = 0, floored = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    bench::ClusterSpec spec;
    spec.nodes = 4 + static_cast<int>(seed % 4);
    spec.seed = seed;
    spec.max_replicas = 10;
    auto problem = GeneratedProblem(spec);
    ASSERT_TRUE(problem.has_value());
    std::mt19937_64 rng(seed);
    std::vector<double> pi(problem->classes.size());
    for (auto& v : pi) v = static_cast<double>(rng() % 1000) / 10000.0;
    const auto far = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (size_t k = 0; k < problem->kinds.size(); k += 3) {
      auto dfs = opt::PriceKind(*problem, static_cast<int>(k), pi, nullptr, 0, int64_t{1} << 40);
      ASSERT_TRUE(dfs.exact);
      auto mip = opt::PriceKindByMip(*problem, static_cast<int>(k), pi, 0, far);
      ASSERT_TRUE(mip.exact) << "seed " << seed << " kind " << k;
      EXPECT_NEAR(mip.value, dfs.value, 1e-6) << "seed " << seed << " kind " << k;
      ++compared;
      // A floor at the optimum: nothing is worth more, both exact.
      auto above = opt::PriceKindByMip(*problem, static_cast<int>(k), pi, dfs.value + 1e-6, far);
      EXPECT_TRUE(above.exact);
      EXPECT_TRUE(above.items.empty()) << "seed " << seed << " kind " << k;
      auto dfs_above = opt::PriceKind(*problem, static_cast<int>(k), pi, nullptr, 0, int64_t{1} << 40, dfs.value + 1e-6);
      EXPECT_TRUE(dfs_above.exact);
      EXPECT_TRUE(dfs_above.items.empty());
      if (dfs.value > 0) ++floored;
    }
  }
  EXPECT_GT(compared, 20);
  EXPECT_GT(floored, 10);
}

// The large-instance bound (aggregate prices + Lagrangian bound with forced
// nodes aggregated) never exceeds the brute-force optimum, and with the fluid
// LP's own duals the Lagrangian bound never exceeds it either.
TEST(PatternProofTest, AggregatePricesAndLagrangianBoundsStayBelowTheOptimum) {
  int positive = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    MicroProblem mp = LoadMicro(seed);
    ASSERT_TRUE(mp.problem.has_value());
    const opt::Problem* problem = &*mp.problem;
    const double optimum = mp.optimum;
    opt::AggregatePrices ap = opt::SolveAggregatePrices(*problem, 5);
    ASSERT_TRUE(ap.ok) << "seed " << seed << ": " << ap.message;
    double lb = opt::LagrangianBound(*problem, ap.pi);
    EXPECT_LE(lb, optimum + 1e-9) << "seed " << seed;
    positive += lb > 0;
    opt::FluidResult fl = opt::SolveFluidLp(*problem, 5);
    ASSERT_TRUE(fl.ok) << "seed " << seed;
    EXPECT_LE(opt::LagrangianBound(*problem, fl.duals), optimum + 1e-9) << "seed " << seed;
    EXPECT_LE(fl.lower_bound, optimum + 1e-9) << "seed " << seed;
  }
  EXPECT_GE(positive, 30) << "aggregate prices should give a useful bound on most micro-clusters";
}

// Random prices (zeros, small and very large entries, so theta < 1 happens):
// the Lagrangian bound (lagrangian_bound.h) is valid for ANY prices, so it
// never exceeds the brute-force optimum.
TEST(PatternProofTest, LagrangianBoundStaysBelowTheOptimumAtRandomPrices) {
  int theta_below_one = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    MicroProblem mp = LoadMicro(seed);
    ASSERT_TRUE(mp.problem.has_value());
    const opt::Problem* problem = &*mp.problem;
    const double optimum = mp.optimum;
    opt::LagrangianOracle oracle(*problem);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    for (int trial = 0; trial < 30; ++trial) {
      const double scale = trial < 10 ? 0.3 : trial < 20 ? 1.5 : 20.0;
      std::vector<double> pi(problem->classes.size());
      for (double& v : pi) v = u(rng) < 0.2 ? 0.0 : scale * u(rng);
      double theta = 1;
      const double lb = oracle.Evaluate(pi, &theta);
      EXPECT_LE(lb, optimum + 1e-9) << "seed " << seed << " trial " << trial;
      EXPECT_NEAR(opt::LagrangianBound(*problem, pi), lb, 1e-12) << "seed " << seed;
      theta_below_one += theta < 1;
    }
  }
  EXPECT_GT(theta_below_one, 100) << "large prices should exercise Farley's scaling";
}

// Cpu-heavy and memory-heavy pods (each fits both types) with a cpu-heavy
// and a memory-heavy machine type: the fluid LP mixes both types, so its duals price cpu and
// memory both, and one node's cpu and memory both bind -- where the
// single-row knapsacks overvalue it (theta < 1). At the fluid LP's own
// duals the bound (with the surrogate rows) reaches the fluid LP's value,
// and it stays below the pipeline's plan.
TEST(PatternProofTest, LagrangianBoundAtTheFluidDualsReachesTheFluidLp) {
  auto cat = ParseCatalog(json::parse(R"({
    "machineTypes": [
      {"name": "hicpu", "zones": ["z1"], "allocatable": {"cpu": "4", "memory": "8Gi", "pods": 110},
       "pricePerHour": {"onDemand": 1.0, "spot": 0.3}},
      {"name": "himem", "zones": ["z1"], "allocatable": {"cpu": "2", "memory": "16Gi", "pods": 110},
       "pricePerHour": {"onDemand": 1.0, "spot": 0.3}}],
    "spot": {"labels": {"kinema.io/capacity-type": "spot"},
             "taints": [{"key": "kinema.io/spot", "value": "true", "effect": "NoSchedule"}]}})"));
  ASSERT_TRUE(cat.ok()) << cat.status().ToString();
  int surrogate_needed = 0;
  for (int variant = 0; variant < 5; ++variant) {
    json items = json::array();
    items.push_back(Node("n0", "hicpu", "4", "8Gi"));
    for (int i = 0; i < 10 + 2 * variant; ++i) items.push_back(Pod("cpu-" + std::to_string(i), "", "1000m", "1Gi"));
    for (int i = 0; i < 14 - variant; ++i) items.push_back(Pod("mem-" + std::to_string(i), "", "250m", "4Gi"));
    auto snap = ParseSnapshot(List(items));
    ASSERT_TRUE(snap.ok());
    auto problem = opt::BuildProblem(*snap, *cat, NoSpot());
    ASSERT_TRUE(problem.ok());
    opt::FluidResult fl = opt::SolveFluidLp(*problem, 5);
    ASSERT_TRUE(fl.ok && !fl.lagrangian) << "variant " << variant;
    double theta = 1;
    opt::LagrangianOracle oracle(*problem);
    const double lb = oracle.Evaluate(fl.duals, &theta);
    EXPECT_GE(lb, fl.lower_bound * (1 - 1e-3)) << "variant " << variant;
    EXPECT_GT(theta, 0.99) << "variant " << variant;
    auto plan = OptimizePlacement(*snap, *cat, NoSpot());
    ASSERT_TRUE(plan.ok());
    EXPECT_LE(lb, plan->cost_after + 1e-9) << "variant " << variant;
    // Both duals positive: the single rows alone would need theta < 1.
    surrogate_needed += fl.duals[0] > 0 && fl.duals[1] > 0;
  }
  EXPECT_GE(surrogate_needed, 3);
}

// On generated clusters (pools, zones, spot, selectors, anti-affinity,
// immovable pods) the bound never exceeds a plan's cost: at the aggregate
// prices, at the fluid LP's duals and at random prices, against the greedy
// plan and the pipeline's plan.
TEST(PatternProofTest, LagrangianBoundNeverExceedsAPlanOnGeneratedClusters) {
  auto cat_json = bench::GenerateCatalog();
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    bench::ClusterSpec spec;
    spec.nodes = 15 + 10 * static_cast<int>(seed);
    spec.seed = seed;
    spec.fill = 0.3 + 0.05 * static_cast<double>(seed);
    auto snap = ParseSnapshot(bench::GenerateCluster(spec));
    auto cat = ParseCatalog(cat_json);
    ASSERT_TRUE(snap.ok() && cat.ok());
    PlanOptions o;
    o.time_limit_seconds = 2;
    o.seed = seed;
    auto problem = opt::BuildProblem(*snap, *cat, o);
    ASSERT_TRUE(problem.ok()) << problem.status().ToString();
    opt::Packer pk(*problem, {}, seed);
    opt::Solution greedy;
    ASSERT_TRUE(pk.Greedy(&greedy));
    auto plan = OptimizePlacement(*snap, *cat, o);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    const double cost = std::min(greedy.Cost(*problem), plan->cost_after);
    std::vector<std::vector<double>> prices;
    opt::AggregatePrices ap = opt::SolveAggregatePrices(*problem, 5);
    if (ap.ok) prices.push_back(ap.pi);
    opt::FluidResult fl = opt::SolveFluidLp(*problem, 5);
    if (fl.ok) prices.push_back(fl.duals);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 0.05);
    for (int t = 0; t < 10; ++t) {
      std::vector<double> pi(problem->classes.size());
      for (double& v : pi) v = u(rng) * (t + 1);
      prices.push_back(pi);
    }
    opt::LagrangianOracle oracle(*problem);
    for (size_t i = 0; i < prices.size(); ++i)
      EXPECT_LE(oracle.Evaluate(prices[i]), cost + 1e-9) << "seed " << seed << " prices " << i;
  }
}

// The large-plan LNS (cut-out neighbourhoods) never breaks a plan and never
// makes it more expensive; run here on mid-sized clusters, many steps.
TEST(PatternProofTest, LocalLnsKeepsPlansValidAndNeverCostsMore) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    bench::ClusterSpec spec;
    spec.nodes = 40 + 10 * static_cast<int>(seed);
    spec.seed = seed;
    auto problem = GeneratedProblem(spec);
    ASSERT_TRUE(problem.has_value());
    opt::Packer pk(*problem, {}, seed);
    opt::Solution s;
    ASSERT_TRUE(pk.FromCurrent(&s, false));
    ExpectValidSolution(*problem, s, "seed " + std::to_string(seed) + " start");
    double cost = s.Cost(*problem);
    int improved = 0;
    for (int i = 0; i < 400; ++i) {
      improved += pk.LnsStepLocal(&s, 10);
      ASSERT_LE(s.Cost(*problem), cost + 1e-9) << "seed " << seed << " step " << i;
      cost = s.Cost(*problem);
    }
    ExpectValidSolution(*problem, s, "seed " + std::to_string(seed) + " after LNS");
    EXPECT_GT(improved, 0) << "seed " << seed << ": the current placement of an over-provisioned cluster improves";
  }
}

TEST(PatternProofTest, PipelinePlansOnMicroClustersAreValidAndOptimal) {
  for (uint64_t seed = 1; seed <= 25; ++seed) {
    Micro m = MakeMicro(seed);
    auto snap = ParseSnapshot(m.snapshot);
    auto cat = ParseCatalog(TwoTypeCatalog());
    ASSERT_TRUE(snap.ok() && cat.ok());
    auto plan = OptimizePlacement(*snap, *cat, NoSpot());
    ASSERT_TRUE(plan.ok()) << "seed " << seed << ": " << plan.status().ToString();
    json pj = PlanToJson(*plan);
    auto rep = validator::ValidatePlan(m.snapshot, TwoTypeCatalog(), pj);
    EXPECT_TRUE(rep.ok()) << "seed " << seed << ":\n" << rep.Summary();
    EXPECT_NEAR(plan->cost_after, BruteForce(m), 1e-9) << "seed " << seed;
  }
}

// Through the whole pipeline on generated small clusters (the pattern proof
// runs on them): every plan valid, every bound at most the cost, and
// "optimal" exactly when the bound equals the cost.
TEST(PatternProofTest, OptimalIsReportedOnlyWhenTheBoundEqualsTheCost) {
  auto cat = bench::GenerateCatalog();
  int optimal = 0, feasible = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    bench::ClusterSpec spec;
    spec.nodes = 3 + static_cast<int>(seed % 6);
    spec.seed = seed;
    spec.max_replicas = 12;
    auto snap_json = bench::GenerateCluster(spec);
    auto snap = ParseSnapshot(snap_json);
    auto c = ParseCatalog(cat);
    ASSERT_TRUE(snap.ok() && c.ok());
    PlanOptions opt;
    opt.time_limit_seconds = 1.5;
    opt.seed = seed;
    auto plan = OptimizePlacement(*snap, *c, opt);
    ASSERT_TRUE(plan.ok()) << "seed " << seed << ": " << plan.status().ToString();
    json pj = PlanToJson(*plan);
    auto rep = validator::ValidatePlan(snap_json, cat, pj);
    EXPECT_TRUE(rep.ok()) << "seed " << seed << ":\n" << rep.Summary();
    ASSERT_TRUE(plan->lower_bound.has_value()) << "seed " << seed;
    EXPECT_LE(*plan->lower_bound, plan->cost_after) << "seed " << seed;
    if (plan->status == PlanStatus::kOptimal) {
      EXPECT_DOUBLE_EQ(pj["lowerBound"].get<double>(), pj["costPerHourAfter"].get<double>()) << "seed " << seed;
      ++optimal;
    } else {
      EXPECT_EQ(plan->status, PlanStatus::kFeasible) << "seed " << seed;
      EXPECT_LT(*plan->lower_bound, plan->cost_after) << "seed " << seed;
      ++feasible;
    }
  }
  std::cout << "generated small clusters: " << optimal << " optimal, " << feasible << " feasible\n";
}

// A plan whose bound is below its cost is never called optimal: with the
// search cut to one LNS iteration and no proof, the status stays feasible.
TEST(PatternProofTest, AWeakBoundNeverYieldsOptimal) {
  // Three 1.5-CPU pods: two small nodes ($2) are optimal, but the fluid LP
  // bound is 4.5/4 * $1.5 = $1.69 and nothing closes the gap in one iteration.
  json items = json::array();
  for (int i = 0; i < 3; ++i) items.push_back(Pod("web-" + std::to_string(i), "", "1500m", "1Gi"));
  auto snap = ParseSnapshot(List(items));
  auto cat = ParseCatalog(TwoTypeCatalog());
  ASSERT_TRUE(snap.ok() && cat.ok());
  PlanOptions o = NoSpot();
  o.max_iterations = 1;  // no pattern proof, no exact search beyond its tiny-instance rule
  auto plan = OptimizePlacement(*snap, *cat, o);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(plan->lower_bound.has_value());
  if (*plan->lower_bound < plan->cost_after) {
    EXPECT_EQ(plan->status, PlanStatus::kFeasible);
  } else {
    EXPECT_EQ(plan->status, PlanStatus::kOptimal);
    EXPECT_DOUBLE_EQ(*plan->lower_bound, plan->cost_after);
  }
}

// With the reduced-cost enumeration cut to one column (it always
// overflows), integral-count nodes are branched on flows (a class's total on
// a unit's nodes): on micro-clusters the bounds stay below the brute-force
// optimum and every proof agrees with it; on generated clusters flow
// branching runs, its plans are valid, and a proof agrees with the one the
// full enumeration gives.
TEST(PatternProofTest, FlowBranchingKeepsProofsExact) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    MicroProblem mp = LoadMicro(seed);
    ASSERT_TRUE(mp.problem.has_value());
    const opt::Problem& p = *mp.problem;
    auto r = opt::ProvePatternOptimum(p, mp.start, std::chrono::steady_clock::now() + std::chrono::seconds(20),
                                      /*max_columns=*/1);
    const std::string ctx = "seed " + std::to_string(seed);
    if (r.lower_bound) { EXPECT_LE(*r.lower_bound, mp.optimum * (1 + 1e-6)) << ctx; }
    const opt::Solution& best = r.has_solution ? r.solution : mp.start;
    EXPECT_GE(best.Cost(p), mp.optimum - 1e-9) << ctx;
    if (r.proven) { EXPECT_NEAR(best.Cost(p), mp.optimum, 1e-9) << ctx; }
  }
  int flow_trees = 0;
  for (int nodes : {15, 25}) {
    auto g = GeneratedWithGreedyStart(nodes);
    ASSERT_TRUE(g.has_value());
    const opt::Problem& p = g->problem;
    const opt::Solution& start = g->start;
    const auto deadline = [] { return std::chrono::steady_clock::now() + std::chrono::seconds(20); };
    auto full = opt::ProvePatternOptimum(p, start, deadline());
    auto cut = opt::ProvePatternOptimum(p, start, deadline(), /*max_columns=*/1);
    const std::string ctx = std::to_string(nodes) + " nodes";
    flow_trees += cut.flow_branches > 0;
    std::cout << ctx << ": " << cut.flow_branches << " flow branches, proven " << cut.proven << " (full enumeration: "
              << full.proven << ")\n";
    const opt::Solution& best = cut.has_solution ? cut.solution : start;
    ExpectValidSolution(p, best, ctx);
    if (cut.lower_bound) { EXPECT_LE(*cut.lower_bound, best.Cost(p) + 1e-9) << ctx; }
    const opt::Solution& full_best = full.has_solution ? full.solution : start;
    if (full.proven && cut.lower_bound) { EXPECT_LE(*cut.lower_bound, full_best.Cost(p) * (1 + 1e-6)) << ctx; }
    if (full.proven && cut.proven) { EXPECT_NEAR(best.Cost(p), full_best.Cost(p), 1e-6) << ctx; }
  }
  EXPECT_GE(flow_trees, 1) << "the cut enumeration should force flow branching on a generated cluster";
}

// The root of a branch-and-price tree: the pattern master, its pool seeded
// with `start`, converged with exact pricing. False when it does not converge.
bool ConvergedRoot(const opt::Problem& p, const opt::Solution& start, opt::PatternMaster* m, opt::ColumnPool* pool,
                   double* bound) {
  *m = opt::MakePatternMaster(p);
  opt::SeedPool(p, *m, start, pool);
  int iterations = 0;
  opt::NodeLp lp = opt::ConvergeNode(p, std::vector<opt::CountRange>(m->units.size()),
                                     std::chrono::steady_clock::now() + std::chrono::seconds(20), m, pool, &iterations);
  *bound = lp.objective;
  return lp.converged;
}

// Price-and-dive from the root: its plans are valid, never cheaper than the
// brute-force optimum (nor than the root's LP bound), and it finds a plan on
// nearly every micro-cluster.
TEST(PatternProofTest, DivePlansAreValidAndNeverBelowTheOptimum) {
  int plans = 0, optimal = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    MicroProblem mp = LoadMicro(seed);
    ASSERT_TRUE(mp.problem.has_value());
    const opt::Problem& p = *mp.problem;
    opt::PatternMaster m;
    opt::ColumnPool pool;
    double root = 0;
    if (!ConvergedRoot(p, mp.start, &m, &pool, &root)) continue;
    const size_t pool_before = pool.cols.size();
    auto d = opt::DiveForPlan(p, m, std::vector<opt::CountRange>(m.units.size()),
                              std::numeric_limits<double>::infinity(),
                              std::chrono::steady_clock::now() + std::chrono::seconds(20), &pool);
    EXPECT_GE(pool.cols.size(), pool_before) << "seed " << seed << ": the pool only grows";
    if (!d.has_plan) continue;
    ++plans;
    const std::string ctx = "seed " + std::to_string(seed);
    ExpectValidSolution(p, d.plan, ctx);
    EXPECT_NEAR(d.cost, d.plan.Cost(p), 1e-12) << ctx;
    EXPECT_GE(d.cost, mp.optimum - 1e-9) << ctx;
    EXPECT_GE(d.cost, root * (1 - 1e-6)) << ctx;
    optimal += d.cost <= mp.optimum + 1e-9;
  }
  std::cout << "dives on micro-clusters: " << plans << " plans, " << optimal << " optimal\n";
  EXPECT_GE(plans, 38) << "a dive should end with a plan on nearly every micro-cluster";
  EXPECT_GE(optimal, 32) << "dives should often land on the optimum of micro-clusters";
}

// On generated clusters (selectors, anti-affinity, spot, pinned nodes) the
// dive's plans are valid and never below the root's LP bound; with a cutoff
// at the bound itself nothing is returned that beats it.
TEST(PatternProofTest, DivePlansOnGeneratedClustersAreValid) {
  for (int nodes : {15, 20, 25}) {
    auto g = GeneratedWithGreedyStart(nodes);
    ASSERT_TRUE(g.has_value());
    const opt::Problem& p = g->problem;
    const opt::Solution& start = g->start;
    opt::PatternMaster m;
    opt::ColumnPool pool;
    double root = 0;
    ASSERT_TRUE(ConvergedRoot(p, start, &m, &pool, &root)) << nodes << " nodes";
    auto d = opt::DiveForPlan(p, m, std::vector<opt::CountRange>(m.units.size()), start.Cost(p),
                              std::chrono::steady_clock::now() + std::chrono::seconds(20), &pool);
    if (d.has_plan) {
      ExpectValidSolution(p, d.plan, std::to_string(nodes) + " nodes");
      EXPECT_GE(d.cost, root * (1 - 1e-6)) << nodes << " nodes";
    }
  }
}

// The tree with its dives, from a poor incumbent on a generated cluster:
// dives improve the incumbent, the plan returned is valid, and the bound
// never exceeds it ("proven" only with the bound equal to the cost).
TEST(PatternProofTest, DivesImproveTheTreesIncumbent) {
  auto g = GeneratedWithGreedyStart(25);
  ASSERT_TRUE(g.has_value());
  const opt::Problem& p = g->problem;
  const opt::Solution& start = g->start;
  auto r = opt::ProvePatternOptimum(p, start, std::chrono::steady_clock::now() + std::chrono::seconds(30));
  EXPECT_GE(r.dives, 1);
  EXPECT_GE(r.dive_improvements, 1) << "the greedy plan is far from the optimum; a dive should beat it";
  ASSERT_TRUE(r.has_solution);
  ExpectValidSolution(p, r.solution, "25 nodes");
  ASSERT_TRUE(r.lower_bound.has_value());
  EXPECT_LE(*r.lower_bound, r.solution.Cost(p) + 1e-9);
  if (r.proven) { EXPECT_DOUBLE_EQ(*r.lower_bound, r.solution.Cost(p)); }
}

}  // namespace
}  // namespace kinema
