#include "tools/plan/plan_command.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "tests/optimize/independent_validator.h"
#include "tests/optimize/test_cluster.h"

namespace kinema {
namespace {

using namespace kinema::testing_util;
using json = nlohmann::json;

class PlanCommandTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = ::testing::TempDir() + "/plan_cmd_" + name;
    std::ofstream(path) << text;
    return path;
  }
  int Run(std::vector<std::string> args) {
    std::stringstream out, err;
    auto* old_out = std::cout.rdbuf(out.rdbuf());
    auto* old_err = std::cerr.rdbuf(err.rdbuf());
    int rc = RunPlanCommand(args);
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
    out_ = out.str();
    err_ = err.str();
    return rc;
  }
  json Cluster() {
    return List({Node("a", "small", "2", "8Gi"), Node("b", "small", "2", "8Gi"), Pod("web-1", "a", "500m", "1Gi"),
                 Pod("web-2", "b", "500m", "1Gi")});
  }
  std::string out_, err_;
};

TEST_F(PlanCommandTest, PrintsAValidJsonPlanAndExitsZero) {
  std::string snap = Write("snap.json", Cluster().dump());
  std::string cat = Write("cat.json", TwoTypeCatalog().dump());
  ASSERT_EQ(Run({"--snapshot", snap, "--catalog", cat, "--json", "--time-limit", "0.5"}), 0) << err_;
  json plan = json::parse(out_);
  for (const char* f : {"status", "costPerHourBefore", "costPerHourAfter", "lowerBound", "solveSeconds", "nodes",
                        "placements", "moves"})
    EXPECT_TRUE(plan.contains(f)) << f;
  auto rep = validator::ValidatePlan(Cluster(), TwoTypeCatalog(), plan);
  EXPECT_TRUE(rep.ok()) << rep.Summary();
  EXPECT_LT(plan["costPerHourAfter"].get<double>(), plan["costPerHourBefore"].get<double>());
}

TEST_F(PlanCommandTest, HumanSummaryWithoutJson) {
  std::string snap = Write("snap.json", Cluster().dump());
  std::string cat = Write("cat.json", TwoTypeCatalog().dump());
  ASSERT_EQ(Run({"--snapshot=" + snap, "--catalog=" + cat, "--time-limit=0.3"}), 0) << err_;
  EXPECT_NE(out_.find("Cost:"), std::string::npos) << out_;
  EXPECT_NE(out_.find("Lower bound:"), std::string::npos) << out_;
}

TEST_F(PlanCommandTest, InvalidInputExitsTwoWithOneLineNamingTheField) {
  json bad = Cluster();
  bad["items"][3]["spec"]["containers"][0]["resources"]["requests"]["memory"] = "lots";
  std::string snap = Write("bad.json", bad.dump());
  std::string cat = Write("cat.json", TwoTypeCatalog().dump());
  EXPECT_EQ(Run({"--snapshot", snap, "--catalog", cat}), 2);
  EXPECT_NE(err_.find("items[3].spec.containers[0].resources.requests.memory"), std::string::npos) << err_;
  EXPECT_EQ(std::count(err_.begin(), err_.end(), '\n'), 1) << err_;
  EXPECT_EQ(Run({"--snapshot", Write("junk.json", "{not json"), "--catalog", cat}), 2);
  EXPECT_EQ(Run({"--snapshot", snap}), 2);                        // missing --catalog
  EXPECT_EQ(Run({"--snapshot", snap, "--catalog", cat, "--frobnicate"}), 2);
  EXPECT_EQ(Run({"--snapshot", snap, "--catalog", cat, "--time-limit", "soon"}), 2);
  json badcat = TwoTypeCatalog();
  badcat["machineTypes"][1]["pricePerHour"].erase("onDemand");
  EXPECT_EQ(Run({"--snapshot", Write("snap.json", Cluster().dump()), "--catalog", Write("badcat.json", badcat.dump())}), 2);
  EXPECT_NE(err_.find("machineTypes[1].pricePerHour.onDemand"), std::string::npos) << err_;
}

TEST_F(PlanCommandTest, InfeasibleExitsThreeNamingThePod) {
  json c = Cluster();
  c["items"].push_back(Pod("huge-1", "", "100", "1Gi"));
  std::string snap = Write("inf.json", c.dump());
  std::string cat = Write("cat.json", TwoTypeCatalog().dump());
  EXPECT_EQ(Run({"--snapshot", snap, "--catalog", cat, "--json"}), 3);
  EXPECT_NE(err_.find("shop/huge-1"), std::string::npos) << err_;
  EXPECT_EQ(json::parse(out_)["status"], "infeasible");
}

TEST_F(PlanCommandTest, MinSavingsGivesNoChangePlan) {
  std::string snap = Write("snap.json", Cluster().dump());
  std::string cat = Write("cat.json", TwoTypeCatalog().dump());
  ASSERT_EQ(Run({"--snapshot", snap, "--catalog", cat, "--json", "--min-savings", "0.9", "--time-limit", "0.3"}), 0);
  json plan = json::parse(out_);
  EXPECT_EQ(plan["moves"], 0);
  EXPECT_NEAR(plan["costPerHourAfter"].get<double>(), plan["costPerHourBefore"].get<double>(), 1e-12);
}

TEST_F(PlanCommandTest, MaxMovesZeroKeepsEveryPod) {
  std::string snap = Write("snap.json", Cluster().dump());
  std::string cat = Write("cat.json", TwoTypeCatalog().dump());
  ASSERT_EQ(Run({"--snapshot", snap, "--catalog", cat, "--json", "--max-moves", "0", "--time-limit", "0.3"}), 0) << err_;
  json plan = json::parse(out_);
  EXPECT_EQ(plan["moves"], 0);
  auto rep = validator::ValidatePlan(Cluster(), TwoTypeCatalog(), plan);
  EXPECT_TRUE(rep.ok()) << rep.Summary();
}

TEST_F(PlanCommandTest, MaxRetireAndMaxMovesGiveABudgetedPlanWithItsTarget) {
  // Four half-empty nodes: the unconstrained plan retires three; one may go.
  json c = List({Node("a", "small", "2", "8Gi"), Node("b", "small", "2", "8Gi"), Node("c", "small", "2", "8Gi"),
                 Node("d", "large", "4", "16Gi"), Pod("web-1", "a", "500m", "1Gi"), Pod("web-2", "b", "500m", "1Gi"),
                 Pod("web-3", "c", "500m", "1Gi"), Pod("web-4", "d", "500m", "1Gi")});
  std::string snap = Write("budget.json", c.dump());
  std::string cat = Write("cat.json", TwoTypeCatalog().dump());
  ASSERT_EQ(Run({"--snapshot", snap, "--catalog", cat, "--json", "--max-retire", "1", "--max-moves", "3", "--no-spot",
                 "--time-limit", "0.5"}),
            0)
      << err_;
  json plan = json::parse(out_);
  auto rep = validator::ValidatePlan(c, TwoTypeCatalog(), plan);
  EXPECT_TRUE(rep.ok()) << rep.Summary();
  int retired = 0;
  for (const auto& n : plan["nodes"]) retired += n["action"] == "retire";
  EXPECT_EQ(retired, 1);
  EXPECT_LE(plan["moves"].get<int>(), 3);
  EXPECT_NEAR(plan["costPerHourAfter"].get<double>(), 3.0, 1e-9);  // the large node goes
  ASSERT_TRUE(plan.contains("target"));
  EXPECT_NEAR(plan["target"]["costPerHourAfter"].get<double>(), 1.0, 1e-9);  // all four fit one small node
  EXPECT_LE(plan["target"]["lowerBound"].get<double>(), 1.0 + 1e-9);
  EXPECT_EQ(plan["status"], "optimal");
  EXPECT_EQ(plan["budget"]["maxRetire"], 1);
  EXPECT_EQ(plan["budget"]["maxMoves"], 3);
  // The human summary says how far the step goes.
  ASSERT_EQ(Run({"--snapshot", snap, "--catalog", cat, "--max-retire=1", "--no-spot", "--time-limit", "0.5"}), 0);
  EXPECT_NE(out_.find("Target (no budget): 1.000000"), std::string::npos) << out_;
  EXPECT_NE(out_.find("Budget: retired 1 of 1 node(s)"), std::string::npos) << out_;
}

TEST_F(PlanCommandTest, ZeroBudgetPrintsTheNoChangePlanAndExitsZero) {
  std::string snap = Write("snap.json", Cluster().dump());
  std::string cat = Write("cat.json", TwoTypeCatalog().dump());
  ASSERT_EQ(Run({"--snapshot", snap, "--catalog", cat, "--json", "--max-retire", "0", "--max-moves", "0",
                 "--time-limit", "0.3"}),
            0)
      << err_;
  json plan = json::parse(out_);
  EXPECT_EQ(plan["moves"], 0);
  for (const auto& n : plan["nodes"]) EXPECT_EQ(n["action"], "keep");
  EXPECT_NEAR(plan["costPerHourAfter"].get<double>(), plan["costPerHourBefore"].get<double>(), 1e-12);
  EXPECT_LT(plan["target"]["costPerHourAfter"].get<double>(), plan["costPerHourBefore"].get<double>());
  auto rep = validator::ValidatePlan(Cluster(), TwoTypeCatalog(), plan);
  EXPECT_TRUE(rep.ok()) << rep.Summary();
}

TEST_F(PlanCommandTest, KeepNodesAreNeverRetired) {
  // Unconstrained, one of the two half-empty nodes retires; protect both.
  std::string snap = Write("snap.json", Cluster().dump());
  std::string cat = Write("cat.json", TwoTypeCatalog().dump());
  ASSERT_EQ(Run({"--snapshot", snap, "--catalog", cat, "--json", "--keep-nodes", "a,b", "--no-spot", "--time-limit",
                 "0.3"}),
            0)
      << err_;
  json plan = json::parse(out_);
  for (const auto& n : plan["nodes"]) EXPECT_NE(n["action"], "retire") << n.dump();
  EXPECT_EQ(plan["budget"]["keepNodes"], 2);
  EXPECT_LT(plan["target"]["costPerHourAfter"].get<double>(), plan["costPerHourBefore"].get<double>());
  auto rep = validator::ValidatePlan(Cluster(), TwoTypeCatalog(), plan);
  EXPECT_TRUE(rep.ok()) << rep.Summary();
}

TEST_F(PlanCommandTest, BadBudgetFlagsExitTwo) {
  std::string snap = Write("snap.json", Cluster().dump());
  std::string cat = Write("cat.json", TwoTypeCatalog().dump());
  EXPECT_EQ(Run({"--snapshot", snap, "--catalog", cat, "--max-retire", "-1"}), 2);
  EXPECT_NE(err_.find("--max-retire"), std::string::npos) << err_;
  EXPECT_EQ(Run({"--snapshot", snap, "--catalog", cat, "--max-retire", "ten"}), 2);
  EXPECT_EQ(Run({"--snapshot", snap, "--catalog", cat, "--max-moves", "1.5"}), 2);
  EXPECT_NE(err_.find("--max-moves"), std::string::npos) << err_;
  EXPECT_EQ(Run({"--snapshot", snap, "--catalog", cat, "--max-retire"}), 2);
}

TEST_F(PlanCommandTest, PendingPodsBeyondMaxMovesExitThree) {
  json c = Cluster();
  c["items"].push_back(Pod("new-1", "", "100m", "1Gi"));
  c["items"].push_back(Pod("new-2", "", "100m", "1Gi"));
  std::string snap = Write("pending.json", c.dump());
  std::string cat = Write("cat.json", TwoTypeCatalog().dump());
  EXPECT_EQ(Run({"--snapshot", snap, "--catalog", cat, "--json", "--max-moves", "1", "--time-limit", "0.3"}), 3);
  EXPECT_NE(err_.find("--max-moves 1"), std::string::npos) << err_;
  EXPECT_EQ(json::parse(out_)["status"], "infeasible");
  // A retire budget alone never makes it infeasible.
  EXPECT_EQ(Run({"--snapshot", snap, "--catalog", cat, "--json", "--max-retire", "0", "--time-limit", "0.3"}), 0)
      << err_;
  EXPECT_EQ(json::parse(out_)["moves"], 2);
}

}  // namespace
}  // namespace kinema
