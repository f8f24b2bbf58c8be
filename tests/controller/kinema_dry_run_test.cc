// The kinema controller as a real process against a real kinema-sim API
// server: one dry-run iteration on an over-provisioned scenario, through
// leader election, the journal and kinemactl.
#include <gtest/gtest.h>
#include <signal.h>

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/test_support.h"

namespace kinema {
namespace {

using kinema::testing::BinPath;
using kinema::testing::RunProcess;
using kinema::testing::StartProcess;
using kinema::testing::TempDir;
using kinema::testing::WaitForFile;
using kinema::testing::WaitProcess;

std::string Source(const std::string& rel) {
  const char* d = std::getenv("KINEMA_SOURCE_DIR");
  return std::string(d ? d : ".") + "/" + rel;
}

class KinemaDryRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto gen = RunProcess({"/usr/bin/env", "python3", Source("tools/scenarios/make_scenario.py"), "--out", dir_.path()});
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    sim_ = StartProcess({BinPath("kinema-sim"), "--snapshot", dir_.File("snapshot.json"), "--catalog",
                         dir_.File("catalog.json"), "--listen", "127.0.0.1:0", "--write-kubeconfig",
                         dir_.File("kubeconfig")},
                        dir_.File("sim"));
    ASSERT_TRUE(WaitForFile(dir_.File("kubeconfig"), 20000)) << kinema::testing::ReadFile(dir_.File("sim.err"));
  }
  void TearDown() override {
    if (sim_ > 0) {
      ::kill(sim_, SIGTERM);
      WaitProcess(sim_);
    }
  }
  std::string WriteConfig(const std::string& extra) {
    std::ofstream f(dir_.File("kinema.yaml"));
    f << "kubeconfig: " << dir_.File("kubeconfig") << "\n"
      << "journal: " << dir_.File("kinema.db") << "\n"
      << "catalog: " << dir_.File("catalog.json") << "\n"
      << "stability:\n  quietWindow: 1s\n  pollInterval: 200ms\n"
      << "optimizer:\n  timeLimit: 3s\n"
      << "leaderElection:\n  namespace: kube-system\n"
      << "server:\n  address: 127.0.0.1:0\n"
      << extra;
    return dir_.File("kinema.yaml");
  }
  TempDir dir_;
  pid_t sim_ = -1;
};

TEST_F(KinemaDryRunTest, OneIterationPlansJournalsTheDecisionAndMutatesNothing) {
  std::string cfg = WriteConfig("decision:\n  maxNodesRetired: 25\n  maxPodsMoved: 1000\n");
  auto r = RunProcess({BinPath("kinema"), "--config", cfg, "--once", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto list = RunProcess({BinPath("kinemactl"), "--db", dir_.File("kinema.db"), "--json", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto j = nlohmann::json::parse(list.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["type"], "kinema-rescheduling");
  EXPECT_EQ(j[0]["status"], "completed");
  EXPECT_EQ(j[0]["outcome"], "dry_run");
  auto show = nlohmann::json::parse(
      RunProcess({BinPath("kinemactl"), "--db", dir_.File("kinema.db"), "--json", "show", j[0]["id"]}).out);
  ASSERT_EQ(show["steps"].size(), 8u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(show["steps"][i]["status"], "succeeded") << show["steps"][i].dump();
  for (int i = 4; i < 8; ++i) EXPECT_EQ(show["steps"][i]["status"], "skipped") << show["steps"][i].dump();
  const auto& decision = show["steps"][3];
  EXPECT_EQ(decision["name"], "decision");
  // The numbers behind the decision are in the journal.
  const auto& d = decision["result"];
  EXPECT_EQ(d["verdict"], "proceed");
  EXPECT_GT(d["targetSavings"].get<double>(), 0.10) << "minSavings judges the whole way";
  EXPECT_GT(d["savings"].get<double>(), 0.0);
  EXPECT_GT(d["nodesRetired"].get<int>(), 0);
  EXPECT_LE(d["nodesRetired"].get<int>(), 2) << "the default shared budget: 10% of 20 nodes";
  EXPECT_DOUBLE_EQ(d["change"].get<double>(), 0.0);
  const auto& plan = show["steps"][2]["result"]["plan"];
  EXPECT_LE(plan["lowerBound"].get<double>(), plan["costPerHourAfter"].get<double>() + 1e-9);
  // The epoch came from the Lease, and nothing in the cluster was touched.
  EXPECT_GE(show["steps"][0]["epoch"].get<int64_t>(), 1);
  std::string kc = kinema::testing::ReadFile(dir_.File("kubeconfig"));
  size_t at = kc.find("http");
  ASSERT_NE(at, std::string::npos);
  std::string server = kc.substr(at, kc.find_first_of("\"' \n", at) - at);
  auto rep = RunProcess({"/usr/bin/curl", "-s", server + "/sim/v1/report"});
  auto rj = nlohmann::json::parse(rep.out, nullptr, false);
  ASSERT_FALSE(rj.is_discarded()) << rep.out;
  EXPECT_EQ(rj["nodes"], 20);
  EXPECT_EQ(rj["cloud"]["instancesCreated"], 0);
  EXPECT_EQ(rj["evictions"]["accepted"], 0);
  EXPECT_EQ(RunProcess({BinPath("kinemactl"), "--db", dir_.File("kinema.db"), "verify"}).exit_code, 0);
}

// The live controller's /metrics page is valid Prometheus exposition that
// promtool accepts (lint included), after an iteration has filled counters,
// gauges and histograms.
TEST_F(KinemaDryRunTest, MetricsPageOfALiveControllerPassesPromtoolCheckMetrics) {
  if (::access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool not installed (tools/install-deps.sh)";
  std::string cfg = WriteConfig("dryRun: true\nloop:\n  cooldown: 1h\n");
  pid_t kinema = StartProcess({BinPath("kinema"), "--config", cfg}, dir_.File("kinema"));
  ASSERT_GT(kinema, 0);
  std::string port;
  bool completed = false;
  for (int i = 0; i < 600 && !completed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::string log = kinema::testing::ReadFile(dir_.File("kinema.err"));
    if (port.empty()) {
      size_t at = log.find("(port ");
      if (at != std::string::npos) port = log.substr(at + 6, log.find(')', at) - at - 6);
    }
    auto list = nlohmann::json::parse(
        RunProcess({BinPath("kinemactl"), "--db", dir_.File("kinema.db"), "--json", "list"}).out, nullptr, false);
    completed = list.is_array() && !list.empty() && list[0].value("status", "") == "completed";
  }
  ASSERT_FALSE(port.empty()) << kinema::testing::ReadFile(dir_.File("kinema.err"));
  ASSERT_TRUE(completed) << kinema::testing::ReadFile(dir_.File("kinema.err"));
  const std::string url = "http://127.0.0.1:" + port + "/metrics";
  auto page = RunProcess({"/usr/bin/curl", "-sf", url});
  ASSERT_EQ(page.exit_code, 0) << page.err;
  EXPECT_NE(page.out.find("kinema_iterations_total{type=\"kinema-rescheduling\",outcome=\""), std::string::npos) << page.out;
  EXPECT_NE(page.out.find("kinema_journal_commit_seconds_total"), std::string::npos);
  EXPECT_EQ(page.out.find("kinema_journal_commit_seconds_sum"), std::string::npos)
      << "a counter may not end in _sum outside a histogram or summary";
  auto check = RunProcess({"/bin/sh", "-c", "/usr/bin/curl -sf '" + url + "' | /usr/bin/promtool check metrics"});
  EXPECT_EQ(check.exit_code, 0) << "promtool check metrics:\n" << check.out << check.err << "\npage:\n" << page.out;
  ::kill(kinema, SIGTERM);
  EXPECT_EQ(WaitProcess(kinema), 0);
}

// A closed log pipe (a log shipper that died) makes writes fail with EPIPE:
// kinema ignores SIGPIPE, so that is an error value, never a kill.
TEST_F(KinemaDryRunTest, AClosedLogPipeIsAnErrorNotAKill) {
  // The catalog is missing: kinema logs the error (into the closed pipe) and exits 1.
  const std::string cfg = dir_.File("broken.yaml");
  std::ofstream(cfg) << "journal: " << dir_.File("broken.db") << "\ncatalog: " << dir_.File("no-such-catalog.json")
                     << "\nlogging:\n  format: json\n";
  auto r = RunProcess({"/usr/bin/env", "python3", "-c",
                       "import os,subprocess,sys\n"
                       "r,w=os.pipe(); os.close(r)\n"
                       "p=subprocess.run(sys.argv[1:], stdout=w, stderr=w)\n"
                       "print(p.returncode)\n",
                       BinPath("kinema"), "--config", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::atoi(r.out.c_str()), 1) << "exit status " << r.out << " (-13: killed by SIGPIPE)";
}

TEST_F(KinemaDryRunTest, TheRetireBudgetBoundsTheStepInsteadOfVetoingIt) {
  std::string cfg = WriteConfig("decision:\n  maxNodesRetired: 1\nbudgets:\n  - nodes: \"50%\"\n");
  auto r = RunProcess({BinPath("kinema"), "--config", cfg, "--once", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(
      RunProcess({BinPath("kinemactl"), "--db", dir_.File("kinema.db"), "--json", "show",
                  nlohmann::json::parse(RunProcess({BinPath("kinemactl"), "--db", dir_.File("kinema.db"), "--json",
                                                    "list"}).out)[0]["id"]}).out);
  EXPECT_EQ(j["outcome"], "dry_run") << "a plan within the budget is never discarded for its size";
  EXPECT_EQ(j["steps"][3]["result"]["nodesRetired"], 1);
  const auto& budget = j["steps"][2]["result"]["budget"];
  EXPECT_EQ(budget["maxRetire"], 1);
  EXPECT_EQ(budget["binding"], "decision.maxNodesRetired 1");
  auto explain = nlohmann::json::parse(
      RunProcess({BinPath("kinemactl"), "--db", dir_.File("kinema.db"), "--json", "explain", j["id"]}).out);
  EXPECT_EQ(explain["budget"]["allowedNodes"], 1);
  EXPECT_GT(explain["budget"]["targetCostPerHour"].get<double>(), 0.0);
  EXPECT_EQ(explain["nodes"].size(), 20u) << "every snapshot node is explained";
}

TEST_F(KinemaDryRunTest, HighMinSavingsCompletesAsNoAction) {
  std::string cfg = WriteConfig("decision:\n  minSavings: 0.95\n");
  auto r = RunProcess({BinPath("kinema"), "--config", cfg, "--once", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(
      RunProcess({BinPath("kinemactl"), "--db", dir_.File("kinema.db"), "--json", "list"}).out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["outcome"], "no_action");
}

TEST_F(KinemaDryRunTest, BadConfigAndFlagsAreRejectedWithExitCode2) {
  EXPECT_EQ(RunProcess({BinPath("kinema"), "--help"}).exit_code, 0);
  EXPECT_EQ(RunProcess({BinPath("kinema"), "--bogus"}).exit_code, 2);
  std::string cfg = WriteConfig("decision:\n  minSaving: 0.2\n");
  auto r = RunProcess({BinPath("kinema"), "--config", cfg, "--once", "--dry-run"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("decision.minSaving: unknown key (did you mean minSavings?)"), std::string::npos) << r.err;
  std::string aws = WriteConfig("cloud:\n  provider: aws\n  project: p\n");
  auto bad_cloud = RunProcess({BinPath("kinema"), "--config", aws, "--once"});
  EXPECT_EQ(bad_cloud.exit_code, 2);
  EXPECT_NE(bad_cloud.err.find("cloud.provider: 'aws' is not one of gce"), std::string::npos) << bad_cloud.err;
  EXPECT_FALSE(WaitForFile(dir_.File("kinema.db"), 0));
}

}  // namespace
}  // namespace kinema
