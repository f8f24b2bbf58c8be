// The kill -9 campaign on the real controller: SIGKILL `kinema` at random
// instants across a whole iteration (KINEMA_E2E_KILLS, default 20), restart
// it each time, and require the end state of an uninterrupted run: the
// iteration completed with all eight steps, the cluster costs what the plan
// said, no duplicate or orphan instance, no availability or PDB violation,
// `kinemactl verify` ok.
#include <gtest/gtest.h>
#include <signal.h>

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

int KillsWanted() { return KillsFromEnv("KINEMA_E2E_KILLS", 20); }

TEST(KillCampaignTest, SigkillAtRandomInstantsReachesTheUninterruptedEndState) {
  E2eOptions o;
  // Short leases: each restarted process (a new identity) waits out the
  // killed one's lease before it may act. Simulated time 3x (boots, joins and
  // rollouts take wall seconds: a minute of work for >= 20 kills at ~2 s
  // apart), a 2 s optimizer budget (kills during optimization re-run it).
  o.lease = kKillCampaignLease;
  o.time_scale = 3;
  o.optimizer_time_limit = "2s";
  o.scenario_json = R"({"cloud": {"deleteDelay": "15s"}})";  // a drain long enough for its share of kills
  o.step_timeout = "10m";  // durable deadlines keep running while killed processes' leases expire
  E2eCluster c(o);
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  const uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));

  // The iteration's status and current step, from one `kinemactl list`.
  struct Progress {
    std::string status, step;
    bool ended() const { return !status.empty() && status != "running"; }
  };
  auto progress = [&] {
    json l = c.Kinemactl({"list"});
    if (!l.is_array() || l.empty()) return Progress{"", "before start"};
    return Progress{l[0].value("status", ""), l[0].value("currentStep", "?")};
  };
  auto leaderships = [&] {
    std::string log = testing::ReadFile(c.File("kinema.err"));  // appended by every run
    size_t n = 0;
    for (size_t at = log.find("leading with epoch"); at != std::string::npos; at = log.find("leading with epoch", at + 1)) ++n;
    return n;
  };
  const int wanted = KillsWanted();
  int kills = 0;
  std::vector<std::string> killed_in;  // the step running at each kill
  std::map<std::string, int> kills_in;  // per step
  const int per_step_cap = (wanted + 3) / 4;
  for (int round = 0; kills < wanted && round < wanted * 3; ++round) {
    if (progress().ended()) break;
    const size_t led_before = leaderships();
    pid_t k = c.StartKinema({"--once"}, "kinema");
    // Wait until it leads (the killed predecessor's lease expires first),
    // then kill it at a random instant of its work.
    for (int i = 0; i < 200 && leaderships() == led_before; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    int ms = std::uniform_int_distribution<int>(100, 4000)(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    // Spread the kills over the iteration: a step that already took its
    // share runs on until the next step begins, which is then hit at a
    // random instant of its own (the last step takes whatever is left).
    Progress p = progress();
    while (!p.ended() && p.step != "drain-and-delete" && kills_in[p.step] >= per_step_cap) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      Progress next = progress();
      if (next.step != p.step) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 1500)(rng)));
        next = progress();
      }
      p = next;
    }
    const std::string step = progress().step;
    ::kill(k, SIGKILL);
    int rc = WaitProcess(k);
    if (rc == -SIGKILL) {
      ++kills;
      killed_in.push_back(step);
      ++kills_in[step];
    }
  }
  // Run to the end without interruption (unless a process finished it).
  if (!progress().ended()) {
    auto final_run = c.RunKinemaOnce();
    ASSERT_EQ(final_run.exit_code, 0) << Tail(final_run.err, 3000) << "\n"
                                      << c.Kinemactl({"list"}).dump() << "\n"
                                      << c.Kubectl({"get", "pods", "-A", "-o", "wide"}).out << "\n"
                                      << c.Kubectl({"get", "nodes"}).out << "\n"
                                      << c.Kubectl({"get", "deployment", "-n", "shop", "-o", "yaml"}).out;
  }
  std::string where;
  for (const auto& s : killed_in) where += s + " ";
  RecordProperty("killed_in", where);
  std::printf("kill campaign: %d kills (seed %llu) in steps: %s\n", kills, static_cast<unsigned long long>(seed),
              where.c_str());
  EXPECT_GE(kills, wanted) << "the iteration ended before enough kills: " << where;
  std::set<std::string> distinct(killed_in.begin(), killed_in.end());
  EXPECT_GE(distinct.size(), 4u) << "kills should land across the iteration, not in one step: " << where;

  json list = c.Kinemactl({"list"});
  ASSERT_EQ(list.size(), 1u) << "one iteration, resumed across restarts: " << list.dump();
  EXPECT_EQ(list[0]["status"], "completed");
  json show = c.Kinemactl({"show", list[0]["id"]});
  ASSERT_EQ(show["steps"].size(), 8u);
  for (const auto& s : show["steps"]) EXPECT_EQ(s["status"], "succeeded") << s.dump().substr(0, 1500);
  const json& plan = show["steps"][2]["result"]["plan"];
  json report = c.Report();
  EXPECT_NEAR(report["costPerHour"].get<double>(), plan["costPerHourAfter"].get<double>(), 1e-3) << report.dump();
  EXPECT_EQ(report["cloud"]["duplicateCreateRequests"], 0) << report.dump();
  EXPECT_EQ(report["cloud"]["orphanInstances"], 0) << report.dump();
  EXPECT_EQ(report["availability"]["deploymentsBelowMinAvailable"], 0) << report.dump();
  EXPECT_EQ(report["availability"]["secondsBelowMinAvailable"].get<double>(), 0.0) << report.dump();
  EXPECT_EQ(report["pdbViolations"], 0) << report.dump();
  EXPECT_EQ(report["pendingPods"], 0) << report.dump();
  EXPECT_EQ(report["cloud"]["instancesCreated"], CountPlanActions(plan).boot) << "each planned node booted exactly once";
  EXPECT_EQ(RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "verify"}).exit_code, 0);
}

}  // namespace
}  // namespace kinema::e2e
