// The kill -9 campaign across budgeted iterations (issue 13): with the
// documented budgets (the shared node budget's default 10 %, decision
// maxNodesRetired 10 / maxPodsMoved 500) a cluster is rescheduled step by
// bounded step; `kinema` is SIGKILLed at random instants of every iteration
// (spread over its steps) and restarted, and every iteration must end as an
// uninterrupted run would: completed with all eight steps, the cluster
// exactly as its plan said (nodes and $/h), each planned node booted once,
// each moved Deployment rolled once (no pod moved twice), within the node
// budget, no availability or PDB violation, `kinemactl verify` ok.
// Size: up to KINEMA_LANDING_KILLS kills per iteration (default 4; at most a
// quarter of them per step, so a short iteration takes fewer) over
// KINEMA_LANDING_KILL_ITERATIONS iterations (default 2); tools/test.sh
// --long raises both.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "tests/e2e/e2e_cluster.h"

namespace kinema::e2e {
namespace {

using nlohmann::json;
using testing::RunProcess;
using testing::WaitProcess;

// The newest workflow's id, status and current step (one `kinemactl list`).
struct Progress {
  std::string id, status, step;
  size_t workflows = 0;
  bool ended() const { return !status.empty() && status != "running"; }
};

Progress Latest(const E2eCluster& c) {
  json l = c.Kinemactl({"list"});
  Progress p{"", "", "before start", 0};
  if (!l.is_array() || l.empty()) return p;
  p.workflows = l.size();
  json latest = l[0];
  for (const auto& w : l) {
    if (w.value("createdAt", "") > latest.value("createdAt", "") ||
        (w.value("createdAt", "") == latest.value("createdAt", "") && w.value("id", "") > latest.value("id", ""))) {
      latest = w;
    }
  }
  p.id = latest.value("id", "");
  p.status = latest.value("status", "");
  p.step = latest["currentStep"].is_string() ? latest["currentStep"].get<std::string>() : "?";
  return p;
}

size_t Leaderships(const E2eCluster& c) {
  std::string log = testing::ReadFile(c.File("kinema.err"));  // appended by every run
  size_t n = 0;
  for (size_t at = log.find("leading with epoch"); at != std::string::npos; at = log.find("leading with epoch", at + 1)) ++n;
  return n;
}

// Kills `kinema --once` at random instants of the iteration that starts
// (the workflows before it are `done`): at most `wanted` kills, spread over
// its steps (a step that had its share runs on until the next one begins).
// Returns the steps the kills hit.
std::vector<std::string> KillDuringOneIteration(const E2eCluster& c, size_t done, int wanted, std::mt19937_64* rng) {
  std::vector<std::string> hit;
  std::map<std::string, int> per_step;
  const int cap = std::max(1, (wanted + 3) / 4);
  auto mine = [&] {  // progress of this iteration's workflow (not yet started: "before start")
    Progress p = Latest(c);
    return p.workflows > done ? p : Progress{"", "", "before start", p.workflows};
  };
  for (int round = 0; static_cast<int>(hit.size()) < wanted && round < wanted * 3; ++round) {
    if (mine().ended()) break;
    const size_t led_before = Leaderships(c);
    pid_t k = c.StartKinema({"--once"}, "kinema");
    for (int i = 0; i < 200 && Leaderships(c) == led_before; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 4000)(*rng)));
    Progress p = mine();
    while (!p.ended() && p.step != "drain-and-delete" && per_step[p.step] >= cap) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      Progress next = mine();
      if (next.step != p.step) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 1500)(*rng)));
        next = mine();
      }
      p = next;
    }
    const std::string step = mine().step;
    ::kill(k, SIGKILL);
    if (WaitProcess(k) == -SIGKILL) {
      hit.push_back(step);
      ++per_step[step];
    }
  }
  return hit;
}

std::set<std::string> NodeNames(const E2eCluster& c) {
  std::set<std::string> out;
  json nodes = c.KubectlJson({"get", "nodes"});
  for (const auto& n : nodes.value("items", json::array())) out.insert(n["metadata"]["name"].get<std::string>());
  return out;
}

// "ns/name" -> the Deployment's revision (deployment.kubernetes.io/revision).
std::map<std::string, int> Revisions(const E2eCluster& c) {
  std::map<std::string, int> out;
  json ds = c.KubectlJson({"get", "deployments", "-A"});
  for (const auto& d : ds.value("items", json::array())) {
    const json& ann = d["metadata"].value("annotations", json::object());
    out[d["metadata"]["namespace"].get<std::string>() + "/" + d["metadata"]["name"].get<std::string>()] =
        std::atoi(ann.value("deployment.kubernetes.io/revision", "0").c_str());
  }
  return out;
}

TEST(LandingKillCampaignTest, KillsAcrossBudgetedIterationsEndAsUninterruptedRuns) {
  const int kills_per_iteration = KillsFromEnv("KINEMA_LANDING_KILLS", 4);
  const int iterations = KillsFromEnv("KINEMA_LANDING_KILL_ITERATIONS", 2);
  E2eOptions o;
  o.nodes = 20;
  o.scale = 2;
  o.node_budget = "";                 // the documented default: 10 % of the nodes
  o.raised_decision_budgets = false;  // decision.maxNodesRetired 10, maxPodsMoved 500
  o.min_savings = 0.03;
  // As kill_campaign_test: short leases, simulated time 3x (steps take wall
  // seconds for the kills to land in), durable deadlines that outlive kills.
  o.lease = kKillCampaignLease;
  o.time_scale = 3;
  o.optimizer_time_limit = "2s";
  o.scenario_json = R"({"cloud": {"deleteDelay": "10s"}})";
  o.step_timeout = "10m";
  E2eCluster c(o);
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  const uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  const json first = c.Report();
  std::map<std::string, int> revisions = Revisions(c);
  ASSERT_FALSE(revisions.empty());
  int created_before = first["cloud"].value("instancesCreated", 0);
  int executed = 0, total_kills = 0;
  std::string where;

  for (int it = 0; it < iterations; ++it) {
    const size_t done = Latest(c).workflows;
    const std::set<std::string> nodes_before = NodeNames(c);
    const int allowed = static_cast<int>(std::ceil(nodes_before.size() * 0.10 - 1e-9));
    json before = c.Report();
    std::vector<std::string> hit = KillDuringOneIteration(c, done, kills_per_iteration, &rng);
    total_kills += static_cast<int>(hit.size());
    const int in_steps = static_cast<int>(std::count_if(hit.begin(), hit.end(), [](const std::string& s) {
      return s != "before start";
    }));
    for (const auto& s : hit) where += std::to_string(it) + ":" + s + " ";
    // The rest without interruption (resumes the iteration; starts one when
    // every kill came before it began).
    Progress p = Latest(c);
    if (p.workflows == done || !p.ended()) {
      auto run = c.RunKinemaOnce();
      ASSERT_EQ(run.exit_code, 0) << "iteration " << it << ": " << Tail(run.err, 3000) << c.Logs();
    }
    p = Latest(c);
    ASSERT_EQ(p.workflows, done + 1) << "one workflow per iteration, resumed across restarts";
    ASSERT_EQ(p.status, "completed") << "iteration " << it << " (kills: " << where << ")\n" << c.Logs();
    json show = c.Kinemactl({"show", p.id});
    const json* opt = StepResult(show, "optimization");
    ASSERT_NE(opt, nullptr) << show.dump().substr(0, 3000);
    json after = c.Report();
    ExpectNoHarm(after);
    EXPECT_EQ(c.RoomHoldsLeft(), std::vector<std::string>{}) << "room holds left behind";
    if (show["outcome"].is_string()) {  // nothing left worth a step: nothing changed
      EXPECT_NEAR(after["costPerHour"].get<double>(), before["costPerHour"].get<double>(), 1e-6);
      EXPECT_EQ(NodeNames(c), nodes_before);
      break;
    }
    ++executed;
    ASSERT_EQ(show["steps"].size(), 8u);
    for (const auto& s : show["steps"]) EXPECT_EQ(s["status"], "succeeded") << s.dump().substr(0, 1500);
    const json& plan = (*opt)["plan"];
    // The cluster is what the plan said: its nodes and its cost.
    std::set<std::string> want;
    for (const auto& n : plan["nodes"]) {
      if (n.value("action", "") == "keep") want.insert(n["name"].get<std::string>());
    }
    const json* boot = StepResult(show, "node-boot");
    ASSERT_NE(boot, nullptr);
    for (const auto& b : boot->value("booted", json::array())) want.insert(b["node"].get<std::string>());
    EXPECT_EQ(NodeNames(c), want) << "iteration " << it;
    EXPECT_NEAR(after["costPerHour"].get<double>(), plan["costPerHourAfter"].get<double>(), 1e-3) << after.dump();
    EXPECT_LT(after["costPerHour"].get<double>(), before["costPerHour"].get<double>() - 1e-6);
    EXPECT_EQ(after["pendingPods"], 0) << after.dump();
    // Within the budget; each planned node booted exactly once.
    const PlanActions actions = CountPlanActions(plan);
    EXPECT_LE(actions.retire, allowed) << "iteration " << it << " retires at most 10% of " << nodes_before.size();
    const int created = after["cloud"].value("instancesCreated", 0);
    EXPECT_EQ(created - created_before, actions.boot) << "iteration " << it;
    created_before = created;
    // Each Deployment the iteration moved rolled exactly once (no pod moved
    // twice); the others did not roll at all.
    const json* move = StepResult(show, "deployment-patch");
    ASSERT_NE(move, nullptr);
    std::set<std::string> moved;
    for (const auto& d : move->value("deployments", json::array())) {
      if (d.value("outcome", "") == "rolled-out") moved.insert(d["deployment"].get<std::string>());
    }
    std::map<std::string, int> now = Revisions(c);
    for (const auto& [d, rev] : now) {
      EXPECT_EQ(rev, revisions[d] + (moved.count(d) ? 1 : 0)) << d << " in iteration " << it;
    }
    revisions = now;
    EXPECT_GE(in_steps, std::min(kills_per_iteration, 2)) << "kills landed in iteration " << it << ": " << where;
    std::printf("iteration %d: %.4f -> %.4f $/h (plan %.4f), %d retired (budget %d), %zu deployments moved, "
                "%zu kills\n",
                it, before["costPerHour"].get<double>(), after["costPerHour"].get<double>(),
                plan["costPerHourAfter"].get<double>(), actions.retire, allowed, moved.size(), hit.size());
  }
  RecordProperty("killed_in", where);
  std::printf("landing kill campaign: %d kills over %d iterations (seed %llu): %s\n", total_kills, executed,
              static_cast<unsigned long long>(seed), where.c_str());
  EXPECT_GE(executed, std::min(iterations, 2)) << "budgeted steps on this cluster";
  EXPECT_EQ(RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "verify"}).exit_code, 0);
}

}  // namespace
}  // namespace kinema::e2e
