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
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <set>
#include <thread>

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

}  // namespace
}  // namespace kinema::e2e
