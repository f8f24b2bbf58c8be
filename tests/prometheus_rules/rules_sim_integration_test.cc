// Integration: the shipped rules (deploy/prometheus/kinema-rules.yaml) loaded
// into a real Prometheus that scrapes the real kinema-sim binary's
// node-exporter-shaped series (honor_labels: true), on an imbalanced cluster
// whose requests look even: node-a runs two web pods that use 1.7 cores each
// against a 250m request. The per-node ratios match the simulated usage, the
// hot node scores above the average under the default query and every
// algorithm that looks at load above the mean, every score is in [0, 1], and
// the scores are labelled by `instance` = node name only.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "engine/prometheus/client.h"
#include "tests/sim/sim_process.h"
#include "tests/support/prometheus_process.h"
#include "tests/support/test_support.h"

namespace kinema {
namespace {

using json = nlohmann::json;
using testing::PrometheusOptions;
using testing::PrometheusProcess;

// web: 1.7 cores and 5Gi per pod whatever its request; no OOM kills (the
// snapshot's web pods lose their limits below); everything else: defaults.
constexpr const char* kScenario = R"({
  "usage": {
    "noise": 0, "memoryNoise": 0, "oomKill": false,
    "deployments": {"shop/web": {"cpu": {"level": "1.7"}, "memory": {"level": "5Gi"}}}
  }
})";

// The committed small snapshot without its HPA (a scale-out would spread
// web's load) and without limits on web (no throttling at 1 core).
void WriteImbalancedSnapshot(const std::string& path) {
  std::ifstream in(simtest::SourceDir() + "/tests/sim/data/small-snapshot.json");
  json snap = json::parse(in);
  json kept = json::array();
  for (auto item : snap["items"]) {
    const std::string kind = item.value("kind", "");
    if (kind == "HorizontalPodAutoscaler") continue;
    auto strip = [](json& pod_spec) {
      for (auto& c : pod_spec["containers"]) c["resources"].erase("limits");
    };
    if (kind == "Pod" && item["metadata"]["name"].get<std::string>().rfind("web-", 0) == 0) strip(item["spec"]);
    if ((kind == "Deployment" || kind == "ReplicaSet") && item["metadata"]["name"].get<std::string>().rfind("web", 0) == 0) {
      strip(item["spec"]["template"]["spec"]);
    }
    kept.push_back(item);
  }
  snap["items"] = kept;
  std::ofstream(path) << snap.dump();
}

std::map<std::string, double> ByInstance(prometheus::Client& c, const std::string& q) {
  std::map<std::string, double> out;
  auto r = c.Query(q);
  EXPECT_TRUE(r.ok()) << q << ": " << r.status().ToString();
  if (!r.ok()) return out;
  for (const auto& s : r->series) {
    EXPECT_EQ(s.labels.size(), 2u) << q << ": scores carry __name__ and instance only";
    if (!s.samples.empty()) out[s.Label("instance")] = s.samples[0].v;
  }
  return out;
}

TEST(RulesSimIntegrationTest, HotNodeScoresAboveAverageWithRealPrometheusEvaluatingTheShippedRules) {
  if (!PrometheusProcess::Installed()) FAIL() << PrometheusProcess::kBinary << " missing: run tools/install-deps.sh";
  testing::TempDir dir;
  std::ofstream(dir.File("scenario.json")) << kScenario;
  WriteImbalancedSnapshot(dir.File("snapshot.json"));
  simtest::SimProcess sim(
      {"--scenario", dir.File("scenario.json"), "--time-scale", "10", "--snapshot", dir.File("snapshot.json")});
  ASSERT_TRUE(sim.ok()) << sim.Log();

  PrometheusOptions po;
  po.targets = {sim.Url().substr(sim.Url().find("//") + 2)};
  po.honor_labels = true;
  po.rule_files = {simtest::SourceDir() + "/deploy/prometheus/kinema-rules.yaml"};
  PrometheusProcess prom(dir.path(), po);
  ASSERT_TRUE(prom.WaitReady(std::chrono::seconds(30))) << prom.Log();
  prometheus::ClientOptions co;
  co.url = prom.url();
  co.timeout = std::chrono::milliseconds(5000);
  prometheus::Client client(co);

  const std::string kDefault = "descheduler:node:linear_amplified_ideal_point_positive_distance:k3:avg1m";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);
  while (ByInstance(client, kDefault).size() < 3) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no scores from the rules:\n" << prom.Log() << sim.Log();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  // rate(x[1m]) divides by the whole minute: until a series is a minute old
  // it under-reads (a young node in a real cluster does too). Let every
  // window fill before comparing values.
  std::this_thread::sleep_for(std::chrono::seconds(62));

  // The ratios Prometheus derives from the node-exporter series are the
  // simulated usage: node-a = 2 × 1.7 cores + the logger's 25m of 4 cores.
  auto cpu = ByInstance(client, "descheduler:node:cpu_usage:ratio");
  ASSERT_EQ(cpu.size(), 3u);
  EXPECT_NEAR(cpu["node-a"], (2 * 1.7 + 0.025) / 4, 0.03);
  EXPECT_LT(cpu["node-c"], 0.2);
  auto mem = ByInstance(client, "descheduler:node:memory_usage:ratio");
  EXPECT_NEAR(mem["node-a"], (10.0 * 1024 + 0.6 * 64) / (16 * 1024), 0.02);
  auto cpu_psi = ByInstance(client, "descheduler:node:cpu_pressure:psi");
  EXPECT_GT(cpu_psi["node-a"], 0.05) << "85 % busy: past the knee";
  EXPECT_LT(cpu_psi["node-c"], 0.01);

  // Scores: node-a is the hot node; every score is in [0, 1] and names nodes.
  const std::set<std::string> nodes = {"node-a", "node-b", "node-c"};
  for (const char* algo :
       {"weighted_average", "max_metric", "euclidean_distance", "pressure_focused", "weighted_rms_positive_deviation",
        "weighted_mean_square_positive_deviation", "linear_weighted_positive_deviation", "centroid_distance",
        "directional_centroid_distance", "variance_minimization", "directional_variance_minimization",
        "critical_dimension_focus", "ideal_point_positive_distance", "linear_amplified_ippd_k1",
        "linear_amplified_ippd_k3", "linear_amplified_ippd_k5", "cpu_focused", "memory_focused", "default"}) {
    const std::string name = std::string(algo) == "default" ? kDefault : "descheduler:node:" + std::string(algo) + ":score";
    auto s = ByInstance(client, name);
    ASSERT_EQ(s.size(), 3u) << name;
    double sum = 0;
    for (const auto& [instance, v] : s) {
      EXPECT_EQ(nodes.count(instance), 1u) << name << " instance " << instance;
      EXPECT_GE(v, 0) << name << " " << instance;
      EXPECT_LE(v, 1) << name << " " << instance;
      sum += v;
    }
    // Centroid distance and variance minimization are two-sided by
    // definition: the idle node-c is as far below the mean as node-a is above.
    if (std::string(algo) == "centroid_distance" || std::string(algo) == "variance_minimization") continue;
    EXPECT_GT(s["node-a"], sum / 3) << name << ": the hot node scores above the average";
    EXPECT_GE(s["node-a"], s["node-c"]) << name;
  }
  auto def = ByInstance(client, kDefault);
  EXPECT_EQ(def["node-c"], 0) << "the cold node is below the mean everywhere";
  EXPECT_GT(def["node-a"], 0.5);
}

}  // namespace
}  // namespace kinema
