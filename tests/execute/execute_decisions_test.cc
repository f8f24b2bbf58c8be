// The shared execution steps' pure decisions and typed values
// (steps/execute) and the object vocabulary they read (engine/kube/object.h).
#include <gtest/gtest.h>

#include "engine/common/time.h"
#include "engine/kube/object.h"
#include "steps/execute/disruption_policy.h"
#include "steps/execute/marks.h"
#include "steps/execute/node_boot.h"
#include "steps/execute/node_marking.h"
#include "steps/execute/node_retirement.h"
#include "steps/execute/room_hold.h"
#include "steps/execute/workload_move.h"
#include "steps/optimize/snapshot.h"

namespace kinema::execute {
namespace {

using nlohmann::json;

Catalog TestCatalog() {
  Catalog c;
  auto type = [](std::string name, int64_t cpu, int64_t mem, double price, std::vector<std::string> zones) {
    MachineType t;
    t.name = name;
    t.allocatable = {cpu, mem, 110};
    t.zones = zones;
    t.price_on_demand = price;
    return t;
  };
  c.machine_types = {type("small", 2000, 8LL << 30, 0.1, {"z-a", "z-b"}),
                     type("large", 8000, 32LL << 30, 0.4, {"z-b"}),
                     type("medium", 4000, 16LL << 30, 0.2, {"z-a", "z-b"}),
                     type("tiny", 1000, 4LL << 30, 0.05, {"z-a"})};
  return c;
}

TEST(ExecuteDecisions, BootOptionsTryOtherZonesThenLargerTypesCheapestFirst) {
  BootTarget t{"kinema-new-1", "x", "small", "z-a", "on-demand"};
  auto opts = BootOptionsFor(TestCatalog(), t, {});
  std::vector<BootOption> want = {{"z-a", "small"}, {"z-b", "small"}, {"z-a", "medium"}, {"z-b", "medium"},
                                  {"z-b", "large"}};
  EXPECT_EQ(opts, want);
  auto only_a = BootOptionsFor(TestCatalog(), t, {"z-a"});
  std::vector<BootOption> want_a = {{"z-a", "small"}, {"z-a", "medium"}};
  EXPECT_EQ(only_a, want_a);
}

TEST(ExecuteDecisions, SpotBootOptionsSkipTypesWithoutSpotPrice) {
  Catalog c = TestCatalog();
  c.machine_types[2].price_spot = 0.06;  // medium
  BootTarget t{"p", "x", "small", "z-a", "spot"};
  auto opts = BootOptionsFor(c, t, {});
  for (const auto& o : opts) EXPECT_TRUE(o.machine_type == "small" || o.machine_type == "medium") << o.machine_type;
}

TEST(ExecuteDecisions, AffinityTermsDoNotPileUpAcrossIterations) {
  json original = {{"nodeAffinity",
                    {{"preferredDuringSchedulingIgnoredDuringExecution",
                      json::array({{{"weight", 10},
                                    {"preference",
                                     {{"matchExpressions",
                                       json::array({{{"key", "disk"}, {"operator", "In"}, {"values", {"ssd"}}}})}}}}})}}},
                   {"podAntiAffinity", {{"x", 1}}}};
  json first = AffinityPreferringIteration(original, "iteration-1");
  json second = AffinityPreferringIteration(first, "iteration-2");
  const json& terms = second["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"];
  ASSERT_EQ(terms.size(), 2u);
  EXPECT_EQ(terms[0]["weight"], 10);
  EXPECT_EQ(terms[1]["preference"]["matchExpressions"][0]["values"][0], "iteration-2");
  EXPECT_EQ(second["podAntiAffinity"], original["podAntiAffinity"]);
  EXPECT_EQ(AffinityPreferringIteration(json(), "i")["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"].size(),
            1u);
}

TEST(ExecuteDecisions, SteeringPrefersTheWorkloadsPlannedNodesThenTheIterationAndReplacesEarlierTerms) {
  json original = {{"nodeAffinity",
                    {{"preferredDuringSchedulingIgnoredDuringExecution",
                      json::array({{{"weight", 10},
                                    {"preference",
                                     {{"matchExpressions",
                                       json::array({{{"key", "disk"}, {"operator", "In"}, {"values", {"ssd"}}}})}}}}})}}}};
  json first = AffinitySteering(original, "iteration-1", {"n1", "n2"});
  json second = AffinitySteering(first, "iteration-2", {"n3"});
  const json& terms = second["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"];
  ASSERT_EQ(terms.size(), 3u) << second.dump();
  EXPECT_EQ(terms[0], original["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]);
  EXPECT_EQ(terms[1]["weight"], 10);
  EXPECT_EQ(terms[1]["preference"]["matchExpressions"][0]["key"], kIterationLabel);
  EXPECT_EQ(terms[1]["preference"]["matchExpressions"][0]["values"][0], "iteration-2");
  EXPECT_EQ(terms[2]["weight"], 100);
  EXPECT_EQ(terms[2]["preference"]["matchExpressions"][0]["key"], "kubernetes.io/hostname");
  EXPECT_EQ(terms[2]["preference"]["matchExpressions"][0]["values"], json::array({"n3"}));
  EXPECT_EQ(terms[2]["preference"]["matchExpressions"][1]["operator"], "DoesNotExist");
  // Without planned nodes: only the iteration term, at full weight; the
  // steering term of an earlier iteration is gone too.
  json plain = AffinitySteering(second, "iteration-3", {});
  const json& t3 = plain["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"];
  ASSERT_EQ(t3.size(), 2u);
  EXPECT_EQ(t3[1]["weight"], 100);
  EXPECT_EQ(AffinityPreferringIteration(second, "i")["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"].size(),
            2u);
}

TEST(ExecuteDecisions, LargestPodsMoveFirstByDominantShare) {
  std::map<std::string, Resources> sizes = {{"web/small", {250, 512LL << 20, 1}},
                                            {"web/huge", {7000, 16LL << 30, 1}},
                                            {"web/memory", {500, 20LL << 30, 1}},
                                            {"web/medium", {2000, 2LL << 30, 1}},
                                            {"web/medium-twin", {2000, 2LL << 30, 1}}};
  EXPECT_EQ(LargestFirst(sizes),
            (std::vector<std::string>{"web/huge", "web/memory", "web/medium", "web/medium-twin", "web/small"}));
  EXPECT_TRUE(LargestFirst({}).empty());
  EXPECT_EQ(LargestFirst({{"a", {}}, {"b", {}}}), (std::vector<std::string>{"a", "b"}));
}

TEST(ExecuteDecisions, RoomIsHeldOnlyForHeavyPodsAndOnlyForThePodsThePlanAddsToANode) {
  const int64_t gi = 1LL << 30;
  std::map<std::string, Resources> alloc = {{"big", {16000, 64 * gi, 110}}, {"tiny", {2000, 2 * gi, 110}}};
  std::map<std::string, HoldInput> in;
  // Heavy on "big" (7 of 16 CPU): two planned there, one already there.
  in["web/heavy"] = {{7000, 16 * gi, 1}, {{"big", 2}, {"gone", 1}}, {{"big", 1}, {"old", 3}}};
  // Small on "big" (3 %), but a quarter of "tiny"'s memory.
  in["shop/cart"] = {{500, 512LL << 20, 1}, {{"big", 4}, {"tiny", 1}}, {}};
  // Heavy but already where the plan wants it.
  in["web/stays"] = {{8000, 8 * gi, 1}, {{"big", 1}}, {{"big", 1}}};
  auto holds = PlanRoomHolds(in, alloc, 0.25);
  ASSERT_EQ(holds.size(), 2u);
  EXPECT_EQ(holds[0], (RoomHold{"shop/cart", "tiny", 1, {500, 512LL << 20, 0}}));
  EXPECT_EQ(holds[1], (RoomHold{"web/heavy", "big", 1, {7000, 16 * gi, 0}}));  // "gone": not a known node
  EXPECT_TRUE(PlanRoomHolds(in, alloc, 0).empty()) << "share 0 turns holds off";
  EXPECT_EQ(PlanRoomHolds(in, alloc, 0.5).size(), 0u) << "7/16 CPU is not half a node";
}

TEST(ExecuteDecisions, RoomHoldPodIsBoundPausedStableNamedAndRoundTripsThroughTheIntent) {
  RoomHold h{"web/heavy", "node-1", 2, {9000, 24LL << 30, 0}};
  json pod = RoomHoldPod("kube-system", "it-1", h, 960);
  EXPECT_EQ(pod["metadata"]["name"], RoomHoldName("it-1", h));
  // Stable across processes and builds (a restart finds the holds it made by name).
  EXPECT_EQ(RoomHoldName("it-1", h), "kinema-hold-65eb8b5696");
  EXPECT_NE(RoomHoldName("it-2", h), RoomHoldName("it-1", h));
  EXPECT_LE(RoomHoldName("it-1", h).size(), 63u);
  EXPECT_EQ(pod["metadata"]["labels"][kRoomHoldLabel], "it-1");
  EXPECT_EQ(pod["metadata"]["annotations"][kRoomHoldDeploymentAnnotation], "web/heavy");
  EXPECT_EQ(pod["spec"]["nodeName"], "node-1");
  EXPECT_EQ(pod["spec"]["activeDeadlineSeconds"], 960);
  EXPECT_EQ(pod["spec"]["terminationGracePeriodSeconds"], 0);
  auto requests = PodSpecRequests(pod["spec"], "hold");
  ASSERT_TRUE(requests.ok()) << requests.status().ToString();
  EXPECT_EQ(requests->cpu_milli, 9000);
  EXPECT_EQ(requests->memory_bytes, 24LL << 30);
  auto back = RoomHold::FromJson(h.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, h);
  for (const json& bad : {json(nullptr), json{{"deployment", "d"}}, json{{"deployment", "d"}, {"node", "n"},
                          {"pods", 0}, {"cpuMilli", 1}, {"memoryBytes", 1}},
                          json{{"deployment", "d"}, {"node", "n"}, {"pods", 1}, {"cpuMilli", -1}, {"memoryBytes", 1}}}) {
    EXPECT_FALSE(RoomHold::FromJson(bad).ok()) << bad.dump();
  }
}

TEST(ExecuteDecisions, ARoomHoldIsMadeOnlyWhereTheNodeHasTheRoomAndSaysWhyNot) {
  const int64_t mi = 1LL << 20;
  RoomHold h{"web/heavy", "n1", 2, {9000, 24576 * mi, 0}};
  std::map<std::string, Resources> free = {{"n1", {9000, 24576 * mi, 0}}};
  EXPECT_EQ(WhyNoRoomForHold(h, free), "") << "exactly the room is enough";
  free["n1"].cpu_milli = 8999;
  EXPECT_EQ(WhyNoRoomForHold(h, free), "node n1 has 8999m/24576Mi free, the hold needs 9000m/24576Mi");
  free["n1"] = {16000, 1024 * mi, 0};
  EXPECT_NE(WhyNoRoomForHold(h, free).find("1024Mi free"), std::string::npos) << "memory counts too";
  EXPECT_EQ(WhyNoRoomForHold(h, {}), "node n1 is gone, not Ready or cordoned");
}

TEST(ExecuteDecisions, DeploymentsWithRoomHoldsRollAloneInTheirTurn) {
  std::vector<RoomHold> holds = {{"web/b", "n1", 1, {}}, {"web/b", "n2", 1, {}}, {"web/d", "n1", 1, {}}};
  auto waves = RolloutWaves({"web/a", "web/b", "web/c", "web/d", "web/e", "web/f", "web/g"}, 2, holds);
  std::vector<std::vector<std::string>> want = {{"web/a"}, {"web/b"}, {"web/c"}, {"web/d"}, {"web/e", "web/f"},
                                                {"web/g"}};
  EXPECT_EQ(waves, want);
  EXPECT_EQ(RolloutWaves({"a", "b", "c"}, 3, {}), (std::vector<std::vector<std::string>>{{"a", "b", "c"}}));
  // A hold ends a rollout timeout after its Deployment's turn could start.
  EXPECT_EQ(RoomHoldDeadlineSeconds(waves, "web/b", 900), 2 * 900 + 60);
  EXPECT_EQ(RoomHoldDeadlineSeconds(waves, "web/d", 900), 4 * 900 + 60);
  EXPECT_EQ(RoomHoldDeadlineSeconds(waves, "web/zz", 900), 7 * 900 + 60);
  EXPECT_TRUE(RolloutWaves({}, 3, holds).empty());
}

TEST(ExecuteDecisions, StallBreakerMovesThePodThatTookThePlannedRoom) {
  const Resources big{7000, 16LL << 30, 1};
  // n1 (planned for the stuck pod) has 2 CPU free; a small pod of this
  // iteration and an older one sit there; n2 has room for small pods only.
  std::vector<RoomNode> nodes = {{"n1", {2000, 8LL << 30, 0}, true},
                                 {"n2", {1500, 4LL << 30, 0}, false},
                                 {"n3", {0, 0, 0}, true}};
  std::vector<RoomPod> pods = {{"web/old", "n1", {5000, 8LL << 30, 1}, false, false, "web/a"},
                               {"web/new", "n1", {5000, 8LL << 30, 1}, true, false, "web/b"},
                               {"web/tiny", "n1", {1000, 1LL << 30, 1}, true, false, "web/c"},
                               {"web/elsewhere", "n2", {6000, 12LL << 30, 1}, true, false, "web/d"}};
  // Neither 5-CPU pod fits elsewhere as things are: nothing can be done.
  EXPECT_FALSE(ChooseRoomMakers(big, nodes, pods, 5).has_value());
  nodes[1].free = {6000, 16LL << 30, 0};
  auto t = ChooseRoomMakers(big, nodes, pods, 5);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->pods, std::vector<std::string>{"web/new"});  // this iteration's pod; the tiny one is not needed
  EXPECT_EQ(t->node, "n1");
  EXPECT_NE(t->why.find("n1"), std::string::npos) << t->why;
  // Pods on nodes the stuck pod may not use never qualify.
  nodes[0].for_pending = false;
  EXPECT_FALSE(ChooseRoomMakers(big, nodes, pods, 5).has_value());
}

TEST(ExecuteDecisions, StallBreakerMovesTheFewestSmallPodsThatTookTheRoomPlannedElsewhereFirst) {
  const Resources big{4500, 12LL << 30, 1};
  // n1 was kept for the big pod; small pods filled it up to 2.3 CPU free.
  std::vector<RoomNode> nodes = {{"n1", {2300, 40LL << 30, 0}, true},
                                 {"n2", {3000, 20LL << 30, 0}, false},
                                 {"n3", {1200, 20LL << 30, 0}, false}};
  std::vector<RoomPod> pods = {{"shop/a-1", "n1", {1000, 1LL << 30, 1}, false, false, "shop/a"},
                               {"shop/a-2", "n1", {1000, 1LL << 30, 1}, false, false, "shop/a"},
                               {"shop/b-1", "n1", {1500, 1LL << 30, 1}, true, false, "shop/b"},
                               {"shop/c-1", "n1", {800, 1LL << 30, 1}, false, true, "shop/c"},
                               {"shop/d-1", "n1", {400, 1LL << 30, 1}, false, false, "shop/d"}};
  // One pod is not enough; two are: the one the plan moves elsewhere, then
  // this iteration's (2300 + 800 + 1500 >= 4500).
  EXPECT_FALSE(ChooseRoomMakers(big, nodes, pods, 1).has_value());
  auto m = ChooseRoomMakers(big, nodes, pods, 5);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->pods, (std::vector<std::string>{"shop/c-1", "shop/b-1"}));
  EXPECT_NE(m->why.find("1 the plan moves elsewhere"), std::string::npos) << m->why;
  // Their new places are counted one after the other: with room for one
  // 1.5-CPU pod elsewhere only, b-1 and a 1-CPU pod cannot both leave...
  nodes[1].free = {1500, 20LL << 30, 0};
  nodes[2].free = {900, 20LL << 30, 0};
  m = ChooseRoomMakers(big, nodes, pods, 5);
  ASSERT_TRUE(m.has_value());
  // c-1 (800) -> n3, b-1 (1500) -> n2: 2300 + 2300 >= 4500.
  EXPECT_EQ(m->pods, (std::vector<std::string>{"shop/c-1", "shop/b-1"}));
  nodes[2].free = {0, 0, 0};
  // ...and with room elsewhere for c-1 and d-1 only (2300 + 800 + 400 <
  // 4500) nothing is done; two pods of one Deployment (a-1, a-2) never
  // leave at once.
  EXPECT_FALSE(ChooseRoomMakers(big, nodes, pods, 5).has_value());
}

// The step's durable timers, as the journal keeps them: first write wins.
struct FakeTimers {
  std::map<std::string, int64_t> timers;
  int64_t now = 0;
  StallClock Clock(std::chrono::milliseconds timeout) {
    return StallClock(
        timeout,
        [this](const std::string& name, std::chrono::milliseconds d) -> StatusOr<int64_t> {
          return timers.emplace(name, now + d.count()).first->second;
        },
        [this](const std::string& name) -> StatusOr<std::optional<int64_t>> {
          auto it = timers.find(name);
          return it == timers.end() ? std::optional<int64_t>() : std::optional<int64_t>(it->second);
        });
  }
};

std::vector<std::string> Keys(const StatusOr<std::vector<StallClock::Pod>>& due) {
  std::vector<std::string> out;
  if (due.ok()) {
    for (const auto& p : *due) out.push_back(p.key);
  }
  return out;
}

TEST(ExecuteDecisions, StallClockSurvivesARestartAndDoesNotRepeatActs) {
  using std::chrono::milliseconds;
  FakeTimers t;
  const StallClock::Pod stuck{"web/big-1", "uid-1"};
  {
    StallClock clock = t.Clock(milliseconds(10000));
    t.now = 1000;  // first seen Pending
    EXPECT_TRUE(Keys(clock.Due({stuck}, false, t.now)).empty());
    EXPECT_EQ(clock.PendingSince("uid-1"), 1000);
    EXPECT_EQ(clock.NextDue(), 11000);
    t.now = 6000;
    EXPECT_TRUE(Keys(clock.Due({stuck}, false, t.now)).empty());
  }  // the controller is killed
  // A new process sees the same pod 8 s later: the wait is not started over.
  StallClock clock = t.Clock(milliseconds(10000));
  t.now = 9000;
  EXPECT_TRUE(Keys(clock.Due({stuck}, false, t.now)).empty());
  EXPECT_EQ(clock.PendingSince("uid-1"), 1000);
  t.now = 11000;
  EXPECT_EQ(Keys(clock.Due({stuck}, false, t.now)), std::vector<std::string>{"web/big-1"});
  ASSERT_TRUE(clock.BeforeAct(stuck).ok());
  // The act is given a stall timeout to work, also across another restart.
  StallClock again = t.Clock(milliseconds(10000));
  t.now = 15000;
  EXPECT_TRUE(Keys(again.Due({stuck}, false, t.now)).empty());
  EXPECT_EQ(again.NextDue(), 21000);
  t.now = 21000;
  EXPECT_EQ(Keys(again.Due({stuck}, false, t.now)).size(), 1u);
  ASSERT_TRUE(again.BeforeAct(stuck).ok());
  t.now = 31000;
  ASSERT_TRUE(again.BeforeAct(stuck).ok());  // the third and last act
  t.now = 100000;
  EXPECT_TRUE(Keys(again.Due({stuck}, true, t.now)).empty()) << "at most " << kMaxStallActs << " acts per pod";
  EXPECT_TRUE(Keys(t.Clock(milliseconds(10000)).Due({stuck}, true, t.now)).empty()) << "not even after a restart";
  EXPECT_EQ(again.NextDue(), INT64_MAX);
}

TEST(ExecuteDecisions, StallClockActsAtOnceOnAPassedProgressDeadlineAndGivesUpForGood) {
  using std::chrono::milliseconds;
  FakeTimers t;
  const StallClock::Pod a{"web/a", "uid-a"}, b{"web/b", "uid-b"};
  StallClock clock = t.Clock(milliseconds(120000));
  t.now = 500;
  EXPECT_TRUE(Keys(clock.Due({a}, false, t.now)).empty());
  t.now = 900;
  // The progress deadline passed: both are due now, the older first.
  EXPECT_EQ(Keys(clock.Due({b, a}, true, t.now)), (std::vector<std::string>{"web/a", "web/b"}));
  ASSERT_TRUE(clock.BeforeAct(a).ok());
  ASSERT_TRUE(clock.GaveUp(a).ok());  // nothing could be done for it: said once
  EXPECT_EQ(Keys(clock.Due({a, b}, true, t.now)), std::vector<std::string>{"web/b"});
  EXPECT_TRUE(Keys(t.Clock(milliseconds(120000)).Due({a}, true, 999999)).empty()) << "gave up, also after a restart";
  // A pod no longer stuck is forgotten; seen again, its journaled clock holds.
  EXPECT_TRUE(Keys(clock.Due({}, false, t.now)).empty());
  EXPECT_EQ(clock.NextDue(), INT64_MAX);
  EXPECT_TRUE(Keys(clock.Due({b}, false, t.now)).empty());
  EXPECT_EQ(clock.PendingSince("uid-b"), 900);
  // A journal error is the caller's error, not a crash.
  StallClock broken(
      milliseconds(1000), [](const std::string&, std::chrono::milliseconds) -> StatusOr<int64_t> {
        return Status::Unavailable("journal locked");
      },
      [](const std::string&) -> StatusOr<std::optional<int64_t>> { return std::optional<int64_t>(); });
  EXPECT_FALSE(broken.Due({a}, false, 0).ok());
}

TEST(ExecuteDecisions, RetireTaintReplacesAnEarlierOneAndIsRemovable) {
  json taints = json::array({{{"key", "dedicated"}, {"value", "x"}, {"effect", "NoSchedule"}},
                             {{"key", kRetireTaintKey}, {"value", "old"}, {"effect", "NoSchedule"}}});
  json with = TaintsWithRetire(taints, "new");
  ASSERT_EQ(with.size(), 2u);
  EXPECT_EQ(with[1]["value"], "new");
  json without = TaintsWithoutRetire(with);
  ASSERT_EQ(without.size(), 1u);
  EXPECT_EQ(without[0]["key"], "dedicated");
}

TEST(ExecuteDecisions, RolloutIsDoneOnlyWhenEveryReplicaIsUpdatedAndAvailable) {
  json d = {{"metadata", {{"generation", 3}}},
            {"spec", {{"replicas", 3}}},
            {"status",
             {{"observedGeneration", 3}, {"replicas", 4}, {"updatedReplicas", 3}, {"readyReplicas", 3}, {"availableReplicas", 3}}}};
  std::string why;
  bool failed = false;
  EXPECT_FALSE(DeploymentRolledOut(d, &why, &failed)) << "an old pod is still terminating";
  d["status"]["replicas"] = 3;
  EXPECT_TRUE(DeploymentRolledOut(d, &why, &failed)) << why;
  d["metadata"]["generation"] = 4;
  EXPECT_FALSE(DeploymentRolledOut(d, &why, &failed));
  EXPECT_NE(why.find("generation 4"), std::string::npos);
  d["status"]["conditions"] = json::array({{{"type", "Progressing"}, {"reason", "ProgressDeadlineExceeded"}}});
  EXPECT_FALSE(DeploymentRolledOut(d, &why, &failed));
  EXPECT_TRUE(failed);
}

TEST(ExecuteDecisions, PodsWithoutControllerOrOptedOutAreNotMoved) {
  const int64_t now = NowMs();
  json bare = {{"metadata", {{"name", "p"}}}};
  EXPECT_NE(WhyPodCannotMove(bare, now), "");
  json owned = {{"metadata", {{"ownerReferences", json::array({{{"kind", "ReplicaSet"}, {"name", "r"}, {"controller", true}}})}}}};
  EXPECT_EQ(WhyPodCannotMove(owned, now), "");
  owned["metadata"]["annotations"] = {{kDoNotDisrupt, "true"}};
  EXPECT_NE(WhyPodCannotMove(owned, now), "");
  json mirror = owned;
  mirror["metadata"]["annotations"] = {{"kubernetes.io/config.mirror", "x"}};
  EXPECT_EQ(WhyPodCannotMove(mirror, now), "mirror (static) pod");
  std::string zone, name;
  EXPECT_TRUE(ParseGceProviderId("gce://proj/us-central1-a/node-1", &zone, &name));
  EXPECT_EQ(zone, "us-central1-a");
  EXPECT_EQ(name, "node-1");
  EXPECT_FALSE(ParseGceProviderId("aws:///us-east-1a/i-1", &zone, &name));
  EXPECT_EQ(IterationValue("iteration-20261122T100000Z"), "iteration-20261122t100000z");
}

TEST(ExecuteDecisions, RolloutsStayWithinTheTightestPdb) {
  json strategy = {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", "25%"}, {"maxUnavailable", "25%"}}}};
  json pdb_max1 = {{"spec", {{"maxUnavailable", 1}, {"selector", {{"matchLabels", {{"app", "web"}}}}}}}};
  json pdb_min_all = {{"spec", {{"minAvailable", "100%"}, {"selector", {{"matchLabels", {{"app", "web"}}}}}}}};
  auto s = RolloutStrategyWithinBudgets(strategy, 8, {pdb_max1});
  EXPECT_EQ(s["rollingUpdate"]["maxUnavailable"], 1);
  EXPECT_EQ(s["rollingUpdate"]["maxSurge"], 0) << "replace in place: no surge capacity needed";
  auto none = RolloutStrategyWithinBudgets(strategy, 8, {});
  EXPECT_EQ(none["rollingUpdate"]["maxUnavailable"], 2) << "25% of 8, the Deployment's own";
  auto zero = RolloutStrategyWithinBudgets(
      {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", 0}, {"maxUnavailable", 1}}}}, 4, {pdb_min_all});
  EXPECT_EQ(zero["rollingUpdate"]["maxUnavailable"], 0);
  EXPECT_EQ(zero["rollingUpdate"]["maxSurge"], 1) << "a rollout needs room to progress";
  json recreate = {{"type", "Recreate"}};
  EXPECT_EQ(RolloutStrategyWithinBudgets(recreate, 4, {pdb_max1}), recreate);
  EXPECT_TRUE(kube::pdb::Selects(pdb_max1, {{"app", "web"}, {"tier", "x"}}));
  EXPECT_FALSE(kube::pdb::Selects(pdb_max1, {{"app", "cart"}}));
  json in_expr = {{"matchExpressions", json::array({{{"key", "tier"}, {"operator", "In"}, {"values", {"a", "b"}}}})}};
  EXPECT_TRUE(kube::selector::Matches(in_expr, {{"tier", "b"}}, false));
  EXPECT_FALSE(kube::selector::Matches(in_expr, {{"tier", "c"}}, false));
  EXPECT_FALSE(kube::selector::Matches(json::object(), {{"tier", "c"}}, false)) << "an empty workload selector selects nothing";
  EXPECT_TRUE(kube::selector::Matches(json::object(), {{"tier", "c"}}, true)) << "an empty PDB selector selects all";
  json bad_op = {{"matchExpressions", json::array({{{"key", "tier"}, {"operator", "Near"}, {"values", {"a"}}}})}};
  EXPECT_FALSE(kube::selector::Matches(bad_op, {{"tier", "a"}}, true)) << "a malformed selector selects nothing";
  EXPECT_EQ(kube::intstr::Scaled("30%", 10, true, 0), 3);
  EXPECT_EQ(kube::intstr::Scaled("25%", 10, true, 0), 3);
  EXPECT_EQ(kube::intstr::Scaled("25%", 10, false, 0), 2);
  EXPECT_EQ(kube::intstr::Scaled("x%", 10, false, 7), 7);
}

TEST(ExecuteDecisions, DoNotDisruptDurationProtectsOnlyUntilThePodIsThatOld) {
  const int64_t created = 1'800'000'000'000;
  json pod = {{"metadata",
               {{"creationTimestamp", FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(created)), 0)},
                {"annotations", {{kDoNotDisrupt, "30m"}}},
                {"ownerReferences", json::array({{{"kind", "ReplicaSet"}, {"name", "r"}, {"controller", true}}})}}}};
  EXPECT_NE(DoNotDisruptReason(pod, created + 29 * 60000), "") << "younger than 30m: protected";
  EXPECT_EQ(DoNotDisruptReason(pod, created + 31 * 60000), "") << "older than 30m: may be disrupted";
  EXPECT_EQ(WhyPodCannotMove(pod, created + 31 * 60000), "");
  pod["metadata"]["annotations"][kDoNotDisrupt] = "soon";
  EXPECT_NE(DoNotDisruptReason(pod, created + 100 * 60000).find("treated as true"), std::string::npos)
      << "a value that is neither true, false nor a duration protects (fail safe)";
  pod["metadata"]["annotations"][kDoNotDisrupt] = "false";
  EXPECT_EQ(DoNotDisruptReason(pod, created), "");
}

TEST(ExecuteDecisions, TypedStepValuesRoundTripThroughTheJournalShape) {
  BootResult boot;
  boot.booted.push_back({"p1", "kinema-abc", "z-a", "small", "spot", "z-b", "tiny", json::array({json{{"zone", "z-b"}}}), "", ""});
  auto boot2 = BootResult::FromJson(boot.ToJson());
  ASSERT_TRUE(boot2.ok()) << boot2.status().ToString();
  EXPECT_EQ(boot2->ToJson(), boot.ToJson());
  MarkResult marks;
  marks.iteration = "it-1";
  marks.targets = {{"n1", "it-0"}};
  marks.retiring = {{"n2", "uid-2", "gce://p/z-a/n2"}};
  marks.skipped = {{"n3", "gone"}};
  auto marks2 = MarkResult::FromJson(marks.ToJson());
  ASSERT_TRUE(marks2.ok());
  EXPECT_EQ(marks2->ToJson(), marks.ToJson());
  RetireResult retire;
  retire.nodes = {{"n2", RetireOutcome::kDeleted, 3, "", "n2", "z-a"}, {"n4", RetireOutcome::kKept, 0, "pinned", "", ""}};
  auto retire2 = RetireResult::FromJson(retire.ToJson());
  ASSERT_TRUE(retire2.ok());
  EXPECT_EQ(retire2->ToJson(), retire.ToJson());
  EXPECT_EQ(retire2->Retired(), 1);
  EXPECT_EQ(retire2->Evicted(), 3);
  MoveResult move;
  move.iteration = "it-1";
  move.deployments = {{"shop/cart", "rolled-out"}};
  move.evicted = {"shop/db-0"};
  move.order = {"shop/db", "shop/cart"};
  move.stall_breaks = {{"shop/db", "shop/db-x", "evicted", "shop/cart-y", {"shop/cart-y", "shop/ad-z"}, "n1", "made room"},
                       {"shop/db", "shop/db-z", "none", "", {}, "", "no single pod"}};
  auto move2 = MoveResult::FromJson(move.ToJson());
  ASSERT_TRUE(move2.ok()) << move2.status().ToString();
  EXPECT_EQ(move2->ToJson(), move.ToJson());
  EXPECT_EQ(move2->stall_breaks, move.stall_breaks);
  // A result journaled before "pods" existed: its one pod.
  json old = move.ToJson();
  old["stallBreaks"][0].erase("pods");
  auto move3 = MoveResult::FromJson(old);
  ASSERT_TRUE(move3.ok());
  EXPECT_EQ(move3->stall_breaks[0].pods, std::vector<std::string>{"shop/cart-y"});
}

TEST(ExecuteDecisions, MalformedJournaledResultsAreErrorsNotCrashes) {
  for (const json& bad : {json(nullptr), json(42), json{{"booted", "x"}}, json{{"booted", json::array({1})}},
                          json{{"booted", json::array({{{"planned", 7}}})}}}) {
    EXPECT_FALSE(BootResult::FromJson(bad).ok()) << bad.dump();
  }
  EXPECT_FALSE(MarkResult::FromJson(json{{"retiring", json::array({{{"node", false}}})}}).ok());
  EXPECT_FALSE(RetireResult::FromJson(json{{"nodes", 3}}).ok());
}


TEST(ExecuteDecisions, BootAttemptsHaveDurableKeysPerOfferingAndTheWorkflowsCloudLabels) {
  BootTarget t{"kinema-new-1", "kinema-abc", "small", "z-a", "on-demand"};
  const Catalog cat = TestCatalog();
  auto attempts = BootAttemptsFor(&cat, t, {}, "wf-1/4/node-boot", "wf-1", "kinema", nullptr);
  ASSERT_EQ(attempts.size(), 5u);
  EXPECT_EQ(attempts[0].spec.key, "wf-1/4/node-boot/kinema-new-1/z-a/small");
  EXPECT_EQ(attempts[0].spec.instance_name, "kinema-abc") << "gce: the first attempt keeps the planned name";
  EXPECT_EQ(attempts[1].spec.key, "wf-1/4/node-boot/kinema-new-1/z-b/small");
  EXPECT_NE(attempts[1].spec.instance_name, attempts[0].spec.instance_name) << "one instance per attempt";
  EXPECT_EQ(attempts[4].spec.machine_type, "large");
  EXPECT_EQ(attempts[0].spec.labels.at(kCloudWorkflowLabel), "wf-1");
  EXPECT_EQ(attempts[0].spec.labels.at(kCloudPlannedLabel), "kinema-new-1");
  EXPECT_TRUE(attempts[0].pool.empty()) << "no provider: no pool";
  // Same inputs, same attempts: a restarted step addresses the same nodes.
  auto again = BootAttemptsFor(&cat, t, {}, "wf-1/4/node-boot", "wf-1", "kinema", nullptr);
  for (size_t i = 0; i < attempts.size(); ++i) {
    EXPECT_EQ(again[i].spec.key, attempts[i].spec.key);
    EXPECT_EQ(again[i].spec.instance_name, attempts[i].spec.instance_name);
  }
  BootTarget spot{"kinema-new-2", "kinema-def", "small", "z-b", "spot"};
  auto spot_attempts = BootAttemptsFor(nullptr, spot, {}, "k", "wf-1", "kinema", nullptr);
  ASSERT_EQ(spot_attempts.size(), 1u) << "without a catalog: the planned offering only";
  EXPECT_EQ(spot_attempts[0].spec.capacity, CapacityType::kSpot);
}

TEST(ExecuteDecisions, BootIntentRoundTripsAndRejectsMismatchedOrMalformedAttempts) {
  const Catalog cat = TestCatalog();
  BootIntent intent;
  intent.targets = {{"kinema-new-1", "kinema-abc", "small", "z-a", "on-demand"}};
  intent.attempts = {BootAttemptsFor(&cat, intent.targets[0], {}, "k", "wf", "kinema", nullptr)};
  intent.attempts[0][1].pool = "kinema-small-on-demand";
  auto back = BootIntent::FromJson(intent.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->attempts.size(), 1u);
  ASSERT_EQ(back->attempts[0].size(), intent.attempts[0].size());
  EXPECT_EQ(back->attempts[0][1].spec.key, intent.attempts[0][1].spec.key);
  EXPECT_EQ(back->attempts[0][1].pool, "kinema-small-on-demand");
  EXPECT_EQ(back->attempts[0][1].spec.labels, intent.attempts[0][1].spec.labels);
  EXPECT_EQ(back->targets[0].planned, "kinema-new-1");

  json j = intent.ToJson();
  json other = j;
  other["attempts"][0]["planned"] = "someone-else";
  EXPECT_FALSE(BootIntent::FromJson(other).ok());
  json missing = j;
  missing["attempts"] = json::array();
  EXPECT_FALSE(BootIntent::FromJson(missing).ok());
  json bad_cap = j;
  bad_cap["attempts"][0]["options"][0]["capacityType"] = "preemptible";
  EXPECT_FALSE(BootIntent::FromJson(bad_cap).ok());
  json no_key = j;
  no_key["attempts"][0]["options"][0]["key"] = "";
  EXPECT_FALSE(BootIntent::FromJson(no_key).ok());
  EXPECT_FALSE(BootIntent::FromJson(json(7)).ok());
}

TEST(ExecuteDecisions, BootedNodeKeepsItsPoolAndProviderIdThroughTheJournal) {
  BootResult r;
  BootedNode n;
  n.planned = "p";
  n.node = "gke-sim-cluster-kinema-e2-4-od-1a2b3c-kdeadbeef";
  n.pool = "kinema-e2-standard-4-on-demand";
  n.provider_id = "gce://proj/us-central1-a/" + n.node;
  r.booted.push_back(n);
  auto back = BootResult::FromJson(r.ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->booted[0].pool, n.pool);
  EXPECT_EQ(back->booted[0].provider_id, n.provider_id);
  EXPECT_EQ(back->booted[0].node, n.node);
}

}  // namespace
}  // namespace kinema::execute

