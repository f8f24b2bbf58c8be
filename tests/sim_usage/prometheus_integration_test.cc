// Integration: the real kinema-sim binary with a usage scenario, scraped by a
// real Prometheus (Debian's /usr/bin/prometheus, every 1 s), queried through
// engine/prometheus; then PredictFromPrometheus on a snapshot taken from the
// sim through the Kubernetes client. Skips only when Prometheus is missing.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "engine/kube/client.h"
#include "engine/kube/rest_config.h"
#include "engine/prediction/prediction.h"
#include "engine/prometheus/client.h"
#include "engine/snapshot/cluster_snapshot.h"
#include "tests/sim/sim_process.h"
#include "tests/support/prometheus_process.h"

namespace kinema {
namespace {

using testing::PrometheusOptions;
using testing::PrometheusProcess;

// Constant CPU for web (300m per pod, no noise) and a rising memory trend;
// every other container: 50% of its CPU request, 60% of memory, no noise.
constexpr const char* kScenario = R"({
  "usage": {
    "noise": 0, "memoryNoise": 0,
    "deployments": {
      "shop/web": {
        "cpu": {"level": "300m"},
        "memory": {"profile": "trend", "level": "64Mi", "slopePerHour": 2}
      }
    }
  }
})";

TEST(SimPrometheusIntegrationTest, RateShowsScenarioUsageAndPredictionForecasts) {
  if (!PrometheusProcess::Installed()) {
    GTEST_SKIP() << PrometheusProcess::kBinary << " is not installed (Debian package prometheus)";
  }
  char tmpl[] = "/tmp/kinema-promtest-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::ofstream(dir + "/scenario.json") << kScenario;
  // The small snapshot without its HPA: web's 300m per pod is above the HPA's
  // target, and a scale-out would share the load over more pods (what the
  // HPA test in sim_usage_test checks); here the replica count stays fixed.
  {
    std::ifstream in(simtest::SourceDir() + "/tests/sim/data/small-snapshot.json");
    nlohmann::json snap = nlohmann::json::parse(in);
    nlohmann::json kept = nlohmann::json::array();
    for (const auto& item : snap["items"]) {
      if (item.value("kind", "") != "HorizontalPodAutoscaler") kept.push_back(item);
    }
    snap["items"] = kept;
    std::ofstream(dir + "/snapshot.json") << snap.dump();
  }

  // --time-scale 30: one wall second is 30 simulated seconds; rate() must
  // still show the usage in cores.
  simtest::SimProcess sim({"--scenario", dir + "/scenario.json", "--time-scale", "30", "--snapshot",
                           dir + "/snapshot.json"});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  std::string target = sim.Url().substr(sim.Url().find("//") + 2);
  PrometheusOptions popts;
  popts.targets = {target};
  PrometheusProcess prom(dir, popts);
  ASSERT_TRUE(prom.WaitReady(std::chrono::seconds(30))) << prom.Log();

  prometheus::ClientOptions po;
  po.url = prom.url();
  po.timeout = std::chrono::milliseconds(5000);
  prometheus::Client client(po);

  // Wait until every web pod has at least 2 samples inside a 5 s rate window.
  const std::string rate_query =
      "sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!=\"\"}[5s]))";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  prometheus::QueryResult rates;
  while (true) {
    auto r = client.Query(rate_query);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    if (r->series.size() >= 7) {
      rates = *r;
      break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no rate() data from Prometheus:\n" << prom.Log();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  // Let the 5 s window fill completely with samples, then measure.
  std::this_thread::sleep_for(std::chrono::seconds(6));
  const auto scraping_since = std::chrono::system_clock::now() - std::chrono::seconds(7);
  auto r = client.Query(rate_query);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->type, prometheus::QueryResult::Type::kVector);
  std::map<std::string, double> by_pod;
  for (const auto& s : r->series) by_pod[s.Label("pod")] = s.samples.at(0).v;
  // 3 web, cache-0 and the loggers at least; the living cluster's controllers
  // may run more (e.g. a DaemonSet pod on every node).
  ASSERT_GE(by_pod.size(), 7u) << "running containers: 3 web, cache-0, 3 logger";
  for (const char* pod : {"web-5d4f8-0", "web-5d4f8-1", "web-5d4f8-2"}) {
    EXPECT_NEAR(by_pod[pod], 0.300, 0.015) << pod;  // the scenario's 300m, whatever the time scale
  }
  EXPECT_NEAR(by_pod["cache-0"], 0.125, 0.007);        // 50% of a 250m request
  EXPECT_NEAR(by_pod["logger-node-a"], 0.025, 0.002);  // 50% of a 50m request

  // kube-state-metrics-style series arrive too.
  auto req = client.Query("sum(kube_pod_container_resource_requests{namespace=\"shop\",resource=\"cpu\"})");
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  ASSERT_EQ(req->series.size(), 1u);
  EXPECT_NEAR(req->series[0].samples[0].v, 5 * 0.25, 1e-9);  // web ×3, cache-0, batch-pending

  // A bad query comes back as a typed error with Prometheus's text.
  auto bad = client.Query("rate(container_cpu_usage_seconds_total[");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("bad_data"), std::string::npos) << bad.status().ToString();

  // kubectl top reads the same usage through metrics.k8s.io.
  if (std::filesystem::exists("/usr/bin/kubectl") || std::filesystem::exists("/usr/local/bin/kubectl")) {
    auto top = simtest::RunCommand(sim.Kubectl() + " top pods -n shop");
    EXPECT_EQ(top.exit_code, 0) << top.err;
    EXPECT_NE(top.out.find("web-5d4f8-0"), std::string::npos) << top.out;
    EXPECT_NE(top.out.find("300m"), std::string::npos) << top.out;
    auto nodes = simtest::RunCommand(sim.Kubectl() + " top nodes");
    EXPECT_EQ(nodes.exit_code, 0) << nodes.err;
    EXPECT_NE(nodes.out.find("node-a"), std::string::npos) << nodes.out;
  }

  // Prediction from the same Prometheus, on a snapshot taken from the sim.
  auto rest = kube::LoadKubeconfig(sim.kubeconfig());
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  auto kc = kube::Client::Create(*rest);
  ASSERT_TRUE(kc.ok()) << kc.status().ToString();
  auto snap = TakeClusterSnapshot(**kc);
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();

  prediction::PredictionOptions opts;
  // A window that reaches back before the first scrape: the new series'
  // under-reading first rate window must not look like a rising trend.
  std::this_thread::sleep_until(scraping_since + std::chrono::seconds(12));
  opts.window = std::chrono::seconds(15);
  opts.step = std::chrono::seconds(1);
  opts.rate_window = std::chrono::seconds(5);
  opts.horizon = std::chrono::seconds(60);
  auto p = prediction::PredictFromPrometheus(client, *snap, opts, std::chrono::system_clock::now());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const prediction::WorkloadPlan* web = p->Find("shop", "Deployment", "web");
  ASSERT_NE(web, nullptr) << p->ToJson().dump(2);
  EXPECT_EQ(web->pods, 3);
  ASSERT_EQ(web->containers.size(), 1u);
  const auto& app = web->containers[0];
  ASSERT_TRUE(app.cpu.has_data) << p->ToJson().dump(2);
  nlohmann::json j0 = p->ToJson();
  EXPECT_EQ(app.cpu.pods, 3);
  EXPECT_GE(app.cpu.samples, 5);
  EXPECT_NEAR(app.cpu.forecast, 0.300, 0.03) << j0.dump(1);
  EXPECT_NEAR(app.cpu.planned, 0.360, 0.03);  // peak 300m × headroom 1.2 beats 250m + 0.1 × 50m
  ASSERT_TRUE(app.memory.has_data);
  // Memory rises (the trend profile): positive slope, forecast above the last value's peak.
  EXPECT_GT(app.memory.slope_per_hour, 0);
  EXPECT_GT(app.memory.forecast, app.memory.peak);
  EXPECT_GT(app.memory.peak, 64.0 * 1024 * 1024);
  nlohmann::json j = p->ToJson();
  EXPECT_TRUE(j["adjustments"].contains("shop/Deployment/web")) << j.dump(2);

  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace kinema
