// Property: on many random clusters, every plan is valid according to the
// independent validator (which shares no code with the optimizer).
#include <gtest/gtest.h>

#include "steps/optimize/plan.h"
#include "steps/optimize/snapshot.h"
#include "tests/optimize/independent_validator.h"
#include "tools/bench/plan_bench/cluster_generator.h"

namespace kinema {
namespace {

struct Outcome {
  nlohmann::json plan;
  bool ok = false;
};

bool HasPendingPods(const nlohmann::json& snap) {
  for (const auto& it : snap["items"])
    if (it["kind"] == "Pod" && it["status"]["phase"] == "Pending") return true;
  return false;
}

Outcome RunPlan(const nlohmann::json& snap_json, const nlohmann::json& cat_json, PlanOptions opt) {
  Outcome o;
  auto snap = ParseSnapshot(snap_json);
  EXPECT_TRUE(snap.ok()) << snap.status().ToString();
  auto cat = ParseCatalog(cat_json);
  EXPECT_TRUE(cat.ok()) << cat.status().ToString();
  if (!snap.ok() || !cat.ok()) return o;
  auto plan = OptimizePlacement(*snap, *cat, opt);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  if (!plan.ok()) return o;
  o.plan = PlanToJson(*plan);
  o.ok = true;
  return o;
}

TEST(PlanPropertyTest, RandomClustersGetValidPlans) {
  auto cat = bench::GenerateCatalog();
  for (uint64_t seed = 1; seed <= 24; ++seed) {
    bench::ClusterSpec spec;
    spec.nodes = 3 + static_cast<int>(seed % 14);
    spec.fill = 0.3 + 0.05 * static_cast<double>(seed % 7);
    spec.seed = seed;
    spec.max_replicas = 40;
    auto snap = bench::GenerateCluster(spec);
    PlanOptions opt;
    opt.time_limit_seconds = 0.25;
    opt.seed = seed;
    Outcome o = RunPlan(snap, cat, opt);
    ASSERT_TRUE(o.ok) << "seed " << seed;
    auto rep = validator::ValidatePlan(snap, cat, o.plan);
    EXPECT_TRUE(rep.ok()) << "seed " << seed << ":\n" << rep.Summary();
    if (!HasPendingPods(snap)) {
      EXPECT_LE(o.plan["costPerHourAfter"].get<double>(), o.plan["costPerHourBefore"].get<double>() + 1e-9)
          << "seed " << seed << ": a valid current placement can always be kept";
    }
  }
}

TEST(PlanPropertyTest, ChurnBudgetIsRespectedAndPlansStayValid) {
  auto cat = bench::GenerateCatalog();
  for (uint64_t seed = 30; seed < 38; ++seed) {
    bench::ClusterSpec spec;
    spec.nodes = 8 + static_cast<int>(seed % 6);
    spec.seed = seed;
    spec.max_replicas = 30;
    auto snap = bench::GenerateCluster(spec);
    PlanOptions free_opt;
    free_opt.time_limit_seconds = 0.2;
    Outcome unlimited = RunPlan(snap, cat, free_opt);
    ASSERT_TRUE(unlimited.ok);
    int64_t cap = unlimited.plan["moves"].get<int64_t>() / 3;
    PlanOptions opt = free_opt;
    opt.max_moves = cap;
    Outcome o = RunPlan(snap, cat, opt);
    if (!o.ok) continue;  // budget below the unavoidable moves is reported as infeasible
    auto rep = validator::ValidatePlan(snap, cat, o.plan);
    EXPECT_TRUE(rep.ok()) << "seed " << seed << ":\n" << rep.Summary();
    EXPECT_LE(o.plan["moves"].get<int64_t>(), cap) << "seed " << seed;
  }
}

TEST(PlanPropertyTest, MinSavingsReturnsTheNoChangePlan) {
  auto cat = bench::GenerateCatalog();
  bench::ClusterSpec spec;
  spec.nodes = 10;
  spec.seed = 77;
  spec.fill = 0.3;
  spec.immovable = false;
  spec.constraints = false;
  auto snap = bench::GenerateCluster(spec);
  while (HasPendingPods(snap) && spec.seed < 200) {  // a cluster whose pods all run now
    ++spec.seed;
    snap = bench::GenerateCluster(spec);
  }
  ASSERT_FALSE(HasPendingPods(snap));
  PlanOptions opt;
  opt.time_limit_seconds = 0.2;
  opt.min_savings = 0.99;  // no plan saves 99%
  Outcome o = RunPlan(snap, cat, opt);
  ASSERT_TRUE(o.ok);
  EXPECT_TRUE(o.plan["noChange"].get<bool>());
  for (const auto& n : o.plan["nodes"]) EXPECT_EQ(n["action"], "keep");
  EXPECT_NEAR(o.plan["costPerHourAfter"].get<double>(), o.plan["costPerHourBefore"].get<double>(), 1e-9);
  auto rep = validator::ValidatePlan(snap, cat, o.plan);
  EXPECT_TRUE(rep.ok()) << rep.Summary();
}

TEST(PlanPropertyTest, SameSeedSameIterationsSamePlan) {
  auto cat = bench::GenerateCatalog();
  bench::ClusterSpec spec;
  spec.nodes = 12;
  spec.seed = 5;
  auto snap = bench::GenerateCluster(spec);
  PlanOptions opt;
  opt.time_limit_seconds = 30;
  opt.max_iterations = 150;
  opt.seed = 9;
  Outcome a = RunPlan(snap, cat, opt);
  Outcome b = RunPlan(snap, cat, opt);
  ASSERT_TRUE(a.ok && b.ok);
  // lp_solve's last bits may differ between runs; the plan itself may not.
  EXPECT_NEAR(a.plan["lowerBound"].get<double>(), b.plan["lowerBound"].get<double>(), 1e-9);
  // Notes carry phase timings; the plan itself must not differ.
  for (const char* volatile_field : {"solveSeconds", "lowerBound", "gap", "notes"}) {
    a.plan.erase(volatile_field);
    b.plan.erase(volatile_field);
  }
  EXPECT_EQ(a.plan, b.plan);
}

}  // namespace
}  // namespace kinema
