// The spot kind's typed step results and its explanation (kinemactl
// explain) from a journaled view alone.
#include <gtest/gtest.h>

#include "engine/kinds/kind_registry.h"
#include "engine/status/metrics.h"
#include "steps/execute/node_boot.h"
#include "steps/execute/node_retirement.h"
#include "steps/execute/workload_move.h"
#include "steps/kinds.h"
#include "steps/spot/explain.h"
#include "steps/spot/spot_workflow.h"

namespace kinema::spot {
namespace {

using nlohmann::json;

PlannedNode OnDemand(const std::string& name, NodeAction a, const std::string& reason,
                     std::vector<PodPlacement> placements = {}) {
  PlannedNode n;
  n.name = name;
  n.node_class = NodeClass::kOnDemand;
  n.action = a;
  n.reason = reason;
  n.placements = std::move(placements);
  return n;
}

StepView Step(int index, const std::string& name, json result) {
  StepView s;
  s.index = index;
  s.name = name;
  s.status = StepStatus::kSucceeded;
  s.result = std::move(result);
  return s;
}

TEST(SpotResults, RoundTripAndDamagedRowsAreErrors) {
  ClaimResult c{{"a"}, {{"b", "budget 10%: 1 node"}}, 1, "budget 10%"};
  auto c2 = ClaimResult::FromJson(c.ToJson());
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(c2->granted, c.granted);
  EXPECT_EQ(c2->refused[0].why, "budget 10%: 1 node");
  RecheckResult r;
  r.proceed = {{"a", "uid-a", "gce://p/z/a"}};
  r.kept = {{"b", "spot capacity changed"}};
  auto r2 = RecheckResult::FromJson(r.ToJson());
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->proceed, r.proceed);
  EXPECT_EQ(r2->kept[0].node, "b");
  TaintResult t{{"a"}, {"b"}, {}};
  EXPECT_EQ(TaintResult::FromJson(t.ToJson())->untainted, t.untainted);
  EXPECT_FALSE(RecheckResult::FromJson(json{{"proceed", {{{"uid", "x"}}}}}).ok());
  EXPECT_FALSE(ClaimResult::FromJson(json{{"granted", {1, 2}}}).ok());
  EXPECT_FALSE(PlanStepResult::FromJson(json::object()).ok());
  EXPECT_FALSE(TaintResult::FromJson(json{{"tainted", "a"}}).ok());
}

TEST(SpotExplain, SaysPerNodeWhatWasDrainedKeptOrSkippedAndWhy) {
  PlanStepResult plan;
  plan.snapshot_nodes = 5;
  plan.plan.nodes = {OnDemand("od-a", NodeAction::kDrain, "all 1 pod(s) fit on spot nodes", {{"shop/a-1", "spot-1"}}),
                     OnDemand("od-b", NodeAction::kEligible, "all 1 pod(s) fit on spot nodes", {{"shop/b-1", "spot-1"}}),
                     OnDemand("od-c", NodeAction::kSkip, "pod shop/c-1 must stay: no controller"),
                     OnDemand("od-d", NodeAction::kDrain, "all 1 pod(s) fit on spot nodes", {{"shop/d-1", "spot-1"}})};
  PlannedNode spot;
  spot.name = "spot-1";
  spot.node_class = NodeClass::kSpot;
  spot.action = NodeAction::kFill;
  spot.reason = "spot capacity";
  plan.plan.nodes.push_back(spot);
  ClaimResult claim{{"od-a", "od-d"}, {}, 3, "budget 50%"};
  RecheckResult recheck;
  recheck.proceed = {{"od-a", "u", ""}};
  recheck.kept = {{"od-d", "spot capacity changed: pod shop/d-1 fits on no spot node"}};
  execute::RetireResult drained;
  drained.nodes.push_back({"od-a", execute::RetireOutcome::kDeleted, 1, "", "od-a", "z"});
  WorkflowView v;
  v.id = "spot-rescheduling-20261204T101500Z";
  v.type = kWorkflowType;
  v.status = WorkflowStatus::kCompleted;
  v.steps = {Step(0, kPlanStep, plan.ToJson()), Step(1, kTaintStep, TaintResult{{"od-a"}, {}, {}}.ToJson()),
             Step(2, kClaimStep, claim.ToJson()), Step(4, kRecheckStep, recheck.ToJson()),
             Step(6, execute::kDrainDeleteStep, drained.ToJson())};
  Explanation e = ExplainSpot(v);
  std::map<std::string, NodeExplanation> by;
  for (const auto& n : e.nodes) by[n.name] = n;
  EXPECT_EQ(by["od-a"].action, "deleted");
  EXPECT_EQ(by["od-b"].action, "skip");
  EXPECT_NE(by["od-b"].reason.find("maxNodesPerCycle"), std::string::npos) << by["od-b"].reason;
  EXPECT_EQ(by["od-c"].action, "skip");
  EXPECT_NE(by["od-c"].reason.find("no controller"), std::string::npos);
  EXPECT_EQ(by["od-d"].action, "kept");
  EXPECT_NE(by["od-d"].reason.find("spot capacity changed"), std::string::npos);
  EXPECT_EQ(by["spot-1"].action, "fill");
  ASSERT_EQ(e.moves.size(), 1u);
  EXPECT_EQ(e.moves[0].pod, "shop/a-1");
  EXPECT_EQ(e.moves[0].from, "od-a");
  EXPECT_EQ(e.moves[0].to, "spot-1");
  EXPECT_EQ(e.budget.allowed_nodes, 3);
  EXPECT_EQ(e.budget.binding, "budget 50%");
  json j = e.ToJson();
  EXPECT_EQ(j["spot"]["nodesDrained"], 1);
  EXPECT_EQ(j["spot"]["tainted"], json::array({"od-a"}));
  EXPECT_NE(e.summary.find("Drained 1"), std::string::npos) << e.summary;
}

TEST(SpotExplain, ADamagedOrMissingPlanFallsBackToTheGenericExplanation) {
  WorkflowView v;
  v.id = "spot-rescheduling-x";
  v.type = kWorkflowType;
  v.status = WorkflowStatus::kRunning;
  v.steps = {Step(0, kPlanStep, json{{"plan", 3}})};
  Explanation e = ExplainSpot(v);
  EXPECT_TRUE(e.nodes.empty());
  EXPECT_EQ(e.id, "spot-rescheduling-x");
}

TEST(SpotExplain, ABootedSpotNodeIsListedAndTheMovesNameItByItsRealName) {
  PlanStepResult plan;
  plan.snapshot_nodes = 3;
  plan.plan.nodes = {OnDemand("od-a", NodeAction::kDrain, "no spot room; all fit on a new spot large (spot.bootSpot)",
                              {{"shop/a-1", kBootPlannedName}, {"shop/a-2", kBootPlannedName}})};
  SpotBootPlan boot;
  boot.node = "od-a";
  boot.machine_type = "large";
  boot.zone = "z1";
  boot.price_per_hour = 0.45;
  boot.replaced_price_per_hour = 1.5;
  boot.pods = {"shop/a-1", "shop/a-2"};
  boot.reason = "no spot room";
  plan.plan.boot = boot;
  execute::BootResult booted;
  execute::BootedNode b;
  b.planned = kBootPlannedName;
  b.node = "kinema-0a1b2c";
  b.capacity = "spot";
  b.machine_type = "large";
  booted.booted.push_back(b);
  execute::RetireResult drained;
  drained.nodes.push_back({"od-a", execute::RetireOutcome::kDeleted, 0, "", "od-a", "z1"});
  WorkflowView v;
  v.id = "spot-rescheduling-20261205T010000Z";
  v.type = kWorkflowType;
  v.status = WorkflowStatus::kCompleted;
  v.steps = {Step(0, kPlanStep, plan.ToJson()), Step(2, kClaimStep, ClaimResult{{"od-a"}, {}, 3, ""}.ToJson()),
             Step(3, execute::kNodeBootStep, booted.ToJson()), Step(7, execute::kDrainDeleteStep, drained.ToJson())};
  Explanation e = ExplainSpot(v);
  std::map<std::string, NodeExplanation> by;
  for (const auto& n : e.nodes) by[n.name] = n;
  ASSERT_EQ(by.count("kinema-0a1b2c"), 1u);
  EXPECT_EQ(by["kinema-0a1b2c"].action, "booted");
  EXPECT_EQ(by["kinema-0a1b2c"].price_per_hour, 0.45);
  EXPECT_EQ(by["od-a"].action, "deleted");
  ASSERT_EQ(e.moves.size(), 2u);
  for (const auto& m : e.moves) EXPECT_EQ(m.to, "kinema-0a1b2c");
  json j = e.ToJson();
  EXPECT_EQ(j["spot"]["boot"]["bootedNode"], "kinema-0a1b2c");
  EXPECT_EQ(j["spot"]["boot"]["machineType"], "large");
  EXPECT_NE(e.summary.find("kinema-0a1b2c"), std::string::npos) << e.summary;

  // Planned but never booted (the workflow stopped first): said so.
  v.steps = {Step(0, kPlanStep, plan.ToJson()), Step(2, kClaimStep, ClaimResult{{"od-a"}, {}, 3, ""}.ToJson())};
  Explanation planned = ExplainSpot(v);
  bool found = false;
  for (const auto& n : planned.nodes) {
    if (n.name == kBootPlannedName) {
      found = true;
      EXPECT_EQ(n.action, "boot");
      EXPECT_NE(n.reason.find("not booted"), std::string::npos) << n.reason;
    }
  }
  EXPECT_TRUE(found);
  v.steps = {Step(0, kPlanStep, plan.ToJson())};
  v.outcome = "dry_run";
  for (const auto& n : ExplainSpot(v).nodes) {
    if (n.name == kBootPlannedName) {
      EXPECT_NE(n.reason.find("dry run"), std::string::npos) << n.reason;
    }
  }
}

TEST(SpotKind, MetricsCountDrainedNodesAndTheSpotTolerantPodsLeftOnOnDemandNodes) {
  KindRegistry kinds;
  ASSERT_TRUE(RegisterKinds(&kinds).ok());
  WorkflowKind* k = kinds.Find(kWorkflowType);
  ASSERT_NE(k, nullptr);
  Metrics m;
  k->DescribeMetrics(&m);
  PlanStepResult plan;
  plan.plan.spot_tolerant_on_demand_pods = 7;
  execute::RetireResult drained;
  drained.nodes.push_back({"od-a", execute::RetireOutcome::kDeleted, 3, "", "od-a", "z"});
  drained.nodes.push_back({"od-b", execute::RetireOutcome::kDrained, 2, "", "", ""});
  drained.nodes.push_back({"od-c", execute::RetireOutcome::kKept, 1, "spot capacity changed", "", ""});
  WorkflowView v;
  v.id = "spot-rescheduling-x";
  v.type = kWorkflowType;
  v.status = WorkflowStatus::kCompleted;
  v.steps = {Step(0, kPlanStep, plan.ToJson()), Step(7, execute::kDrainDeleteStep, drained.ToJson())};
  k->RecordFinished(v, &m);
  EXPECT_EQ(m.Get("kinema_spot_nodes_drained_total", {}), 2) << "kept nodes are not drained";
  EXPECT_EQ(m.Get("kinema_spot_tolerant_pods_on_demand", {}), 7);
  EXPECT_EQ(m.Get("kinema_evictions_total", {{"type", kWorkflowType}}), 6);
  std::string text = m.Render();
  EXPECT_NE(text.find("# TYPE kinema_spot_nodes_drained_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE kinema_spot_tolerant_pods_on_demand gauge"), std::string::npos) << text;
  // The next cycle's plan replaces the gauge; the counter only grows.
  plan.plan.spot_tolerant_on_demand_pods = 0;
  v.steps = {Step(0, kPlanStep, plan.ToJson()), Step(7, execute::kDrainDeleteStep, drained.ToJson())};
  k->RecordFinished(v, &m);
  EXPECT_EQ(m.Get("kinema_spot_tolerant_pods_on_demand", {}), 0);
  EXPECT_EQ(m.Get("kinema_spot_nodes_drained_total", {}), 4);
}

}  // namespace
}  // namespace kinema::spot
