// The kill -9 campaign on load-aware rebalancing: the real kinema runs
// `load-rebalancing` cycles (every 3 s) on the seed's VM cluster with real
// Prometheus scores, and is SIGKILLed at random instants
// (KINEMA_E2E_REBALANCE_KILLS, default 8; `tools/test.sh --long`: 40) —
// during reads, claims, evictions and the tracking of live migrations —
// and restarted each time. The end state is that of uninterrupted runs:
// every cycle completed, every live migration the simulator performed is
// in the journal exactly once (none started twice, none lost), no VM
// migrated twice (the cooldown outlasts the campaign), no migration failed,
// zero downtime, no cycle beyond its limits, no PDB violation, and
// `kinemactl verify` ok.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
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

int KillsWanted() { return KillsFromEnv("KINEMA_E2E_REBALANCE_KILLS", 8); }

TEST(RebalanceKillCampaignTest, SigkillDuringCyclesAndMigrationsNeverMigratesTwiceNorLosesOne) {
  E2eOptions o;
  o.nodes = 6;
  o.scale = 1;
  o.time_scale = 2;
  o.scenario_args = {"--vms", "12"};
  o.prometheus_rules = true;
  o.lease = kKillCampaignLease;
  o.extra_config =
      "rebalance:\n  interval: 3s\n  cooldown: 30m\n  nodeSelector: kubevirt.io/schedulable=true\n";
  E2eCluster c(o);
  ASSERT_EQ(c.Start(), "") << c.Logs();
  ASSERT_TRUE(c.has_prometheus()) << "/usr/bin/prometheus missing: run tools/install-deps.sh";
  // The rules' 1 m windows fill first (scores of a younger series under-read).
  std::this_thread::sleep_for(std::chrono::seconds(65));

  const uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::uniform_int_distribution<int> wait_ms(100, 4000);
  auto leaderships = [&] {
    std::string log = testing::ReadFile(c.File("kinema.err"));  // appended by every run
    size_t n = 0;
    for (size_t at = log.find("leading with epoch"); at != std::string::npos; at = log.find("leading with epoch", at + 1)) ++n;
    return n;
  };
  const int kills = KillsWanted();
  for (int i = 0; i < kills; ++i) {
    const size_t led_before = leaderships();
    pid_t k = c.StartKinema({"--kind", "load-rebalancing"}, "kinema");
    // Wait until it leads (the killed predecessor's lease expires first),
    // then kill it at a random instant of its work.
    for (int t = 0; t < 200 && leaderships() == led_before; ++t) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms(rng)));
    ::kill(k, SIGKILL);
    WaitProcess(k);
  }
  // One uninterrupted run finishes what the last kill interrupted.
  auto last = c.RunKinemaOnce({"--kind", "load-rebalancing"});
  ASSERT_EQ(last.exit_code, 0) << last.err << c.Logs();

  json list = c.Kinemactl({"list", "--type", "load-rebalancing"});
  ASSERT_TRUE(list.is_array() && !list.empty()) << list.dump();
  std::multiset<std::string> migrated;
  int evictions = 0;
  for (const auto& w : list) {
    EXPECT_EQ(w.value("status", ""), "completed") << w.dump();
    json e = c.Kinemactl({"explain", w.value("id", "")});
    ASSERT_TRUE(e.is_object());
    int n = 0;
    std::map<std::string, int> per_node;
    for (const auto& x : e.value("evictions", json::array())) {
      const std::string outcome = x.value("outcome", "");
      EXPECT_NE(outcome, "in-background") << "a finished cycle tracked every migration to its end: " << e.dump(2);
      EXPECT_NE(outcome, "timed-out") << e.dump(2);
      if (outcome == "migrated") migrated.insert(x.value("pod", "").substr(0, x.value("pod", "").find('/')) + "/" + x.value("vm", ""));
      if (outcome == "evicted" || outcome == "migrated") {
        ++n;
        ++per_node[x.value("from", "")];
      }
    }
    EXPECT_LE(n, 5) << e.dump(2);
    for (const auto& [node, k] : per_node) EXPECT_LE(k, 2) << node << " in " << w.value("id", "");
    evictions += n;
  }
  json report = c.Report();
  ASSERT_TRUE(report.is_object());
  EXPECT_GT(report["vms"].value("migrations", 0), 0) << "the campaign covered live migrations: " << report.dump();
  EXPECT_EQ(report["vms"].value("migrations", 0), static_cast<int>(migrated.size()))
      << "every live migration is in the journal once: " << report.dump();
  for (const auto& vm : migrated) EXPECT_EQ(migrated.count(vm), 1u) << vm << " migrated twice";
  EXPECT_EQ(report["vms"].value("migrationsFailed", 0), 0) << report.dump();
  EXPECT_EQ(report["vms"]["downtimeSeconds"].get<double>(), 0.0) << report.dump();
  EXPECT_EQ(report["pdbViolations"], 0) << report.dump();
  EXPECT_EQ(RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "verify"}).exit_code, 0);
  std::printf("rebalance kill campaign: %d kills, %zu cycles, %d evictions, %d live migrations, seed %llu\n", kills,
              list.size(), evictions, report["vms"].value("migrations", 0), static_cast<unsigned long long>(seed));
}

}  // namespace
}  // namespace kinema::e2e
