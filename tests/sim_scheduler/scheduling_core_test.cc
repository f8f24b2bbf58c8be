// The scheduling core alone: filters, scores, messages, request accounting.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/sim_scheduler/test_objects.h"
#include "tools/kinema-sim/scheduler/cluster_state.h"
#include "tools/kinema-sim/scheduler/sched_types.h"
#include "tools/kinema-sim/scheduler/scheduling_core.h"

namespace kinema::sim::sched {
namespace {

using namespace kinema::sim::sched::testing;  // NOLINT

class CoreTest : public ::testing::Test {
 protected:
  void AddNode(const json& n) { state_.UpsertNode(ParseNode(n)); }
  void AddPod(const json& p) { state_.UpsertPod(ParsePod(p)); }
  ScheduleResult Schedule(const json& pod) { return core_.Schedule(ParsePod(pod), state_); }
  // Schedules and, on success, binds the pod in the cache; "" when unschedulable.
  std::string Place(const json& pod) {
    auto r = Schedule(pod);
    if (r.scheduled) AddPod(Bound(pod, r.node));
    return r.node;
  }
  ClusterState state_;
  SchedulingCore core_{1};
};

TEST_F(CoreTest, RespectsTaintsAndCordon) {
  AddNode(WithTaint(NodeJson("retiring"), "kinema.io/retire", "true", "NoSchedule"));
  json cordoned = NodeJson("cordoned");
  cordoned["spec"]["unschedulable"] = true;
  AddNode(cordoned);
  AddNode(WithTaint(NodeJson("spot"), "cloud.google.com/gke-spot", "true", "NoExecute"));
  AddNode(NodeJson("free"));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Place(PodJson("p" + std::to_string(i))), "free");

  state_.RemoveNode("free");
  auto r = Schedule(PodJson("blocked"));
  ASSERT_FALSE(r.scheduled);
  EXPECT_EQ(r.message,
            "0/3 nodes are available: 1 node(s) had untolerated taint {cloud.google.com/gke-spot: true}, "
            "1 node(s) had untolerated taint {kinema.io/retire: true}, 1 node(s) were unschedulable. "
            "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.");

  json tolerant = PodJson("tolerant");
  tolerant["spec"]["tolerations"] = json::array({{{"key", "kinema.io/retire"}, {"operator", "Equal"},
                                                  {"value", "true"}, {"effect", "NoSchedule"}}});
  EXPECT_EQ(Schedule(tolerant).node, "retiring");
  tolerant["spec"]["tolerations"][0]["value"] = "false";  // Equal needs the value
  EXPECT_FALSE(Schedule(tolerant).scheduled);

  json cordon_tolerant = PodJson("ds");
  cordon_tolerant["spec"]["tolerations"] = json::array(
      {{{"key", "node.kubernetes.io/unschedulable"}, {"operator", "Exists"}, {"effect", "NoSchedule"}}});
  EXPECT_EQ(Schedule(cordon_tolerant).node, "cordoned");

  json everything = PodJson("all");
  everything["spec"]["tolerations"] = json::array({{{"operator", "Exists"}}});  // empty key + Exists
  std::set<std::string> seen;
  for (int i = 0; i < 40; ++i) seen.insert(Schedule(everything).node);
  EXPECT_EQ(seen, (std::set<std::string>{"retiring", "cordoned", "spot"}));
}

TEST_F(CoreTest, NotReadyNodeBlocksUnlessTolerated) {
  json n = NodeJson("sick");
  n["status"]["conditions"][0]["status"] = "False";
  AddNode(n);
  json unknown = NodeJson("lost");
  unknown["status"]["conditions"][0]["status"] = "Unknown";
  AddNode(unknown);
  auto r = Schedule(PodJson("p"));
  ASSERT_FALSE(r.scheduled);
  EXPECT_NE(r.message.find("1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }"), std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }"), std::string::npos)
      << r.message;
  json p = PodJson("tolerant");
  p["spec"]["tolerations"] =
      json::array({{{"key", "node.kubernetes.io/not-ready"}, {"operator", "Exists"}, {"effect", "NoSchedule"}}});
  EXPECT_EQ(Schedule(p).node, "sick");
}

TEST_F(CoreTest, NodeSelectorAndRequiredAffinityOperators) {
  AddNode(WithLabels(NodeJson("small"), {{"tier", "batch"}, {"cores", "4"}}));
  AddNode(WithLabels(NodeJson("large"), {{"tier", "web"}, {"cores", "16"}, {"gpu", "yes"}}));
  auto with_terms = [](json terms) {
    json p = PodJson("p");
    p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] =
        std::move(terms);
    return p;
  };
  auto expr = [](const std::string& key, const std::string& op, json values = json::array()) {
    json e = {{"key", key}, {"operator", op}};
    if (!values.empty()) e["values"] = values;
    return json::array({{{"matchExpressions", json::array({e})}}});
  };
  EXPECT_EQ(Schedule(with_terms(expr("tier", "In", {"web", "x"}))).node, "large");
  EXPECT_EQ(Schedule(with_terms(expr("tier", "NotIn", {"web"}))).node, "small");
  EXPECT_EQ(Schedule(with_terms(expr("gpu", "Exists"))).node, "large");
  EXPECT_EQ(Schedule(with_terms(expr("gpu", "DoesNotExist"))).node, "small");
  EXPECT_EQ(Schedule(with_terms(expr("cores", "Gt", {"8"}))).node, "large");
  EXPECT_EQ(Schedule(with_terms(expr("cores", "Lt", {"8"}))).node, "small");
  json fields = json::array(
      {{{"matchFields", json::array({{{"key", "metadata.name"}, {"operator", "In"}, {"values", {"small"}}}})}}});
  EXPECT_EQ(Schedule(with_terms(fields)).node, "small");
  // Terms are ORed; expressions within a term ANDed.
  json ored = json::array({expr("tier", "In", {"nope"})[0], expr("cores", "Lt", {"8"})[0]});
  EXPECT_EQ(Schedule(with_terms(ored)).node, "small");
  json anded = json::array({{{"matchExpressions",
                              json::array({{{"key", "tier"}, {"operator", "In"}, {"values", {"web"}}},
                                           {{"key", "cores"}, {"operator", "Lt"}, {"values", {"8"}}}})}}});
  auto r = Schedule(with_terms(anded));
  ASSERT_FALSE(r.scheduled);
  EXPECT_EQ(r.message,
            "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. "
            "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.");
  EXPECT_FALSE(Schedule(with_terms(json::array())).scheduled);  // empty term list matches nothing
  json sel = PodJson("sel");
  sel["spec"]["nodeSelector"] = {{"tier", "batch"}};
  EXPECT_EQ(Schedule(sel).node, "small");
  EXPECT_FALSE(Schedule(with_terms(expr("cores", "Bogus", {"1"}))).scheduled);
}

TEST_F(CoreTest, InsufficientCpuLeavesPodPendingWithReason) {
  AddNode(NodeJson("a", "2", "4Gi"));
  AddNode(NodeJson("b", "2", "4Gi"));
  AddNode(WithTaint(NodeJson("c", "8", "32Gi"), "kinema.io/retire", "true", "NoSchedule"));
  AddPod(Bound(PodJson("busy", "1500m", "1Gi"), "a"));
  auto r = Schedule(PodJson("p", "1", "5Gi"));
  ASSERT_FALSE(r.scheduled);
  // Node "a" lacks both (two reasons, one node); histogram entries sort as strings.
  EXPECT_EQ(r.message,
            "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {kinema.io/retire: true}, "
            "2 Insufficient memory. preemption: 0/3 nodes are available: "
            "1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.");
  EXPECT_EQ(Schedule(PodJson("q", "500m", "1Gi")).node, "b");  // "a" has 500m left: fits too, but is fuller
  EXPECT_TRUE(r.rejected_by & kRejectedResources);
}

TEST_F(CoreTest, RequestsCountDaemonSetPodsInitContainersAndOverhead) {
  AddNode(NodeJson("n", "2", "8Gi", "zone-a", "3"));
  json ds = Bound(PodJson("logger-n", "200m", "64Mi", "kube-system"), "n");
  ds["metadata"]["ownerReferences"] = json::array({{{"kind", "DaemonSet"}, {"name", "logger"}, {"controller", true}}});
  AddPod(ds);
  // Init container larger than the app containers dominates; overhead adds.
  json p = PodJson("p", "500m", "128Mi");
  p["spec"]["initContainers"] = json::array(
      {{{"name", "init"}, {"image", "i"}, {"resources", {{"requests", {{"cpu", "1"}}}}}}});
  p["spec"]["overhead"] = {{"cpu", "100m"}};
  SchedPod parsed = ParsePod(p);
  EXPECT_EQ(parsed.requests.milli_cpu, 1100);
  // Sidecar (restartable init container) adds to the long-running sum.
  json s = PodJson("s", "500m", "");
  s["spec"]["initContainers"] = json::array(
      {{{"name", "proxy"}, {"image", "i"}, {"restartPolicy", "Always"}, {"resources", {{"requests", {{"cpu", "300m"}}}}}},
       {{"name", "late"}, {"image", "i"}, {"resources", {{"requests", {{"cpu", "600m"}}}}}}});
  SchedPod sidecar = ParsePod(s);
  EXPECT_EQ(sidecar.requests.milli_cpu, 900);  // max(500+300, 600+300)
  EXPECT_EQ(sidecar.nonzero.memory, 2 * 200LL * 1024 * 1024);  // scoring default per container (app + sidecar)
  // Limits default requests.
  json l = PodJson("l", "", "");
  l["spec"]["containers"][0]["resources"] = {{"limits", {{"cpu", "2"}, {"memory", "1Gi"}}}};
  EXPECT_EQ(ParsePod(l).requests.milli_cpu, 2000);

  AddPod(Bound(p, "n"));  // 200m + 1100m used
  auto r = Schedule(PodJson("x", "800m", ""));
  ASSERT_FALSE(r.scheduled);
  EXPECT_NE(r.message.find("1 Insufficient cpu"), std::string::npos) << r.message;
  EXPECT_TRUE(Schedule(PodJson("y", "700m", "")).scheduled);
  AddPod(Bound(PodJson("z", "", ""), "n"));  // third pod: pods=3 reached
  r = Schedule(PodJson("w", "", ""));
  ASSERT_FALSE(r.scheduled);
  EXPECT_NE(r.message.find("1 Too many pods"), std::string::npos) << r.message;
  // Finished pods are dropped by the owner; removing frees the slot.
  state_.RemovePod("shop/z");
  EXPECT_TRUE(Schedule(PodJson("w", "", "")).scheduled);
}

TEST_F(CoreTest, InPlaceResizeReservesAllocatedResources) {
  AddNode(NodeJson("n", "2", "8Gi"));
  json p = Bound(PodJson("resized", "500m", "128Mi"), "n");
  p["status"]["containerStatuses"] =
      json::array({{{"name", "c"}, {"allocatedResources", {{"cpu", "1500m"}, {"memory", "128Mi"}}}}});
  EXPECT_EQ(ParsePod(p).requests.milli_cpu, 1500);  // max(spec, allocated) while resizing
  p["status"]["resize"] = "Infeasible";
  EXPECT_EQ(ParsePod(p).requests.milli_cpu, 1500);  // allocated only
  p["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "1800m";
  EXPECT_EQ(ParsePod(p).requests.milli_cpu, 1500);
}

TEST_F(CoreTest, RequiredAntiAffinityOnHostnameSpreadsReplicas) {
  for (const char* n : {"n1", "n2", "n3"}) AddNode(NodeJson(n));
  std::set<std::string> nodes;
  for (int i = 0; i < 3; ++i) {
    json p = WithAntiAffinity(WithLabels(PodJson("web-" + std::to_string(i)), {{"app", "web"}}), "web");
    nodes.insert(Place(p));
  }
  EXPECT_EQ(nodes, (std::set<std::string>{"n1", "n2", "n3"}));
  // The incoming pod's own terms are checked before the existing pods' terms.
  auto r = Schedule(WithAntiAffinity(WithLabels(PodJson("web-3"), {{"app", "web"}}), "web"));
  ASSERT_FALSE(r.scheduled);
  EXPECT_EQ(r.message,
            "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. "
            "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.");
  // A web pod without terms of its own is still repelled by the existing pods' terms.
  r = Schedule(WithLabels(PodJson("web-plain"), {{"app", "web"}}));
  ASSERT_FALSE(r.scheduled);
  EXPECT_NE(r.message.find("3 node(s) didn't satisfy existing pods anti-affinity rules"), std::string::npos)
      << r.message;
  // Other namespaces are not covered by default.
  EXPECT_TRUE(Schedule(WithAntiAffinity(PodJson("elsewhere", "100m", "128Mi", "other"), "web")).scheduled);
  // Deleting one replica frees its node.
  state_.RemovePod("shop/web-1");
  EXPECT_TRUE(Schedule(WithAntiAffinity(WithLabels(PodJson("web-3"), {{"app", "web"}}), "web")).scheduled);
}

json WithAffinity(json pod, const std::string& app, const std::string& key = "kubernetes.io/hostname") {
  pod["spec"]["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = json::array(
      {{{"labelSelector", {{"matchLabels", {{"app", app}}}}}, {"topologyKey", key}}});
  return pod;
}

TEST_F(CoreTest, RequiredPodAffinityCoLocatesAndWaitsForPartner) {
  AddNode(NodeJson("a1", "4", "16Gi", "zone-a"));
  AddNode(NodeJson("a2", "4", "16Gi", "zone-a"));
  AddNode(NodeJson("b1", "4", "16Gi", "zone-b"));
  // No cache pod anywhere and the pod does not match its own term: nowhere.
  auto r = Schedule(WithAffinity(PodJson("web"), "cache"));
  ASSERT_FALSE(r.scheduled);
  EXPECT_EQ(r.message,
            "0/3 nodes are available: 3 node(s) didn't match pod affinity rules. "
            "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.");
  EXPECT_TRUE(r.rejected_by & kRejectedPodAffinity);
  // The first pod of a self-affine group goes anywhere; the rest follow it.
  std::string first = Place(WithAffinity(WithLabels(PodJson("cache-0"), {{"app", "cache"}}), "cache"));
  ASSERT_FALSE(first.empty());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Place(WithAffinity(PodJson("web-" + std::to_string(i)), "cache")), first);
  // Zone affinity: any node of the partner's zone.
  AddPod(Bound(WithLabels(PodJson("db-0"), {{"app", "db"}}), "b1"));
  EXPECT_EQ(Place(WithAffinity(PodJson("api"), "db", kZoneLabel)), "b1");
}

TEST_F(CoreTest, ExistingPodsAntiAffinityRepelsIncomingPod) {
  AddNode(NodeJson("n1"));
  AddNode(NodeJson("n2"));
  AddPod(Bound(WithAntiAffinity(PodJson("loner"), "noisy"), "n1"));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Place(WithLabels(PodJson("noisy-" + std::to_string(i)), {{"app", "noisy"}})), "n2");
  EXPECT_NE(Place(PodJson("quiet")), "");  // unlabelled pods are unaffected
}

TEST_F(CoreTest, AntiAffinityOnZoneKeepsReplicasInDistinctZones) {
  AddNode(NodeJson("a1", "4", "16Gi", "zone-a"));
  AddNode(NodeJson("a2", "4", "16Gi", "zone-a"));
  AddNode(NodeJson("b1", "4", "16Gi", "zone-b"));
  auto pod = [](int i) {
    return WithAntiAffinity(WithLabels(PodJson("db-" + std::to_string(i)), {{"app", "db"}}), "db",
                            "topology.kubernetes.io/zone");
  };
  std::string first = Place(pod(0)), second = Place(pod(1));
  EXPECT_NE(state_.FindNode(first)->node.labels.at(kZoneLabel), state_.FindNode(second)->node.labels.at(kZoneLabel));
  EXPECT_FALSE(Schedule(pod(2)).scheduled);
}

json Spread(json pod, const std::string& key, int max_skew, const std::string& app, int min_domains = 0) {
  json c = {{"maxSkew", max_skew}, {"topologyKey", key}, {"whenUnsatisfiable", "DoNotSchedule"},
            {"labelSelector", {{"matchLabels", {{"app", app}}}}}};
  if (min_domains > 0) c["minDomains"] = min_domains;
  pod["spec"]["topologySpreadConstraints"] = json::array({c});
  return pod;
}

TEST_F(CoreTest, TopologySpreadDoNotScheduleOnZone) {
  // Zone a is much emptier, so LeastAllocated alone would pile pods there.
  AddNode(NodeJson("a1", "32", "128Gi", "zone-a"));
  AddNode(NodeJson("a2", "32", "128Gi", "zone-a"));
  AddNode(NodeJson("b1", "2", "8Gi", "zone-b"));
  std::map<std::string, int> per_zone;
  for (int i = 0; i < 4; ++i) {
    json p = Spread(WithLabels(PodJson("api-" + std::to_string(i), "200m", "256Mi"), {{"app", "api"}}),
                    kZoneLabel, 1, "api");
    std::string node = Place(p);
    ASSERT_FALSE(node.empty()) << i;
    per_zone[state_.FindNode(node)->node.labels.at(kZoneLabel)]++;
  }
  EXPECT_EQ(per_zone["zone-a"], 2);
  EXPECT_EQ(per_zone["zone-b"], 2);
  // Zone b full: the next replica may still go to zone a (skew 3-2=1)...
  AddPod(Bound(PodJson("filler", "1500m", "1Gi"), "b1"));
  EXPECT_FALSE(Place(Spread(WithLabels(PodJson("api-4", "200m", "256Mi"), {{"app", "api"}}), kZoneLabel, 1, "api"))
                   .empty());
  // ...but not the one after (4-2=2 > 1).
  auto r = Schedule(Spread(WithLabels(PodJson("api-5", "200m", "256Mi"), {{"app", "api"}}), kZoneLabel, 1, "api"));
  ASSERT_FALSE(r.scheduled);
  EXPECT_EQ(r.message,
            "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match pod topology spread constraints. "
            "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.");
  EXPECT_TRUE(r.rejected_by & kRejectedSpread);
}

TEST_F(CoreTest, TopologySpreadHonorsNodeAffinityMinDomainsAndMissingLabels) {
  AddNode(NodeJson("a1", "8", "32Gi", "zone-a"));
  AddNode(NodeJson("b1", "8", "32Gi", "zone-b"));
  json unlabelled = NodeJson("bare");
  unlabelled["metadata"]["labels"].erase("topology.kubernetes.io/zone");
  AddNode(unlabelled);
  // minDomains 3 with only 2 zones: global minimum is 0, so each zone takes maxSkew pods.
  int placed = 0;
  for (int i = 0; i < 6; ++i) {
    json p = Spread(WithLabels(PodJson("w-" + std::to_string(i)), {{"app", "w"}}), kZoneLabel, 1, "w", 3);
    if (!Place(p).empty()) ++placed;
  }
  EXPECT_EQ(placed, 2);
  auto r = Schedule(Spread(WithLabels(PodJson("w-x"), {{"app", "w"}}), kZoneLabel, 1, "w", 3));
  EXPECT_NE(r.message.find("1 node(s) didn't match pod topology spread constraints (missing required label)"),
            std::string::npos)
      << r.message;
  // Node affinity restricting to zone-a: zone-b is not a domain, so zone a alone is balanced.
  json p = Spread(WithLabels(PodJson("v-0"), {{"app", "v"}}), kZoneLabel, 1, "v");
  p["spec"]["nodeSelector"] = {{"topology.kubernetes.io/zone", "zone-a"}};
  for (int i = 0; i < 3; ++i) {
    p["metadata"]["name"] = "v-" + std::to_string(i);
    EXPECT_EQ(Place(p), "a1");
  }
}

TEST_F(CoreTest, TopologySpreadOnHostname) {
  for (const char* n : {"h1", "h2", "h3"}) AddNode(NodeJson(n));
  std::map<std::string, int> per_node;
  for (int i = 0; i < 9; ++i) {
    per_node[Place(Spread(WithLabels(PodJson("s-" + std::to_string(i)), {{"app", "s"}}), kHostnameLabel, 1, "s"))]++;
  }
  EXPECT_EQ(per_node, (std::map<std::string, int>{{"h1", 3}, {"h2", 3}, {"h3", 3}}));
}

TEST_F(CoreTest, LeastAllocatedPrefersEmptierNode) {
  AddNode(NodeJson("full", "4", "16Gi"));
  AddNode(NodeJson("empty", "4", "16Gi"));
  AddPod(Bound(PodJson("hog", "2", "8Gi"), "full"));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Place(PodJson("p" + std::to_string(i), "200m", "800Mi")), "empty") << i;
}

TEST_F(CoreTest, BalancedAllocationPrefersEvenUse) {
  // Same free capacity overall; "cpu-heavy" would become lopsided.
  AddNode(NodeJson("cpu-heavy", "4", "16Gi"));
  AddNode(NodeJson("even", "4", "16Gi"));
  AddPod(Bound(PodJson("c", "2", "2Gi"), "cpu-heavy"));
  AddPod(Bound(PodJson("e", "1", "6Gi"), "even"));
  EXPECT_EQ(Schedule(PodJson("p", "100m", "100Mi")).node, "even");
}

TEST_F(CoreTest, PreferredAffinityWeightsAndPreferNoScheduleSteerPlacement) {
  AddNode(WithLabels(NodeJson("ssd"), {{"disk", "ssd"}}));
  AddNode(WithLabels(NodeJson("spot"), {{"spot", "true"}}));
  AddNode(NodeJson("plain"));
  json p = PodJson("p");
  p["spec"]["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] = json::array(
      {{{"weight", 10}, {"preference", {{"matchExpressions", json::array({{{"key", "disk"}, {"operator", "In"}, {"values", {"ssd"}}}})}}}},
       {{"weight", 80}, {"preference", {{"matchExpressions", json::array({{{"key", "spot"}, {"operator", "Exists"}}})}}}}});
  EXPECT_EQ(Schedule(p).node, "spot");
  // PreferNoSchedule weighs 3 against NodeAffinity's 2.
  state_.UpsertNode(ParseNode(WithTaint(WithLabels(NodeJson("spot"), {{"spot", "true"}}), "spot", "true",
                                        "PreferNoSchedule")));
  EXPECT_EQ(Schedule(p).node, "ssd");
  json tolerant = p;
  tolerant["spec"]["tolerations"] = json::array({{{"key", "spot"}, {"operator", "Exists"}, {"effect", "PreferNoSchedule"}}});
  EXPECT_EQ(Schedule(tolerant).node, "spot");
  // PreferNoSchedule never blocks.
  state_.RemoveNode("ssd");
  state_.RemoveNode("plain");
  EXPECT_EQ(Schedule(PodJson("q")).node, "spot");
}

TEST_F(CoreTest, DefaultSpreadingSpreadsReplicaSetPodsAcrossNodes) {
  // "big" stays emptier after one pod, so LeastAllocated alone stacks pods there.
  AddNode(NodeJson("big", "64", "256Gi"));
  AddNode(NodeJson("small", "4", "16Gi"));
  auto replica = [&](int i, bool owned) {
    SchedPod p = ParsePod(WithLabels(PodJson("r-" + std::to_string(i)), {{"app", "r"}}));
    if (owned) p.default_spread_selector = ParseSelector(json{{"matchLabels", {{"app", "r"}}}});
    return p;
  };
  auto place = [&](SchedPod p) {
    auto r = core_.Schedule(p, state_);
    p.node_name = r.node;
    if (r.scheduled) state_.UpsertPod(p);
    return r.node;
  };
  EXPECT_EQ(place(replica(0, true)), "big");
  EXPECT_EQ(place(replica(1, true)), "small");  // hostname spreading outweighs LeastAllocated
  state_.RemovePod("shop/r-1");
  EXPECT_EQ(place(replica(1, false)), "big");   // no owner selector: no default spreading
}

TEST_F(CoreTest, ScheduleAnywaySpreadPrefersEmptierZoneButNeverBlocks) {
  AddNode(NodeJson("a1", "32", "128Gi", "zone-a"));
  AddNode(NodeJson("b1", "4", "16Gi", "zone-b"));
  auto pod = [](int i) {
    json p = Spread(WithLabels(PodJson("s-" + std::to_string(i)), {{"app", "s"}}), kZoneLabel, 1, "s");
    p["spec"]["topologySpreadConstraints"][0]["whenUnsatisfiable"] = "ScheduleAnyway";
    return p;
  };
  EXPECT_EQ(Place(pod(0)), "a1");
  EXPECT_EQ(Place(pod(1)), "b1");
  AddPod(Bound(PodJson("filler", "3900m", "1Gi"), "b1"));  // b1 now full
  EXPECT_EQ(Place(pod(2)), "a1");
  EXPECT_EQ(Place(pod(3)), "a1");  // skew 3-1 > 1, but the constraint is soft
}

TEST_F(CoreTest, TieBreakIsReproducibleForASeed) {
  auto run = [](uint64_t seed) {
    ClusterState state;
    SchedulingCore core(seed);
    for (int i = 0; i < 20; ++i) state.UpsertNode(ParseNode(NodeJson("n" + std::to_string(i))));
    std::vector<std::string> out;
    for (int i = 0; i < 10; ++i) out.push_back(core.Schedule(ParsePod(PodJson("p")), state).node);
    return out;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

TEST(NumFeasibleNodes, AdaptivePercentageLikeKubeScheduler) {
  EXPECT_EQ(NumFeasibleNodesToFind(50), 50u);
  EXPECT_EQ(NumFeasibleNodesToFind(150), 100u);
  EXPECT_EQ(NumFeasibleNodesToFind(1000), 420u);
  EXPECT_EQ(NumFeasibleNodesToFind(5000), 500u);
}

TEST_F(CoreTest, LargeClusterSearchStopsEarlyAndRotatesStart) {
  for (int i = 0; i < 1000; ++i) AddNode(NodeJson("n" + std::to_string(1000 + i)));
  auto r = Schedule(PodJson("p"));
  ASSERT_TRUE(r.scheduled);
  EXPECT_EQ(r.evaluated_nodes, 420u);
  EXPECT_EQ(r.feasible_nodes, 420u);
  auto again = Schedule(PodJson("p"));
  EXPECT_NE(r.node, again.node);  // the second search starts where the first stopped
}

TEST_F(CoreTest, NoNodesAndInvalidPodsGiveClearMessages) {
  EXPECT_EQ(Schedule(PodJson("p")).message, "no nodes available to schedule pods");
  AddNode(NodeJson("n"));
  auto r = Schedule(PodJson("bad", "lots"));
  ASSERT_FALSE(r.scheduled);
  EXPECT_NE(r.message.find("spec.containers[0].resources.requests.cpu"), std::string::npos) << r.message;
}

TEST_F(CoreTest, NodeFingerprintIgnoresHeartbeats) {
  json n = NodeJson("n");
  EXPECT_TRUE(state_.UpsertNode(ParseNode(n)));
  n["status"]["conditions"][0]["lastHeartbeatTime"] = "2026-11-22T10:00:00Z";
  EXPECT_FALSE(state_.UpsertNode(ParseNode(n)));
  n["metadata"]["labels"]["x"] = "y";
  EXPECT_TRUE(state_.UpsertNode(ParseNode(n)));
}

}  // namespace
}  // namespace kinema::sim::sched
