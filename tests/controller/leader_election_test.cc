// Two kinema controllers against one kinema-sim: the Lease lets exactly one
// act. The sim's audit log (every API request with the client's User-Agent,
// which carries the controller identity) shows the standby never mutates
// anything; only the leader's journal holds workflows; when the leader is
// killed (SIGKILL, no lease release) the standby takes over after the lease
// expires, and its first mutation comes after the old leader's last one.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
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

struct Mutation {
  std::string time, verb, resource, name;
};

// Mutating requests per controller identity, in log order.
std::map<std::string, std::vector<Mutation>> MutationsByIdentity(const std::string& audit_path) {
  std::map<std::string, std::vector<Mutation>> out;
  std::ifstream in(audit_path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    std::string verb = j.value("verb", "");
    if (verb == "get" || verb == "list" || verb == "watch") continue;
    std::string ua = j.value("userAgent", "");
    size_t open = ua.find('('), close = ua.rfind(')');
    if (ua.rfind("kinema/", 0) != 0 || open == std::string::npos || close == std::string::npos) continue;
    out[ua.substr(open + 1, close - open - 1)].push_back(
        {j.value("time", ""), verb, j.value("resource", ""), j.value("name", "")});
  }
  return out;
}

int WorkflowCount(const std::string& db) {
  auto r = RunProcess({BinPath("kinemactl"), "--db", db, "--json", "list"});
  if (r.exit_code != 0) return 0;  // no journal yet
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_array() ? static_cast<int>(j.size()) : 0;
}

// The status port a controller logged ("serving /healthz ... (port N)").
int StatusPort(const std::string& log_path) {
  std::string log = kinema::testing::ReadFile(log_path);
  size_t at = log.find("/metrics on ");
  if (at == std::string::npos) return 0;
  at = log.find("(port ", at);
  return at == std::string::npos ? 0 : std::atoi(log.c_str() + at + 6);
}

std::string Scrape(int port, const std::string& path) {
  return RunProcess({"/usr/bin/curl", "-s", "http://127.0.0.1:" + std::to_string(port) + path}).out;
}

class LeaderElectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto gen = RunProcess({"/usr/bin/env", "python3", Source("tools/scenarios/make_scenario.py"), "--out", dir_.path()});
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    sim_ = StartProcess({BinPath("kinema-sim"), "--snapshot", dir_.File("snapshot.json"), "--catalog",
                         dir_.File("catalog.json"), "--listen", "127.0.0.1:0", "--write-kubeconfig",
                         dir_.File("kubeconfig"), "--audit-log", dir_.File("audit.jsonl")},
                        dir_.File("sim"));
    ASSERT_TRUE(WaitForFile(dir_.File("kubeconfig"), 20000)) << kinema::testing::ReadFile(dir_.File("sim.err"));
  }
  void TearDown() override {
    for (pid_t p : {a_, b_}) {
      if (p > 0) {
        ::kill(p, SIGKILL);
        WaitProcess(p);
      }
    }
    if (sim_ > 0) {
      ::kill(sim_, SIGTERM);
      WaitProcess(sim_);
    }
  }
  std::string WriteConfig(const std::string& who) {
    std::string path = dir_.File(who + ".yaml");
    std::ofstream f(path);
    f << "kubeconfig: " << dir_.File("kubeconfig") << "\n"
      << "journal: " << dir_.File(who + ".db") << "\n"
      << "catalog: " << dir_.File("catalog.json") << "\n"
      << "stability:\n  quietWindow: 1s\n  pollInterval: 200ms\n"
      << "optimizer:\n  timeLimit: 2s\n"
      << "loop:\n  cooldown: 1s\n"
      << "server:\n  address: 127.0.0.1:0\n"
      << "leaderElection:\n  namespace: kube-system\n  identity: " << who
      << "\n  leaseDuration: 3s\n  renewDeadline: 2s\n  retryPeriod: 500ms\n";
    return path;
  }
  TempDir dir_;
  pid_t sim_ = -1, a_ = -1, b_ = -1;
};

TEST_F(LeaderElectionTest, OnlyTheLeaseHolderEverMutatesOrJournalsAndTheStandbyTakesOverAfterAKill) {
  a_ = StartProcess({BinPath("kinema"), "--config", WriteConfig("ctrl-a"), "--dry-run"}, dir_.File("a"));
  // Let a take the lease first, then start b.
  for (int i = 0; i < 100 && WorkflowCount(dir_.File("ctrl-a.db")) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_GT(WorkflowCount(dir_.File("ctrl-a.db")), 0) << kinema::testing::ReadFile(dir_.File("a.err"));
  b_ = StartProcess({BinPath("kinema"), "--config", WriteConfig("ctrl-b"), "--dry-run"}, dir_.File("b"));
  std::this_thread::sleep_for(std::chrono::seconds(6));  // several iterations of a, two lease durations

  auto before = MutationsByIdentity(dir_.File("audit.jsonl"));
  ASSERT_FALSE(before["ctrl-a"].empty()) << "the leader renews its Lease";
  EXPECT_TRUE(before["ctrl-b"].empty()) << "the standby mutated " << before["ctrl-b"].front().verb << " "
                                        << before["ctrl-b"].front().resource;
  EXPECT_EQ(WorkflowCount(dir_.File("ctrl-b.db")), 0) << "the standby journaled a workflow";
  int a_workflows = WorkflowCount(dir_.File("ctrl-a.db"));
  EXPECT_GE(a_workflows, 2) << "the leader keeps iterating";

  // Probes and metrics tell leader from standby.
  int pa = StatusPort(dir_.File("a.err")), pb = StatusPort(dir_.File("b.err"));
  ASSERT_GT(pa, 0) << kinema::testing::ReadFile(dir_.File("a.err"));
  ASSERT_GT(pb, 0) << kinema::testing::ReadFile(dir_.File("b.err"));
  EXPECT_EQ(Scrape(pa, "/healthz"), "ok\n");
  EXPECT_EQ(Scrape(pa, "/readyz").rfind("ok: leading\nkinema-rescheduling: ", 0), 0u) << "leading, then each kind's state";
  EXPECT_EQ(Scrape(pb, "/readyz"), "ok: standby (not leading)\n");
  std::string ma = Scrape(pa, "/metrics"), mb = Scrape(pb, "/metrics");
  EXPECT_NE(ma.find("\nkinema_leader 1\n"), std::string::npos) << ma;
  EXPECT_NE(mb.find("\nkinema_leader 0\n"), std::string::npos) << mb;
  EXPECT_NE(ma.find("kinema_iterations_total{type=\"kinema-rescheduling\",outcome="), std::string::npos) << ma;
  EXPECT_NE(ma.find("kinema_lease_transitions_total 1\n"), std::string::npos) << ma;
  EXPECT_NE(ma.find("kinema_step_duration_seconds_count{type=\"kinema-rescheduling\",step=\"optimization\"}"),
            std::string::npos)
      << ma;
  EXPECT_EQ(mb.find("kinema_iterations_total{"), std::string::npos) << "the standby iterated: " << mb;

  // Kill the leader without releasing the lease: b takes over once it expires.
  ::kill(a_, SIGKILL);
  WaitProcess(a_);
  a_ = -1;
  for (int i = 0; i < 200 && WorkflowCount(dir_.File("ctrl-b.db")) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_GT(WorkflowCount(dir_.File("ctrl-b.db")), 0) << kinema::testing::ReadFile(dir_.File("b.err"));
  auto after = MutationsByIdentity(dir_.File("audit.jsonl"));
  ASSERT_FALSE(after["ctrl-b"].empty());
  // Audit times are RFC 3339 with microseconds: lexical order is time order.
  EXPECT_GT(after["ctrl-b"].front().time, after["ctrl-a"].back().time)
      << "the new leader wrote while the old one still did";
  for (const auto& m : after["ctrl-b"]) {
    EXPECT_TRUE(m.resource == "leases" || m.resource == "events") << m.verb << " " << m.resource << " " << m.name;
  }
  EXPECT_EQ(RunProcess({BinPath("kinemactl"), "--db", dir_.File("ctrl-b.db"), "verify"}).exit_code, 0);
}

}  // namespace
}  // namespace kinema
