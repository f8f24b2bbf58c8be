#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "engine/quantity/quantity.h"
#include "steps/optimize/plan.h"
#include "steps/optimize/snapshot.h"
#include "tests/optimize/independent_validator.h"
#include "tests/optimize/test_cluster.h"

namespace kinema {
namespace {

using namespace kinema::testing_util;
using json = nlohmann::json;

StatusOr<Plan> Solve(const json& snap, const json& cat, PlanOptions opt = {}) {
  auto s = ParseSnapshot(snap);
  if (!s.ok()) return s.status();
  auto c = ParseCatalog(cat);
  if (!c.ok()) return c.status();
  if (opt.time_limit_seconds == 30) opt.time_limit_seconds = 0.5;
  return OptimizePlacement(*s, *c, opt);
}

void ExpectValid(const json& snap, const json& cat, const Plan& plan) {
  auto rep = validator::ValidatePlan(snap, cat, PlanToJson(plan));
  EXPECT_TRUE(rep.ok()) << rep.Summary();
}

std::map<std::string, std::string> Where(const Plan& plan) {
  std::map<std::string, std::string> m;
  for (const auto& p : plan.placements) m[p.pod] = p.node;
  return m;
}

TEST(SnapshotTest, RequestsFollowTheSchedulerRules) {
  json spec = json::parse(R"({
    "containers": [{"name": "a", "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}}},
                   {"name": "b", "resources": {"requests": {"cpu": "0.25", "memory": "512Mi"}}}],
    "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2", "memory": "100Mi"}}}],
    "overhead": {"cpu": "100m", "memory": "64Mi"}})");
  auto r = PodSpecRequests(spec, "spec");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->cpu_milli, 2000 + 100);                              // max(sum 500m, init 2) + overhead
  EXPECT_EQ(r->memory_bytes, (int64_t{1536} << 20) + (64 << 20));   // max(1.5Gi, 100Mi) + overhead
  EXPECT_EQ(r->pods, 1);
  // A restartable (sidecar) init container adds to the app containers.
  json side = json::parse(R"({
    "containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}],
    "initContainers": [{"name": "s", "restartPolicy": "Always", "resources": {"requests": {"cpu": "500m"}}},
                       {"name": "i", "resources": {"requests": {"cpu": "1"}}}]})");
  r = PodSpecRequests(side, "spec");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->cpu_milli, 1500);
}

TEST(SnapshotTest, MovabilityRules) {
  json pinned = Node("pinned", "small", "2", "8Gi");
  pinned["metadata"]["annotations"] = {{"kinema.io/do-not-disrupt", "true"}};
  json bare = Pod("bare-1", "n1", "100m", "64Mi", json::object(), /*controlled=*/false);
  json hostpath = Pod("hp-1", "n1", "100m", "64Mi", {{"volumes", {{{"name", "v"}, {"hostPath", {{"path", "/x"}}}}}}});
  json dnd = Pod("dnd-1", "n1", "100m", "64Mi");
  dnd["metadata"]["annotations"] = {{"kinema.io/do-not-disrupt", "true"}};
  json mirror = Pod("mirror-1", "n1", "100m", "64Mi");
  mirror["metadata"]["annotations"] = {{"kubernetes.io/config.mirror", "abc"}};
  json on_pinned = Pod("onpin-1", "pinned", "100m", "64Mi");
  json normal = Pod("web-1", "n1", "100m", "64Mi");
  json done = Pod("job-1", "n1", "100m", "64Mi");
  done["status"]["phase"] = "Succeeded";
  json ds_pod = Pod("agent-1", "n1", "100m", "64Mi");
  ds_pod["metadata"]["ownerReferences"][0]["kind"] = "DaemonSet";
  json weird = {{"kind", "ConfigMap"}, {"metadata", {{"name", "x"}}}};
  auto snap = ParseSnapshot(List({Node("n1", "small", "2", "8Gi"), pinned, bare, hostpath, dnd, mirror, on_pinned,
                                  normal, done, ds_pod, weird}));
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  std::map<std::string, const SnapshotPod*> by;
  for (const auto& p : snap->pods) by[p.name] = &p;
  EXPECT_EQ(snap->pods.size(), 6u);  // Succeeded and DaemonSet pods do not count
  EXPECT_FALSE(by["bare-1"]->movable);
  EXPECT_FALSE(by["hp-1"]->movable);
  EXPECT_FALSE(by["dnd-1"]->movable);
  EXPECT_FALSE(by["mirror-1"]->movable);
  EXPECT_FALSE(by["onpin-1"]->movable);
  EXPECT_TRUE(by["web-1"]->movable);
  EXPECT_TRUE(snap->nodes[1].pinned);
  ASSERT_EQ(snap->daemonsets.size(), 1u);  // the DaemonSet pod stands in for its missing DaemonSet
  bool warned = false;
  for (const auto& w : snap->warnings) warned = warned || w.find("ConfigMap") != std::string::npos;
  EXPECT_TRUE(warned);
}

TEST(SnapshotTest, ErrorsNameItemIndexAndField) {
  auto s = ParseSnapshot(List({Node("n1", "small", "2", "8Gi"), Pod("web-1", "n1", "2 cores", "1Gi")}));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.status().message().find("items[1].spec.containers[0].resources.requests.cpu"), std::string::npos)
      << s.status().message();
  json bad_node = Node("n1", "small", "2", "8Gi");
  bad_node["status"]["allocatable"].erase("memory");
  s = ParseSnapshot(List({bad_node}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("items[0].status.allocatable.memory"), std::string::npos);
  s = ParseSnapshot(json::parse(R"({"kind": "List", "items": [{"metadata": {}}]})"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("items[0].kind"), std::string::npos);
}

TEST(OptimizerTest, KubeSystemPodsKeepTheirNode) {
  // n2 alone could host everything; the controller's own pod (a StatefulSet
  // pod in kube-system) keeps n1, so n1 is never retired.
  json kinema = Pod("kinema-0", "n1", "250m", "256Mi");
  kinema["metadata"]["namespace"] = "kube-system";
  kinema["metadata"]["ownerReferences"][0]["kind"] = "StatefulSet";
  json items = {Node("n1", "large", "4", "16Gi"), Node("n2", "large", "4", "16Gi"), kinema,
                Pod("web-0", "n2", "500m", "1Gi")};
  json cat = json::parse(R"({"machineTypes": [{"name": "large", "zones": ["z1"],
      "allocatable": {"cpu": "4", "memory": "16Gi", "pods": 110}, "pricePerHour": {"onDemand": 1.5}}]})");
  auto plan = Solve(List(items), cat);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ExpectValid(List(items), cat, *plan);
  for (const auto& n : plan->nodes) {
    if (n.name == "n1") {
      EXPECT_NE(n.action, NodeAction::kRetire);
    }
  }
}

TEST(OptimizerTest, DaemonSetOverheadIsReservedOnEveryNode) {
  // Four 800m pods fit one 4-CPU node (3.2 CPU), but not with a 1-CPU DaemonSet.
  json ds = {{"kind", "DaemonSet"},
             {"metadata", {{"name", "agent"}, {"namespace", "kube-system"}}},
             {"spec", {{"template", {{"spec", {{"containers", {{{"name", "a"}, {"resources", {{"requests", {{"cpu", "1"}}}}}}}}}}}}}}};
  json items = {Node("n1", "large", "4", "16Gi"), Node("n2", "large", "4", "16Gi"), ds};
  for (int i = 0; i < 4; ++i) items.push_back(Pod("web-" + std::to_string(i), i < 2 ? "n1" : "n2", "800m", "1Gi"));
  json cat = json::parse(R"({"machineTypes": [{"name": "large", "zones": ["z1"],
      "allocatable": {"cpu": "4", "memory": "16Gi", "pods": 110}, "pricePerHour": {"onDemand": 1.5}}]})");
  auto plan = Solve(List(items), cat);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ExpectValid(List(items), cat, *plan);
  EXPECT_NEAR(plan->cost_after, 3.0, 1e-9);  // two nodes needed because of the overhead
  ASSERT_TRUE(plan->lower_bound.has_value());
  EXPECT_LE(*plan->lower_bound, 3.0 + 1e-9);
  // Without the DaemonSet one node is enough.
  items.erase(2);
  plan = Solve(List(items), cat);
  ASSERT_TRUE(plan.ok());
  EXPECT_NEAR(plan->cost_after, 1.5, 1e-9);
}

TEST(OptimizerTest, FindsTheCheapestMixAndProvesIt) {
  // 4 x 1 CPU pods: one "large" ($1.5) beats two "small" ($2).
  json items = {Node("a", "small", "2", "8Gi"), Node("b", "small", "2", "8Gi")};
  for (int i = 0; i < 4; ++i) items.push_back(Pod("web-" + std::to_string(i), i < 2 ? "a" : "b", "1", "1Gi"));
  PlanOptions opt;
  opt.no_spot = true;
  auto plan = Solve(List(items), TwoTypeCatalog(), opt);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ExpectValid(List(items), TwoTypeCatalog(), *plan);
  EXPECT_NEAR(plan->cost_after, 1.5, 1e-9);
  EXPECT_NEAR(plan->cost_before, 2.0, 1e-9);
  EXPECT_EQ(plan->status, PlanStatus::kOptimal);
  EXPECT_EQ(plan->moves, 4);
}

TEST(OptimizerTest, SpotOnlyForPodsThatTolerateIt) {
  json tol = {{"tolerations", {{{"key", "kinema.io/spot"}, {"operator", "Exists"}}}}};
  json items = json::array();
  for (int i = 0; i < 2; ++i) items.push_back(Pod("batch-" + std::to_string(i), "", "1", "1Gi", tol));
  for (int i = 0; i < 2; ++i) items.push_back(Pod("web-" + std::to_string(i), "", "1", "1Gi"));
  auto plan = Solve(List(items), TwoTypeCatalog());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ExpectValid(List(items), TwoTypeCatalog(), *plan);
  EXPECT_NEAR(plan->cost_after, 1.3, 1e-9);  // small on-demand for web + small spot for batch
  std::map<std::string, std::string> cap;
  for (const auto& n : plan->nodes) cap[n.name] = CapacityTypeName(n.capacity_type);
  for (const auto& [pod, node] : Where(*plan)) {
    if (pod.find("web") != std::string::npos) {
      EXPECT_EQ(cap[node], "on-demand") << pod;
    }
  }
}

TEST(OptimizerTest, HostnameAntiAffinitySpreadsReplicas) {
  json anti = {{"affinity", {{"podAntiAffinity", {{"requiredDuringSchedulingIgnoredDuringExecution",
                                                   {{{"topologyKey", "kubernetes.io/hostname"},
                                                     {"labelSelector", {{"matchLabels", {{"app", "db"}}}}}}}}}}}}};
  json items = json::array();
  for (int i = 0; i < 3; ++i) items.push_back(Pod("db-" + std::to_string(i), "", "100m", "128Mi", anti));
  PlanOptions opt;
  opt.no_spot = true;
  auto plan = Solve(List(items), TwoTypeCatalog(), opt);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ExpectValid(List(items), TwoTypeCatalog(), *plan);
  std::set<std::string> nodes;
  for (const auto& [pod, node] : Where(*plan)) nodes.insert(node);
  EXPECT_EQ(nodes.size(), 3u);
  EXPECT_NEAR(plan->cost_after, 3.0, 1e-9);
  ASSERT_TRUE(plan->lower_bound.has_value());
  EXPECT_NEAR(*plan->lower_bound, 3.0, 1e-6);  // the per-node cap makes the bound tight
}

TEST(OptimizerTest, ImmovablePodsStayAndPinnedNodesAreKept) {
  json pinned = Node("pinned", "large", "4", "16Gi");
  pinned["metadata"]["annotations"] = {{"kinema.io/do-not-disrupt", "true"}};
  json items = {Node("a", "large", "4", "16Gi"), pinned, Node("c", "large", "4", "16Gi"),
                Pod("bare-1", "a", "100m", "64Mi", json::object(), false), Pod("web-1", "c", "100m", "64Mi")};
  auto plan = Solve(List(items), TwoTypeCatalog());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ExpectValid(List(items), TwoTypeCatalog(), *plan);
  auto where = Where(*plan);
  EXPECT_EQ(where["shop/bare-1"], "a");
  std::map<std::string, std::string> action;
  for (const auto& n : plan->nodes) action[n.name] = NodeActionName(n.action);
  EXPECT_EQ(action["a"], "keep");
  EXPECT_EQ(action["pinned"], "keep");
  EXPECT_EQ(action["c"], "retire");  // web-1 joins a kept node
  EXPECT_NEAR(plan->cost_after, 3.0, 1e-9);
}

TEST(OptimizerTest, PodThatFitsNowhereIsInfeasibleAndNamed) {
  json items = {Pod("huge-1", "", "64", "1Gi"), Pod("web-1", "", "1", "1Gi")};
  auto plan = Solve(List(items), TwoTypeCatalog());
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(IsInfeasible(plan.status()));
  EXPECT_NE(plan.status().message().find("shop/huge-1"), std::string::npos) << plan.status().message();
  EXPECT_NE(plan.status().message().find("insufficient"), std::string::npos) << plan.status().message();

  json sel = {{"nodeSelector", {{"gpu", "a100"}}}};
  plan = Solve(List({Pod("ml-1", "", "1", "1Gi", sel)}), TwoTypeCatalog());
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(IsInfeasible(plan.status()));
  EXPECT_NE(plan.status().message().find("shop/ml-1"), std::string::npos);
  EXPECT_NE(plan.status().message().find("nodeSelector gpu=a100"), std::string::npos) << plan.status().message();
}

TEST(OptimizerTest, RequestsThatOverflowInt64FitNowhereInsteadOfOvercommittingRealNodes) {
  // Two containers of 7Ei each: summed unchecked they wrap to a negative
  // request and the planner packed the pod onto a real node.
  json two_7ei = {{"containers",
                   {{{"name", "a"}, {"resources", {{"requests", {{"cpu", "100m"}, {"memory", "7Ei"}}}}}},
                    {{"name", "b"}, {"resources", {{"requests", {{"cpu", "100m"}, {"memory", "7Ei"}}}}}}}}};
  auto r = PodSpecRequests(two_7ei, "spec");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->memory_bytes, kMaxPlannableQuantity) << "saturated, never negative";
  json items = {Node("a", "small", "2", "8Gi"), Pod("web-1", "a", "100m", "64Mi")};
  json greedy = Pod("greedy-1", "", "100m", "1Gi");
  greedy["spec"] = two_7ei;
  items.push_back(greedy);
  auto plan = Solve(List(items), TwoTypeCatalog());
  ASSERT_FALSE(plan.ok()) << "a pod asking for 14Ei fits no node and no machine type";
  EXPECT_TRUE(IsInfeasible(plan.status())) << plan.status().ToString();
  EXPECT_NE(plan.status().message().find("shop/greedy-1"), std::string::npos) << plan.status().message();
  // Node capacities are capped the same way: a hostile node does not make room for everything.
  json big_node = Node("b", "small", "9223372036854775807m", "7Ei");
  auto s = ParseSnapshot(List({big_node}));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->nodes[0].allocatable.cpu_milli, kMaxPlannableQuantity);
  EXPECT_EQ(s->nodes[0].allocatable.memory_bytes, kMaxPlannableQuantity);
}

TEST(OptimizerTest, ImmovablePodsOverflowingTheirNodeAreInfeasible) {
  json items = {Node("a", "small", "1", "8Gi"), Pod("bare-1", "a", "800m", "1Gi", json::object(), false),
                Pod("bare-2", "a", "800m", "1Gi", json::object(), false)};
  auto plan = Solve(List(items), TwoTypeCatalog());
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(IsInfeasible(plan.status()));
  EXPECT_NE(plan.status().message().find("immovable"), std::string::npos) << plan.status().message();
}

TEST(OptimizerTest, UnknownNodeTypeNeedsAPrice) {
  json items = {Node("a", "m5.large", "2", "8Gi"), Pod("web-1", "a", "100m", "64Mi")};
  auto plan = Solve(List(items), TwoTypeCatalog());
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(plan.status().message().find("items[0]"), std::string::npos) << plan.status().message();
  PlanOptions opt;
  opt.unknown_node_price = 0.2;
  plan = Solve(List(items), TwoTypeCatalog(), opt);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_NEAR(plan->cost_before, 0.2, 1e-12);
  EXPECT_NEAR(plan->cost_after, 0.2, 1e-12);  // cheapest: keep it
  EXPECT_EQ(plan->moves, 0);
}

TEST(OptimizerTest, EqualCostPrefersKeepingExistingNodesAndNotMoving) {
  // The current node is exactly what a fresh plan would boot: keep it, move nothing.
  json items = {Node("a", "large", "4", "16Gi"), Pod("web-1", "a", "1", "1Gi"), Pod("web-2", "a", "3", "1Gi")};
  PlanOptions opt;
  opt.no_spot = true;
  auto plan = Solve(List(items), TwoTypeCatalog(), opt);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->moves, 0);
  for (const auto& n : plan->nodes) EXPECT_NE(n.action, NodeAction::kBoot);
}

TEST(OptimizerTest, AllowTypesAndZonesRestrictBoots) {
  json items = {Pod("web-1", "", "1", "1Gi"), Pod("web-2", "", "1", "1Gi")};
  PlanOptions opt;
  opt.allow_types = {"small"};
  opt.no_spot = true;
  auto plan = Solve(List(items), TwoTypeCatalog(), opt);
  ASSERT_TRUE(plan.ok());
  for (const auto& n : plan->nodes) EXPECT_EQ(n.machine_type, "small");
  opt.zones = {"elsewhere"};
  plan = Solve(List(items), TwoTypeCatalog(), opt);
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(IsInfeasible(plan.status()));
}

}  // namespace
}  // namespace kinema
