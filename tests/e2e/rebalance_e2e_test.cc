// End to end, load-aware rebalancing (issue 18): the seed's closed loop with
// Kinema in place of the descheduler. kinema-sim serves node-exporter-shaped
// series consistent with the pods' simulated usage; a real Prometheus
// scrapes them and evaluates the shipped rules
// (deploy/prometheus/kinema-rules.yaml); the real kinema binary runs
// `load-rebalancing` cycles that read the default score, evict from hot
// nodes, and the moved load changes the next scores.
//   - an imbalanced cluster (hot nodes whose requests look normal)
//     converges: the spread of the node scores halves within a few cycles,
//     no cycle evicts more than the limits, no PDB is violated;
//   - a VM cluster after the seed's setup: VMs migrate live (zero downtime),
//     each migration is in the journal;
//   - a kill while a migration is in progress resumes to the same end as an
//     uninterrupted run: no VM migrated twice.
// Each check reads the controller's journal (kinemactl) AND the simulator's
// own report.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "engine/prometheus/client.h"
#include "tests/e2e/e2e_cluster.h"

namespace kinema::e2e {
namespace {

using nlohmann::json;
using testing::WaitProcess;
using Clock = std::chrono::steady_clock;

constexpr const char* kScore = "descheduler:node:linear_amplified_ideal_point_positive_distance:k3:avg1m";

std::map<std::string, double> Scores(const E2eCluster& c) {
  prometheus::ClientOptions o;
  o.url = c.prometheus_url();
  o.timeout = std::chrono::milliseconds(5000);
  prometheus::Client prom(o);
  std::map<std::string, double> out;
  auto r = prom.Query(kScore);
  if (!r.ok()) return out;
  for (const auto& s : r->series) {
    if (!s.samples.empty()) out[s.Label("instance")] = s.samples.back().v;
  }
  return out;
}

double Spread(const std::map<std::string, double>& s) {
  if (s.empty()) return -1;
  double lo = 2, hi = -1;
  for (const auto& [n, v] : s) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  return hi - lo;
}

std::string Show(const std::map<std::string, double>& s) {
  std::string out;
  for (const auto& [n, v] : s) out += n + "=" + std::to_string(v) + " ";
  return out;
}

// Scores for `nodes` nodes, then the rules' 1 m windows filled (rate() over
// a younger series under-reads, as on a young node in a real cluster).
std::map<std::string, double> WarmScores(const E2eCluster& c, size_t nodes) {
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Scores(c).size() < nodes && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::seconds(1));
  std::this_thread::sleep_for(std::chrono::seconds(62));
  return Scores(c);
}

std::string Config(const std::string& extra) {
  return "rebalance:\n  cooldown: 1m\n" + extra;
}

// The load-rebalancing workflows of the journal with their explanations.
std::vector<json> Cycles(const E2eCluster& c) {
  std::vector<json> out;
  json list = c.Kinemactl({"list", "--type", "load-rebalancing"});
  for (const auto& w : list.is_array() ? list : json::array()) {
    json e = c.Kinemactl({"explain", w.value("id", "")});
    if (e.is_object()) out.push_back(e);
  }
  return out;
}

// Per cycle: evictions (evicted or migrated) within 5 in total and 2 per node.
int CheckLimits(const std::vector<json>& cycles) {
  int total = 0;
  for (const auto& e : cycles) {
    int n = 0;
    std::map<std::string, int> per_node;
    for (const auto& x : e.value("evictions", json::array())) {
      const std::string o = x.value("outcome", "");
      if (o != "evicted" && o != "migrated" && o != "timed-out") continue;
      ++n;
      ++per_node[x.value("from", "")];
    }
    EXPECT_LE(n, 5) << e.dump(2);
    for (const auto& [node, k] : per_node) EXPECT_LE(k, 2) << node << " in " << e.value("id", "");
    total += n;
  }
  return total;
}

TEST(RebalanceE2eTest, ImbalancedClusterConvergesWithinTheLimits) {
  E2eOptions o;
  o.nodes = 6;
  o.scale = 2;
  o.scenario_args = {"--hot-nodes", "2"};
  o.prometheus_rules = true;
  o.extra_config = Config("");
  E2eCluster c(o);
  std::string err = c.Start();
  ASSERT_EQ(err, "") << c.Logs();
  ASSERT_TRUE(c.has_prometheus()) << "/usr/bin/prometheus missing: run tools/install-deps.sh";

  auto before = WarmScores(c, 6);
  ASSERT_EQ(before.size(), 6u) << Show(before) << c.Logs();
  const double spread0 = Spread(before);
  ASSERT_GT(spread0, 0.2) << "the hot nodes stand out: " << Show(before);

  double spread = spread0;
  int cycles = 0;
  for (; cycles < 4 && spread > spread0 / 2; ++cycles) {
    auto r = c.RunKinemaOnce({"--kind", "load-rebalancing"});
    ASSERT_EQ(r.exit_code, 0) << r.err << c.Logs();
    // The moved load reaches the 1 m windows within about a minute.
    auto until = Clock::now() + std::chrono::seconds(70);
    while (Clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::seconds(5));
      spread = Spread(Scores(c));
      if (spread <= spread0 / 2) break;
    }
  }
  auto after = Scores(c);
  EXPECT_LE(Spread(after), spread0 / 2) << "before: " << Show(before) << "\nafter " << cycles
                                        << " cycle(s): " << Show(after);
  auto explained = Cycles(c);
  ASSERT_FALSE(explained.empty());
  EXPECT_GT(CheckLimits(explained), 0) << "pods were evicted";
  json report = c.Report();
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["pdbViolations"], 0) << report.dump();
  EXPECT_EQ(report["availability"]["deploymentsBelowMinAvailable"], 0) << report.dump();
  std::printf("rebalance e2e: spread %.3f -> %.3f after %d cycle(s); %s\n", spread0, Spread(after), cycles,
              explained.back().value("summary", "").c_str());
}

// Launcher pods of VMs by VM name -> node, from the VirtualMachine objects.
std::map<std::string, std::string> VmNodes(const E2eCluster& c) {
  std::map<std::string, std::string> out;
  json vms = c.KubectlJson({"get", "vm", "-A"});
  for (const auto& v : vms.value("items", json::array())) {
    out[v["metadata"].value("namespace", "") + "/" + v["metadata"].value("name", "")] =
        v.value("status", json::object()).value("nodeName", "");
  }
  return out;
}

// VMs whose background eviction the journal says finished.
std::vector<std::string> MigratedInJournal(const std::vector<json>& cycles) {
  std::vector<std::string> out;
  for (const auto& e : cycles) {
    for (const auto& x : e.value("evictions", json::array())) {
      if (x.value("outcome", "") == "migrated") out.push_back(x.value("pod", "").substr(0, x.value("pod", "").find('/')) + "/" + x.value("vm", ""));
    }
  }
  return out;
}

E2eOptions VmOptions() {
  E2eOptions o;
  o.nodes = 6;
  o.scale = 1;
  o.time_scale = 2;  // a live migration lasts seconds of wall time
  o.scenario_args = {"--vms", "12"};
  o.prometheus_rules = true;
  o.extra_config = Config("  nodeSelector: kubevirt.io/schedulable=true\n");
  return o;
}

TEST(RebalanceE2eTest, VmsMigrateLiveWithZeroDowntime) {
  E2eCluster c(VmOptions());
  ASSERT_EQ(c.Start(), "") << c.Logs();
  ASSERT_TRUE(c.has_prometheus());
  auto before = WarmScores(c, 6);
  ASSERT_GT(Spread(before), 0.1) << Show(before);
  auto nodes0 = VmNodes(c);
  ASSERT_EQ(nodes0.size(), 12u);

  json report;
  for (int i = 0; i < 3; ++i) {
    auto r = c.RunKinemaOnce({"--kind", "load-rebalancing"});
    ASSERT_EQ(r.exit_code, 0) << r.err << c.Logs();
    report = c.Report();
    if (report["vms"].value("migrations", 0) > 0) break;
    std::this_thread::sleep_for(std::chrono::seconds(30));
  }
  ASSERT_GT(report["vms"].value("migrations", 0), 0) << report.dump() << c.Logs();
  EXPECT_EQ(report["vms"]["downtimeSeconds"].get<double>(), 0.0) << report.dump();
  EXPECT_GE(report["evictions"].value("inBackground", 0), report["vms"].value("migrations", 0)) << report.dump();
  EXPECT_EQ(report["pdbViolations"], 0) << report.dump();
  auto explained = Cycles(c);
  CheckLimits(explained);
  auto migrated = MigratedInJournal(explained);
  EXPECT_EQ(static_cast<int>(migrated.size()), report["vms"].value("migrations", 0))
      << "every live migration is in the journal, as migrated";
  std::printf("rebalance e2e (VMs): %d live migration(s), downtime %.1f s, %d background eviction(s)\n",
              report["vms"].value("migrations", 0), report["vms"]["downtimeSeconds"].get<double>(),
              report["evictions"].value("inBackground", 0));
  auto nodes1 = VmNodes(c);
  for (const auto& vm : migrated) {
    EXPECT_NE(nodes1[vm], nodes0[vm]) << vm << " runs elsewhere";
    EXPECT_FALSE(nodes1[vm].empty()) << vm;
  }
}

TEST(RebalanceE2eTest, KillDuringBackgroundEvictionResumesWithoutMigratingTwice) {
  E2eCluster c(VmOptions());
  ASSERT_EQ(c.Start(), "") << c.Logs();
  ASSERT_TRUE(c.has_prometheus());
  WarmScores(c, 6);
  pid_t k = c.StartKinema({"--kind", "load-rebalancing"}, "kinema-killed");
  // Kill as soon as the simulator has answered an eviction with an evacuation.
  auto deadline = Clock::now() + std::chrono::seconds(90);
  bool in_background = false;
  while (Clock::now() < deadline && !in_background) {
    in_background = c.Report()["evictions"].value("inBackground", 0) > 0;
    if (!in_background) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(k, SIGKILL);
  WaitProcess(k);
  ASSERT_TRUE(in_background) << c.Logs();
  json mid = c.Report();
  json listed = c.Kinemactl({"list", "--type", "load-rebalancing"});
  ASSERT_TRUE(listed.is_array() && !listed.empty()) << listed.dump();
  EXPECT_EQ(listed[0].value("status", ""), "running") << "killed while its evict step tracked a migration: " << listed.dump();

  auto r = c.RunKinemaOnce({"--kind", "load-rebalancing"});
  ASSERT_EQ(r.exit_code, 0) << r.err << c.Logs();
  json report = c.Report();
  auto explained = Cycles(c);
  ASSERT_FALSE(explained.empty());
  // The killed cycle was resumed (not abandoned) and finished its migrations.
  EXPECT_EQ(explained.front().value("outcome", ""), "completed") << explained.front().dump(2);
  bool tracked = false;
  for (const auto& x : explained.front().value("evictions", json::array())) tracked |= x.value("outcome", "") == "migrated";
  EXPECT_TRUE(tracked) << "the killed cycle's migration was tracked to completion: " << explained.front().dump(2);
  auto migrated = MigratedInJournal(explained);
  std::set<std::string> distinct(migrated.begin(), migrated.end());
  EXPECT_EQ(distinct.size(), migrated.size()) << "no VM migrated twice";
  EXPECT_EQ(report["vms"].value("migrations", 0), static_cast<int>(migrated.size())) << report.dump();
  EXPECT_EQ(report["vms"].value("migrationsFailed", 0), 0) << report.dump();
  EXPECT_EQ(report["vms"]["downtimeSeconds"].get<double>(), 0.0) << report.dump();
  EXPECT_LE(mid["evictions"].value("inBackground", 0), report["evictions"].value("inBackground", 0));
  EXPECT_EQ(report["pdbViolations"], 0) << report.dump();
}

}  // namespace
}  // namespace kinema::e2e
