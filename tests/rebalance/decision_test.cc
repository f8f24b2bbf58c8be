// The load-rebalancing decisions: classification (deviation and absolute,
// empty classes), pod choice (toward the average, only where an
// under-utilized node fits it), eviction limits, cooldown, ping-pong, early
// stop; and the `rebalance` settings.
#include "steps/rebalance/decision.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "steps/rebalance/settings.h"

namespace kinema::rebalance {
namespace {

using json = nlohmann::json;

constexpr int64_t kNow = 1'800'000'000'000;
constexpr double kGi = 1024.0 * 1024 * 1024;

std::vector<NodeScore> S(std::vector<std::pair<std::string, double>> v) {
  std::vector<NodeScore> out;
  for (auto& [n, s] : v) out.push_back({n, s});
  return out;
}

// --------------------------------------------------------------- Classify

TEST(ClassifyTest, DeviationClassesAroundTheAverage) {
  auto c = Classify(S({{"a", 0.9}, {"b", 0.5}, {"c", 0.1}, {"d", 0.5}}), {false, 0.10, 0.0});
  EXPECT_DOUBLE_EQ(c.average, 0.5);
  EXPECT_DOUBLE_EQ(c.over_bound, 0.6);
  EXPECT_DOUBLE_EQ(c.under_bound, 0.5);
  EXPECT_EQ(c.over, std::vector<std::string>{"a"});
  EXPECT_EQ(c.under, std::vector<std::string>{"c"});
  EXPECT_TRUE(c.no_action.empty()) << c.no_action;
  EXPECT_NEAR(c.Spread(), 0.8, 1e-12);
}

TEST(ClassifyTest, AbsoluteThresholdsIgnoreTheAverage) {
  auto c = Classify(S({{"a", 0.75}, {"b", 0.72}, {"c", 0.2}}), {true, 0.7, 0.3});
  EXPECT_EQ(c.over, (std::vector<std::string>{"a", "b"})) << "hottest first";
  EXPECT_EQ(c.under, std::vector<std::string>{"c"});
  EXPECT_DOUBLE_EQ(c.over_bound, 0.7);
}

TEST(ClassifyTest, NoOverUtilizedNodeMeansNoAction) {
  auto c = Classify(S({{"a", 0.52}, {"b", 0.5}, {"c", 0.48}}), {false, 0.10, 0.0});
  EXPECT_TRUE(c.over.empty());
  EXPECT_NE(c.no_action.find("no over-utilized node"), std::string::npos) << c.no_action;
}

TEST(ClassifyTest, NoUnderUtilizedNodeMeansNoAction) {
  auto c = Classify(S({{"a", 0.9}, {"b", 0.9}, {"c", 0.9}}), {true, 0.5, 0.3});
  EXPECT_EQ(c.over.size(), 3u);
  EXPECT_NE(c.no_action.find("no under-utilized node"), std::string::npos) << c.no_action;
  auto none = Classify({}, {false, 0.1, 0});
  EXPECT_FALSE(none.no_action.empty());
}

TEST(ClassifyTest, RoundTripsThroughJson) {
  auto c = Classify(S({{"a", 0.9}, {"b", 0.1}}), {false, 0.10, 0.0});
  auto back = Classification::FromJson(c.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), c.ToJson());
  EXPECT_FALSE(Classification::FromJson(json{{"average", "x"}}).ok());
}

// --------------------------------------------------------------- ChoosePods

json Node(const std::string& name, int cpu_milli = 4000, int mem_gi = 16) {
  return {{"apiVersion", "v1"}, {"kind", "Node"},
          {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}},
          {"status", {{"allocatable", {{"cpu", std::to_string(cpu_milli) + "m"}, {"memory", std::to_string(mem_gi) + "Gi"}, {"pods", "110"}}}}}};
}

json Pod(const std::string& ns, const std::string& name, const std::string& node, int cpu_milli = 250, int mem_mi = 256,
         const std::string& owner = "rs") {
  json p = {{"apiVersion", "v1"}, {"kind", "Pod"},
            {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", name}}},
                          {"ownerReferences", json::array({{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", owner}, {"uid", "u-" + owner}, {"controller", true}}})}}},
            {"spec", {{"nodeName", node}, {"containers", json::array({{{"name", "c"}, {"resources", {{"requests", {{"cpu", std::to_string(cpu_milli) + "m"}, {"memory", std::to_string(mem_mi) + "Mi"}}}}}}})}}},
            {"status", {{"phase", "Running"}}}};
  return p;
}

struct World {
  json items = json::array();
  Snapshot snap;
  ChoiceInput in;
  void Parse() {
    auto s = ParseSnapshot(json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    snap = *s;
    in.snapshot = &snap;
    in.now_ms = kNow;
  }
  void Use(const std::string& pod, double cores, double mem_gi = 0.25) { in.usage[pod] = {cores, mem_gi * kGi}; }
};

// hot: 4 cores, score 0.9; cold: score 0.1; mid: 0.5. Pods on hot use 0.8,
// 1.2 and 1.6 cores: hot's load is 3.6/4 = 0.9, gain 1.
World HotColdWorld() {
  World w;
  w.items = {Node("hot"), Node("mid"), Node("cold"),
             Pod("shop", "small", "hot", 250, 256, "small-rs"), Pod("shop", "medium", "hot", 250, 256, "medium-rs"),
             Pod("shop", "large", "hot", 250, 256, "large-rs"), Pod("shop", "m1", "mid", 250, 256, "m1-rs"),
             Pod("shop", "c1", "cold", 250, 256, "c1-rs")};
  w.Parse();
  w.Use("shop/small", 0.8);
  w.Use("shop/medium", 1.2);
  w.Use("shop/large", 1.6);
  w.Use("shop/m1", 2.0);
  w.Use("shop/c1", 0.4);
  w.in.classes = Classify(S({{"hot", 0.9}, {"mid", 0.5}, {"cold", 0.1}}), {false, 0.10, 0.0});
  for (const char* p : {"small", "medium", "large", "m1", "c1"}) {
    w.in.workload[std::string("shop/") + p] = std::string("shop/Deployment/") + p;
  }
  return w;
}

TEST(ChoosePodsTest, PicksThePodThatBringsTheHotNodeClosestToTheAverage) {
  World w = HotColdWorld();
  auto r = ChoosePods(w.in);
  ASSERT_EQ(r.choices.size(), 1u) << r.ToJson().dump(2);
  // large: 0.9 − 0.4 = 0.5 = the average exactly; the medium pod (1.2
  // cores = 0.3 share) gives 0.6, the small one 0.7.
  EXPECT_EQ(r.choices[0].pod, "shop/large") << r.ToJson().dump(2);
  EXPECT_EQ(r.choices[0].from, "hot");
  EXPECT_EQ(r.choices[0].to, "cold");
  EXPECT_NEAR(r.choices[0].from_score_after, 0.5, 1e-9);
  EXPECT_NEAR(r.predicted["hot"], 0.5, 1e-9);
  // Early stop: at 0.5 hot is within the bound (0.6): one eviction suffices.
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes.back().find("early stop"), std::string::npos) << r.notes.back();
}

TEST(ChoosePodsTest, NothingIsEvictedWhenAClassIsEmpty) {
  World w = HotColdWorld();
  w.in.classes = Classify(S({{"hot", 0.55}, {"mid", 0.5}, {"cold", 0.45}}), {false, 0.10, 0.0});
  auto r = ChoosePods(w.in);
  EXPECT_TRUE(r.choices.empty());
}

TEST(ChoosePodsTest, APodIsChosenOnlyWhenAnUnderUtilizedNodeFitsIt) {
  World w = HotColdWorld();
  // The cold node has 1 core allocatable and its pod already requests 250m:
  // the pods on hot request 1.5 cores each, so none fits there.
  w.items = {Node("hot"), Node("mid"), Node("cold", 1000, 16),
             Pod("shop", "small", "hot", 1500, 256, "small-rs"), Pod("shop", "large", "hot", 1500, 256, "large-rs"),
             Pod("shop", "m1", "mid", 250, 256, "m1-rs"), Pod("shop", "c1", "cold", 250, 256, "c1-rs")};
  w.Parse();
  auto r = ChoosePods(w.in);
  EXPECT_TRUE(r.choices.empty()) << r.ToJson().dump(2);
  bool said = false;
  for (const auto& s : r.skipped) said |= s.reason.find("insufficient cpu") != std::string::npos;
  EXPECT_TRUE(said) << r.ToJson().dump(2);
}

TEST(ChoosePodsTest, RespectsEvictionLimitsPerNodeAndInTotal) {
  World w;
  w.items = {Node("h1"), Node("h2"), Node("c1", 16000, 64), Node("c2", 16000, 64)};
  for (int i = 0; i < 6; ++i) {
    for (const char* h : {"h1", "h2"}) {
      std::string n = std::string(h) + "-p" + std::to_string(i);
      w.items.push_back(Pod("shop", n, h, 100, 128, n + "-rs"));
    }
  }
  w.Parse();
  for (int i = 0; i < 6; ++i) {
    for (const char* h : {"h1", "h2"}) {
      std::string n = "shop/" + std::string(h) + "-p" + std::to_string(i);
      w.Use(n, 0.6);
      w.in.workload[n] = "shop/Deployment/" + n.substr(5);
    }
  }
  w.in.classes = Classify(S({{"h1", 1.0}, {"h2", 0.95}, {"c1", 0.0}, {"c2", 0.0}}), {false, 0.10, 0.0});
  w.in.limits = {2, 20, 3};
  auto r = ChoosePods(w.in);
  ASSERT_EQ(r.choices.size(), 3u) << r.ToJson().dump(2);
  int on_h1 = 0;
  for (const auto& c : r.choices) on_h1 += c.from == "h1";
  EXPECT_EQ(on_h1, 2) << "hottest node first, at most 2 per node";
  w.in.limits = {2, 1, 5};
  r = ChoosePods(w.in);
  EXPECT_EQ(r.choices.size(), 1u) << "one per namespace";
}

TEST(ChoosePodsTest, AWorkloadIsNotEvictedAgainWithinTheCooldown) {
  World w = HotColdWorld();
  w.in.history.push_back({"shop/Deployment/large", "shop/large-old", "mid", "hot", kNow - 60'000, "load-rebalancing-1"});
  auto r = ChoosePods(w.in);
  ASSERT_FALSE(r.choices.empty());
  EXPECT_NE(r.choices[0].pod, "shop/large");
  bool cooled = false;
  for (const auto& s : r.skipped) cooled |= s.pod == "shop/large" && s.reason.find("cooldown") != std::string::npos;
  EXPECT_TRUE(cooled) << r.ToJson().dump(2);
  // Past the cooldown it is a candidate again.
  w.in.history[0].at_ms = kNow - 180'000;
  r = ChoosePods(w.in);
  ASSERT_FALSE(r.choices.empty());
  EXPECT_EQ(r.choices[0].pod, "shop/large");
}

TEST(ChoosePodsTest, APodBackOnTheNodeItWasEvictedFromIsAPingPong) {
  World w = HotColdWorld();
  w.in.history.push_back({"shop/Deployment/large", "shop/large-old", "hot", "cold", kNow - 600'000, "load-rebalancing-1"});
  // A replica that was there before that eviction did not come back: no ping-pong.
  w.in.created_ms["shop/large"] = kNow - 3'600'000;
  auto before = ChoosePods(w.in);
  EXPECT_TRUE(before.ping_pong.empty()) << before.ToJson().dump(2);
  ASSERT_FALSE(before.choices.empty());
  EXPECT_EQ(before.choices[0].pod, "shop/large");
  // Created after it: the replacement came back.
  w.in.created_ms["shop/large"] = kNow - 500'000;
  auto r = ChoosePods(w.in);
  ASSERT_EQ(r.ping_pong.size(), 1u) << r.ToJson().dump(2);
  EXPECT_EQ(r.ping_pong[0].kind, "returned");
  EXPECT_EQ(r.ping_pong[0].earlier_workflow, "load-rebalancing-1");
  for (const auto& c : r.choices) EXPECT_NE(c.pod, "shop/large");
}

TEST(ChoosePodsTest, MovingBackToTheNodeItCameFromIsAPingPong) {
  World w = HotColdWorld();
  // large was evicted from cold 10 minutes ago and landed on hot; cold is the
  // only under-utilized node: moving it back is refused and journaled.
  w.in.history.push_back({"shop/Deployment/large", "shop/large-old", "cold", "hot", kNow - 600'000, "load-rebalancing-1"});
  auto r = ChoosePods(w.in);
  ASSERT_EQ(r.ping_pong.size(), 1u) << r.ToJson().dump(2);
  EXPECT_EQ(r.ping_pong[0].kind, "back");
  EXPECT_EQ(r.ping_pong[0].earlier_from, "cold");
  for (const auto& c : r.choices) EXPECT_NE(c.pod, "shop/large");
  // Outside the window it is an ordinary move.
  w.in.ping_pong_window_ms = 300'000;
  r = ChoosePods(w.in);
  EXPECT_TRUE(r.ping_pong.empty());
}

TEST(ChoosePodsTest, UnmovablePodsAndPodsWithoutUsageAreSkippedWithAReason) {
  World w = HotColdWorld();
  w.in.cannot_move["shop/large"] = "Deployment shop/large: 2 of 3 available";
  w.in.usage.erase("shop/medium");
  auto r = ChoosePods(w.in);
  ASSERT_EQ(r.choices.size(), 1u);
  EXPECT_EQ(r.choices[0].pod, "shop/small");
  std::map<std::string, std::string> why;
  for (const auto& s : r.skipped) why[s.pod] = s.reason;
  EXPECT_NE(why["shop/large"].find("2 of 3"), std::string::npos);
  EXPECT_NE(why["shop/medium"].find("no measured usage"), std::string::npos);
}

TEST(ChoosePodsTest, EvictOnlyPodsAreMarkedForBackgroundEviction) {
  World w = HotColdWorld();
  w.in.evict_only.insert("shop/large");
  auto r = ChoosePods(w.in);
  ASSERT_EQ(r.choices.size(), 1u);
  EXPECT_TRUE(r.choices[0].evict_only);
  auto back = ChoiceResult::FromJson(r.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), r.ToJson());
}

// --------------------------------------------------------------- workloads

TEST(RolloutGuaranteeTest, DeploymentMayLoseAPodOnlyWithinMaxUnavailable) {
  json d = {{"kind", "Deployment"}, {"metadata", {{"name", "web"}, {"namespace", "shop"}}},
            {"spec", {{"replicas", 4}}}, {"status", {{"availableReplicas", 4}}}};
  EXPECT_EQ(RolloutGuaranteeReason(d), "") << "25% of 4 = 1";
  d["status"]["availableReplicas"] = 3;
  EXPECT_NE(RolloutGuaranteeReason(d), "");
  d["spec"]["replicas"] = 2;
  d["status"]["availableReplicas"] = 2;
  EXPECT_NE(RolloutGuaranteeReason(d), "") << "25% of 2 rounds down to 0 with a surge of 1";
  json ss = {{"kind", "StatefulSet"}, {"spec", {{"replicas", 3}}}, {"status", {{"readyReplicas", 3}}}};
  EXPECT_EQ(RolloutGuaranteeReason(ss), "");
}

TEST(WorkloadOfTest, ReplicaSetPodsBelongToTheirDeployment) {
  json p = Pod("shop", "web-abc", "n", 100, 100, "web-123");
  EXPECT_EQ(WorkloadOf(p, {{"shop/web-123", "web"}}), "shop/Deployment/web");
  EXPECT_EQ(WorkloadOf(p, {}), "shop/ReplicaSet/web-123");
}

// --------------------------------------------------------------- settings

Status Load(RebalanceSettings* s, const std::string& yaml) {
  auto root = config::ParseYaml(yaml, "test");
  if (!root.ok()) return root.status();
  auto fields = s->Sections();
  KINEMA_RETURN_IF_ERROR(config::Walk(*root, config::Map(std::move(fields)), ""));
  return s->Finish();
}

TEST(RebalanceSettingsTest, DefaultsAreTheSeeds) {
  RebalanceSettings s;
  ASSERT_TRUE(Load(&s, "rebalance: {}").ok());
  EXPECT_EQ(s.query, kDefaultScoreQuery);
  EXPECT_EQ(s.node_label, "instance");
  EXPECT_FALSE(s.classes.absolute);
  EXPECT_DOUBLE_EQ(s.classes.high, 0.10);
  EXPECT_DOUBLE_EQ(s.classes.low, 0.0);
  EXPECT_EQ(s.cooldown.count(), 120000);
  EXPECT_EQ(s.eviction_limits.per_node, 2);
  EXPECT_EQ(s.eviction_limits.total, 5);
}

TEST(RebalanceSettingsTest, ReadsEveryKey) {
  RebalanceSettings s;
  Status st = Load(&s, R"(rebalance:
  query: my_score
  nodeLabel: node
  thresholds: {high: 0.7, low: 0.3}
  nodeSelector: "kubevirt.io/schedulable=true,!excluded"
  cooldown: 5m
  evictionLimits: {perNode: 1, total: 3}
)");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(s.query, "my_score");
  EXPECT_EQ(s.node_label, "node");
  EXPECT_TRUE(s.classes.absolute);
  EXPECT_DOUBLE_EQ(s.classes.high, 0.7);
  EXPECT_EQ(s.node_requirements.size(), 2u);
  EXPECT_TRUE(SelectorMatches(s.node_requirements, {{"kubevirt.io/schedulable", "true"}}));
  EXPECT_FALSE(SelectorMatches(s.node_requirements, {{"kubevirt.io/schedulable", "true"}, {"excluded", ""}}));
  EXPECT_FALSE(SelectorMatches(s.node_requirements, {}));
  EXPECT_EQ(s.cooldown.count(), 300000);
  EXPECT_EQ(s.eviction_limits.per_node, 1);
  EXPECT_EQ(s.eviction_limits.per_namespace, 5);
  EXPECT_EQ(s.eviction_limits.total, 3);
}

TEST(RebalanceSettingsTest, BadValuesNameTheKey) {
  struct Case {
    const char* yaml;
    const char* key;
  } cases[] = {
      {"rebalance: {deviation: {high: 1.5}}", "rebalance.deviation.high"},
      {"rebalance: {deviation: {high: 0.1}, thresholds: {high: 0.7, low: 0.3}}", "rebalance.thresholds"},
      {"rebalance: {thresholds: {high: 0.3, low: 0.7}}", "rebalance.thresholds.low"},
      {"rebalance: {thresholds: {high: 0.3}}", "rebalance.thresholds"},
      {"rebalance: {nodeSelector: 'a=b,,c'}", "rebalance.nodeSelector"},
      {"rebalance: {cooldwn: 2m}", "rebalance.cooldwn"},
      {"rebalance: {query: ''}", "rebalance.query"},
  };
  for (const auto& c : cases) {
    RebalanceSettings s;
    Status st = Load(&s, c.yaml);
    EXPECT_FALSE(st.ok()) << c.yaml;
    EXPECT_EQ(st.message().rfind(c.key, 0), 0u) << c.yaml << " -> " << st.ToString();
  }
}

}  // namespace
}  // namespace kinema::rebalance
