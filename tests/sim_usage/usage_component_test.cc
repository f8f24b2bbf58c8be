// The usage part inside an in-process SimServer loaded with the committed
// small snapshot: /metrics over HTTP, the CPU counter's wall-time integral,
// metrics.k8s.io, OOM kills, and the HPA controller scaling a Deployment out
// under a load surge.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/http/http_client.h"
#include "tools/kinema-sim/resource_types.h"
#include "tools/kinema-sim/sim_server.h"
#include "tools/kinema-sim/table.h"
#include "tools/kinema-sim/usage/hpa_controller.h"
#include "tools/kinema-sim/usage/usage_component.h"

namespace kinema::sim::usage {
namespace {

using json = nlohmann::json;

std::string SourceDir() {
  const char* d = std::getenv("KINEMA_SOURCE_DIR");
  return d ? d : ".";
}

// A running in-process simulator with the usage part and the HPA controller.
class Sim {
 public:
  Sim(const std::string& scenario, double time_scale) {
    char tmpl[] = "/tmp/kinema-usagetest-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::ofstream(dir_ + "/scenario.json") << scenario;
    SimOptions o;
    o.snapshot = SourceDir() + "/tests/sim/data/small-snapshot.json";
    o.catalog = SourceDir() + "/tests/sim/data/catalog.json";
    o.kubeconfig = dir_ + "/kubeconfig";
    o.scenario = dir_ + "/scenario.json";
    o.time_scale = time_scale;
    o.token = "t0ken";
    spdlog::set_level(spdlog::level::warn);
    server_ = std::make_unique<SimServer>(o);
    usage_ = std::make_unique<UsageComponent>(server_.get());
    hpa_ = std::make_unique<HpaController>(usage_.get());
    server_->AddComponent(usage_.get());
    server_->AddComponent(hpa_.get());
    start_ = server_->Start();
  }
  ~Sim() {
    server_->Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const Status& start_status() const { return start_; }
  SimServer& server() { return *server_; }
  UsageComponent& usage() { return *usage_; }

  http::Response Get(const std::string& path, bool token = true) {
    http::Request r;
    r.url = server_->ServerUrl() + path;
    if (token) r.bearer_token = "t0ken";
    auto resp = http_.Do(r);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    return resp.ok() ? *resp : http::Response{};
  }
  json GetJson(const std::string& path) { return json::parse(Get(path).body); }

  ObjectPtr Object(const char* group, const char* version, const char* plural, const std::string& ns,
                   const std::string& name) {
    return server_->store().Get(*ResourceRegistry::Default().Find(group, version, plural), ns, name);
  }

 private:
  std::string dir_;
  std::unique_ptr<SimServer> server_;
  std::unique_ptr<UsageComponent> usage_;
  std::unique_ptr<HpaController> hpa_;
  http::HttpClient http_;
  Status start_;
};

const ContainerSample* Find(const std::vector<PodSample>& pods, const std::string& pod) {
  for (const auto& p : pods) {
    if (p.name == pod && !p.containers.empty()) return &p.containers[0];
  }
  return nullptr;
}

constexpr const char* kConstantWeb = R"({"usage": {"noise": 0, "memoryNoise": 0,
    "deployments": {"shop/web": {"cpu": {"level": "300m"}, "memory": {"level": "100Mi"}}}}})";

TEST(UsageComponentTest, MetricsPageHasCadvisorAndKubeStateSeries) {
  Sim sim(kConstantWeb, 10);
  ASSERT_TRUE(sim.start_status().ok()) << sim.start_status().ToString();
  http::Response r = sim.Get("/metrics", /*token=*/false);  // no auth needed
  ASSERT_EQ(r.status, 200);
  ASSERT_NE(r.FindHeader("content-type"), nullptr);
  EXPECT_EQ(*r.FindHeader("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& b = r.body;
  EXPECT_NE(b.find("# TYPE container_cpu_usage_seconds_total counter\n"), std::string::npos);
  EXPECT_NE(b.find("# TYPE container_memory_working_set_bytes gauge\n"), std::string::npos);
  EXPECT_NE(b.find("container_memory_working_set_bytes{container=\"app\",id=\"/kubepods/pod"), std::string::npos);
  EXPECT_NE(b.find(",image=\"nginx:1.27\",name=\"app\",namespace=\"shop\",node=\"node-a\",pod=\"web-5d4f8-0\"} 104857600\n"),
            std::string::npos)
      << b.substr(0, 3000);
  EXPECT_NE(b.find("kube_pod_container_resource_requests{namespace=\"shop\",pod=\"web-5d4f8-0\""), std::string::npos);
  EXPECT_NE(b.find("resource=\"cpu\",unit=\"core\"} 0.25\n"), std::string::npos);
  EXPECT_NE(b.find("kube_pod_owner{namespace=\"shop\",pod=\"web-5d4f8-0\""), std::string::npos);
  EXPECT_NE(b.find("owner_kind=\"ReplicaSet\",owner_name=\"web-5d4f8\",owner_is_controller=\"true\"} 1\n"),
            std::string::npos);
  EXPECT_NE(b.find("kube_horizontalpodautoscaler_spec_max_replicas{namespace=\"shop\",horizontalpodautoscaler=\"web\"} 6\n"),
            std::string::npos);
  EXPECT_NE(b.find("kube_horizontalpodautoscaler_status_desired_replicas{namespace=\"shop\",horizontalpodautoscaler=\"web\"}"),
            std::string::npos);
  EXPECT_NE(b.find("kube_replicaset_status_ready_replicas{namespace=\"shop\",replicaset=\"web-5d4f8\"} 3\n"),
            std::string::npos);
  EXPECT_NE(b.find("kube_deployment_spec_replicas{namespace=\"shop\",deployment=\"web\"} 3\n"), std::string::npos);
  // The pending pod has requests but no usage series.
  EXPECT_NE(b.find("kube_pod_container_resource_requests{namespace=\"shop\",pod=\"batch-pending\""), std::string::npos);
  EXPECT_EQ(b.find("container_cpu_usage_seconds_total{container=\"app\",id=\"/kubepods/pod", b.find("pod=\"batch-pending\"") ),
            std::string::npos);
  EXPECT_EQ(sim.Get("/metrics/extra").status, 404);
}

TEST(UsageComponentTest, CpuCounterIntegratesUsageOverWallTimeWhateverTheTimeScale) {
  for (double scale : {1.0, 50.0}) {
    Sim sim(kConstantWeb, scale);
    ASSERT_TRUE(sim.start_status().ok()) << sim.start_status().ToString();
    auto t0 = std::chrono::steady_clock::now();
    double c0 = Find(sim.usage().SamplePods(true), "web-5d4f8-1")->cpu_seconds_total;
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    double c1 = Find(sim.usage().SamplePods(true), "web-5d4f8-1")->cpu_seconds_total;
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_NEAR((c1 - c0) / wall, 0.3, 0.015) << "time scale " << scale;
  }
}

TEST(UsageComponentTest, MetricsApiServesPodAndNodeMetrics) {
  Sim sim(kConstantWeb, 10);
  ASSERT_TRUE(sim.start_status().ok()) << sim.start_status().ToString();
  json group = sim.GetJson("/apis");
  bool listed = false;
  for (const auto& g : group["groups"]) listed |= g["name"] == "metrics.k8s.io";
  EXPECT_TRUE(listed) << "discovery must advertise metrics.k8s.io";
  EXPECT_EQ(sim.GetJson("/apis/metrics.k8s.io/v1beta1")["resources"].size(), 2u);

  json pods = sim.GetJson("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods");
  EXPECT_EQ(pods["kind"], "PodMetricsList");
  EXPECT_EQ(pods["items"].size(), 4u);  // 3 web + cache-0; the pending pod has none
  json web = sim.GetJson("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods?labelSelector=app%3Dweb");
  ASSERT_EQ(web["items"].size(), 3u);
  EXPECT_EQ(web["items"][0]["containers"][0]["usage"]["cpu"], "300000000n");
  EXPECT_EQ(web["items"][0]["containers"][0]["usage"]["memory"], "102400Ki");
  json one = sim.GetJson("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/web-5d4f8-2");
  EXPECT_EQ(one["kind"], "PodMetrics");
  EXPECT_EQ(one["metadata"]["name"], "web-5d4f8-2");
  EXPECT_EQ(sim.Get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/batch-pending").status, 404);
  EXPECT_EQ(sim.Get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods?labelSelector=a%20in").status, 400);
  EXPECT_EQ(sim.Get("/apis/metrics.k8s.io/v1beta1/pods", /*token=*/false).status, 200);  // plain HTTP: no header is fine

  json nodes = sim.GetJson("/apis/metrics.k8s.io/v1beta1/nodes");
  EXPECT_EQ(nodes["items"].size(), 3u);
  json node_a = sim.GetJson("/apis/metrics.k8s.io/v1beta1/nodes/node-a");
  // node-a: web-0, web-1 (300m each) and logger-node-a (50% of 50m).
  EXPECT_EQ(node_a["usage"]["cpu"], "625000000n");
}

TEST(UsageComponentTest, OomKillRestartsTheContainerWithReason) {
  Sim sim(R"({"usage": {"noise": 0, "memoryNoise": 0,
      "deployments": {"shop/web": {"memory": {"level": "300Mi"}}}}})",
          10);
  ASSERT_TRUE(sim.start_status().ok()) << sim.start_status().ToString();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  json cs;
  while (std::chrono::steady_clock::now() < deadline) {
    auto pod = sim.Object("", "v1", "pods", "shop", "web-5d4f8-0");
    ASSERT_NE(pod, nullptr);
    if (pod->body["status"].contains("containerStatuses")) {
      for (const auto& c : pod->body["status"]["containerStatuses"]) {
        if (c["name"] == "app" && c.value("restartCount", 0) > 0) cs = c;
      }
    }
    if (!cs.is_null()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(cs.is_null()) << "web-5d4f8-0 (300Mi used, 256Mi limit) was never OOM-killed";
  EXPECT_EQ(cs["lastState"]["terminated"]["reason"], "OOMKilled");
  EXPECT_EQ(cs["lastState"]["terminated"]["exitCode"], 137);
  EXPECT_TRUE(cs["state"].contains("running"));
  // cache-0 (no profile: 60% of its limit) is never killed.
  auto cache = sim.Object("", "v1", "pods", "shop", "cache-0");
  EXPECT_FALSE(cache->body["status"].contains("containerStatuses") &&
               cache->body["status"]["containerStatuses"][0].value("restartCount", 0) > 0);
  EXPECT_NE(sim.Get("/metrics").body.find("kube_pod_container_status_restarts_total{namespace=\"shop\",pod=\"web-5d4f8-0\""),
            std::string::npos);
}

TEST(UsageComponentTest, HpaScalesTheDeploymentOutUnderALoadSurge) {
  // web: 50% of its 250m request (HPA target 70%) until a ×3 surge at 30 s.
  Sim sim(R"({"usage": {"noise": 0},
      "events": [{"kind": "loadSurge", "deployment": "shop/web", "factor": 3, "at": "30s", "duration": "1h"}]})",
          60);  // HPA syncs every 250 ms of wall time
  ASSERT_TRUE(sim.start_status().ok()) << sim.start_status().ToString();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  auto dep = sim.Object("apps", "v1", "deployments", "shop", "web");
  EXPECT_EQ(dep->body["spec"]["replicas"], 3) << "50% utilization against 70%: no scale before the surge";
  auto hpa = sim.Object("autoscaling", "v2", "horizontalpodautoscalers", "shop", "web");
  ASSERT_TRUE(hpa->body["status"].contains("currentMetrics")) << hpa->body.dump();
  EXPECT_EQ(hpa->body["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"], 50);
  // kubectl get hpa's TARGETS column (server-side printing).
  json table = json::parse(RenderTable(*ResourceRegistry::Default().Find("autoscaling", "v2", "horizontalpodautoscalers"),
                                       {hpa}, 1, "", TableObjects::kNone, sim.server().clock()));
  EXPECT_EQ(table["rows"][0]["cells"][2], "cpu: 50%/70%") << table.dump();

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    dep = sim.Object("apps", "v1", "deployments", "shop", "web");
    if (dep->body["spec"]["replicas"] != 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // 150% against 70% on 3 pods: ceil(6.4) = 7, capped by maxReplicas 6.
  EXPECT_EQ(dep->body["spec"]["replicas"], 6);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  hpa = sim.Object("autoscaling", "v2", "horizontalpodautoscalers", "shop", "web");
  const json& st = hpa->body["status"];
  EXPECT_EQ(st["desiredReplicas"], 6);
  EXPECT_EQ(st["currentReplicas"], 3);  // no ReplicaSet controller in this test: status lags
  EXPECT_TRUE(st.contains("lastScaleTime"));
  EXPECT_EQ(st["currentMetrics"][0]["resource"]["current"]["averageUtilization"], 150);
  std::map<std::string, std::string> reasons;
  for (const auto& c : st["conditions"]) reasons[c["type"]] = c["reason"];
  EXPECT_EQ(reasons["ScalingActive"], "ValidMetricFound");
  EXPECT_EQ(reasons["ScalingLimited"], "TooManyReplicas");
  EXPECT_EQ(reasons["AbleToScale"], "ReadyForNewScale");
  WatchFilter f;
  f.resource = ResourceRegistry::Default().Find("", "v1", "events");
  int rescale_events = 0;
  for (const auto& e : sim.server().store().List(f).items) rescale_events += e->body["reason"] == "SuccessfulRescale";
  EXPECT_EQ(rescale_events, 1);
}

}  // namespace
}  // namespace kinema::sim::usage
