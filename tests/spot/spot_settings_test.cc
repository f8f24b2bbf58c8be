// The `spot` config section through the real kind registry (every kind's
// sections read at once): keys, defaults, errors naming the key.
#include <gtest/gtest.h>

#include "engine/kinds/kind_registry.h"
#include "steps/kinds.h"
#include "steps/spot/spot_kind.h"
#include "steps/spot/spot_workflow.h"

namespace kinema::spot {
namespace {

struct Parsed {
  KindRegistry kinds;
  StatusOr<ControllerConfig> config = Status::Internal("unset");
  const SpotSettings* settings = nullptr;
};

std::unique_ptr<Parsed> Parse(const std::string& yaml) {
  auto p = std::make_unique<Parsed>();
  EXPECT_TRUE(RegisterKinds(&p->kinds).ok());
  p->config = p->kinds.ParseConfig("catalog: /etc/kinema/catalog.json\n" + yaml);
  p->settings = SettingsOf(p->kinds.Find(kWorkflowType));
  return p;
}

TEST(SpotSettings, DefaultsAreTheSeedsAndTheKindIsOffByDefault) {
  auto p = Parse("");
  ASSERT_TRUE(p->config.ok()) << p->config.status().ToString();
  ASSERT_NE(p->settings, nullptr);
  EXPECT_FALSE(p->config->kinds.at(kWorkflowType).enabled);
  EXPECT_EQ(p->config->kinds.at(kWorkflowType).interval, Duration(10000));
  EXPECT_TRUE(p->settings->taint_on_demand);
  EXPECT_EQ(p->settings->max_nodes_per_cycle, 1);
  EXPECT_EQ(p->settings->after_drain, "keep");
  EXPECT_FALSE(p->settings->boot_spot) << "booting spot nodes is opt-in";
  EXPECT_EQ(p->settings->boot_timeout, Duration(600000));
  EXPECT_FALSE(p->settings->spot.has_value());
  EXPECT_FALSE(p->settings->on_demand.has_value());
  EvictionLimits l = p->settings->EffectiveLimits(p->config->eviction_limits);
  EXPECT_EQ(l.per_node, -1) << "a node is drained whole";
  EXPECT_EQ(l.total, p->config->eviction_limits.total);
}

TEST(SpotSettings, EveryKeyIsRead) {
  auto p = Parse(R"(
spot:
  enabled: true
  interval: 30s
  onDemandSelector: "k8s-node-role/on-demand-worker=true"
  spotSelector: "k8s-node-role/spot-worker"
  taintOnDemand: false
  maxNodesPerCycle: 3
  afterDrain: delete
  drainTimeout: 5m
  pendingTimeout: 30s
  rolloutTimeout: 7m
  rolloutMaxConcurrent: 2
  evictionLimits: {perNode: 7, total: 40}
)");
  ASSERT_TRUE(p->config.ok()) << p->config.status().ToString();
  const SpotSettings& s = *p->settings;
  EXPECT_TRUE(p->config->kinds.at(kWorkflowType).enabled);
  EXPECT_EQ(p->config->kinds.at(kWorkflowType).interval, Duration(30000));
  ASSERT_TRUE(s.on_demand.has_value());
  EXPECT_TRUE(s.on_demand->Matches({{"k8s-node-role/on-demand-worker", "true"}}));
  ASSERT_TRUE(s.spot.has_value());
  EXPECT_FALSE(s.taint_on_demand);
  EXPECT_EQ(s.max_nodes_per_cycle, 3);
  EXPECT_TRUE(s.DeleteAfterDrain());
  EXPECT_EQ(s.drain_timeout, Duration(300000));
  EXPECT_EQ(s.pending_timeout, Duration(30000));
  EXPECT_EQ(s.rollout_timeout, Duration(420000));
  EXPECT_EQ(s.rollout_max_concurrent, 2);
  EvictionLimits l = s.EffectiveLimits(p->config->eviction_limits);
  EXPECT_EQ(l.per_node, 7);
  EXPECT_EQ(l.per_namespace, p->config->eviction_limits.per_namespace);
  EXPECT_EQ(l.total, 40);
}

TEST(SpotSettings, BadValuesAreErrorsNamingTheKey) {
  struct Case {
    const char* yaml;
    const char* key;
  } cases[] = {
      {"spot: {spotSelector: 'a in (b'}", "spot.spotSelector"},
      {"spot: {onDemandSelector: 'x lt (1)'}", "spot.onDemandSelector"},
      {"spot: {afterDrain: remove}", "spot.afterDrain"},
      {"spot: {maxNodesPerCycle: 0}", "spot.maxNodesPerCycle"},
      {"spot: {drainTimout: 5m}", "spot.drainTimout"},
      {"spot: {enabled: true}\nexclusions: {labelSelector: 'a in (b'}", "exclusions.labelSelector"},
      {"spot: {bootSpot: maybe}", "spot.bootSpot"},
      {"spot: {bootSpot: true}", "spot.bootSpot"},  // gce on the real endpoint without cloud.instanceTemplate
      {"spot: {bootSpot: true, bootTimeout: 0s}\ncloud: {endpoint: 'http://127.0.0.1:1'}", "spot.bootTimeout"},
  };
  for (const auto& c : cases) {
    auto p = Parse(c.yaml);
    ASSERT_FALSE(p->config.ok()) << c.yaml;
    EXPECT_NE(p->config.status().message().find(c.key), std::string::npos)
        << c.yaml << " -> " << p->config.status().ToString();
  }
}

TEST(SpotSettings, BootSpotIsReadAndNeedsAWayToBootNodes) {
  auto p = Parse(
      "spot:\n  bootSpot: true\n  bootTimeout: 4m\n"
      "cloud:\n  instanceTemplate: projects/p/global/instanceTemplates/t\n");
  ASSERT_TRUE(p->config.ok()) << p->config.status().ToString();
  EXPECT_TRUE(p->settings->boot_spot);
  EXPECT_EQ(p->settings->boot_timeout, Duration(240000));
  auto gke = Parse(
      "spot: {bootSpot: true}\ncloud: {provider: gke, project: p, location: us-central1, cluster: c}\n");
  EXPECT_TRUE(gke->config.ok()) << "gke boots through node pools: " << gke->config.status().ToString();
  auto sim = Parse("spot: {bootSpot: true}\ncloud: {endpoint: 'http://127.0.0.1:1'}\n");
  EXPECT_TRUE(sim->config.ok()) << "a custom endpoint (the simulator) needs no template: "
                                << sim->config.status().ToString();
}

}  // namespace
}  // namespace kinema::spot

namespace kinema::spot {
namespace {

TEST(SpotKind, IsRegisteredAsANodeDrainingKindUnderTheSpotBudgetReason) {
  KindRegistry kinds;
  ASSERT_TRUE(RegisterKinds(&kinds).ok());
  WorkflowKind* k = kinds.Find("spot-rescheduling");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->section(), "spot");
  KindTraits t = k->traits();
  EXPECT_FALSE(t.enabled_by_default);
  EXPECT_EQ(t.disruption, DisruptionClass::kRetiresNodes)
      << "never drains beside another node-retiring workflow (the rescheduling kind)";
  EXPECT_EQ(t.reason, "spot");
  // Its steps' RBAC: node taints, evictions, rollouts.
  bool nodes_update = false, evictions = false, deployments = false;
  for (const auto& p : k->Permissions(ControllerConfig{})) {
    for (const auto& v : p.verbs) {
      nodes_update |= p.resource == "nodes" && v == "update";
      evictions |= p.resource == "pods/eviction" && v == "create";
      deployments |= p.resource == "deployments" && v == "update";
    }
  }
  EXPECT_TRUE(nodes_update);
  EXPECT_TRUE(evictions);
  EXPECT_TRUE(deployments);
}

TEST(SpotKind, BootSpotAddsTheNodeBootPermissions) {
  KindRegistry kinds;
  ASSERT_TRUE(RegisterKinds(&kinds).ok());
  auto without = kinds.ParseConfig("catalog: /c.json\n");
  ASSERT_TRUE(without.ok());
  size_t base = kinds.Find("spot-rescheduling")->Permissions(*without).size();
  KindRegistry kinds2;
  ASSERT_TRUE(RegisterKinds(&kinds2).ok());
  auto with = kinds2.ParseConfig("catalog: /c.json\nspot: {bootSpot: true}\ncloud: {endpoint: 'http://127.0.0.1:1'}\n");
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  EXPECT_GT(kinds2.Find("spot-rescheduling")->Permissions(*with).size(), base);
}

}  // namespace
}  // namespace kinema::spot
