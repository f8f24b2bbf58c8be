// Room holds across kill -9 (issue 13, "keep planned room reserved until its
// pods arrive"): the deployment-patch step binds placeholder pods for the
// heavy Deployments' planned room before the first rollout. The controller
// is held right after it made them (KINEMA_TEST_DELAY at "room_held") and
// SIGKILLed; then either
//  - a new process resumes the step: the holds are recreated or released
//    from the journaled intent, the heavy pods land on their planned nodes
//    and no hold outlives the step; or
//  - the operator aborts: compensation deletes every hold (and restores the
//    Deployments) although the process that made them is gone.
// And the race a hold can lose (it is bound straight to its node): a pod
// placed on the node after the step counted the room makes the node's
// kubelet reject the hold (OutOfcpu); the step says so and still completes.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "engine/quantity/quantity.h"
#include "tests/e2e/e2e_cluster.h"

namespace kinema::e2e {
namespace {

using nlohmann::json;
using testing::RunProcess;
using testing::WaitProcess;

E2eOptions HeavyTailedCluster() {
  E2eOptions o;
  o.nodes = 20;
  o.scale = 2;
  o.scenario_args = {"--heavy", "3"};  // 12 pods of 4.5-7 CPU / 12-20 GiB on e2-standard-8 nodes
  o.stall_timeout = "10s";
  return o;
}

// Starts the controller held for 10 minutes right after the move made its
// room holds; returns once the holds exist (the pods listed) and the
// journaled intent that planned them.
struct Held {
  pid_t controller = -1;
  std::string id;
  json intent;
  json holds;  // the hold pods
};

Held StartAndHoldAfterRoomHolds(const E2eCluster& c) {
  Held h;
  ::setenv("KINEMA_TEST_DELAY", "room_held:6:600000", 1);
  h.controller = c.StartKinema({"--once"}, "kinema");
  ::unsetenv("KINEMA_TEST_DELAY");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    json pods = c.KubectlJson({"get", "pods", "-A", "-l", "kinema.io/room-hold"});
    if (!pods.is_object() || pods["items"].empty()) continue;
    json show = ShowLatest(c);
    json intent = JournaledIntent(show, "deployment-patch");
    if (!intent.is_object()) continue;
    h.id = show["id"];
    h.intent = intent;
    h.holds = pods["items"];
    break;
  }
  return h;
}

// Every hold pod is bound to a node the plan gives the Deployment it holds
// room for, and asks for what the intent journaled.
void ExpectHoldsFollowTheIntent(const Held& h) {
  ASSERT_TRUE(h.intent.contains("holds")) << h.intent.dump().substr(0, 2000);
  std::set<std::pair<std::string, std::string>> planned;  // deployment, node
  for (const auto& x : h.intent["holds"]) {
    planned.insert({x.value("deployment", ""), x.value("node", "")});
  }
  ASSERT_FALSE(planned.empty());
  for (const auto& p : h.holds) {
    const std::string d = p["metadata"]["annotations"].value("kinema.io/room-hold-for", "");
    const std::string node = p["spec"].value("nodeName", "");
    EXPECT_TRUE(planned.count({d, node})) << d << " on " << node << " is not a planned hold";
    const json& steering = h.intent["steering"].value(d, json::array());
    EXPECT_NE(std::find(steering.begin(), steering.end(), json(node)), steering.end())
        << node << " is not a planned node of " << d;
    EXPECT_EQ(p["metadata"]["namespace"], "kube-system");
  }
}

TEST(RoomHoldTest, ResumedAfterAKillTheHeavyPodsLandOnTheirPlannedNodesAndNoHoldIsLeft) {
  E2eCluster c(HeavyTailedCluster());
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  json before = c.Report();
  Held h = StartAndHoldAfterRoomHolds(c);
  ASSERT_FALSE(h.id.empty()) << "no room hold within 240 s\n" << c.Logs();
  ExpectHoldsFollowTheIntent(h);
  KillProcess(h.controller);

  auto run = c.RunKinemaOnce();
  ASSERT_EQ(run.exit_code, 0) << run.err.substr(run.err.size() > 4000 ? run.err.size() - 4000 : 0) << c.Logs();
  json show = c.Kinemactl({"show", h.id});
  ASSERT_EQ(show.value("status", ""), "completed") << show.dump().substr(0, 3000);
  for (const auto& s : show["steps"]) EXPECT_EQ(s["status"], "succeeded") << s.dump().substr(0, 1500);
  EXPECT_EQ(c.RoomHoldsLeft(), std::vector<std::string>{}) << "room holds left behind";
  const json* move = StepResult(show, "deployment-patch");
  ASSERT_NE(move, nullptr);
  int held = 0;
  for (const auto& x : move->value("roomHolds", json::array())) held += x["outcome"] == "held";
  EXPECT_GT(held, 0) << move->dump().substr(0, 2000);
  // Each heavy Deployment's pods run on its planned nodes.
  json pods = c.KubectlJson({"get", "pods", "-n", "web"});
  ASSERT_TRUE(pods.is_object());
  int checked = 0;
  for (const auto& [d, nodes] : h.intent["steering"].items()) {
    if (d.rfind("web/heavy-", 0) != 0) continue;
    std::set<std::string> planned;
    for (const auto& n : nodes) planned.insert(n.get<std::string>());
    for (const auto& p : pods["items"]) {
      if ("web/" + p["metadata"]["labels"].value("app", "") != d) continue;
      EXPECT_TRUE(planned.count(p["spec"].value("nodeName", ""))) << d << " pod on " << p["spec"]["nodeName"];
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
  json after = c.Report();
  ExpectNoHarm(after);
  EXPECT_EQ(after["pendingPods"], 0) << after.dump();
  EXPECT_LT(after["costPerHour"].get<double>(), before["costPerHour"].get<double>());
  EXPECT_EQ(RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "verify"}).exit_code, 0);
}

TEST(RoomHoldTest, AbortAfterTheControllerDiedHoldingRoomDeletesEveryHold) {
  E2eCluster c(HeavyTailedCluster());
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  Held h = StartAndHoldAfterRoomHolds(c);
  ASSERT_FALSE(h.id.empty()) << "no room hold within 240 s\n" << c.Logs();
  ExpectHoldsFollowTheIntent(h);
  KillProcess(h.controller);
  ASSERT_FALSE(c.RoomHoldsLeft().empty()) << "the holds outlive the process that made them";

  auto abort = RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "--json", "abort", h.id, "--reason",
                           "e2e: abort while room is held"});
  ASSERT_EQ(abort.exit_code, 0) << abort.out << abort.err;
  auto run = c.RunKinemaOnce();
  ASSERT_EQ(run.exit_code, 0) << run.err.substr(run.err.size() > 4000 ? run.err.size() - 4000 : 0) << c.Logs();
  json show = c.Kinemactl({"show", h.id});
  EXPECT_EQ(show.value("status", ""), "aborted") << show.dump().substr(0, 3000);
  EXPECT_EQ(c.RoomHoldsLeft(), std::vector<std::string>{}) << "compensation deletes every hold";
  json report = c.Report();
  ExpectNoHarm(report);
  EXPECT_EQ(report["pendingPods"], 0) << report.dump();
  EXPECT_EQ(RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "verify"}).exit_code, 0);
}

// Free cpu (millicores) of `node`: allocatable minus the requests of the
// pods bound to it that have not finished (what the kubelet will count).
int64_t FreeCpuMilli(const E2eCluster& c, const std::string& node) {
  json n = c.KubectlJson({"get", "node", node});
  json pods = c.KubectlJson({"get", "pods", "-A", "--field-selector", "spec.nodeName=" + node});
  if (!n.is_object() || !pods.is_object()) return -1;
  auto alloc = ParseQuantityMilli(n["status"]["allocatable"].value("cpu", "0"));
  if (!alloc.ok()) return -1;
  int64_t free = *alloc;
  for (const auto& p : pods["items"]) {
    const std::string phase = p["status"].value("phase", "");
    if (phase == "Succeeded" || phase == "Failed") continue;
    for (const auto& ctr : p["spec"]["containers"]) {
      const json req = ctr.value("resources", json::object()).value("requests", json::object());
      if (!req.contains("cpu")) continue;
      auto v = ParseQuantityMilli(req["cpu"].get<std::string>());
      if (v.ok()) free -= *v;
    }
  }
  return free;
}

TEST(RoomHoldTest, AHoldWhoseRoomAPodTookMeanwhileIsRejectedByTheKubeletAndTheMoveStillCompletes) {
  E2eCluster c(HeavyTailedCluster());
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  json before = c.Report();
  // Held for 8 s right after the step counted the free room, before it
  // made any hold.
  ::setenv("KINEMA_TEST_DELAY", "room_counted:6:8000", 1);
  pid_t controller = c.StartKinema({"--once"}, "kinema");
  ::unsetenv("KINEMA_TEST_DELAY");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  while (std::chrono::steady_clock::now() < deadline &&
         testing::ReadFile(c.File("kinema.err")).find("test hook: reached room_counted") == std::string::npos) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  json show = ShowLatest(c);
  json intent = JournaledIntent(show, "deployment-patch");
  ASSERT_TRUE(intent.is_object() && intent.contains("holds") && !intent["holds"].empty())
      << "no planned room hold within 240 s\n" << Tail(intent.dump()) << c.Logs();
  // A pod bound straight to the first hold's node takes all its free cpu.
  const json hold = intent["holds"][0];
  const std::string node = hold.value("node", "");
  const int64_t free = FreeCpuMilli(c, node);
  ASSERT_GE(free, hold.value("cpuMilli", 0LL)) << "the step counted room for the hold on " << node;
  json squatter = {{"apiVersion", "v1"},
                   {"kind", "Pod"},
                   {"metadata", {{"name", "squatter"}, {"namespace", "default"}}},
                   {"spec",
                    {{"nodeName", node},
                     {"activeDeadlineSeconds", 150},  // simulated (15 s of wall time): outlives the hold's creation
                     {"tolerations", json::array({{{"operator", "Exists"}}})},
                     {"containers", json::array({{{"name", "c"},
                                                  {"image", "registry.k8s.io/pause:3.10"},
                                                  {"resources",
                                                   {{"requests", {{"cpu", std::to_string(free) + "m"},
                                                                  {"memory", "64Mi"}}}}}}})}}}};
  const std::string file = c.File("squatter.json");
  {
    std::ofstream(file) << squatter.dump();
  }
  auto made = c.Kubectl({"create", "-f", file});
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;

  const int exit_code = WaitProcess(controller);
  ASSERT_EQ(exit_code, 0) << c.Logs();
  show = c.Kinemactl({"show", show.value("id", "")});
  ASSERT_EQ(show.value("status", ""), "completed") << Tail(show.dump()) << c.Logs();
  for (const auto& s : show["steps"]) EXPECT_EQ(s["status"], "succeeded") << s.dump().substr(0, 1500);
  const json* move = StepResult(show, "deployment-patch");
  ASSERT_NE(move, nullptr);
  bool rejected = false;
  for (const auto& x : move->value("roomHolds", json::array())) {
    if (x.value("node", "") != node || x.value("deployment", "") != hold.value("deployment", "")) continue;
    EXPECT_EQ(x.value("outcome", ""), "rejected") << x.dump();
    EXPECT_NE(x.value("why", "").find("OutOfcpu"), std::string::npos) << x.dump();
    rejected = true;
  }
  EXPECT_TRUE(rejected) << move->dump().substr(0, 2000);
  json explain = c.Kinemactl({"explain", show.value("id", "")});
  EXPECT_NE(explain.value("summary", "").find("rejected by the node"), std::string::npos) << Tail(explain.dump());
  EXPECT_EQ(c.RoomHoldsLeft(), std::vector<std::string>{}) << "room holds left behind";
  json after = c.Report();
  ExpectNoHarm(after);
  EXPECT_LT(after["costPerHour"].get<double>(), before["costPerHour"].get<double>());
  EXPECT_EQ(RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "verify"}).exit_code, 0);
}

}  // namespace
}  // namespace kinema::e2e
