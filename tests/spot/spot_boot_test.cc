// spot.bootSpot's decision (steps/spot/spot_boot.h): when no on-demand node
// fits on the spot capacity there is, the cheapest spot type of the catalog
// that holds every pod of the first on-demand node that gains from it; and
// what node-boot is asked to boot (BootRequestFor).
#include <gtest/gtest.h>

#include "steps/spot/spot_plan.h"
#include "steps/spot/spot_workflow.h"
#include "tests/optimize/test_cluster.h"
#include "tests/spot/spot_test_cluster.h"

namespace kinema::spot {
namespace {

using nlohmann::json;
using namespace testing_util;
using namespace test_cluster;

// "small" 2 CPU / 8Gi ($1, spot $0.3), "large" 4 CPU / 16Gi ($1.5, spot
// $0.45), both in z1 and z2.
Catalog TestCatalog(double large_spot = 0.45) {
  json c = TwoTypeCatalog();
  for (auto& mt : c["machineTypes"]) mt["zones"] = {"z1", "z2"};
  c["machineTypes"][1]["pricePerHour"]["spot"] = large_spot;
  auto parsed = ParseCatalog(c);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return *parsed;
}

json OdNode(const std::string& name, const std::string& type, const std::string& cpu, const std::string& mem = "16Gi") {
  return Node(name, type, cpu, mem);
}
json FullSpotNode(const std::string& name) {
  return Node(name, "small", "2", "8Gi", {{"cloud.google.com/gke-spot", "true"}}, kSpotTaint);
}

// The plan with spot.bootSpot on and `catalog` to boot from.
Planned PlanOf(json items, const Catalog& catalog, PlanInputs in = {}) {
  in.boot_spot = true;
  in.catalog = &catalog;
  return test_cluster::PlanOf(std::move(items), in);
}

TEST(SpotBoot, WithoutSpotRoomTheCheapestSpotTypeThatHoldsEveryPodIsBootedAndTheNodeDrainedIntoIt) {
  Catalog cat = TestCatalog();
  // The spot node is full; od-1's 2.7 CPU do not fit a small spot node (2
  // CPU) but do fit a large one ($0.45 < $1.5 on-demand).
  Planned p = PlanOf({OdNode("od-1", "large", "4"), FullSpotNode("spot-1"), TolerantPod("fill-1", "spot-1", "1900m"),
                      TolerantPod("a-1", "od-1", "900m"), TolerantPod("a-2", "od-1", "900m"),
                      TolerantPod("a-3", "od-1", "900m")},
                     cat);
  ASSERT_TRUE(p.plan.boot.has_value()) << p.plan.boot_skipped;
  EXPECT_EQ(p.plan.boot->node, "od-1");
  EXPECT_EQ(p.plan.boot->machine_type, "large");
  EXPECT_EQ(p.plan.boot->zone, "z1") << "the node's own zone first";
  EXPECT_DOUBLE_EQ(p.plan.boot->price_per_hour, 0.45);
  EXPECT_DOUBLE_EQ(p.plan.boot->replaced_price_per_hour, 1.5);
  EXPECT_EQ(p.plan.boot->pods.size(), 3u);
  const PlannedNode& n = NodeIn(p.plan, "od-1");
  EXPECT_EQ(n.action, NodeAction::kDrain) << n.reason;
  EXPECT_NE(n.reason.find("spot.bootSpot"), std::string::npos) << n.reason;
  ASSERT_EQ(n.placements.size(), 3u);
  for (const auto& pl : n.placements) EXPECT_EQ(pl.to, kBootPlannedName);
  ASSERT_EQ(p.plan.Candidates().size(), 1u);
}

TEST(SpotBoot, TheSmallestFittingTypeWinsWhenItIsCheapest) {
  Catalog cat = TestCatalog();
  Planned p = PlanOf({OdNode("od-1", "large", "4"), FullSpotNode("spot-1"), TolerantPod("fill-1", "spot-1", "1900m"),
                      TolerantPod("a-1", "od-1", "700m"), TolerantPod("a-2", "od-1", "700m")},
                     cat);
  ASSERT_TRUE(p.plan.boot.has_value()) << p.plan.boot_skipped;
  EXPECT_EQ(p.plan.boot->machine_type, "small");
  EXPECT_DOUBLE_EQ(p.plan.boot->price_per_hour, 0.3);
}

TEST(SpotBoot, NothingIsBootedWhileSpotHasRoomForSomeNode) {
  Catalog cat = TestCatalog();
  Planned p = PlanOf({OdNode("od-1", "large", "4"), FullSpotNode("spot-1"), TolerantPod("a-1", "od-1", "500m")}, cat);
  EXPECT_FALSE(p.plan.boot.has_value());
  EXPECT_NE(p.plan.boot_skipped.find("not needed"), std::string::npos) << p.plan.boot_skipped;
  EXPECT_EQ(NodeIn(p.plan, "od-1").placements.at(0).to, "spot-1");
}

TEST(SpotBoot, APodThatDoesNotTolerateSpotMeansNoBootForItsNode) {
  Catalog cat = TestCatalog();
  Planned p = PlanOf({OdNode("od-1", "large", "4"), FullSpotNode("spot-1"), TolerantPod("fill-1", "spot-1", "1900m"),
                      TolerantPod("a-1", "od-1", "500m"), Pod("stubborn-1", "od-1", "100m", "100Mi")},
                     cat);
  EXPECT_FALSE(p.plan.boot.has_value());
  const PlannedNode& n = NodeIn(p.plan, "od-1");
  EXPECT_EQ(n.action, NodeAction::kSkip);
  EXPECT_NE(n.reason.find("spot.bootSpot"), std::string::npos) << n.reason;
  EXPECT_NE(n.reason.find("shop/stubborn-1"), std::string::npos) << n.reason;
  EXPECT_NE(p.plan.boot_skipped.find("od-1"), std::string::npos) << p.plan.boot_skipped;
}

TEST(SpotBoot, TheFirstNodeThatGainsIsChosenAndOnlyOne) {
  Catalog cat = TestCatalog();
  // od-a (emptiest) has a pod that must stay; od-b and od-c both qualify:
  // only od-b (emptier) gets a spot node.
  json bare = Pod("bare-1", "od-a", "100m", "100Mi", kTolerateSpot, /*controlled=*/false);
  Planned p = PlanOf({OdNode("od-a", "large", "4"), OdNode("od-b", "large", "4"), OdNode("od-c", "large", "4"),
                      FullSpotNode("spot-1"), TolerantPod("fill-1", "spot-1", "1900m"), bare,
                      TolerantPod("b-1", "od-b", "1"), TolerantPod("c-1", "od-c", "1500m")},
                     cat, PlanInputs{.max_nodes = 5});
  ASSERT_TRUE(p.plan.boot.has_value()) << p.plan.boot_skipped;
  EXPECT_EQ(p.plan.boot->node, "od-b");
  EXPECT_NE(NodeIn(p.plan, "od-a").reason.find("must stay"), std::string::npos);
  EXPECT_EQ(NodeIn(p.plan, "od-c").action, NodeAction::kSkip);
  EXPECT_EQ(p.plan.Candidates().size(), 1u);
}

TEST(SpotBoot, NotWhenTheSpotNodeCostsNoLessThanTheOnDemandNode) {
  Catalog cat = TestCatalog(/*large_spot=*/1.2);
  // od-1 is a "small" on-demand node ($1); its 2.7 CPU need a large spot
  // node at $1.2: no gain.
  Planned p = PlanOf({OdNode("od-1", "small", "4"), FullSpotNode("spot-1"), TolerantPod("fill-1", "spot-1", "1900m"),
                      TolerantPod("a-1", "od-1", "900m"), TolerantPod("a-2", "od-1", "900m"),
                      TolerantPod("a-3", "od-1", "900m")},
                     cat);
  EXPECT_FALSE(p.plan.boot.has_value());
  EXPECT_NE(p.plan.boot_skipped.find("costs no less"), std::string::npos) << p.plan.boot_skipped;
}

TEST(SpotBoot, PodsThatFitNoSingleNewNodeMeanNoBoot) {
  Catalog cat = TestCatalog();
  Planned p = PlanOf({OdNode("od-1", "large", "8"), FullSpotNode("spot-1"), TolerantPod("fill-1", "spot-1", "1900m"),
                      TolerantPod("a-1", "od-1", "3"), TolerantPod("a-2", "od-1", "3")},
                     cat);
  EXPECT_FALSE(p.plan.boot.has_value());
  EXPECT_NE(p.plan.boot_skipped.find("fit on no single new spot node"), std::string::npos) << p.plan.boot_skipped;
  EXPECT_NE(p.plan.boot_skipped.find("insufficient cpu"), std::string::npos) << p.plan.boot_skipped;
}

TEST(SpotBoot, PendingPodsBlockTheBootAsTheyBlockEveryDrain) {
  Catalog cat = TestCatalog();
  Planned p = PlanOf({OdNode("od-1", "large", "4"), FullSpotNode("spot-1"), TolerantPod("fill-1", "spot-1", "1900m"),
                      TolerantPod("a-1", "od-1", "900m"), TolerantPod("waiting-1", "", "100m")},
                     cat);
  EXPECT_FALSE(p.plan.boot.has_value());
  EXPECT_NE(p.plan.boot_skipped.find("Pending"), std::string::npos) << p.plan.boot_skipped;
}

TEST(SpotBoot, OffByDefault) {
  Catalog cat = TestCatalog();
  json list = List({OdNode("od-1", "large", "4"), FullSpotNode("spot-1"), TolerantPod("fill-1", "spot-1", "1900m"),
                    TolerantPod("a-1", "od-1", "900m")});
  auto snap = ParseSnapshot(list);
  ASSERT_TRUE(snap.ok());
  PlanInputs in;
  in.catalog = &cat;
  SpotPlan plan = PlanSpotCycle(*snap, list, in);
  EXPECT_FALSE(plan.boot.has_value());
  EXPECT_EQ(plan.boot_skipped, "");
  EXPECT_EQ(NodeIn(plan, "od-1").action, NodeAction::kSkip);
}

TEST(SpotBoot, ANewNodeTheExplicitSpotSelectorWouldNotMatchIsNotBooted) {
  Catalog cat = TestCatalog();
  PlanInputs in;
  in.rules.spot = *ParseLabelSelectorString("k8s-node-role/spot-worker");
  json spot = Node("spot-1", "small", "2", "8Gi", {{"k8s-node-role/spot-worker", ""}}, kSpotTaint);
  Planned p = PlanOf({OdNode("od-1", "large", "4"), spot, TolerantPod("fill-1", "spot-1", "1900m"),
                      TolerantPod("a-1", "od-1", "900m")},
                     cat, in);
  EXPECT_FALSE(p.plan.boot.has_value());
  EXPECT_NE(p.plan.boot_skipped.find("would not be spot"), std::string::npos) << p.plan.boot_skipped;
}

TEST(SpotBoot, CloudZonesLimitWhereTheNodeGoes) {
  Catalog cat = TestCatalog();
  PlanInputs in;
  in.zones = {"z2"};
  Planned p = PlanOf({OdNode("od-1", "large", "4"), FullSpotNode("spot-1"), TolerantPod("fill-1", "spot-1", "1900m"),
                      TolerantPod("a-1", "od-1", "900m")},
                     cat, in);
  ASSERT_TRUE(p.plan.boot.has_value()) << p.plan.boot_skipped;
  EXPECT_EQ(p.plan.boot->zone, "z2");
}

TEST(SpotBoot, ThePlanWithItsBootSurvivesTheJournal) {
  Catalog cat = TestCatalog();
  Planned p = PlanOf({OdNode("od-1", "large", "4"), FullSpotNode("spot-1"), TolerantPod("fill-1", "spot-1", "1900m"),
                      TolerantPod("a-1", "od-1", "900m")},
                     cat);
  ASSERT_TRUE(p.plan.boot.has_value());
  auto back = SpotPlan::FromJson(p.plan.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_TRUE(back->boot.has_value());
  EXPECT_EQ(*back->boot, *p.plan.boot);
  json bad = p.plan.ToJson();
  bad["boot"]["machineType"] = "";
  EXPECT_FALSE(SpotPlan::FromJson(bad).ok()) << "a journaled boot without its type is an error";
}

TEST(SpotBoot, NodeBootIsAskedForTheSpotNodeOnlyOnceItsOnDemandNodeWasGranted) {
  Catalog cat = TestCatalog();
  Planned p = PlanOf({OdNode("od-1", "large", "4"), FullSpotNode("spot-1"), TolerantPod("fill-1", "spot-1", "1900m"),
                      TolerantPod("a-1", "od-1", "900m")},
                     cat);
  ASSERT_TRUE(p.plan.boot.has_value());
  execute::BootRequest granted = BootRequestFor(p.plan, {"od-1"}, "kinema", "spot-rescheduling-20261205T010000Z");
  ASSERT_EQ(granted.targets.size(), 1u);
  EXPECT_EQ(granted.targets[0].planned, kBootPlannedName);
  EXPECT_EQ(granted.targets[0].capacity, "spot");
  EXPECT_EQ(granted.targets[0].machine_type, p.plan.boot->machine_type);
  EXPECT_EQ(granted.targets[0].zone, p.plan.boot->zone);
  EXPECT_FALSE(granted.targets[0].instance_name.empty());
  EXPECT_EQ(BootRequestFor(p.plan, {"od-1"}, "kinema", "spot-rescheduling-20261205T010000Z").ToJson(),
            granted.ToJson())
      << "the same name on every attempt";
  EXPECT_TRUE(BootRequestFor(p.plan, {}, "kinema", "w").targets.empty()) << "the budget refused the node";
  SpotPlan without = p.plan;
  without.boot.reset();
  EXPECT_TRUE(BootRequestFor(without, {"od-1"}, "kinema", "w").targets.empty());
}

TEST(SpotTolerantGauge, CountsTolerantPodsEvenWhenEverySpotNodeIsGoneByTheCatalogsSpotTaint) {
  Catalog cat = TestCatalog();
  // No spot node at all (every one preempted): the catalog says what a spot
  // node looks like; the tolerant pods count, the intolerant one does not.
  json list = List({OdNode("od-1", "large", "4"), TolerantPod("a-1", "od-1", "100m"), TolerantPod("a-2", "od-1", "100m"),
                    Pod("stubborn-1", "od-1", "100m", "100Mi")});
  auto snap = ParseSnapshot(list);
  ASSERT_TRUE(snap.ok());
  PlanInputs in;
  in.catalog = &cat;
  EXPECT_EQ(PlanSpotCycle(*snap, list, in).spot_tolerant_on_demand_pods, 2);
  // A cordoned (or NotReady) spot node still tells which pods tolerate spot.
  json cordoned = FullSpotNode("spot-1");
  cordoned["spec"]["unschedulable"] = true;
  json with_spot = List({OdNode("od-1", "large", "4"), cordoned, TolerantPod("a-1", "od-1", "100m"),
                         Pod("stubborn-1", "od-1", "100m", "100Mi")});
  auto snap2 = ParseSnapshot(with_spot);
  ASSERT_TRUE(snap2.ok());
  EXPECT_EQ(PlanSpotCycle(*snap2, with_spot, PlanInputs{}).spot_tolerant_on_demand_pods, 1);
}

}  // namespace
}  // namespace kinema::spot
