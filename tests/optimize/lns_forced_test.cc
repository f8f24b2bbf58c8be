// The cut-out LNS neighbourhoods of large plans: the forced trade
// (steps/optimize/lns_forced.h) trades pods between a memory-full and a
// cpu-full forced node so a booted node closes; the retype
// (steps/optimize/lns_retype.h) merges two half-empty booted nodes into one;
// neither ever makes a plan dearer or invalid, and the pipeline's plans on a
// cluster where they run pass the independent validator.
#include <gtest/gtest.h>

#include <string>

#include "steps/optimize/lns_forced.h"
#include "steps/optimize/lns_retype.h"
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

// Two forced "large" nodes (4 CPU / 16Gi; an immovable pod each): "cpufull"
// holds three 1-CPU pods next to a 0.9-CPU immovable one (cpu full, 14Gi
// idle); "memfull" holds four 0.25-CPU / 3.9Gi pods (memory full, 2.9 CPU
// idle). One cpu pod and one memory pod are pending: neither fits on either
// node as they are, so the current placement boots a node for them. Both fit
// once the forced nodes trade (2 cpu + 3 memory pods on one, 2 + 2 on the
// other).
json TradeCluster() {
  json items = json::array();
  items.push_back(Node("cpufull", "large", "4", "16Gi"));
  items.push_back(Node("memfull", "large", "4", "16Gi"));
  items.push_back(Pod("fixed-a", "cpufull", "900m", "128Mi", json::object(), /*controlled=*/false));
  items.push_back(Pod("fixed-b", "memfull", "100m", "128Mi", json::object(), /*controlled=*/false));
  for (int i = 0; i < 3; ++i) items.push_back(Pod("cpu-" + std::to_string(i), "cpufull", "1", "512Mi"));
  for (int i = 0; i < 4; ++i) items.push_back(Pod("mem-" + std::to_string(i), "memfull", "250m", "3900Mi"));
  items.push_back(Pod("cpu-p", "", "1", "512Mi"));
  items.push_back(Pod("mem-p", "", "250m", "3900Mi"));
  return List(items);
}

opt::Problem ProblemOf(const json& snap_json, const json& cat_json) {
  auto snap = ParseSnapshot(snap_json);
  auto cat = ParseCatalog(cat_json);
  EXPECT_TRUE(snap.ok() && cat.ok());
  auto p = opt::BuildProblem(*snap, *cat, PlanOptions());
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return std::move(*p);
}

TEST(ForcedTradeTest, TradesPodsBetweenForcedNodesSoTheBootedNodeCloses) {
  opt::Problem p = ProblemOf(TradeCluster(), TwoTypeCatalog());
  ASSERT_TRUE(p.kinds[0].forced && p.kinds[1].forced);
  opt::Packer pk(p, {}, 1);
  opt::Solution s;
  ASSERT_TRUE(pk.FromCurrent(&s, false));
  ExpectValidSolution(p, s, "start");
  ASSERT_EQ(s.bins.size(), 3u) << "the pending pods need a booted node";
  const double forced_cost = p.kinds[0].price + p.kinds[1].price;
  ASSERT_GT(s.Cost(p), forced_cost + 0.5);
  opt::ForcedTrade trade(p, &pk, {}, 1);
  bool improved = false;
  for (int i = 0; i < 50 && !improved; ++i) improved = trade.Step(&s);
  ASSERT_TRUE(improved) << "the trade closes the booted node";
  ExpectValidSolution(p, s, "after the trade");
  EXPECT_EQ(s.bins.size(), 2u);
  EXPECT_NEAR(s.Cost(p), forced_cost, 1e-9);
  EXPECT_EQ(trade.improvements(), 1);
}

// Without forced nodes with idle capacity there is nothing to trade: the
// step leaves the plan as it is.
TEST(ForcedTradeTest, LeavesAPlanWithoutForcedNodesUnchanged) {
  json items = json::array();
  items.push_back(Node("a", "small", "2", "8Gi"));
  items.push_back(Pod("web-0", "a", "1", "1Gi"));
  opt::Problem p = ProblemOf(List(items), TwoTypeCatalog());
  opt::Packer pk(p, {}, 1);
  opt::Solution s;
  ASSERT_TRUE(pk.FromCurrent(&s, false));
  const double cost = s.Cost(p);
  opt::ForcedTrade trade(p, &pk, {}, 1);
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(trade.Step(&s));
  EXPECT_EQ(s.Cost(p), cost);
  EXPECT_EQ(trade.steps(), 20);
}

// Two booted "small" nodes (2 CPU / 8Gi, $1) hold one 1-CPU pod each: the
// retype repacks both pods onto one node; the forced node is not touched.
TEST(RetypeTest, MergesTwoHalfEmptyBootedNodes) {
  json items = json::array();
  items.push_back(Node("pinned", "small", "2", "8Gi"));
  items.push_back(Pod("fixed-a", "pinned", "1500m", "1Gi", json::object(), /*controlled=*/false));
  items.push_back(Pod("web-0", "", "1", "1Gi"));
  items.push_back(Pod("web-1", "", "1", "1Gi"));
  opt::Problem p = ProblemOf(List(items), TwoTypeCatalog());
  ASSERT_TRUE(p.kinds[0].forced);
  ASSERT_EQ(p.classes.size(), 1u);
  int small = -1;
  for (size_t k = p.num_existing; k < p.kinds.size(); ++k)
    if (p.kinds[k].type_name == "small" && p.kinds[k].compat[0]) small = static_cast<int>(k);
  ASSERT_GE(small, 0);
  opt::Packer pk(p, {}, 1);
  opt::Solution s;
  s.bins.push_back(opt::Bin{0, Resources{}, {}});
  for (int i = 0; i < 2; ++i) {
    opt::Bin b{small, Resources{}, {}};
    pk.Add(&b, 0, 1);
    s.bins.push_back(b);
  }
  ExpectValidSolution(p, s, "start");
  const double cost = s.Cost(p);
  opt::Retype retype(p, &pk, 1);
  bool improved = false;
  for (int i = 0; i < 20 && !improved; ++i) improved = retype.Step(&s);
  ASSERT_TRUE(improved);
  ExpectValidSolution(p, s, "after the retype");
  EXPECT_NEAR(s.Cost(p), cost - p.kinds[small].price, 1e-9);
  EXPECT_EQ(s.bins.size(), 2u);
  bool forced_untouched = false;
  for (const auto& b : s.bins) forced_untouched = forced_untouched || (b.kind == 0 && b.items.empty());
  EXPECT_TRUE(forced_untouched);
}

// On generated clusters (selectors, spot taints, anti-affinity caps and
// conflicts, immovable pods), from the current placement and from the
// greedy: every step of either neighbourhood keeps the plan valid and never
// raises its cost.
TEST(ForcedTradeTest, NeitherItNorTheRetypeMakesAGeneratedPlanDearer) {
  auto cat = bench::GenerateCatalog();
  int improved = 0, retyped = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    bench::ClusterSpec spec;
    spec.nodes = 20 + 10 * static_cast<int>(seed);
    spec.seed = seed;
    spec.max_replicas = 30;
    opt::Problem p = ProblemOf(bench::GenerateCluster(spec), cat);
    for (int start = 0; start < 2; ++start) {
      const std::string ctx = "seed " + std::to_string(seed) + (start ? " greedy" : " current");
      opt::Packer pk(p, {}, seed);
      opt::Solution s;
      ASSERT_TRUE(start ? pk.Greedy(&s) : pk.FromCurrent(&s, false)) << ctx;
      opt::ForcedTrade trade(p, &pk, {}, seed);
      opt::Retype retype(p, &pk, seed);
      double cost = s.Cost(p);
      for (int i = 0; i < 300; ++i) {
        if (i % 3 == 2) {
          retype.Step(&s);
        } else {
          trade.Step(&s);
        }
        ASSERT_LE(s.Cost(p), cost + 1e-9) << ctx << " step " << i;
        cost = s.Cost(p);
      }
      ExpectValidSolution(p, s, ctx);
      improved += static_cast<int>(trade.improvements());
      retyped += static_cast<int>(retype.improvements());
    }
  }
  EXPECT_GT(improved, 0) << "over-provisioned clusters with forced nodes improve";
  EXPECT_GT(retyped, 0) << "the greedy's booted nodes regroup";
}

// Beyond the pattern proof's size (> 2,000 movable pods) the pipeline's LNS
// runs the trade; its plan passes the independent validator.
TEST(ForcedTradeTest, PipelinePlanWithTradesPassesTheIndependentValidator) {
  bench::ClusterSpec spec;
  spec.nodes = 220;
  spec.seed = 3;
  spec.fill = 0.5;
  const json snap_json = bench::GenerateCluster(spec);
  const json cat_json = bench::GenerateCatalog();
  auto snap = ParseSnapshot(snap_json);
  auto cat = ParseCatalog(cat_json);
  ASSERT_TRUE(snap.ok() && cat.ok());
  ASSERT_GT(snap->pods.size(), 2000u);
  PlanOptions opt;
  // 60 LNS iterations (ten rounds of the six-step cycle), the time limit only
  // a backstop: the same search in the -O0 sanitizer build on a loaded
  // machine (with 3 s there the LNS got no step and the test failed).
  opt.time_limit_seconds = 120;
  opt.max_iterations = 60;
  opt.seed = 3;
  auto plan = OptimizePlacement(*snap, *cat, opt);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  auto rep = validator::ValidatePlan(snap_json, cat_json, PlanToJson(*plan));
  EXPECT_TRUE(rep.ok()) << rep.Summary();
  EXPECT_LE(plan->cost_after, plan->cost_before + 1e-9);
  bool traded = false;
  for (const auto& n : plan->notes)
    if (n.rfind("phase lns:", 0) == 0 && n.find("forced-trade steps") != std::string::npos &&
        n.find(" of 0 forced-trade") == std::string::npos && n.find(" of 0 retype") == std::string::npos)
      traded = true;
  EXPECT_TRUE(traded) << "the LNS ran forced-trade and retype steps";
}

}  // namespace
}  // namespace kinema
