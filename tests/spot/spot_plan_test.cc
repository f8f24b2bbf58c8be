// Spot rescheduling decisions (steps/spot): node classes, the per-cycle
// plan (order, all-or-nothing per node, no double-promised capacity,
// eligibility), the drain re-check and the on-demand taint.
#include <gtest/gtest.h>

#include "steps/spot/node_classes.h"
#include "steps/spot/on_demand_taint.h"
#include "steps/spot/spot_plan.h"
#include "tests/optimize/test_cluster.h"
#include "tests/spot/spot_test_cluster.h"

namespace kinema::spot {
namespace {

using nlohmann::json;
using namespace testing_util;
using namespace test_cluster;

json SpotNode(const std::string& name, const std::string& cpu, const std::string& mem = "8Gi") {
  return Node(name, "small", cpu, mem, {{"cloud.google.com/gke-spot", "true"}}, kSpotTaint);
}
json OdNode(const std::string& name, const std::string& cpu, const std::string& mem = "8Gi") {
  return Node(name, "small", cpu, mem);
}

std::vector<std::string> Names(const SpotPlan& plan, NodeClass c) {
  std::vector<std::string> out;
  for (const auto& n : plan.nodes) {
    if (n.node_class == c) out.push_back(n.name);
  }
  return out;
}

TEST(NodeClasses, DefaultRuleFollowsPlanningMdAndTheCatalogSpotLabels) {
  NodeClassRules rules;
  rules.catalog_spot_labels = {{"pool-kind", "preemptible"}};
  EXPECT_EQ(ClassifyNode({{"cloud.google.com/gke-spot", "true"}}, rules), NodeClass::kSpot);
  EXPECT_EQ(ClassifyNode({{"cloud.google.com/gke-provisioning", "spot"}}, rules), NodeClass::kSpot);
  EXPECT_EQ(ClassifyNode({{"kinema.io/capacity-type", "spot"}}, rules), NodeClass::kSpot);
  EXPECT_EQ(ClassifyNode({{"pool-kind", "preemptible"}}, rules), NodeClass::kSpot);
  EXPECT_EQ(ClassifyNode({{"cloud.google.com/gke-spot", "false"}}, rules), NodeClass::kOnDemand);
  EXPECT_EQ(ClassifyNode({}, rules), NodeClass::kOnDemand) << "every other node is on-demand by default";
}

TEST(NodeClasses, ExplicitSelectorsLeaveNodesMatchingNeitherOrBothAlone) {
  NodeClassRules rules;
  rules.spot = *ParseLabelSelectorString("k8s-node-role/spot-worker");
  rules.on_demand = *ParseLabelSelectorString("k8s-node-role/on-demand-worker=true");
  std::string why;
  EXPECT_EQ(ClassifyNode({{"k8s-node-role/spot-worker", ""}}, rules), NodeClass::kSpot);
  EXPECT_EQ(ClassifyNode({{"k8s-node-role/on-demand-worker", "true"}}, rules), NodeClass::kOnDemand);
  EXPECT_EQ(ClassifyNode({{"cloud.google.com/gke-spot", "true"}}, rules, &why), NodeClass::kOther)
      << "an explicit spotSelector replaces the default rule";
  EXPECT_NE(why.find("neither"), std::string::npos) << why;
  EXPECT_EQ(ClassifyNode({{"k8s-node-role/spot-worker", ""}, {"k8s-node-role/on-demand-worker", "true"}}, rules, &why),
            NodeClass::kOther);
  EXPECT_NE(why.find("both"), std::string::npos) << why;
}

TEST(NodeClasses, SelectorStringsParseEveryKubectlFormAndNameTheBadPart) {
  auto s = ParseLabelSelectorString("a=b, c!=d, e in (x, y), f notin (z), g, !h");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->Matches({{"a", "b"}, {"e", "y"}, {"g", "1"}}));
  EXPECT_FALSE(s->Matches({{"a", "b"}, {"c", "d"}, {"e", "y"}, {"g", "1"}}));
  EXPECT_FALSE(s->Matches({{"a", "b"}, {"e", "y"}, {"g", "1"}, {"h", ""}}));
  EXPECT_FALSE(s->Matches({{"a", "b"}, {"e", "y"}, {"f", "z"}, {"g", "1"}}));
  for (const char* bad : {"a=b,(", "e in (x", "k lt (1)", "a=b c", ""}) {
    auto r = ParseLabelSelectorString(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  auto r = ParseLabelSelectorString("ok=1,k lt (1)");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("k lt (1)"), std::string::npos) << r.status().ToString();
}

TEST(SpotPlan, EmptiestOnDemandFirstAndSpotWithMostFreeCpuFirst) {
  Planned p = PlanOf({OdNode("od-busy", "4"), OdNode("od-light", "4"), SpotNode("spot-small", "2"),
                      SpotNode("spot-big", "4"), TolerantPod("heavy-1", "od-busy", "1500m"),
                      TolerantPod("light-1", "od-light", "200m")},
                     PlanInputs{.max_nodes = 2});
  EXPECT_EQ(Names(p.plan, NodeClass::kOnDemand), (std::vector<std::string>{"od-light", "od-busy"}));
  EXPECT_EQ(Names(p.plan, NodeClass::kSpot), (std::vector<std::string>{"spot-big", "spot-small"}));
  const PlannedNode& light = NodeIn(p.plan, "od-light");
  EXPECT_EQ(light.action, NodeAction::kDrain) << light.reason;
  ASSERT_EQ(light.placements.size(), 1u);
  EXPECT_EQ(light.placements[0].to, "spot-big");
  EXPECT_EQ(NodeIn(p.plan, "od-busy").action, NodeAction::kDrain) << NodeIn(p.plan, "od-busy").reason;
  EXPECT_EQ(p.plan.spot_tolerant_on_demand_pods, 2);
}

TEST(SpotPlan, ANodeIsDrainedOnlyIfAllItsPodsFitAndPodsThatDoNotTolerateSpotStay) {
  Planned p = PlanOf({OdNode("od-1", "4"), SpotNode("spot-1", "4"), TolerantPod("ok-1", "od-1", "500m"),
                      Pod("intolerant-1", "od-1", "100m", "100Mi")});
  const PlannedNode& n = NodeIn(p.plan, "od-1");
  EXPECT_EQ(n.action, NodeAction::kSkip);
  EXPECT_NE(n.reason.find("shop/intolerant-1"), std::string::npos) << n.reason;
  EXPECT_NE(n.reason.find("kinema.io/spot"), std::string::npos) << n.reason;
  EXPECT_TRUE(n.placements.empty());
  EXPECT_EQ(p.plan.spot_tolerant_on_demand_pods, 1);
  EXPECT_TRUE(p.plan.Candidates().empty());
}

TEST(SpotPlan, CapacityPromisedToOneNodeIsNotPromisedAgain) {
  // Spot has 2 CPU; each on-demand node holds 1.5 CPU of tolerant pods.
  Planned p = PlanOf({OdNode("od-a", "4"), OdNode("od-b", "4"), SpotNode("spot-1", "2"),
                      TolerantPod("a-1", "od-a", "1500m"), TolerantPod("b-1", "od-b", "1500m")},
                     PlanInputs{.max_nodes = 5});
  EXPECT_EQ(NodeIn(p.plan, "od-a").action, NodeAction::kDrain);
  const PlannedNode& b = NodeIn(p.plan, "od-b");
  EXPECT_EQ(b.action, NodeAction::kSkip);
  EXPECT_NE(b.reason.find("insufficient cpu"), std::string::npos) << b.reason;
}

TEST(SpotPlan, PartialFitPromisesNothing) {
  // od-a's two pods: the first fits, the second does not: nothing of od-a is
  // promised, so od-b's pod still gets the room.
  Planned p = PlanOf({OdNode("od-a", "4"), OdNode("od-b", "4"), SpotNode("spot-1", "2"),
                      TolerantPod("a-1", "od-a", "1200m"), TolerantPod("a-2", "od-a", "1200m"),
                      TolerantPod("b-1", "od-b", "2500m")},
                     PlanInputs{.max_nodes = 5});
  // Requested CPU: od-b 2.5 > od-a 2.4, so od-a is planned first and fails.
  EXPECT_EQ(NodeIn(p.plan, "od-a").action, NodeAction::kSkip);
  EXPECT_EQ(NodeIn(p.plan, "od-b").action, NodeAction::kSkip) << "2.5 CPU never fits a 2 CPU node";
  Planned q = PlanOf({OdNode("od-a", "4"), OdNode("od-b", "4"), SpotNode("spot-1", "2"),
                      TolerantPod("a-1", "od-a", "1200m"), TolerantPod("a-2", "od-a", "1200m"),
                      TolerantPod("b-1", "od-b", "1900m")},
                     PlanInputs{.max_nodes = 5});
  EXPECT_EQ(NodeIn(q.plan, "od-b").action, NodeAction::kDrain) << NodeIn(q.plan, "od-b").reason;
  EXPECT_EQ(NodeIn(q.plan, "od-a").action, NodeAction::kSkip);
}

TEST(SpotPlan, PodsThatMustStayMakeTheNodeIneligibleAndSayWhy) {
  json no_controller = Pod("bare-1", "od-1", "100m", "100Mi", kTolerateSpot, /*controlled=*/false);
  json pinned = TolerantPod("pinned-1", "od-2", "100m");
  pinned["metadata"]["annotations"] = {{"kinema.io/do-not-disrupt", "true"}};
  json young = TolerantPod("young-1", "od-3", "100m");
  young["metadata"]["annotations"] = {{"kinema.io/do-not-disrupt", "1h"}};
  young["metadata"]["creationTimestamp"] = "2027-01-15T08:00:00Z";  // 1800000000000 ms = 2027-01-15T08:00:00Z
  json system = TolerantPod("dns-1", "od-4", "100m");
  system["metadata"]["namespace"] = "kube-system";
  json local = Pod("cache-1", "od-5", "100m", "100Mi",
                   {{"tolerations", kTolerateSpot["tolerations"]}, {"volumes", {{{"name", "d"}, {"hostPath", {{"path", "/d"}}}}}}});
  json labelled = TolerantPod("batch-1", "od-6", "100m");
  labelled["metadata"]["labels"]["keep"] = "yes";
  PlanInputs in;
  in.max_nodes = 10;
  in.excluded_namespaces = {"kube-system"};
  in.excluded_pods = *ParseLabelSelectorString("keep=yes");
  Planned p = PlanOf({OdNode("od-1", "4"), OdNode("od-2", "4"), OdNode("od-3", "4"), OdNode("od-4", "4"),
                      OdNode("od-5", "4"), OdNode("od-6", "4"), SpotNode("spot-1", "8"), no_controller, pinned, young,
                      system, local, labelled},
                     in);
  std::map<std::string, std::string> expect = {{"od-1", "controller"},        {"od-2", "do-not-disrupt"},
                                               {"od-3", "do-not-disrupt"},    {"od-4", "kube-system"},
                                               {"od-5", "hostPath"},          {"od-6", "exclusions.labelSelector"}};
  for (const auto& [node, word] : expect) {
    const PlannedNode& n = NodeIn(p.plan, node);
    EXPECT_EQ(n.action, NodeAction::kSkip) << node;
    EXPECT_NE(n.reason.find("must stay"), std::string::npos) << node << ": " << n.reason;
    EXPECT_NE(n.reason.find(word), std::string::npos) << node << ": " << n.reason;
  }
}

TEST(SpotPlan, PinnedCordonedAndRetiringNodesAreNotDrained) {
  json pinned = OdNode("od-pinned", "4");
  pinned["metadata"]["annotations"] = {{"kinema.io/do-not-disrupt", "true"}};
  json cordoned = OdNode("od-cordoned", "4");
  cordoned["spec"]["unschedulable"] = true;
  json retiring = OdNode("od-retiring", "4");
  retiring["metadata"]["labels"]["kinema.io/retire"] = "kinema-rescheduling-x";
  Planned p = PlanOf({pinned, cordoned, retiring, SpotNode("spot-1", "8"), TolerantPod("a-1", "od-pinned", "100m"),
                      TolerantPod("b-1", "od-cordoned", "100m"), TolerantPod("c-1", "od-retiring", "100m")},
                     PlanInputs{.max_nodes = 5});
  EXPECT_NE(NodeIn(p.plan, "od-pinned").reason.find("pinned"), std::string::npos);
  EXPECT_NE(NodeIn(p.plan, "od-cordoned").reason.find("cordoned"), std::string::npos);
  EXPECT_NE(NodeIn(p.plan, "od-retiring").reason.find("being retired"), std::string::npos);
  EXPECT_TRUE(p.plan.Candidates().empty());
}

TEST(SpotPlan, NothingIsDrainedWhilePodsArePending) {
  Planned p = PlanOf({OdNode("od-1", "4"), SpotNode("spot-1", "4"), TolerantPod("a-1", "od-1", "100m"),
                      TolerantPod("waiting-1", "", "100m")});
  EXPECT_EQ(p.plan.pending_pods, 1);
  EXPECT_NE(p.plan.blocked.find("shop/waiting-1"), std::string::npos) << p.plan.blocked;
  EXPECT_EQ(NodeIn(p.plan, "od-1").action, NodeAction::kSkip);
  EXPECT_TRUE(p.plan.Candidates().empty());
}

TEST(SpotPlan, MaxNodesPerCycleLeavesTheRestEligibleInOrder) {
  Planned p = PlanOf({OdNode("od-a", "4"), OdNode("od-b", "4"), SpotNode("spot-1", "8"),
                      TolerantPod("a-1", "od-a", "100m"), TolerantPod("b-1", "od-b", "200m")});
  EXPECT_EQ(NodeIn(p.plan, "od-a").action, NodeAction::kDrain);
  EXPECT_EQ(NodeIn(p.plan, "od-b").action, NodeAction::kEligible);
  EXPECT_NE(NodeIn(p.plan, "od-b").reason.find("maxNodesPerCycle"), std::string::npos);
  auto c = p.plan.Candidates();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0]->name, "od-a");
  EXPECT_EQ(c[1]->name, "od-b");
}

TEST(SpotPlan, AnEmptyOnDemandNodeIsDrainedOnlyWhenItIsDeletedAfterwards) {
  json items = {OdNode("od-empty", "4"), SpotNode("spot-1", "4")};
  EXPECT_EQ(NodeIn(PlanOf(items).plan, "od-empty").action, NodeAction::kSkip);
  EXPECT_EQ(NodeIn(PlanOf(items, PlanInputs{.delete_after_drain = true}).plan, "od-empty").action, NodeAction::kDrain);
}

TEST(SpotPlan, CordonedSpotNodesAndNodesOfNeitherClassAreNotFilled) {
  json cordoned = SpotNode("spot-cordoned", "8");
  cordoned["spec"]["unschedulable"] = true;
  PlanInputs in;
  in.rules.on_demand = *ParseLabelSelectorString("role=od");
  Planned p = PlanOf({Node("od-1", "small", "4", "8Gi", {{"role", "od"}}), Node("gpu-1", "small", "8", "8Gi"), cordoned,
                      TolerantPod("a-1", "od-1", "100m")},
                     in);
  EXPECT_EQ(NodeIn(p.plan, "gpu-1").action, NodeAction::kIgnore);
  EXPECT_EQ(NodeIn(p.plan, "spot-cordoned").action, NodeAction::kIgnore);
  EXPECT_EQ(NodeIn(p.plan, "od-1").action, NodeAction::kSkip);
  EXPECT_NE(NodeIn(p.plan, "od-1").reason.find("no spot node"), std::string::npos);
}

TEST(SpotPlan, JsonRoundTripAndDamagedJsonIsAnError) {
  Planned p = PlanOf({OdNode("od-a", "4"), SpotNode("spot-1", "8"), TolerantPod("a-1", "od-a", "100m"),
                      TolerantPod("waiting-1", "", "100m")});
  auto back = SpotPlan::FromJson(p.plan.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->nodes, p.plan.nodes);
  EXPECT_EQ(back->blocked, p.plan.blocked);
  EXPECT_EQ(back->pending_pods, 1);
  EXPECT_FALSE(SpotPlan::FromJson(json{{"nodes", {{{"name", "x"}, {"action", "explode"}}}}}).ok());
  EXPECT_FALSE(SpotPlan::FromJson(json{{"nodes", 3}}).ok());
  EXPECT_FALSE(SpotPlan::FromJson(json::array()).ok());
}

TEST(RecheckDrain, APreemptedSpotNodeStopsTheDrain) {
  json items = {OdNode("od-1", "4"), SpotNode("spot-1", "2"), SpotNode("spot-2", "2"),
                TolerantPod("a-1", "od-1", "1500m"), TolerantPod("a-2", "od-1", "1500m")};
  Planned before = PlanOf(items);
  EXPECT_EQ(RecheckDrain(before.snap, before.list, "od-1", {}), "");
  json after = {items[0], items[1], items[3], items[4]};  // spot-2 preempted
  Planned p = PlanOf(after);
  std::string why = RecheckDrain(p.snap, p.list, "od-1", {});
  EXPECT_NE(why.find("insufficient cpu"), std::string::npos) << why;
  Planned none = PlanOf({items[0], items[3]});
  EXPECT_NE(RecheckDrain(none.snap, none.list, "od-1", {}).find("no spot node"), std::string::npos);
}

TEST(RecheckDrain, ASpotNodeGoneNotReadyIsNoRoom) {
  json not_ready = SpotNode("spot-1", "8");
  not_ready["status"]["conditions"] = {{{"type", "Ready"}, {"status", "False"}}};
  Planned p = PlanOf({OdNode("od-1", "4"), not_ready, TolerantPod("a-1", "od-1", "100m")});
  EXPECT_NE(RecheckDrain(p.snap, p.list, "od-1", {}), "");
  EXPECT_EQ(NodeIn(p.plan, "spot-1").action, NodeAction::kIgnore);
  EXPECT_EQ(NodeIn(p.plan, "od-1").action, NodeAction::kSkip);
  not_ready["status"]["conditions"][0]["status"] = "True";
  Planned q = PlanOf({OdNode("od-1", "4"), not_ready, TolerantPod("a-1", "od-1", "100m")});
  EXPECT_EQ(RecheckDrain(q.snap, q.list, "od-1", {}), "");
  EXPECT_EQ(NodeIn(q.plan, "od-1").action, NodeAction::kDrain);
}

TEST(RecheckDrain, PendingPodsTakeTheirRoomFirstAndTerminatingPodsNeedNone) {
  json terminating = TolerantPod("a-1", "od-1", "1500m");
  terminating["metadata"]["deletionTimestamp"] = "2027-01-15T08:00:00Z";
  json items = {OdNode("od-1", "4"), SpotNode("spot-1", "2"), terminating, TolerantPod("a-2", "od-1", "1500m")};
  Planned p = PlanOf(items);
  EXPECT_EQ(RecheckDrain(p.snap, p.list, "od-1", {}), "") << "the terminating pod needs no room";
  items.push_back(TolerantPod("other-1", "", "1000m"));  // a Pending pod that will take spot-1's room
  Planned q = PlanOf(items);
  EXPECT_NE(RecheckDrain(q.snap, q.list, "od-1", {}), "");
}

TEST(OnDemandTaint, AddedOnceReplacedAndRemovedLeavingOtherTaintsAlone) {
  json other = {{"key", "dedicated"}, {"value", "x"}, {"effect", "NoSchedule"}};
  json t = TaintsWithOnDemand(json::array({other}));
  EXPECT_TRUE(HasOnDemandTaint(t));
  EXPECT_EQ(TaintsWithOnDemand(t).size(), 2u) << "never piles up";
  json wrong = json::array({other, {{"key", kOnDemandTaintKey}, {"value", "true"}, {"effect", "NoSchedule"}}});
  EXPECT_FALSE(HasOnDemandTaint(wrong));
  EXPECT_EQ(TaintsWithOnDemand(wrong).back()["effect"], "PreferNoSchedule");
  EXPECT_EQ(TaintsWithoutOnDemand(t), json::array({other}));
  EXPECT_EQ(TaintsWithoutOnDemand(nullptr), json::array());
}

}  // namespace
}  // namespace kinema::spot
