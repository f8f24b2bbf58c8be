// The load-rebalancing kind as the controller sees it: registered in
// steps/kinds.cc, off by default, every 60 s, its section read with the
// rest of the config (defaults, overrides, errors naming the key), its
// steps, its RBAC, and its explanation from a journaled view alone.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "engine/kinds/kind_registry.h"
#include "engine/workflow/workflow_type.h"
#include "steps/kinds.h"
#include "steps/rebalance/eviction.h"
#include "steps/rebalance/rebalance_kind.h"
#include "steps/rebalance/rebalance_workflow.h"

namespace kinema::rebalance {
namespace {

using json = nlohmann::json;

TEST(RebalanceKindTest, RegisteredOffByDefaultEverySixtySecondsWithTheSeedsLimits) {
  KindRegistry kinds;
  ASSERT_TRUE(RegisterKinds(&kinds).ok());
  WorkflowKind* k = kinds.Find("load-rebalancing");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->section(), "rebalance");
  EXPECT_EQ(k->traits().disruption, DisruptionClass::kPodsOnly);
  EXPECT_EQ(k->traits().reason, "rebalance");
  auto config = kinds.ParseConfig("catalog: c.json\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_FALSE(config->kinds.at("load-rebalancing").enabled);
  EXPECT_EQ(config->kinds.at("load-rebalancing").interval.count(), 60000);
  EXPECT_EQ(SettingsOf(k)->eviction_limits.total, 5);
  EXPECT_EQ(SettingsOf(k)->eviction_limits.per_node, 2);
}

TEST(RebalanceKindTest, ReadsItsSectionWithTheRestOfTheConfig) {
  KindRegistry kinds;
  ASSERT_TRUE(RegisterKinds(&kinds).ok());
  auto config = kinds.ParseConfig(
      "catalog: c.json\nrebalance:\n  enabled: true\n  interval: 30s\n  thresholds: {high: 0.8, low: 0.2}\n"
      "  evictionLimits: {total: 3}\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->kinds.at("load-rebalancing").enabled);
  EXPECT_EQ(config->kinds.at("load-rebalancing").interval.count(), 30000);
  const RebalanceSettings* s = SettingsOf(kinds.Find("load-rebalancing"));
  EXPECT_TRUE(s->classes.absolute);
  EXPECT_EQ(s->eviction_limits.total, 3);
  KindRegistry again;
  ASSERT_TRUE(RegisterKinds(&again).ok());
  auto bad = again.ParseConfig("catalog: c.json\nrebalance:\n  deviation: {hihg: 0.2}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("rebalance.deviation.hihg"), std::string::npos) << bad.status().ToString();
}

TEST(RebalanceKindTest, StepsAndPermissions) {
  RebalanceDeps deps;
  WorkflowType t = MakeRebalanceWorkflow(deps);
  ASSERT_EQ(t.steps.size(), 3u);
  EXPECT_EQ(t.steps[0].name, "read-scores");
  EXPECT_TRUE(t.steps[0].journal_only);
  EXPECT_EQ(t.steps[1].name, "choose-pods");
  EXPECT_TRUE(t.steps[1].journal_only);
  EXPECT_EQ(t.steps[2].name, "evict");
  EXPECT_FALSE(t.steps[2].journal_only) << "evictions are effects: the cycle is kept";
  auto kind = NewRebalanceKind();
  auto perms = kind->Permissions(ControllerConfig{});
  auto has = [&](const std::string& group, const std::string& resource, const std::string& verb) {
    return std::any_of(perms.begin(), perms.end(), [&](const kube::Permission& p) {
      return p.api_group == group && p.resource == resource &&
             std::find(p.verbs.begin(), p.verbs.end(), verb) != p.verbs.end();
    });
  };
  EXPECT_TRUE(has("", "pods/eviction", "create"));
  EXPECT_TRUE(has("metrics.k8s.io", "pods", "list"));
  EXPECT_TRUE(has("", "pods", "get"));
}

TEST(RebalanceKindTest, ExplainsACycleFromTheJournalAlone) {
  Classification cl = Classify({{"hot", 0.9}, {"mid", 0.5}, {"cold", 0.1}}, {false, 0.10, 0.0});
  ChooseResult c;
  c.classes = cl;
  c.node_count = 3;
  PodChoice pc;
  pc.pod = "default/virt-launcher-vm-1-abcde";
  pc.workload = "default/VirtualMachine/vm-1";
  pc.from = "hot";
  pc.to = "cold";
  pc.evict_only = true;
  pc.vm = "vm-1";
  c.choice.choices = {pc};
  c.choice.skipped = {{"shop/web-1", "hot", "cooldown: ..."}};
  c.choice.predicted = {{"hot", 0.6}, {"mid", 0.5}, {"cold", 0.3}};
  EvictResult r;
  EvictionEntry e;
  e.choice = pc;
  e.outcome = EvictionOutcome::kMigrated;
  e.new_node = "mid";
  r.evictions = {e};
  WorkflowView v;
  v.id = "load-rebalancing-20261204T101500Z";
  v.type = "load-rebalancing";
  v.status = WorkflowStatus::kCompleted;
  for (auto [name, result] : {std::pair<std::string, json>{"read-scores", json::object()},
                              {"choose-pods", c.ToJson()}, {"evict", r.ToJson()}}) {
    StepView s;
    s.name = name;
    s.status = StepStatus::kSucceeded;
    s.result = result;
    v.steps.push_back(s);
  }
  auto kind = NewRebalanceKind();
  json j = kind->Explain(v).ToJson();
  EXPECT_NE(j.value("summary", "").find("1 migrated live"), std::string::npos) << j.dump(2);
  ASSERT_EQ(j["moves"].size(), 1u);
  EXPECT_EQ(j["moves"][0]["to"], "mid") << "where the VM really went";
  ASSERT_EQ(j["nodes"].size(), 3u);
  EXPECT_EQ(j["nodes"][1]["name"], "hot");
  EXPECT_EQ(j["nodes"][1]["action"], "over");
  EXPECT_EQ(j["budget"]["allowedPods"], 5);
  EXPECT_EQ(j["skipped"].size(), 1u);
  EXPECT_NEAR(j["spread"].get<double>(), 0.8, 1e-9);
}

}  // namespace
}  // namespace kinema::rebalance
