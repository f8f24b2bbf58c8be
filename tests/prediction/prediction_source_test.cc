// PredictFromPrometheus against a loopback HTTP server that answers like the
// Prometheus HTTP API (unit test: no real Prometheus here; the integration
// test in tests/sim_usage runs the real one).
#include "engine/prediction/prediction.h"

#include <gtest/gtest.h>

#include <atomic>

#include "tests/http/test_http_server.h"

namespace kinema::prediction {
namespace {

using json = nlohmann::json;
using testing::TestHttpServer;
using testing::TestRequest;
using testing::TestResponse;

prometheus::ClientOptions Opts(const std::string& url, std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
  prometheus::ClientOptions o;
  o.url = url;
  o.timeout = timeout;
  return o;
}

json Pod(const std::string& ns, const std::string& name, const std::string& owner_kind, const std::string& owner,
         const std::string& cpu, const std::string& mem) {
  return {{"kind", "Pod"},
          {"apiVersion", "v1"},
          {"metadata",
           {{"name", name},
            {"namespace", ns},
            {"ownerReferences", {{{"kind", owner_kind}, {"name", owner}, {"controller", true}}}}}},
          {"spec", {{"containers", {{{"name", "app"}, {"resources", {{"requests", {{"cpu", cpu}, {"memory", mem}}}}}}}}}}};
}

json Deployment(const std::string& ns, const std::string& name, const std::string& cpu, const std::string& mem) {
  return {{"kind", "Deployment"},
          {"apiVersion", "apps/v1"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"template",
             {{"spec", {{"containers", {{{"name", "app"}, {"resources", {{"requests", {{"cpu", cpu}, {"memory", mem}}}}}}}}}}}}}}};
}

json ReplicaSet(const std::string& ns, const std::string& name, const std::string& deployment) {
  return {{"kind", "ReplicaSet"},
          {"apiVersion", "apps/v1"},
          {"metadata",
           {{"name", name}, {"namespace", ns}, {"ownerReferences", {{{"kind", "Deployment"}, {"name", deployment}, {"controller", true}}}}}}};
}

ClusterSnapshot Snapshot() {
  ClusterSnapshot s;
  s.list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", json::array()}};
  auto& items = s.list["items"];
  items.push_back(Deployment("shop", "web", "500m", "256Mi"));
  items.push_back(Deployment("shop", "idle", "100m", "64Mi"));
  items.push_back(ReplicaSet("shop", "web-5d4f8", "web"));
  items.push_back(ReplicaSet("shop", "idle-77f9c", "idle"));
  items.push_back(Pod("shop", "web-5d4f8-aaaaa", "ReplicaSet", "web-5d4f8", "500m", "256Mi"));
  items.push_back(Pod("shop", "web-5d4f8-bbbbb", "ReplicaSet", "web-5d4f8", "500m", "256Mi"));
  items.push_back(Pod("shop", "idle-77f9c-ccccc", "ReplicaSet", "idle-77f9c", "100m", "64Mi"));
  return s;
}

// A matrix series for one pod: value(i) at start + 30 s × i.
json MatrixSeries(const std::string& pod, double start, int n, double v0, double dv) {
  json values = json::array();
  for (int i = 0; i < n; ++i) values.push_back({start + 30.0 * i, std::to_string(v0 + dv * i)});
  return {{"metric", {{"namespace", "shop"}, {"pod", pod}, {"container", "app"}}}, {"values", values}};
}

std::string Decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

TEST(PredictionSourceTest, MapsPodsToDeploymentsAndForecastsPerContainer) {
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000900));
  const double start = 1700000000;
  TestHttpServer server([&](const TestRequest& req) {
    TestResponse r;
    std::string body = Decode(req.body);
    json result = json::array();
    if (body.find("container_cpu_usage_seconds_total") != std::string::npos) {
      // web: two live pods rising 0.3 -> 0.6 core, plus a pod of an earlier
      // ReplicaSet (gone from the snapshot) and a pod of nothing we know.
      result.push_back(MatrixSeries("web-5d4f8-aaaaa", start, 31, 0.3, 0.01));
      result.push_back(MatrixSeries("web-5d4f8-bbbbb", start, 31, 0.3, 0.01));
      result.push_back(MatrixSeries("web-6c7d9-zzzzz", start, 10, 0.3, 0.01));
      result.push_back(MatrixSeries("stranger-1", start, 31, 5, 0));
    } else {
      result.push_back(MatrixSeries("web-5d4f8-aaaaa", start, 31, 100e6, 0));
      result.push_back(MatrixSeries("web-5d4f8-bbbbb", start, 31, 120e6, 0));
    }
    r.body = json{{"status", "success"}, {"data", {{"resultType", "matrix"}, {"result", result}}}}.dump();
    return r;
  });
  prometheus::Client client(Opts(server.base_url()));
  PredictionOptions o;
  auto p = PredictFromPrometheus(client, Snapshot(), o, now);
  ASSERT_TRUE(p.ok()) << p.status().ToString();

  ASSERT_EQ(server.request_count(), 2u);
  std::string q = Decode(server.requests()[0].body);
  EXPECT_NE(q.find("rate(container_cpu_usage_seconds_total{container!=\"\",container!=\"POD\",namespace=~\"shop\"}[60s])"),
            std::string::npos)
      << q;
  EXPECT_NE(q.find("start=1700000000.000"), std::string::npos) << q;
  EXPECT_NE(q.find("end=1700000900.000"), std::string::npos) << q;
  EXPECT_NE(q.find("step=30.000"), std::string::npos) << q;

  const WorkloadPlan* web = p->Find("shop", "Deployment", "web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->pods, 2);
  ASSERT_EQ(web->containers.size(), 1u);
  const ContainerPlan& app = web->containers[0];
  EXPECT_TRUE(app.cpu.has_data);
  EXPECT_EQ(app.cpu.pods, 3);  // the earlier ReplicaSet's pod counts by the naming rule
  EXPECT_NEAR(app.cpu.slope_per_hour, 1.2, 1e-6);   // 0.01 core per 30 s
  EXPECT_NEAR(app.cpu.forecast, 0.6 + 0.3, 1e-6);   // + 15 min of trend
  EXPECT_NEAR(app.cpu.peak, 0.6, 1e-9);
  EXPECT_NEAR(app.cpu.planned, 0.72, 1e-9);         // peak × 1.2 beats 0.5 + 0.1 × 0.4 = 0.54
  EXPECT_NEAR(app.memory.peak, 120e6, 1e-3);
  EXPECT_NEAR(app.memory.planned, 256.0 * 1024 * 1024 + 0.1 * (110e6 - 256.0 * 1024 * 1024), 1.0);
  EXPECT_EQ(p->unmatched_series, 1);

  const WorkloadPlan* idle = p->Find("shop", "Deployment", "idle");
  ASSERT_NE(idle, nullptr);
  EXPECT_FALSE(idle->containers[0].cpu.has_data);
  EXPECT_NEAR(idle->containers[0].cpu.planned, 0.1, 1e-12);
  ASSERT_EQ(p->notes.size(), 1u);
  EXPECT_NE(p->notes[0].find("shop/idle"), std::string::npos);

  json j = p->ToJson();
  EXPECT_EQ(j["source"], "prometheus");
  EXPECT_EQ(j["adjustments"]["shop/Deployment/web"]["app"]["cpu"], "720m");
  EXPECT_FALSE(j["adjustments"].contains("shop/Deployment/idle"));
  EXPECT_EQ(j["workloads"].size(), 2u);

  ClusterSnapshot snap = Snapshot();
  EXPECT_EQ(ApplyPrediction(*p, &snap.list), 2);
  EXPECT_EQ(snap.list["items"][4]["spec"]["containers"][0]["resources"]["requests"]["cpu"], "720m");
  EXPECT_EQ(snap.list["items"][6]["spec"]["containers"][0]["resources"]["requests"]["cpu"], "100m");
}

TEST(PredictionSourceTest, NewPodsUnderReadingFirstRateWindowIsNotATrend) {
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000900));
  const double start = 1700000000;
  TestHttpServer server([&](const TestRequest& req) {
    json result = json::array();
    if (Decode(req.body).find("container_cpu_usage_seconds_total") != std::string::npos) {
      // A pod born 5 minutes into the window: rate() ramps up over its first
      // 60 s (0.1, 0.2, then 0.4 flat).
      json values = json::array();
      for (int i = 10; i <= 30; ++i) {
        double v = i == 10 ? 0.1 : i == 11 ? 0.2 : 0.4;
        values.push_back({start + 30.0 * i, std::to_string(v)});
      }
      result.push_back({{"metric", {{"namespace", "shop"}, {"pod", "web-5d4f8-aaaaa"}, {"container", "app"}}},
                        {"values", values}});
    }
    TestResponse r;
    r.body = json{{"status", "success"}, {"data", {{"resultType", "matrix"}, {"result", result}}}}.dump();
    return r;
  });
  prometheus::Client client(Opts(server.base_url()));
  auto p = PredictFromPrometheus(client, Snapshot(), PredictionOptions{}, now);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const auto& cpu = p->Find("shop", "Deployment", "web")->containers[0].cpu;
  EXPECT_EQ(cpu.samples, 19);  // 21 points minus the first 60 s (2 points)
  EXPECT_NEAR(cpu.slope_per_hour, 0.0, 1e-9);
  EXPECT_NEAR(cpu.forecast, 0.4, 1e-9);
}

TEST(PredictionSourceTest, UnreachablePrometheusIsAnErrorNamingTheQuery) {
  // A port nobody listens on: bind a server, note its port, destroy it.
  int port;
  {
    TestHttpServer s([](const TestRequest&) { return TestResponse{}; });
    port = s.port();
  }
  prometheus::Client client(Opts("http://127.0.0.1:" + std::to_string(port), std::chrono::milliseconds(2000)));
  auto p = PredictFromPrometheus(client, Snapshot(), PredictionOptions{}, std::chrono::system_clock::now());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Status::Code::kUnavailable) << p.status().ToString();
  EXPECT_NE(p.status().message().find("prediction: cpu usage"), std::string::npos) << p.status().ToString();
}

TEST(PredictionSourceTest, EmptySnapshotNeedsNoQueries) {
  std::atomic<int> calls{0};
  TestHttpServer server([&](const TestRequest&) {
    calls++;
    return TestResponse{};
  });
  prometheus::Client client(Opts(server.base_url()));
  ClusterSnapshot empty;
  empty.list = {{"items", json::array()}};
  auto p = PredictFromPrometheus(client, empty, PredictionOptions{}, std::chrono::system_clock::now());
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->workloads.empty());
  EXPECT_EQ(calls.load(), 0);
}

}  // namespace
}  // namespace kinema::prediction
