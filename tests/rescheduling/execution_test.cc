// The executing half's pure decisions (steps/rescheduling/execution.h).
#include <gtest/gtest.h>

#include "steps/rescheduling/adjustments.h"
#include "steps/rescheduling/execution.h"

namespace kinema::rescheduling {
namespace {

using nlohmann::json;

json PlanWithBoots() {
  return {{"nodes",
           json::array({{{"name", "old-1"}, {"action", "retire"}, {"machineType", "e2-standard-8"}, {"zone", "z-a"}},
                        {{"name", "keep-1"}, {"action", "keep"}},
                        {{"name", "keep-2"}, {"action", "keep"}},
                        {{"name", "kinema-new-1"}, {"action", "boot"}, {"machineType", "small"}, {"zone", "z-a"},
                         {"capacityType", "on-demand"}}})},
          {"placements", json::array({{{"pod", "shop/a"}, {"node", "keep-1"}},
                                      {{"pod", "shop/b"}, {"node", "kinema-new-1"}},
                                      {{"pod", "shop/c"}, {"node", "keep-2"}}})}};
}

Catalog TestCatalog() {
  Catalog c;
  auto type = [](std::string name, int64_t cpu, int64_t mem, double price, std::vector<std::string> zones) {
    MachineType t;
    t.name = name;
    t.allocatable = {cpu, mem, 110};
    t.zones = zones;
    t.price_on_demand = price;
    return t;
  };
  c.machine_types = {type("small", 2000, 8LL << 30, 0.1, {"z-a", "z-b"}),
                     type("large", 8000, 32LL << 30, 0.4, {"z-b"}),
                     type("medium", 4000, 16LL << 30, 0.2, {"z-a", "z-b"}),
                     type("tiny", 1000, 4LL << 30, 0.05, {"z-a"})};
  return c;
}

TEST(ExecutionTest, InstanceNamesAreStablePerWorkflowAndDistinctAcrossWorkflows) {
  auto a = BootTargetsOf(PlanWithBoots(), "iteration-20261122T100000Z", "kinema");
  auto again = BootTargetsOf(PlanWithBoots(), "iteration-20261122T100000Z", "kinema");
  auto other = BootTargetsOf(PlanWithBoots(), "iteration-20261122T110000Z", "kinema");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].planned, "kinema-new-1");
  EXPECT_EQ(a[0].instance_name, again[0].instance_name);
  EXPECT_NE(a[0].instance_name, other[0].instance_name);
  EXPECT_LE(a[0].instance_name.size(), 63u);
  EXPECT_EQ(a[0].instance_name.rfind("kinema-", 0), 0u);
}

TEST(ExecutionTest, BootOptionsTryOtherZonesThenLargerTypesCheapestFirst) {
  BootTarget t{"kinema-new-1", "x", "small", "z-a", "on-demand"};
  auto opts = BootOptionsFor(TestCatalog(), t, {});
  std::vector<BootOption> want = {{"z-a", "small"}, {"z-b", "small"}, {"z-a", "medium"}, {"z-b", "medium"},
                                  {"z-b", "large"}};
  EXPECT_EQ(opts, want);
  auto only_a = BootOptionsFor(TestCatalog(), t, {"z-a"});
  std::vector<BootOption> want_a = {{"z-a", "small"}, {"z-a", "medium"}};
  EXPECT_EQ(only_a, want_a);
}

TEST(ExecutionTest, SpotBootOptionsSkipTypesWithoutSpotPrice) {
  Catalog c = TestCatalog();
  c.machine_types[2].price_spot = 0.06;  // medium
  BootTarget t{"p", "x", "small", "z-a", "spot"};
  auto opts = BootOptionsFor(c, t, {});
  for (const auto& o : opts) EXPECT_TRUE(o.machine_type == "small" || o.machine_type == "medium") << o.machine_type;
}

TEST(ExecutionTest, OnlyKeptNodesThatReceiveMovedPodsAreTargets) {
  std::map<std::string, std::string> now = {{"shop/a", "old-1"}, {"shop/b", "old-1"}, {"shop/c", "keep-2"}};
  auto targets = KeptNodesReceivingPods(PlanWithBoots(), now);
  EXPECT_EQ(targets, std::vector<std::string>{"keep-1"});
  EXPECT_EQ(RetiringNodesOf(PlanWithBoots()), std::vector<std::string>{"old-1"});
}

TEST(ExecutionTest, AffinityTermsDoNotPileUpAcrossIterations) {
  json original = {{"nodeAffinity",
                    {{"preferredDuringSchedulingIgnoredDuringExecution",
                      json::array({{{"weight", 10},
                                    {"preference",
                                     {{"matchExpressions",
                                       json::array({{{"key", "disk"}, {"operator", "In"}, {"values", {"ssd"}}}})}}}}})}}},
                   {"podAntiAffinity", {{"x", 1}}}};
  json first = AffinityPreferringIteration(original, "iteration-1");
  json second = AffinityPreferringIteration(first, "iteration-2");
  const json& terms = second["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"];
  ASSERT_EQ(terms.size(), 2u);
  EXPECT_EQ(terms[0]["weight"], 10);
  EXPECT_EQ(terms[1]["preference"]["matchExpressions"][0]["values"][0], "iteration-2");
  EXPECT_EQ(second["podAntiAffinity"], original["podAntiAffinity"]);
  EXPECT_EQ(AffinityPreferringIteration(json(), "i")["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"].size(),
            1u);
}

TEST(ExecutionTest, RetireTaintReplacesAnEarlierOneAndIsRemovable) {
  json taints = json::array({{{"key", "dedicated"}, {"value", "x"}, {"effect", "NoSchedule"}},
                             {{"key", kRetireTaintKey}, {"value", "old"}, {"effect", "NoSchedule"}}});
  json with = TaintsWithRetire(taints, "new");
  ASSERT_EQ(with.size(), 2u);
  EXPECT_EQ(with[1]["value"], "new");
  json without = TaintsWithoutRetire(with);
  ASSERT_EQ(without.size(), 1u);
  EXPECT_EQ(without[0]["key"], "dedicated");
}

TEST(ExecutionTest, RolloutIsDoneOnlyWhenEveryReplicaIsUpdatedAndAvailable) {
  json d = {{"metadata", {{"generation", 3}}},
            {"spec", {{"replicas", 3}}},
            {"status",
             {{"observedGeneration", 3}, {"replicas", 4}, {"updatedReplicas", 3}, {"readyReplicas", 3}, {"availableReplicas", 3}}}};
  std::string why;
  bool failed = false;
  EXPECT_FALSE(DeploymentRolledOut(d, &why, &failed)) << "an old pod is still terminating";
  d["status"]["replicas"] = 3;
  EXPECT_TRUE(DeploymentRolledOut(d, &why, &failed)) << why;
  d["metadata"]["generation"] = 4;
  EXPECT_FALSE(DeploymentRolledOut(d, &why, &failed));
  EXPECT_NE(why.find("generation 4"), std::string::npos);
  d["status"]["conditions"] = json::array({{{"type", "Progressing"}, {"reason", "ProgressDeadlineExceeded"}}});
  EXPECT_FALSE(DeploymentRolledOut(d, &why, &failed));
  EXPECT_TRUE(failed);
}

TEST(ExecutionTest, PodsWithoutControllerOrOptedOutAreNotMoved) {
  json bare = {{"metadata", {{"name", "p"}}}};
  EXPECT_NE(WhyPodCannotMove(bare), "");
  json owned = {{"metadata", {{"ownerReferences", json::array({{{"kind", "ReplicaSet"}, {"name", "r"}, {"controller", true}}})}}}};
  EXPECT_EQ(WhyPodCannotMove(owned), "");
  owned["metadata"]["annotations"] = {{kDoNotDisrupt, "true"}};
  EXPECT_NE(WhyPodCannotMove(owned), "");
  std::string zone, name;
  EXPECT_TRUE(ParseGceProviderId("gce://proj/us-central1-a/node-1", &zone, &name));
  EXPECT_EQ(zone, "us-central1-a");
  EXPECT_EQ(name, "node-1");
  EXPECT_FALSE(ParseGceProviderId("aws:///us-east-1a/i-1", &zone, &name));
  EXPECT_EQ(IterationValue("iteration-20261122T100000Z"), "iteration-20261122t100000z");
}

TEST(ExecutionTest, RolloutsStayWithinTheTightestPdb) {
  json strategy = {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", "25%"}, {"maxUnavailable", "25%"}}}};
  json pdb_max1 = {{"spec", {{"maxUnavailable", 1}, {"selector", {{"matchLabels", {{"app", "web"}}}}}}}};
  json pdb_min_all = {{"spec", {{"minAvailable", "100%"}, {"selector", {{"matchLabels", {{"app", "web"}}}}}}}};
  auto s = RolloutStrategyWithinBudgets(strategy, 8, {pdb_max1});
  EXPECT_EQ(s["rollingUpdate"]["maxUnavailable"], 1);
  EXPECT_EQ(s["rollingUpdate"]["maxSurge"], 0) << "replace in place: no surge capacity needed";
  auto none = RolloutStrategyWithinBudgets(strategy, 8, {});
  EXPECT_EQ(none["rollingUpdate"]["maxUnavailable"], 2) << "25% of 8, the Deployment's own";
  auto zero = RolloutStrategyWithinBudgets(
      {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", 0}, {"maxUnavailable", 1}}}}, 4, {pdb_min_all});
  EXPECT_EQ(zero["rollingUpdate"]["maxUnavailable"], 0);
  EXPECT_EQ(zero["rollingUpdate"]["maxSurge"], 1) << "a rollout needs room to progress";
  json recreate = {{"type", "Recreate"}};
  EXPECT_EQ(RolloutStrategyWithinBudgets(recreate, 4, {pdb_max1}), recreate);
  EXPECT_TRUE(PdbSelects(pdb_max1, {{"app", "web"}, {"tier", "x"}}));
  EXPECT_FALSE(PdbSelects(pdb_max1, {{"app", "cart"}}));
  json in_expr = {{"matchExpressions", json::array({{{"key", "tier"}, {"operator", "In"}, {"values", {"a", "b"}}}})}};
  EXPECT_TRUE(SelectorMatches(in_expr, {{"tier", "b"}}));
  EXPECT_FALSE(SelectorMatches(in_expr, {{"tier", "c"}}));
  EXPECT_EQ(ScaledValue("30%", 10, true, 0), 3);
  EXPECT_EQ(ScaledValue("25%", 10, true, 0), 3);
  EXPECT_EQ(ScaledValue("25%", 10, false, 0), 2);
}

TEST(ExecutionTest, PredictedRequestsReachThePodsOfTheirWorkloadOnly) {
  auto owner = [](const char* kind, const char* name) {
    return json::array({{{"kind", kind}, {"name", name}, {"controller", true}}});
  };
  auto pod = [&](const char* name, json owners) {
    return json{{"kind", "Pod"},
                {"metadata", {{"name", name}, {"namespace", "shop"}, {"ownerReferences", owners}}},
                {"spec", {{"containers", json::array({{{"name", "app"}, {"resources", {{"requests", {{"cpu", "100m"}}}}}}})}}}};
  };
  json list = {{"items", json::array({
                             {{"kind", "ReplicaSet"},
                              {"metadata", {{"name", "cart-abc"}, {"namespace", "shop"}, {"ownerReferences", owner("Deployment", "cart")}}}},
                             pod("cart-abc-1", owner("ReplicaSet", "cart-abc")),
                             pod("db-0", owner("StatefulSet", "db")),
                             pod("other-1", owner("ReplicaSet", "unknown")),
                         })}};
  json adj = {{"shop/Deployment/cart", {{"app", {{"cpu", "250m"}, {"memory", "268435456"}}}}},
              {"shop/StatefulSet/db", {{"app", {{"cpu", "1"}}}}}};
  EXPECT_EQ(ApplyAdjustments(adj, &list), 3);
  EXPECT_EQ(list["items"][1]["spec"]["containers"][0]["resources"]["requests"]["cpu"], "250m");
  EXPECT_EQ(list["items"][1]["spec"]["containers"][0]["resources"]["requests"]["memory"], "268435456");
  EXPECT_EQ(list["items"][2]["spec"]["containers"][0]["resources"]["requests"]["cpu"], "1");
  EXPECT_EQ(list["items"][3]["spec"]["containers"][0]["resources"]["requests"]["cpu"], "100m");
  EXPECT_EQ(ApplyAdjustments(adj, &list), 0) << "idempotent";
}

}  // namespace
}  // namespace kinema::rescheduling
