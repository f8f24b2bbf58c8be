// How a rescheduling plan becomes the execution steps' inputs
// (steps/rescheduling/plan_execution.h), and the predicted-request
// adjustments (adjustments.h).
#include <gtest/gtest.h>

#include "steps/rescheduling/adjustments.h"
#include "steps/rescheduling/plan_execution.h"

namespace kinema::rescheduling {
namespace {

using nlohmann::json;

Plan PlanWithBoots() {
  Plan p;
  p.nodes = {{"old-1", "e2-standard-8", "z-a", CapacityType::kOnDemand, 0.2, NodeAction::kRetire},
             {"keep-1", "e2-standard-8", "z-a", CapacityType::kOnDemand, 0.1, NodeAction::kKeep},
             {"keep-2", "e2-standard-8", "z-a", CapacityType::kOnDemand, 0.1, NodeAction::kKeep},
             {"kinema-new-1", "small", "z-a", CapacityType::kOnDemand, 0.05, NodeAction::kBoot}};
  p.placements = {{"shop/a", "keep-1"}, {"shop/b", "kinema-new-1"}, {"shop/c", "keep-2"}};
  return p;
}

TEST(PlanExecution, InstanceNamesAreStablePerWorkflowAndDistinctAcrossWorkflows) {
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

TEST(PlanExecution, OnlyKeptNodesThatReceiveMovedPodsAreTargets) {
  std::map<std::string, std::string> now = {{"shop/a", "old-1"}, {"shop/b", "old-1"}, {"shop/c", "keep-2"}};
  auto targets = KeptNodesReceivingPods(PlanWithBoots(), now);
  EXPECT_EQ(targets, std::vector<std::string>{"keep-1"});
  EXPECT_EQ(RetiringNodesOf(PlanWithBoots()), std::vector<std::string>{"old-1"});
}

TEST(PlanExecution, SteeringUsesTheNamesBootedNodesGotAndDropsNodesThatDidNotBoot) {
  Plan plan = PlanWithBoots();
  plan.nodes.push_back({"kinema-new-2", "small", "z-a", CapacityType::kOnDemand, 0.05, NodeAction::kBoot});
  plan.placements.push_back({"shop/d", "kinema-new-2"});
  execute::BootResult boot;
  boot.booted.push_back({"kinema-new-1", "kinema-wf-abc", "z-a", "small", "on-demand", "z-a", "small", json::array()});
  auto placements = PlacementsOnRealNodes(plan, boot);
  EXPECT_EQ(placements, (std::map<std::string, std::string>{
                            {"shop/a", "keep-1"}, {"shop/b", "kinema-wf-abc"}, {"shop/c", "keep-2"}}));
}

TEST(PlanExecution, JournaledPlansRoundTripTyped) {
  Plan p = PlanWithBoots();
  p.status = PlanStatus::kFeasible;
  p.cost_before = 1.5;
  p.cost_after = 0.25;
  p.lower_bound = 0.2;
  p.moves = 2;
  auto back = PlanFromJson(PlanToJson(p));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(PlanToJson(*back), PlanToJson(p));
  EXPECT_FALSE(PlanFromJson(json{{"nodes", json::array({{{"name", 1}}})}}).ok());
  EXPECT_FALSE(PlanFromJson(json::array()).ok());
}

TEST(PlanExecution, PredictedRequestsReachThePodsOfTheirWorkloadOnly) {
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
