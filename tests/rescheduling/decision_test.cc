#include <gtest/gtest.h>

#include "steps/rescheduling/decision.h"

namespace kinema::rescheduling {
namespace {

using nlohmann::json;

json Plan(double before, double after, int retire, int boot, int moves) {
  json nodes = json::array();
  for (int i = 0; i < retire; ++i) nodes.push_back({{"name", "old-" + std::to_string(i)}, {"action", "retire"}});
  for (int i = 0; i < boot; ++i) nodes.push_back({{"name", "new-" + std::to_string(i)}, {"action", "boot"}});
  return {{"status", "feasible"}, {"costPerHourBefore", before}, {"costPerHourAfter", after},
          {"nodes", nodes},       {"moves", moves}};
}

ClusterIdentity Cluster(int nodes, int pods) {
  ClusterIdentity c;
  for (int i = 0; i < nodes; ++i) c.nodes.insert("n" + std::to_string(i));
  for (int i = 0; i < pods; ++i) c.pods.insert("uid-" + std::to_string(i));
  return c;
}

TEST(Decision, ProceedsWhenSavingIsLargeAndTheClusterIsUnchanged) {
  auto d = Decide(Plan(10, 7, 3, 1, 20), Cluster(10, 100), Cluster(10, 100), {});
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
  auto d = Decide(Plan(10, 5, 3, 0, 10), Cluster(10, 100), now, {});
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
  auto d = Decide(Plan(10, 5, 3, 0, 10), Cluster(10, 100), now, {});
  EXPECT_EQ(d.verdict, "discard");  // 12% by identity; 0% by counts
}

TEST(Decision, NoActionBelowMinSavingsOrBeyondDisruptionBudgets) {
  EXPECT_EQ(Decide(Plan(10, 9.5, 1, 0, 3), Cluster(5, 10), Cluster(5, 10), {}).verdict, "no_action");
  DecisionOptions o;
  o.max_nodes_retired = 2;
  auto d = Decide(Plan(10, 5, 3, 0, 3), Cluster(5, 10), Cluster(5, 10), o);
  EXPECT_EQ(d.verdict, "no_action");
  EXPECT_EQ(d.reason, "plan retires 3 nodes, budget is 2");
  o = DecisionOptions();
  o.max_pods_moved = 10;
  EXPECT_EQ(Decide(Plan(10, 5, 1, 0, 11), Cluster(5, 10), Cluster(5, 10), o).verdict, "no_action");
  json infeasible = {{"status", "infeasible"}};
  EXPECT_EQ(Decide(infeasible, Cluster(5, 10), Cluster(5, 10), {}).verdict, "no_action");
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
}

}  // namespace
}  // namespace kinema::rescheduling
