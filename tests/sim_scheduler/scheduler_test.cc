// The Scheduler component in process: a real ObjectStore + Registry, the
// scheduler on an io_context driven by the test thread, simulated time 1000x.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>

#include "tests/sim_scheduler/test_objects.h"
#include "tools/kinema-sim/registry.h"
#include "tools/kinema-sim/scheduler/scheduler.h"
#include "tools/kinema-sim/snapshot_loader.h"

namespace kinema::sim::sched {
namespace {

using namespace kinema::sim::sched::testing;  // NOLINT

const ResourceType& T(const char* plural) { return *ResourceRegistry::Default().Find("", "v1", plural); }

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest() : clock_(1000.0), store_(100000), registry_(&store_, &clock_) {}

  void Load(const std::vector<json>& items, SchedulerConfig config = {}) {
    json list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
    auto r = LoadSnapshotText(list.dump(), &registry_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    scheduler_ = std::make_unique<Scheduler>(&registry_, &io_, config);
    scheduler_->Start();
  }
  ~SchedulerTest() override {
    if (scheduler_) scheduler_->Stop();
    io_.restart();
    io_.poll();
  }
  // Runs the io_context until `done` holds (false after `seconds` of wall time).
  bool RunUntil(const std::function<bool()>& done, double seconds = 5) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(5));
      if (done()) return true;
    }
    return done();
  }
  void RunFor(double seconds) {
    RunUntil([] { return false; }, seconds);
  }
  ObjectPtr Get(const char* plural, const std::string& ns, const std::string& name) {
    return store_.Get(T(plural), ns, name);
  }
  std::string NodeOf(const std::string& pod) {
    auto p = Get("pods", "shop", pod);
    return p ? p->body["spec"].value("nodeName", "") : "";
  }
  json PodScheduled(const std::string& pod) {
    auto p = Get("pods", "shop", pod);
    if (!p) return nullptr;
    for (const auto& c : p->body["status"].value("conditions", json::array()))
      if (c.value("type", "") == "PodScheduled") return c;
    return nullptr;
  }
  std::vector<json> EventsFor(const std::string& pod, const std::string& reason) {
    WatchFilter f;
    f.resource = &T("events");
    std::vector<json> out;
    for (const auto& e : store_.List(f).items)
      if (e->body["involvedObject"].value("name", "") == pod && e->body.value("reason", "") == reason)
        out.push_back(e->body);
    return out;
  }
  void Create(const json& obj) {
    const ResourceType& rt = obj["kind"] == "Node" ? T("nodes") : T("pods");
    std::string ns = obj["metadata"].value("namespace", "");
    auto r = registry_.Create(rt, ns, obj);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }

  SimClock clock_;
  ObjectStore store_;
  Registry registry_;
  boost::asio::io_context io_;
  std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(SchedulerTest, BindsPendingPodsFromSnapshotAndNewOnes) {
  Load({NodeJson("n1"), NodeJson("n2"), PodJson("early")});
  ASSERT_TRUE(RunUntil([&] { return !NodeOf("early").empty(); }));
  Create(PodJson("late"));
  ASSERT_TRUE(RunUntil([&] { return !NodeOf("late").empty(); }));
  json cond = PodScheduled("late");
  EXPECT_EQ(cond["status"], "True");
  auto events = EventsFor("late", "Scheduled");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["message"], "Successfully assigned shop/late to " + NodeOf("late"));
  EXPECT_EQ(events[0]["type"], "Normal");
  EXPECT_EQ(events[0]["source"]["component"], "default-scheduler");
}

TEST_F(SchedulerTest, InsufficientCpuLeavesPodPendingWithReason) {
  Load({NodeJson("n1", "1"), NodeJson("n2", "1"), PodJson("big", "2")});
  ASSERT_TRUE(RunUntil([&] { return !PodScheduled("big").is_null(); }));
  RunFor(0.05);  // retries (backoff 1 s simulated = 1 ms) must not bind or duplicate anything
  EXPECT_EQ(NodeOf("big"), "");
  json cond = PodScheduled("big");
  EXPECT_EQ(cond["status"], "False");
  EXPECT_EQ(cond["reason"], "Unschedulable");
  std::string msg = "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: "
                    "2 No preemption victims found for incoming pod.";
  EXPECT_EQ(cond["message"], msg);
  auto events = EventsFor("big", "FailedScheduling");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["type"], "Warning");
  EXPECT_EQ(events[0]["message"], msg);
  EXPECT_EQ(Get("pods", "shop", "big")->body["status"]["phase"], "Pending");
  // Heartbeat-only node updates do not trigger retries.
  uint64_t attempts = scheduler_->stats().attempts;
  for (int i = 0; i < 20; ++i) {
    auto r = registry_.Modify(
        T("nodes"), "", "n1",
        [&](json& n) -> std::optional<ApiError> {
          n["status"]["conditions"][0]["lastHeartbeatTime"] = "2026-11-22T10:00:" + std::to_string(10 + i) + "Z";
          return std::nullopt;
        },
        "status");
    ASSERT_TRUE(r.ok());
  }
  RunFor(0.05);
  EXPECT_EQ(scheduler_->stats().attempts, attempts);
}

TEST_F(SchedulerTest, PendingPodScheduledWhenNodeJoins) {
  Load({NodeJson("small", "1"), PodJson("big", "3")});
  ASSERT_TRUE(RunUntil([&] { return !PodScheduled("big").is_null(); }));
  Create(NodeJson("large", "8"));
  ASSERT_TRUE(RunUntil([&] { return NodeOf("big") == "large"; }, 2));
  EXPECT_EQ(PodScheduled("big")["status"], "True");
  EXPECT_FALSE(PodScheduled("big").contains("reason"));
}

TEST_F(SchedulerTest, PendingPodScheduledWhenBlockingPodDeletedOrNodeUncordoned) {
  json cordoned = NodeJson("c", "4");
  cordoned["spec"]["unschedulable"] = true;
  Load({NodeJson("n", "2"), cordoned, Bound(PodJson("hog", "1500m"), "n"), PodJson("wait", "1")});
  ASSERT_TRUE(RunUntil([&] { return !PodScheduled("wait").is_null(); }));
  EXPECT_NE(PodScheduled("wait")["message"].get<std::string>().find("1 node(s) were unschedulable"),
            std::string::npos);
  DeleteOptions now;
  now.grace_period_seconds = 0;
  ASSERT_TRUE(registry_.Delete(T("pods"), "shop", "hog", now).ok());
  ASSERT_TRUE(RunUntil([&] { return NodeOf("wait") == "n"; }, 2));

  Create(PodJson("second", "1500m"));
  ASSERT_TRUE(RunUntil([&] { return !PodScheduled("second").is_null(); }));
  EXPECT_EQ(NodeOf("second"), "");
  auto r = registry_.Patch(T("nodes"), "", "c", PatchType::kMerge, R"({"spec":{"unschedulable":false}})", "");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(RunUntil([&] { return NodeOf("second") == "c"; }, 2));
}

TEST_F(SchedulerTest, PendingPodScheduledWhenBoundPodShrinksInPlace) {
  Load({NodeJson("n", "2"), Bound(PodJson("hog", "1500m"), "n"), PodJson("wait", "1")});
  ASSERT_TRUE(RunUntil([&] { return !PodScheduled("wait").is_null(); }));
  // The kubelet has applied a resize down (spec and allocated agree); written like etcd.
  auto r = store_.Mutate(T("pods"), "shop", "hog", [](const ObjectPtr& cur) -> ApiResult<ObjectStore::Mutation> {
    json next = cur->body;
    next["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "500m";
    return ObjectStore::Mutation{ObjectStore::Mutation::Action::kPut, std::move(next)};
  });
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(RunUntil([&] { return NodeOf("wait") == "n"; }, 2));
}

TEST_F(SchedulerTest, RepeatedFailuresAggregateIntoOneEvent) {
  Load({NodeJson("n", "1"), PodJson("big", "2")}, SchedulerConfig{.max_unschedulable_seconds = 1,
                                                                     .flush_period_seconds = 1});
  // Flushed every simulated second (1 ms): many attempts, one event.
  ASSERT_TRUE(RunUntil([&] { return scheduler_->stats().attempts >= 4; }));
  auto events = EventsFor("big", "FailedScheduling");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_GE(events[0]["count"].get<int>(), 2);
}

TEST_F(SchedulerTest, IgnoresOtherSchedulersAndWaitsForGates) {
  json other = PodJson("custom");
  other["spec"]["schedulerName"] = "my-scheduler";
  json gated = PodJson("gated");
  gated["spec"]["schedulingGates"] = json::array({{{"name", "example.com/wait"}}});
  Load({NodeJson("n"), other, gated, PodJson("normal")});
  ASSERT_TRUE(RunUntil([&] { return !NodeOf("normal").empty() && !PodScheduled("gated").is_null(); }));
  EXPECT_EQ(NodeOf("custom"), "");
  EXPECT_TRUE(PodScheduled("custom").is_null());
  EXPECT_EQ(PodScheduled("gated")["reason"], "SchedulingGated");
  EXPECT_EQ(NodeOf("gated"), "");
  // Removing gates is a legal pod update in Kubernetes, but kinema-sim's
  // registry does not allow it yet: write it like etcd would.
  auto r = store_.Mutate(T("pods"), "shop", "gated", [](const ObjectPtr& cur) -> ApiResult<ObjectStore::Mutation> {
    json next = cur->body;
    next["spec"].erase("schedulingGates");
    return ObjectStore::Mutation{ObjectStore::Mutation::Action::kPut, std::move(next)};
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(RunUntil([&] { return NodeOf("gated") == "n"; }, 2));
}

TEST_F(SchedulerTest, RequiredAntiAffinityOnHostnameSpreadsReplicas) {
  std::vector<json> items = {NodeJson("n1"), NodeJson("n2"), NodeJson("n3")};
  for (int i = 0; i < 4; ++i)
    items.push_back(WithAntiAffinity(WithLabels(PodJson("web-" + std::to_string(i)), {{"app", "web"}}), "web"));
  Load(items);
  ASSERT_TRUE(RunUntil([&] { return scheduler_->stats().scheduled == 3 && !PodScheduled("web-3").is_null(); }));
  std::set<std::string> nodes;
  std::string pending;
  for (int i = 0; i < 4; ++i) {
    std::string n = NodeOf("web-" + std::to_string(i));
    if (n.empty()) pending = "web-" + std::to_string(i);
    else nodes.insert(n);
  }
  EXPECT_EQ(nodes.size(), 3u);
  ASSERT_EQ(pending, "web-3");  // first come, first served
  EXPECT_NE(PodScheduled(pending)["message"].get<std::string>().find("anti-affinity"), std::string::npos);
  Create(NodeJson("n4"));
  ASSERT_TRUE(RunUntil([&] { return NodeOf(pending) == "n4"; }, 2));
}

TEST_F(SchedulerTest, ReplicaSetPodsAreSpreadByDefault) {
  json rs = {{"apiVersion", "apps/v1"},
             {"kind", "ReplicaSet"},
             {"metadata", {{"name", "web-abc"}, {"namespace", "shop"}}},
             {"spec",
              {{"replicas", 2},
               {"selector", {{"matchLabels", {{"app", "web"}, {"pod-template-hash", "abc"}}}}},
               {"template",
                {{"metadata", {{"labels", {{"app", "web"}, {"pod-template-hash", "abc"}}}}},
                 {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "i"}}})}}}}}}}};
  std::vector<json> items = {NodeJson("big", "64", "256Gi"), NodeJson("small", "4", "16Gi"), rs};
  for (int i = 0; i < 2; ++i) {
    json p = WithLabels(PodJson("web-abc-" + std::to_string(i)), {{"app", "web"}, {"pod-template-hash", "abc"}});
    p["metadata"]["ownerReferences"] = json::array(
        {{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", "web-abc"}, {"uid", "u"}, {"controller", true}}});
    items.push_back(p);
  }
  items.push_back(PodJson("loose-0"));
  Load(items);
  ASSERT_TRUE(RunUntil([&] { return scheduler_->stats().scheduled == 3; }));
  EXPECT_NE(NodeOf("web-abc-0"), NodeOf("web-abc-1"));
  Create(PodJson("loose-1"));
  ASSERT_TRUE(RunUntil([&] { return !NodeOf("loose-1").empty(); }));
  EXPECT_EQ(NodeOf("loose-1"), "big");  // pods without an owner are not spread
}

TEST_F(SchedulerTest, PodWithRequiredAffinityScheduledOnceItsPartnerIsBound) {
  json web = PodJson("web");
  web["spec"]["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = json::array(
      {{{"labelSelector", {{"matchLabels", {{"app", "cache"}}}}}, {"topologyKey", "kubernetes.io/hostname"}}});
  Load({NodeJson("n1"), NodeJson("n2"), NodeJson("n3"), web});
  ASSERT_TRUE(RunUntil([&] { return !PodScheduled("web").is_null(); }));
  EXPECT_EQ(PodScheduled("web")["status"], "False");
  Create(WithLabels(PodJson("cache"), {{"app", "cache"}}));
  ASSERT_TRUE(RunUntil([&] { return !NodeOf("cache").empty() && !NodeOf("web").empty(); }, 2));
  EXPECT_EQ(NodeOf("web"), NodeOf("cache"));
}

TEST_F(SchedulerTest, HigherPriorityPodsGoFirst) {
  json low = PodJson("low", "1");
  low["spec"]["priority"] = 0;
  json high = PodJson("high", "1");
  high["spec"]["priority"] = 1000;
  Load({NodeJson("n", "1500m"), low, high});
  ASSERT_TRUE(RunUntil([&] { return !NodeOf("high").empty() && !PodScheduled("low").is_null(); }));
  EXPECT_EQ(NodeOf("low"), "");
}

TEST(SchedulerConfigTest, ReadsScenarioSectionAndRejectsBadValues) {
  auto c = SchedulerConfig::FromScenario(json::parse(R"({"scheduler":{"enabled":false,"maxBackoffSeconds":20}})"), 9);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c.value().enabled);
  EXPECT_EQ(c.value().max_backoff_seconds, 20);
  EXPECT_EQ(c.value().seed, 9u);
  EXPECT_TRUE(SchedulerConfig::FromScenario(json::object(), 1).ok());
  auto bad = SchedulerConfig::FromScenario(json::parse(R"({"scheduler":{"enabled":"yes"}})"), 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().ToString().find("scheduler.enabled"), std::string::npos);
  auto unknown = SchedulerConfig::FromScenario(json::parse(R"({"scheduler":{"speed":3}})"), 1);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().ToString().find("scheduler.speed"), std::string::npos);
}

}  // namespace
}  // namespace kinema::sim::sched
