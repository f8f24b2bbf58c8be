#include <gtest/gtest.h>

#include "steps/rescheduling/decision.h"

namespace kinema::rescheduling {
namespace {

using nlohmann::json;

kinema::Plan MakePlan(double before, double after, int retire, int boot, int moves,
                      std::optional<double> target = std::nullopt) {
  kinema::Plan p;
  p.cost_before = before;
  p.cost_after = after;
  for (int i = 0; i < retire; ++i) p.nodes.push_back({"old-" + std::to_string(i), "t", "z", CapacityType::kOnDemand, 1, NodeAction::kRetire});
  for (int i = 0; i < boot; ++i) p.nodes.push_back({"new-" + std::to_string(i), "t", "z", CapacityType::kOnDemand, 1, NodeAction::kBoot});
  p.moves = moves;
  if (target) p.target = PlanTarget{*target, std::nullopt};
  return p;
}

ClusterIdentity Cluster(int nodes, int pods) {
  ClusterIdentity c;
  for (int i = 0; i < nodes; ++i) c.nodes.insert("n" + std::to_string(i));
  for (int i = 0; i < pods; ++i) c.pods.insert("uid-" + std::to_string(i));
  return c;
}

TEST(Decision, ProceedsWhenSavingIsLargeAndTheClusterIsUnchanged) {
  auto d = Decide(MakePlan(10, 7, 3, 1, 20), Cluster(10, 100), Cluster(10, 100), {}, {});
  EXPECT_EQ(d.verdict, "proceed");
  EXPECT_NEAR(d.savings, 0.3, 1e-9);
  EXPECT_EQ(d.nodes_retired, 3);
  EXPECT_EQ(d.nodes_booted, 1);
  EXPECT_EQ(d.ToJson()["podsMoved"], 20);
}

TEST(Decision, DiscardsWhenTheClusterChangedMoreThanMaxChange) {
  ClusterIdentity now = Cluster(10, 100);
  for (int i = 0; i < 8; ++i) now.pods.insert("new-" + std::to_string(i));  // 8% pods
  now.nodes.erase("n0");                                                    // + 10% nodes
  auto d = Decide(MakePlan(10, 5, 3, 0, 10), Cluster(10, 100), now, {}, {});
  EXPECT_EQ(d.verdict, "discard");
  EXPECT_NEAR(d.change, 0.18, 1e-9);
  EXPECT_EQ(d.pods_added, 8);
  EXPECT_EQ(d.nodes_removed, 1);
  EXPECT_NE(d.reason.find("18.0%"), std::string::npos) << d.reason;
}

TEST(Decision, ReplacedPodsCountAsChangeEvenWhenTheCountIsTheSame) {
  ClusterIdentity now = Cluster(10, 100);
  for (int i = 0; i < 6; ++i) {
    now.pods.erase("uid-" + std::to_string(i));
    now.pods.insert("replacement-" + std::to_string(i));
  }
  auto d = Decide(MakePlan(10, 5, 3, 0, 10), Cluster(10, 100), now, {}, {});
  EXPECT_EQ(d.verdict, "discard");  // 12% by identity; 0% by counts
}

TEST(Decision, MinSavingsJudgesTheWholeWayNotOneBudgetedStep) {
  // One step saves 3% of a cluster whose target saves 40%: worth taking.
  auto step = Decide(MakePlan(100, 97, 1, 0, 5, 60.0), Cluster(5, 10), Cluster(5, 10), {}, {});
  EXPECT_EQ(step.verdict, "proceed") << step.reason;
  EXPECT_NEAR(step.target_savings, 0.4, 1e-9);
  EXPECT_NEAR(step.share_of_way, 0.075, 1e-9) << "3 of the 40 $/h of the way";
  EXPECT_NE(step.reason.find("7.5% of the way"), std::string::npos) << step.reason;
  // The whole way saves 5%: rescheduling is not worth starting.
  auto small = Decide(MakePlan(100, 97, 1, 0, 5, 95.0), Cluster(5, 10), Cluster(5, 10), {}, {});
  EXPECT_EQ(small.verdict, "no_action");
  EXPECT_NE(small.reason.find("the whole way saves 5.0%"), std::string::npos) << small.reason;
}

TEST(Decision, APlanWithinItsBudgetIsNeverRejectedForItsSize) {
  auto d = Decide(MakePlan(10, 2, 50, 3, 4000), Cluster(60, 5000), Cluster(60, 5000), {}, {});
  EXPECT_EQ(d.verdict, "proceed") << "the optimizer planned within the budget: size is no veto";
  auto nothing = Decide(MakePlan(10, 10, 0, 0, 0, 6.0), Cluster(5, 10), Cluster(5, 10), {}, {});
  EXPECT_EQ(nothing.verdict, "no_action");
  EXPECT_NE(nothing.reason.find("no step within the budget"), std::string::npos) << nothing.reason;
}

TEST(Decision, ChangesByKinemasOwnWorkflowsDoNotDiscardThePlan) {
  ClusterIdentity at_plan = Cluster(10, 100);
  for (int i = 0; i < 100; ++i) {
    at_plan.pod_keys["uid-" + std::to_string(i)] = "shop/p-" + std::to_string(i);
    at_plan.pod_owners["uid-" + std::to_string(i)] = "shop/ReplicaSet/rs-" + std::to_string(i % 5);
  }
  ClusterIdentity now = at_plan;
  // A rebalancing workflow evicted 12 pods of rs-0/rs-1; their replacements appeared.
  OwnChanges own;
  int evicted = 0;
  for (int i = 0; i < 100 && evicted < 12; ++i) {
    if (i % 5 > 1) continue;
    std::string uid = "uid-" + std::to_string(i);
    own.pod_keys.insert(at_plan.pod_keys[uid]);
    now.pods.erase(uid);
    now.pods.insert("repl-" + std::to_string(i));
    now.pod_owners["repl-" + std::to_string(i)] = at_plan.pod_owners[uid];
    ++evicted;
  }
  // A spot workflow retired n0 and Kinema booted kinema-abc.
  own.nodes.insert("n0");
  own.new_node_prefix = "kinema";
  now.nodes.erase("n0");
  now.nodes.insert("kinema-abc");
  auto d = Decide(MakePlan(10, 5, 3, 0, 10), at_plan, now, own, {});
  EXPECT_EQ(d.verdict, "proceed") << d.reason;
  EXPECT_EQ(d.own_changes_ignored, 26);
  EXPECT_DOUBLE_EQ(d.change, 0.0);
  auto counted = Decide(MakePlan(10, 5, 3, 0, 10), at_plan, now, {}, {});
  EXPECT_EQ(counted.verdict, "discard") << "the same changes by anyone else are change";
}

TEST(Decision, IdentityCountsOnlyLivePodsAndNodes) {
  std::vector<json> objs = {
      {{"kind", "Node"}, {"metadata", {{"name", "n1"}}}},
      {{"kind", "Pod"}, {"metadata", {{"name", "a"}, {"namespace", "s"}, {"uid", "u1"}}}, {"status", {{"phase", "Running"}}}},
      {{"kind", "Pod"}, {"metadata", {{"name", "b"}, {"namespace", "s"}}}, {"status", {{"phase", "Pending"}}}},
      {{"kind", "Pod"}, {"metadata", {{"name", "c"}, {"namespace", "s"}, {"uid", "u3"}}}, {"status", {{"phase", "Succeeded"}}}},
  };
  auto id = IdentityOf(objs);
  EXPECT_EQ(id.nodes.size(), 1u);
  EXPECT_EQ(id.pods, (std::set<std::string>{"u1", "s/b"}));
  auto back = ClusterIdentity::FromJson(id.ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->pods, id.pods);
  EXPECT_EQ(back->pod_keys.at("u1"), "s/a");
}

}  // namespace
}  // namespace kinema::rescheduling
