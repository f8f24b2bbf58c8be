// The kill -9 campaign on a spot-rescheduling cycle (issue 16): SIGKILL
// `kinema --once --kind spot-rescheduling` at random instants across the
// cycle (KINEMA_SPOT_KILLS, default 8), restart it each time, and require
// the end state of an uninterrupted run: one workflow, completed with every
// step; the on-demand nodes whose pods fit on spot are gone; no node left
// with a retire mark; no pod evicted twice (the simulator's audit log); no
// availability or PDB violation; no orphan instance; `kinemactl verify` ok.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "tests/e2e/e2e_cluster.h"

namespace kinema::e2e {
namespace {

using nlohmann::json;
using testing::RunProcess;
using testing::WaitProcess;

int KillsWanted() { return KillsFromEnv("KINEMA_SPOT_KILLS", 8); }

TEST(SpotKillCampaign, SigkillsDuringASpotCycleEndAsAnUninterruptedRun) {
  E2eOptions o;
  o.nodes = 8;
  o.scale = 1;
  o.scenario_args = {"--spot-nodes", "3", "--spot-tolerant", "0.5", "--spot-refugee-nodes", "2"};
  o.lease = "leaseDuration: 2s\n  renewDeadline: 1500ms\n  retryPeriod: 250ms";
  o.time_scale = 3;
  o.scenario_json = R"({"cloud": {"deleteDelay": "10s"}})";
  o.extra_config = "spot:\n  maxNodesPerCycle: 2\n  afterDrain: delete\n  drainTimeout: 10m\n  rolloutTimeout: 10m\n";
  E2eCluster c(o);
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  const uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));

  auto progress = [&]() -> std::pair<std::string, std::string> {
    json l = c.Kinemactl({"list"});
    if (!l.is_array() || l.empty()) return {"", "before start"};
    const json& step = l[0].contains("currentStep") ? l[0]["currentStep"] : json();
    return {l[0].value("status", ""), step.is_string() ? step.get<std::string>() : "-"};
  };
  auto ended = [&] {
    auto p = progress();
    return !p.first.empty() && p.first != "running";
  };
  auto leaderships = [&] {
    std::string log = testing::ReadFile(c.File("kinema.err"));
    size_t n = 0;
    for (size_t at = log.find("leading with epoch"); at != std::string::npos; at = log.find("leading with epoch", at + 1)) ++n;
    return n;
  };
  const int wanted = KillsWanted();
  int kills = 0;
  std::string where;
  for (int round = 0; kills < wanted && round < wanted * 3 && !ended(); ++round) {
    const size_t led_before = leaderships();
    pid_t k = c.StartKinema({"--once", "--kind", "spot-rescheduling"}, "kinema");
    for (int i = 0; i < 200 && leaderships() == led_before; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 2500)(rng)));
    const std::string step = progress().second;
    ::kill(k, SIGKILL);
    if (WaitProcess(k) == -SIGKILL) {
      ++kills;
      where += step + " ";
    }
  }
  if (!ended()) {
    auto final_run = c.RunKinemaOnce({"--kind", "spot-rescheduling"});
    ASSERT_EQ(final_run.exit_code, 0) << Tail(final_run.err, 3000) << "\n" << c.Kinemactl({"list"}).dump();
  }
  RecordProperty("killed_in", where);
  std::printf("spot kill campaign: %d kills (seed %llu) in steps: %s\n", kills, static_cast<unsigned long long>(seed),
              where.c_str());
  EXPECT_GE(kills, wanted / 2) << "the cycle ended before enough kills: " << where;

  json list = c.Kinemactl({"list"});
  ASSERT_EQ(list.size(), 1u) << "one workflow, resumed across restarts: " << list.dump();
  EXPECT_EQ(list[0]["status"], "completed") << list.dump();
  json show = c.Kinemactl({"show", list[0]["id"]});
  for (const auto& s : show["steps"]) EXPECT_EQ(s["status"], "succeeded") << s.dump().substr(0, 1500);

  json nodes = c.KubectlJson({"get", "nodes"});
  std::set<std::string> names;
  for (const auto& n : nodes.value("items", json::array())) {
    std::string name = n["metadata"]["name"];
    names.insert(name);
    const json& labels = n["metadata"].value("labels", json::object());
    EXPECT_FALSE(labels.contains("kinema.io/retire")) << name << " left marked";
    for (const auto& t : n.value("spec", json::object()).value("taints", json::array())) {
      EXPECT_NE(t.value("key", ""), "kinema.io/retire") << name << " left tainted by a dead intent";
    }
  }
  EXPECT_EQ(names.count("gke-shop-pool-00"), 0u);
  EXPECT_EQ(names.count("gke-shop-pool-01"), 0u);
  EXPECT_EQ(names.size(), 6u);

  // No pod evicted twice: accepted evictions per pod in the audit log.
  std::map<std::string, int> evictions;
  std::ifstream in(c.File("audit.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || j.value("resource", "").find("eviction") == std::string::npos) continue;
    int code = j.value("code", 0);
    if (code == 200 || code == 201) ++evictions[j.value("namespace", "") + "/" + j.value("name", "")];
  }
  for (const auto& [pod, n] : evictions) EXPECT_EQ(n, 1) << pod << " evicted " << n << " times";

  json report = c.Report();
  EXPECT_EQ(report["pdbViolations"], 0) << report.dump();
  EXPECT_EQ(report["availability"]["secondsBelowMinAvailable"].get<double>(), 0.0) << report.dump();
  EXPECT_EQ(report["cloud"]["orphanInstances"], 0) << report.dump();
  EXPECT_EQ(report["cloud"]["instancesDeleted"], 2) << report.dump();
  EXPECT_EQ(report["pendingPods"], 0) << report.dump();
  EXPECT_EQ(RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "verify"}).exit_code, 0);
}

}  // namespace
}  // namespace kinema::e2e
