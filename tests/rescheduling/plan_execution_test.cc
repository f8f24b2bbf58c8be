// How a rescheduling plan becomes the execution steps' inputs
// (steps/rescheduling/plan_execution.h), and the predicted-request
// adjustments (adjustments.h).
#include <gtest/gtest.h>

#include "steps/execute/workload_move.h"
#include "steps/rescheduling/adjustments.h"
#include "steps/rescheduling/explain.h"
#include "steps/rescheduling/optimization_result.h"
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
  boot.booted.push_back({"kinema-new-1", "kinema-wf-abc", "z-a", "small", "on-demand", "z-a", "small", json::array(), "", ""});
  auto placements = PlacementsOnRealNodes(plan, boot);
  EXPECT_EQ(placements, (std::map<std::string, std::string>{
                            {"shop/a", "keep-1"}, {"shop/b", "kinema-wf-abc"}, {"shop/c", "keep-2"}}));
}

TEST(PlanExecution, ExplainSaysHowFarToTheTargetAndWhatTheStallBreakerDid) {
  Plan plan = PlanWithBoots();
  plan.cost_before = 0.45;
  plan.cost_after = 0.25;
  plan.target = PlanTarget{0.05, 0.05};
  OptimizationResult r;
  r.plan = plan;
  r.budget.max_retire = 1;
  r.budget.binding = "decision.maxNodesRetired";
  r.moves = {{"shop/a", "old-1", "keep-1"}};
  execute::MoveResult move;
  move.iteration = "it";
  move.deployments = {{"shop/big", "rolled-out"}};
  move.order = {"shop/big", "shop/small"};
  move.stall_breaks = {{"shop/big", "shop/big-x", "evicted", "shop/small-y", {"shop/small-y"}, "keep-1", "makes room"}};
  move.room_holds = {{"shop/big", "keep-1", 2, "held", "4000m/8192Mi for 2 pod(s) until shop/big rolls"},
                     {"shop/big", "keep-2", 1, "skipped", "node keep-2 has 100m/64Mi free, the hold needs 2000m/4096Mi"},
                     {"shop/big", "keep-3", 1, "rejected",
                      "the kubelet of keep-3 rejected the hold (OutOfcpu: Pod was rejected: ...)"}};
  WorkflowView v;
  v.id = "kinema-rescheduling-1";
  v.type = "kinema-rescheduling";
  v.status = WorkflowStatus::kCompleted;
  StepView opt;
  opt.name = kOptimizationStep;
  opt.status = StepStatus::kSucceeded;
  opt.result = r.ToJson();
  StepView dp;
  dp.name = execute::kDeploymentPatchStep;
  dp.status = StepStatus::kSucceeded;
  dp.result = move.ToJson();
  dp.index = 1;
  v.steps = {opt, dp};
  // Two acts journaled for shop/big-x (the result lists one: the other was
  // a killed process's), one for shop/big-z (none listed), and timers that
  // are not acts.
  v.timers = {{"1/stall shop/big-x (u1) act 1", 1}, {"1/stall shop/big-x (u1) act 2", 2},
              {"1/stall shop/big-z (u3) act 1", 3}, {"1/stall shop/big-x (u1)", 4},
              {"1/rollout shop/big", 5}, {"0/stall shop/big-q (u9) act 1", 6}};
  Explanation e = ExplainRescheduling(v);
  EXPECT_NE(e.summary.find("target 0.0500 $/h, this step is 50.0% of the way"), std::string::npos) << e.summary;
  EXPECT_NE(e.summary.find("Stall breaker: 1 stuck pod(s), 1 pod(s) moved to make room"), std::string::npos)
      << e.summary;
  EXPECT_EQ(e.budget.target_cost_per_hour, 0.05);
  EXPECT_EQ(e.budget.allowed_nodes, 1);
  json j = e.ToJson();
  EXPECT_EQ(j["rollouts"]["order"], json::array({"shop/big", "shop/small"})) << j.dump();
  EXPECT_EQ(j["rollouts"]["stallBreaks"][0]["pod"], "shop/small-y");
  EXPECT_NE(e.summary.find("Room held for 2 heavy pod(s) until their Deployments rolled; 1 hold(s) not made (e.g. "
                           "shop/big on keep-2: node keep-2 has 100m/64Mi free"),
            std::string::npos)
      << e.summary;
  EXPECT_NE(e.summary.find("; 1 hold(s) rejected by the node (e.g. shop/big on keep-3: the kubelet of keep-3 rejected "
                           "the hold (OutOfcpu"),
            std::string::npos)
      << e.summary;
  EXPECT_NE(e.summary.find("Stall breaker: 2 act(s) by a process restarted before the step ended."),
            std::string::npos)
      << e.summary;
  ASSERT_EQ(j["rollouts"]["stallBreaks"].size(), 3u) << j.dump();
  EXPECT_EQ(j["rollouts"]["stallBreaks"][1]["pendingPod"], "shop/big-x");
  EXPECT_EQ(j["rollouts"]["stallBreaks"][1]["action"], "acted-before-restart");
  EXPECT_EQ(j["rollouts"]["stallBreaks"][2]["pendingPod"], "shop/big-z");
  ASSERT_EQ(j["rollouts"]["roomHolds"].size(), 3u) << j.dump();
  EXPECT_EQ(j["rollouts"]["roomHolds"][1]["outcome"], "skipped");
  EXPECT_EQ(j["rollouts"]["roomHolds"][2]["outcome"], "rejected");
  // The journaled result reads back the same.
  auto back = execute::MoveResult::FromJson(move.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->room_holds, move.room_holds);
  ASSERT_EQ(e.moves.size(), 2u);
  EXPECT_EQ(e.moves[1].pod, "shop/small-y");
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
