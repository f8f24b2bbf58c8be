// The kill -9 campaign on a spot-rescheduling cycle (issue 16): SIGKILL
// `kinema --once --kind spot-rescheduling` at random instants across the
// cycle (KINEMA_SPOT_KILLS, default 8), restart it each time, and require
// the end state of an uninterrupted run: one workflow, completed with every
// step; the on-demand nodes whose pods fit on spot are gone; no node left
// with a retire mark; no pod evicted twice (the simulator's audit log); no
// availability or PDB violation; no orphan instance; `kinemactl verify` ok.
// A second campaign kills a spot.bootSpot cycle (after every spot node was
// preempted): one spot instance is booted whatever the kills, one on-demand
// node drained into it and deleted, nothing orphaned.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
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

int KillsWanted() { return KillsFromEnv("KINEMA_SPOT_KILLS", 8); }

// SIGKILLs `kinema --once --kind spot-rescheduling` at random instants
// (50 ms to 2.5 s after it leads) until `wanted` kills landed or the
// workflow ended, then runs it to the end. Returns the steps it was killed
// in; expects enough kills and a clean final run.
std::string KillUntilTheCycleEnds(E2eCluster& c, std::mt19937_64& rng, int wanted, const char* name) {
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
    EXPECT_EQ(final_run.exit_code, 0) << Tail(final_run.err, 3000) << "\n" << c.Kinemactl({"list"}).dump();
  }
  std::printf("%s: %d kills in steps: %s\n", name, kills, where.c_str());
  EXPECT_GE(kills, wanted / 2) << "the cycle ended before enough kills: " << where;
  return where;
}

// The end state every campaign requires: one workflow, completed with every
// step; no node left with a retire mark; no pod evicted twice (the
// simulator's audit log); `kinemactl verify` ok. Returns the Node names.
std::set<std::string> ExpectAnUninterruptedRunsEnd(const E2eCluster& c) {
  json list = c.Kinemactl({"list"});
  EXPECT_EQ(list.size(), 1u) << "one workflow, resumed across restarts: " << list.dump();
  if (list.is_array() && !list.empty()) {
    EXPECT_EQ(list[0]["status"], "completed") << list.dump();
    json show = c.Kinemactl({"show", list[0]["id"]});
    for (const auto& s : show["steps"]) EXPECT_EQ(s["status"], "succeeded") << s.dump().substr(0, 1500);
  }
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
  EXPECT_EQ(RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "verify"}).exit_code, 0);
  return names;
}

// The mixed cluster both campaigns kill in: 8 nodes, 3 of them spot, half the
// pods spot-tolerant, 2 on-demand nodes holding spot-tolerant refugees; short
// leases and simulated time 3x so the kills land inside steps.
E2eOptions MixedSpotCampaignOptions() {
  E2eOptions o;
  o.nodes = 8;
  o.scale = 1;
  o.scenario_args = {"--spot-nodes", "3", "--spot-tolerant", "0.5", "--spot-refugee-nodes", "2"};
  o.lease = kKillCampaignLease;
  o.time_scale = 3;
  return o;
}

TEST(SpotKillCampaign, SigkillsDuringASpotCycleEndAsAnUninterruptedRun) {
  E2eOptions o = MixedSpotCampaignOptions();
  o.scenario_json = R"({"cloud": {"deleteDelay": "10s"}})";
  o.extra_config = "spot:\n  maxNodesPerCycle: 2\n  afterDrain: delete\n  drainTimeout: 10m\n  rolloutTimeout: 10m\n";
  E2eCluster c(o);
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  const uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  RecordProperty("killed_in", KillUntilTheCycleEnds(c, rng, KillsWanted(), "spot kill campaign"));

  std::set<std::string> names = ExpectAnUninterruptedRunsEnd(c);
  EXPECT_EQ(names.count("gke-shop-pool-00"), 0u);
  EXPECT_EQ(names.count("gke-shop-pool-01"), 0u);
  EXPECT_EQ(names.size(), 6u);
  json report = c.Report();
  EXPECT_EQ(report["pdbViolations"], 0) << report.dump();
  EXPECT_EQ(report["availability"]["secondsBelowMinAvailable"].get<double>(), 0.0) << report.dump();
  EXPECT_EQ(report["cloud"]["orphanInstances"], 0) << report.dump();
  EXPECT_EQ(report["cloud"]["instancesDeleted"], 2) << report.dump();
  EXPECT_EQ(report["pendingPods"], 0) << report.dump();
}

TEST(SpotKillCampaign, SigkillsDuringABootSpotCycleBootOneSpotNodeAndDrainIntoIt) {
  // Every spot node is preempted at the start; spot.bootSpot then boots one
  // spot node and drains an on-demand node into it, under SIGKILLs (the
  // boot's journaled intent and idempotency keys: one instance, whatever
  // the kills).
  E2eOptions o = MixedSpotCampaignOptions();
  json scenario = {{"cloud", {{"deleteDelay", "10s"}, {"nodeNotReadyDelay", "6s"}, {"nodeRemoveDelay", "3s"}}},
                   {"events", json::array()}};
  for (const char* n : {"gke-shop-pool-05", "gke-shop-pool-06", "gke-shop-pool-07"}) {
    scenario["events"].push_back({{"kind", "spotPreemption"}, {"at", "1s"}, {"node", n}});
  }
  o.scenario_json = scenario.dump();
  o.extra_config = "spot:\n  bootSpot: true\n  bootTimeout: 10m\n  afterDrain: delete\n  drainTimeout: 10m\n"
                   "  rolloutTimeout: 10m\n";
  E2eCluster c(o);
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  json before;
  for (int i = 0; i < 600; ++i) {  // the preemptions play out (at most 2 minutes)
    json r = c.Report();
    json nodes = c.KubectlJson({"get", "nodes"});
    if (r.is_object() && r["nodes"] == 5 && r["pendingPods"] == 0 &&
        r["availability"]["deploymentsBelowMinAvailable"] == 0 && nodes.value("items", json::array()).size() == 5) {
      before = r;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(before.is_object()) << "the preemptions did not settle: " << c.Logs();
  const uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  RecordProperty("killed_in", KillUntilTheCycleEnds(c, rng, KillsWanted(), "spot bootSpot kill campaign"));

  std::set<std::string> names = ExpectAnUninterruptedRunsEnd(c);
  EXPECT_EQ(names.size(), 5u) << "one spot node booted, one on-demand node deleted";
  json report = c.Report();
  EXPECT_EQ(report["cloud"]["instancesCreated"], 1) << "one boot whatever the kills: " << report.dump();
  EXPECT_EQ(report["cloud"]["duplicateCreateRequests"], 0) << report.dump();
  EXPECT_EQ(report["cloud"]["orphanInstances"], 0) << report.dump();
  EXPECT_EQ(report["cloud"]["instancesDeleted"].get<int>(), before["cloud"]["instancesDeleted"].get<int>() + 1)
      << report.dump();
  EXPECT_EQ(report["pdbViolations"], before["pdbViolations"]) << report.dump();
  EXPECT_EQ(report["availability"]["secondsBelowMinAvailable"].get<double>(),
            before["availability"]["secondsBelowMinAvailable"].get<double>())
      << report.dump();
  EXPECT_EQ(report["pendingPods"], 0) << report.dump();
  EXPECT_LT(report["costPerHour"].get<double>(), before["costPerHour"].get<double>()) << report.dump();
}

}  // namespace
}  // namespace kinema::e2e
