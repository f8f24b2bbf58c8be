// The real GceCloudProvider (engine/cloud) against the real kinema-sim
// binary's fake GCE: boots register Nodes, idempotency, GCE error semantics,
// deletes, scenario quotas/stockouts/events, and the report's cloud counters.
// Simulated time runs 1000x faster than wall time, so the default 30 s boot
// and 20 s join take 50 ms.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <thread>

#include "engine/http/url.h"
#include "engine//cloud/cloud_provider.h"
#include "engine/cloud/gce_provider.h"
#include "engine/cloud/request_id.h"
#include "engine/http/http_client.h"
#include "tests/sim/sim_process.h"

namespace kinema::cloud {
namespace {

using nlohmann::json;
using simtest::SimProcess;
using namespace std::chrono_literals;

// The committed small snapshot's nodes carry gce://demo/... providerIDs, so
// the fake GCE's project defaults to "demo" (16 vCPUs in us-central1:
// node-a e2-standard-4 in -a, node-b e2-standard-4 in -b, node-c
// e2-standard-8 spot in -a).
constexpr const char* kProject = "demo";

class GceSim {
 public:
  // `faults`, when not null, is written to a --faults file (seeded by `seed`).
  explicit GceSim(const json& scenario, double time_scale = 1000, const json& faults = nullptr, int seed = 0) {
    char tmpl[] = "/tmp/kinema-gce-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::string path = dir_ + "/scenario.json";
    std::ofstream(path) << scenario.dump();
    std::vector<std::string> args{"--scenario", path, "--time-scale", std::to_string(time_scale)};
    if (!faults.is_null()) {
      std::ofstream(dir_ + "/faults.json") << faults.dump();
      args.insert(args.end(), {"--faults", dir_ + "/faults.json", "--seed", std::to_string(seed)});
    }
    sim_ = std::make_unique<SimProcess>(args);
  }
  ~GceSim() {
    sim_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool ok() const { return sim_->ok(); }
  std::string Log() const { return sim_->Log(); }
  std::string Endpoint() const { return sim_->Url() + "/compute/v1"; }

  std::unique_ptr<GceCloudProvider> Provider(BootTemplate boot = {}, int max_attempts = 5) {
    GceOptions o;
    o.retry.max_attempts = max_attempts;
    o.boot = std::move(boot);
    o.endpoint = Endpoint();
    o.project = kProject;
    o.poll_interval = 10ms;
    o.retry.initial_backoff = 20ms;
    o.retry.max_backoff = 200ms;
    auto p = GceCloudProvider::Create(o, NewNoTokenSource(), http_);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? std::move(p.value()) : nullptr;
  }

  http::Response Raw(const std::string& method, const std::string& url_or_path, const std::string& body = "") {
    http::Request r;
    r.method = method;
    r.url = url_or_path.rfind("http", 0) == 0 ? url_or_path : sim_->Url() + url_or_path;
    r.body = body;
    if (!body.empty()) r.headers.push_back({"Content-Type", "application/json"});
    auto resp = http_->Do(r);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    return resp.ok() ? *resp : http::Response{};
  }
  json GetJson(const std::string& path) {
    auto r = Raw("GET", path);
    return json::parse(r.body, nullptr, false);
  }
  json Report() { return GetJson("/sim/v1/report"); }
  json Node(const std::string& name) {
    auto r = Raw("GET", "/api/v1/nodes/" + name);
    if (r.status != 200) return nullptr;
    return json::parse(r.body);
  }
  // Polls `pred` every 5 ms for up to `limit` of wall time.
  static bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 5000ms) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return pred();
  }

 private:
  std::string dir_;
  std::unique_ptr<SimProcess> sim_;
  std::shared_ptr<http::HttpClient> http_ = std::make_shared<http::HttpClient>();
};

Clock::time_point Deadline(std::chrono::milliseconds d = 10000ms) { return Clock::now() + d; }

InstanceSpec Spec(const std::string& key, const std::string& zone, const std::string& type, CapacityType cap) {
  InstanceSpec s;
  s.name = InstanceNameFor("kinema", key);
  s.zone = zone;
  s.machine_type = type;
  s.capacity = cap;
  s.idempotency_key = key;
  return s;
}

std::string ZonePath(const std::string& zone) {
  return std::string("/compute/v1/projects/") + kProject + "/zones/" + zone;
}

const json* FindCondition(const json& node, const std::string& type) {
  for (const auto& c : node["status"]["conditions"]) {
    if (c["type"] == type) return &c;
  }
  return nullptr;
}

TEST(GceSimTest, EnsureInstanceBootsAndTheNodeRegistersLikeACatalogNode) {
  GceSim sim(json{{"cloud", {{"bootDelay", "30s"}, {"joinDelay", "20s"}}}});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gce = sim.Provider();
  InstanceSpec spec = Spec("wf-1/boot/0", "us-central1-b", "e2-standard-8", CapacityType::kSpot);
  spec.labels = {{"kinema-iteration", "wf-1"}};
  auto in = EnsureInstance(*gce, spec, Deadline());
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->name, spec.name);
  EXPECT_EQ(in->zone, "us-central1-b");
  EXPECT_EQ(in->machine_type, "e2-standard-8");
  EXPECT_EQ(in->status, "RUNNING");
  EXPECT_EQ(in->capacity, CapacityType::kSpot);
  EXPECT_EQ(in->labels.at("kinema-iteration"), "wf-1");
  EXPECT_FALSE(in->internal_ip.empty());

  json node;
  ASSERT_TRUE(GceSim::Eventually([&] { return !(node = sim.Node(spec.name)).is_null(); })) << sim.Log();
  const json& labels = node["metadata"]["labels"];
  EXPECT_EQ(labels["node.kubernetes.io/instance-type"], "e2-standard-8");
  EXPECT_EQ(labels["topology.kubernetes.io/zone"], "us-central1-b");
  EXPECT_EQ(labels["topology.kubernetes.io/region"], "us-central1");
  EXPECT_EQ(labels["kubernetes.io/hostname"], spec.name);
  EXPECT_EQ(labels["kubernetes.io/os"], "linux");
  EXPECT_EQ(labels["kinema.io/capacity-type"], "spot");  // the catalog's spot.labels
  EXPECT_EQ(labels["cloud.google.com/gke-spot"], "true");
  EXPECT_EQ(labels["kinema.io/iteration"], "wf-1");      // from the kinema- cloud label
  EXPECT_EQ(node["spec"]["providerID"], std::string("gce://demo/us-central1-b/") + spec.name);
  ASSERT_EQ(node["spec"]["taints"].size(), 1u);
  EXPECT_EQ(node["spec"]["taints"][0], (json{{"key", "kinema.io/spot"}, {"value", "true"}, {"effect", "NoSchedule"}}));
  EXPECT_EQ(node["status"]["allocatable"]["cpu"], "7910m");
  EXPECT_EQ(node["status"]["allocatable"]["memory"], "29360128Ki");  // 28Gi
  EXPECT_EQ(node["status"]["allocatable"]["pods"], "110");
  EXPECT_EQ(node["status"]["capacity"]["cpu"], "8");
  EXPECT_EQ(node["status"]["capacity"]["memory"], "33554432Ki");  // 32768 MiB
  const json* ready = FindCondition(node, "Ready");
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ((*ready)["status"], "True");
  EXPECT_EQ(node["status"]["nodeInfo"]["kubeletVersion"], "v1.32.0");

  json report = sim.Report();
  EXPECT_EQ(report["cloud"]["instancesCreated"], 1);
  EXPECT_EQ(report["cloud"]["duplicateCreateRequests"], 0);
  EXPECT_EQ(report["cloud"]["orphanInstances"], 0);
  EXPECT_EQ(report["cloud"]["instances"], 4);  // three adopted snapshot nodes + ours
  EXPECT_EQ(report["nodes"], 4);
  // 2 x e2-standard-4 on-demand + e2-standard-8 spot (node-c) + our e2-standard-8 spot.
  EXPECT_NEAR(report["costPerHour"].get<double>(), 0.134023 * 2 + 0.0804 * 2, 1e-6);
  EXPECT_GT(report["totalCost"].get<double>(), 0.0);
}

TEST(GceSimTest, RetriedInsertWithSameRequestIdCreatesOneInstance) {
  GceSim sim(json::object());
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gce = sim.Provider();
  InstanceSpec spec = Spec("wf-2/boot/0", "us-central1-a", "e2-standard-4", CapacityType::kOnDemand);
  auto op1 = gce->InsertInstance(spec);
  ASSERT_TRUE(op1.ok()) << op1.status().ToString();
  auto op2 = gce->InsertInstance(spec);  // a retry after a lost response, or a resumed step
  ASSERT_TRUE(op2.ok()) << op2.status().ToString();
  EXPECT_EQ(op1->name, op2->name);
  EXPECT_EQ(op1->operation_type, "insert");
  EXPECT_EQ(op1->target_name, spec.name);
  auto done = gce->WaitOperation(*op2, Deadline());
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_TRUE(done->done());
  EXPECT_TRUE(done->error.ok()) << done->error.ToString();
  auto op3 = gce->InsertInstance(spec);  // after DONE: still the same operation
  ASSERT_TRUE(op3.ok());
  EXPECT_EQ(op3->name, op1->name);
  EXPECT_TRUE(op3->done());

  auto list = gce->ListInstances(InstanceFilter{{"us-central1-a"}, "kinema-", {}});
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 1u);
  json report = sim.Report();
  EXPECT_EQ(report["cloud"]["instancesCreated"], 1);
  EXPECT_EQ(report["cloud"]["duplicateCreateRequests"], 0);
}

TEST(GceSimTest, ConcurrentRetriesOfOneInsertShareOneOperation) {
  GceSim sim(json::object());
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gce = sim.Provider();
  InstanceSpec spec = Spec("wf-2b/boot/0", "us-central1-b", "e2-standard-4", CapacityType::kOnDemand);
  std::vector<std::string> names(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < names.size(); ++i) {
    threads.emplace_back([&, i] {
      auto op = gce->InsertInstance(spec);
      if (op.ok()) names[i] = op->name;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& n : names) EXPECT_EQ(n, names[0]);
  EXPECT_FALSE(names[0].empty());
  json report = sim.Report();
  EXPECT_EQ(report["cloud"]["instancesCreated"], 1);
  EXPECT_EQ(report["cloud"]["duplicateCreateRequests"], 0);
}

TEST(GceSimTest, KubeLabelsMetadataBecomesNodeLabels) {
  GceSim sim(json::object());
  ASSERT_TRUE(sim.ok()) << sim.Log();
  BootTemplate boot;
  boot.metadata = {{"kube-labels", "kinema.io/iteration=it-7,team=platform"}, {"startup-script", "#!/bin/sh"}};
  auto gce = sim.Provider(boot);
  InstanceSpec spec = Spec("wf-2c/boot/0", "us-central1-a", "e2-standard-4", CapacityType::kOnDemand);
  ASSERT_TRUE(EnsureInstance(*gce, spec, Deadline()).ok());
  json node;
  ASSERT_TRUE(GceSim::Eventually([&] { return !(node = sim.Node(spec.name)).is_null(); }));
  EXPECT_EQ(node["metadata"]["labels"]["kinema.io/iteration"], "it-7");
  EXPECT_EQ(node["metadata"]["labels"]["team"], "platform");
  EXPECT_EQ(node["metadata"]["labels"]["kinema.io/capacity-type"], "on-demand");
  EXPECT_FALSE(node["spec"].contains("taints"));  // on-demand e2-standard-4 has none in the catalog
}

TEST(GceSimTest, AlreadyExistsCountsAsDoneAndAsADuplicateCreateInTheReport) {
  GceSim sim(json::object());
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gce = sim.Provider();
  InstanceSpec first = Spec("wf-3/boot/0", "us-central1-a", "e2-standard-4", CapacityType::kOnDemand);
  ASSERT_TRUE(EnsureInstance(*gce, first, Deadline()).ok());
  InstanceSpec again = first;
  again.idempotency_key = "wf-3/boot/0/attempt-2";  // another request id, same name
  auto raw = gce->InsertInstance(again);
  ASSERT_FALSE(raw.ok());
  EXPECT_EQ(ClassifyCloudError(raw.status()), CloudErrorKind::kAlreadyExists) << raw.status().ToString();
  auto in = EnsureInstance(*gce, again, Deadline());
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->name, first.name);

  // The wire: GCE's 409 body.
  auto r = sim.Raw("POST", ZonePath("us-central1-a") + "/instances",
                   json{{"name", first.name}, {"machineType", "zones/us-central1-a/machineTypes/e2-standard-4"}}.dump());
  EXPECT_EQ(r.status, 409);
  json body = json::parse(r.body);
  std::string msg = "The resource 'projects/demo/zones/us-central1-a/instances/" + first.name + "' already exists";
  EXPECT_EQ(body, (json{{"error",
                         {{"code", 409},
                          {"message", msg},
                          {"errors", json::array({{{"domain", "global"}, {"reason", "alreadyExists"}, {"message", msg}}})}}}}));
  json report = sim.Report();
  EXPECT_EQ(report["cloud"]["instancesCreated"], 1);
  EXPECT_EQ(report["cloud"]["duplicateCreateRequests"], 3);
}

TEST(GceSimTest, DeleteOfMissingInstanceIsDone) {
  GceSim sim(json::object());
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gce = sim.Provider();
  auto op = gce->DeleteInstance("us-central1-a", "kinema-missing", "wf-4/delete/x");
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(ClassifyCloudError(op.status()), CloudErrorKind::kNotFound) << op.status().ToString();
  EXPECT_TRUE(EnsureInstanceDeleted(*gce, "us-central1-a", "kinema-missing", "wf-4/delete/x", Deadline()).ok());
  auto get = gce->GetInstance("us-central1-a", "kinema-missing");
  EXPECT_EQ(ClassifyCloudError(get.status()), CloudErrorKind::kNotFound);
  auto r = sim.Raw("GET", ZonePath("us-central1-a") + "/instances/kinema-missing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["error"]["errors"][0]["reason"], "notFound");
  EXPECT_EQ(sim.Report()["cloud"]["instancesDeleted"], 0);
}

TEST(GceSimTest, StockoutSurfacesAsZoneResourcePoolExhausted) {
  GceSim sim(json{{"cloud",
                   {{"stockouts", json::array({{{"zone", "us-central1-a"}, {"machineType", "e2-standard-4"},
                                                {"from", "0s"}, {"until", "1000h"}}})}}}});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gce = sim.Provider();
  InstanceSpec a = Spec("wf-5/boot/a", "us-central1-a", "e2-standard-4", CapacityType::kOnDemand);
  auto op = gce->InsertInstance(a);
  ASSERT_TRUE(op.ok()) << op.status().ToString();  // accepted; fails inside the operation
  auto done = gce->WaitOperation(*op, Deadline());
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(ClassifyCloudError(done->error), CloudErrorKind::kZoneResourcePoolExhausted) << done->error.ToString();
  EXPECT_TRUE(IsCapacityError(ClassifyCloudError(done->error)));
  auto ensure = EnsureInstance(*gce, a, Deadline());
  EXPECT_EQ(ClassifyCloudError(ensure.status()), CloudErrorKind::kZoneResourcePoolExhausted);
  EXPECT_EQ(ClassifyCloudError(gce->GetInstance("us-central1-a", a.name).status()), CloudErrorKind::kNotFound);
  // The wire: the error rides in the DONE operation.
  json raw = sim.GetJson(ZonePath("us-central1-a") + "/operations/" + op->name);
  EXPECT_EQ(raw["status"], "DONE");
  EXPECT_EQ(raw["error"]["errors"][0]["code"], "ZONE_RESOURCE_POOL_EXHAUSTED");
  EXPECT_EQ(raw["httpErrorStatusCode"], 503);

  // Another zone, or another type, has capacity.
  InstanceSpec b = Spec("wf-5/boot/b", "us-central1-b", "e2-standard-4", CapacityType::kOnDemand);
  EXPECT_TRUE(EnsureInstance(*gce, b, Deadline()).ok());
  InstanceSpec c = Spec("wf-5/boot/c", "us-central1-a", "e2-standard-8", CapacityType::kOnDemand);
  EXPECT_TRUE(EnsureInstance(*gce, c, Deadline()).ok());
  json report = sim.Report();
  EXPECT_EQ(report["cloud"]["instancesCreated"], 2);
  EXPECT_EQ(report["cloud"]["duplicateCreateRequests"], 0);
}

TEST(GceSimTest, QuotaExceededInsideOperation) {
  // 16 vCPUs already run in us-central1; 24 allowed.
  GceSim sim(json{{"cloud", {{"quotas", {{"cpus", 24}}}}}});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gce = sim.Provider();
  ASSERT_TRUE(EnsureInstance(*gce, Spec("wf-6/boot/0", "us-central1-a", "e2-standard-8", CapacityType::kOnDemand),
                             Deadline())
                  .ok());
  InstanceSpec over = Spec("wf-6/boot/1", "us-central1-b", "e2-standard-4", CapacityType::kOnDemand);
  auto op = gce->InsertInstance(over);
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  auto done = gce->WaitOperation(*op, Deadline());
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(ClassifyCloudError(done->error), CloudErrorKind::kQuotaExceeded) << done->error.ToString();
  EXPECT_NE(done->error.message().find("Quota 'CPUS' exceeded.  Limit: 24.0 in region us-central1."), std::string::npos)
      << done->error.message();
  json raw = sim.GetJson(ZonePath("us-central1-b") + "/operations/" + op->name);
  EXPECT_EQ(raw["error"]["errors"][0]["code"], "QUOTA_EXCEEDED");
  EXPECT_EQ(raw["httpErrorStatusCode"], 403);
  // Freeing CPUs makes room again (a deleted instance no longer counts).
  ASSERT_TRUE(EnsureInstanceDeleted(*gce, "us-central1-a", "node-a", "retire/node-a", Deadline()).ok());
  over.idempotency_key = "wf-6/boot/1/retry";
  EXPECT_TRUE(GceSim::Eventually([&] { return EnsureInstance(*gce, over, Deadline()).ok(); }));
  json report = sim.Report();
  EXPECT_EQ(report["cloud"]["instancesCreated"], 2);
  EXPECT_EQ(report["cloud"]["instancesDeleted"], 1);
}

TEST(GceSimTest, DeletingInstanceMakesItsNodeNotReadyThenRemovesIt) {
  GceSim sim(json{{"cloud", {{"deleteDelay", "10s"}, {"nodeNotReadyDelay", "5s"}, {"nodeRemoveDelay", "600s"}}}});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gce = sim.Provider();
  InstanceSpec spec = Spec("wf-7/boot/0", "us-central1-a", "e2-standard-4", CapacityType::kOnDemand);
  ASSERT_TRUE(EnsureInstance(*gce, spec, Deadline()).ok());
  ASSERT_TRUE(GceSim::Eventually([&] { return !sim.Node(spec.name).is_null(); }));

  auto op = gce->DeleteInstance("us-central1-a", spec.name, "wf-7/delete/0");
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  auto again = gce->DeleteInstance("us-central1-a", spec.name, "wf-7/delete/0");  // retried: same operation
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->name, op->name);
  auto in = gce->GetInstance("us-central1-a", spec.name);
  if (in.ok()) {
    EXPECT_EQ(in->status, "STOPPING");
  }
  auto done = gce->WaitOperation(*op, Deadline());
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->error.ok());
  EXPECT_EQ(ClassifyCloudError(gce->GetInstance("us-central1-a", spec.name).status()), CloudErrorKind::kNotFound);

  json node;
  ASSERT_TRUE(GceSim::Eventually([&] {
    node = sim.Node(spec.name);
    const json* ready = node.is_null() ? nullptr : FindCondition(node, "Ready");
    return ready != nullptr && (*ready)["status"] == "Unknown";
  }));
  bool unreachable = false;
  for (const auto& t : node["spec"]["taints"]) {
    unreachable |= t["key"] == "node.kubernetes.io/unreachable" && t["effect"] == "NoExecute";
  }
  EXPECT_TRUE(unreachable) << node.dump();
  ASSERT_TRUE(GceSim::Eventually([&] { return sim.Node(spec.name).is_null(); }));

  // An original (adopted) node's instance can be deleted the same way.
  ASSERT_TRUE(EnsureInstanceDeleted(*gce, "us-central1-b", "node-b", "retire/node-b", Deadline()).ok());
  ASSERT_TRUE(GceSim::Eventually([&] { return sim.Node("node-b").is_null(); }));
  json report = sim.Report();
  EXPECT_EQ(report["cloud"]["instancesCreated"], 1);
  EXPECT_EQ(report["cloud"]["instancesDeleted"], 2);
  EXPECT_EQ(report["cloud"]["orphanInstances"], 0);
  EXPECT_EQ(report["cloud"]["instances"], 2);
  EXPECT_EQ(report["nodes"], 2);
}

TEST(GceSimTest, ConcurrentDeleteWithAnotherKeyWaitsForTheFirstThenIsDone) {
  // 100 ms of wall time: long enough for the raw DELETE right after the
  // first to find it still running, short enough for the provider's retry
  // window for resourceNotReady (4 jittered backoffs, at least ~190 ms
  // here). At 200 ms the test depended on the jitter: the smallest draws
  // (13+21+44+93 ms) gave up before the first delete finished (1 run in 12
  // under load).
  GceSim sim(json{{"cloud", {{"deleteDelay", "100s"}}}});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gce = sim.Provider();
  ASSERT_TRUE(gce->DeleteInstance("us-central1-a", "node-a", "first").ok());
  auto r = sim.Raw("DELETE", ZonePath("us-central1-a") + "/instances/node-a?requestId=" +
                                 RequestIdFor("instances.delete", "raw"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["errors"][0]["reason"], "resourceNotReady");
  // The provider retries resourceNotReady, then sees notFound: done.
  EXPECT_TRUE(EnsureInstanceDeleted(*gce, "us-central1-a", "node-a", "second", Deadline()).ok());
  EXPECT_EQ(sim.Report()["cloud"]["instancesDeleted"], 1);
}

TEST(GceSimTest, ReportCountsOrphanInstancesAndBilledCost) {
  GceSim sim(json::object());
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gce = sim.Provider();
  InstanceSpec spec = Spec("wf-8/boot/0", "us-central1-a", "e2-standard-8", CapacityType::kOnDemand);
  ASSERT_TRUE(EnsureInstance(*gce, spec, Deadline()).ok());
  ASSERT_TRUE(GceSim::Eventually([&] { return !sim.Node(spec.name).is_null(); }));
  EXPECT_EQ(sim.Report()["cloud"]["orphanInstances"], 0);
  // Someone deletes the Node but not the instance: the instance is an orphan, still billed.
  EXPECT_EQ(sim.Raw("DELETE", "/api/v1/nodes/" + spec.name).status, 200);
  json report = sim.Report();
  EXPECT_EQ(report["cloud"]["orphanInstances"], 1);
  EXPECT_EQ(report["nodes"], 3);
  EXPECT_NEAR(report["costPerHour"].get<double>(), 0.134023 * 2 + 0.0804 + 0.268046, 1e-6);
  EXPECT_NEAR(report["nodesCostPerHour"].get<double>(), 0.134023 * 2 + 0.0804, 1e-6);
  double cost_before = report["totalCost"].get<double>();
  ASSERT_TRUE(EnsureInstanceDeleted(*gce, spec.zone, spec.name, "wf-8/delete/0", Deadline()).ok());
  report = sim.Report();
  EXPECT_EQ(report["cloud"]["orphanInstances"], 0);
  EXPECT_NEAR(report["costPerHour"].get<double>(), 0.134023 * 2 + 0.0804, 1e-6);
  EXPECT_GT(report["totalCost"].get<double>(), cost_before);
  EXPECT_EQ(report["cloud"]["instancesCreated"], 1);
  EXPECT_EQ(report["cloud"]["instancesDeleted"], 1);
  EXPECT_EQ(report["cloud"]["duplicateCreateRequests"], 0);
}

TEST(GceSimTest, TotalCostIsTheIntegralOfCostPerHourOverSimulatedTime) {
  GceSim sim(json::object(), 3600);  // one simulated hour per wall second
  ASSERT_TRUE(sim.ok()) << sim.Log();
  json r1 = sim.Report();
  std::this_thread::sleep_for(500ms);
  json r2 = sim.Report();
  // Three adopted nodes, nothing changes: cost = rate x elapsed simulated hours.
  double rate = r1["costPerHour"].get<double>();
  EXPECT_NEAR(rate, 0.134023 * 2 + 0.0804, 1e-6);
  auto parse = [](const json& r) {
    std::tm tm{};
    strptime(r["time"].get<std::string>().c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return static_cast<double>(timegm(&tm));
  };
  double hours = (parse(r2) - parse(r1)) / 3600.0;
  ASSERT_GT(hours, 0.3);
  EXPECT_NEAR(r2["totalCost"].get<double>() - r1["totalCost"].get<double>(), rate * hours, rate * 2.0 / 3600 + 1e-6)
      << "first report " << r1.dump() << "\nsecond report " << r2.dump();
}

TEST(GceSimTest, NodesCreatedWithoutAnInstanceAreBilledAsNodes) {
  GceSim sim(json::object(), 3600);
  ASSERT_TRUE(sim.ok()) << sim.Log();
  json node{{"apiVersion", "v1"},
            {"kind", "Node"},
            {"metadata",
             {{"name", "hand-made"},
              {"labels", {{"node.kubernetes.io/instance-type", "e2-standard-8"},
                          {"topology.kubernetes.io/zone", "us-central1-b"}}}}}};
  ASSERT_EQ(sim.Raw("POST", "/api/v1/nodes", node.dump()).status, 201);
  json r1 = sim.Report();
  EXPECT_EQ(r1["nodes"], 4);
  EXPECT_EQ(r1["cloud"]["instances"], 3);
  EXPECT_EQ(r1["cloud"]["orphanInstances"], 0);
  EXPECT_NEAR(r1["costPerHour"].get<double>(), 0.134023 * 2 + 0.0804 + 0.268046, 1e-6);
  std::this_thread::sleep_for(400ms);
  json r2 = sim.Report();
  auto parse = [](const json& r) {
    std::tm tm{};
    strptime(r["time"].get<std::string>().c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return static_cast<double>(timegm(&tm));
  };
  double hours = (parse(r2) - parse(r1)) / 3600.0;
  double rate = r1["costPerHour"].get<double>();
  // Integrated by the background loop: within a few simulated minutes of exact.
  EXPECT_NEAR(r2["totalCost"].get<double>() - r1["totalCost"].get<double>(), rate * hours, rate * 300 / 3600);
}

TEST(GceSimTest, WaitReturnsAtDoneOrAfterABoundedTime) {
  GceSim sim(json{{"cloud", {{"bootDelay", "2h"}}}});  // 7.2 s of wall time
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gce = sim.Provider();
  auto op = gce->InsertInstance(Spec("wf-9/boot/0", "us-central1-a", "e2-standard-4", CapacityType::kOnDemand));
  ASSERT_TRUE(op.ok());
  auto start = std::chrono::steady_clock::now();
  auto r = sim.Raw("POST", ZonePath("us-central1-a") + "/operations/" + op->name + "/wait");
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["status"], "RUNNING");
  EXPECT_LT(took, 2s);
  // The provider's wait honours the caller's deadline.
  auto w = gce->WaitOperation(*op, Clock::now() + 300ms);
  EXPECT_EQ(ClassifyCloudError(w.status()), CloudErrorKind::kDeadlineExceeded) << w.status().ToString();
  auto in = gce->GetInstance("us-central1-a", op->target_name);
  ASSERT_TRUE(in.ok());
  EXPECT_TRUE(in->status == "PROVISIONING" || in->status == "STAGING") << in->status;
  // Booting instances are neither orphans nor Nodes yet.
  EXPECT_EQ(sim.Report()["cloud"]["orphanInstances"], 0);
  EXPECT_EQ(sim.Report()["nodes"], 3);
}

TEST(GceSimTest, ListsPaginateAndFilterByLabels) {
  GceSim sim(json::object());
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gce = sim.Provider();
  for (int i = 0; i < 3; ++i) {
    InstanceSpec s = Spec("wf-10/boot/" + std::to_string(i), "us-central1-a", "e2-standard-4", CapacityType::kOnDemand);
    s.labels = {{"kinema-iteration", i < 2 ? "wf-10" : "other"}};
    ASSERT_TRUE(gce->InsertInstance(s).ok());
  }
  auto ours = gce->ListInstances(InstanceFilter{{"us-central1-a", "us-central1-b"}, "", {{"kinema-iteration", "wf-10"}}});
  ASSERT_TRUE(ours.ok()) << ours.status().ToString();
  EXPECT_EQ(ours->size(), 2u);
  auto all = gce->ListInstances(InstanceFilter{});  // no zones configured: aggregated list
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->size(), 6u);  // 3 adopted + 3 booting

  // Raw pagination: maxResults=2 over the 5 instances of us-central1-a.
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    json page = sim.GetJson(ZonePath("us-central1-a") + "/instances?maxResults=2" +
                            (token.empty() ? "" : "&pageToken=" + token));
    ++pages;
    for (const auto& item : page["items"]) names.push_back(item["name"]);
    token = page.value("nextPageToken", "");
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(names.size(), 5u);
  json filtered = sim.GetJson(ZonePath("us-central1-a") + "/instances?filter=" +
                              http::UrlEncode("(name eq \"node-.*\") AND (status = RUNNING)"));
  EXPECT_EQ(filtered["items"].size(), 2u) << filtered.dump();
  auto bad = sim.Raw("GET", ZonePath("us-central1-a") + "/instances?filter=" + http::UrlEncode("cpu > 3"));
  EXPECT_EQ(bad.status, 400);
}

TEST(GceSimTest, MachineTypesComeFromTheCatalog) {
  GceSim sim(json::object());
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gce = sim.Provider();
  auto types = gce->ListMachineTypes("us-central1-a");
  ASSERT_TRUE(types.ok()) << types.status().ToString();
  ASSERT_EQ(types->size(), 2u);
  EXPECT_EQ((*types)[0].name, "e2-standard-4");
  EXPECT_EQ((*types)[0].guest_cpus, 4);
  EXPECT_EQ((*types)[0].memory_mb, 16384);
  EXPECT_EQ((*types)[1].guest_cpus, 8);
  auto one = gce->GetMachineType("us-central1-b", "e2-standard-8");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->memory_mb, 32768);
  EXPECT_EQ(ClassifyCloudError(gce->GetMachineType("us-central1-a", "n2-standard-2").status()), CloudErrorKind::kNotFound);
  // Booting a type the zone does not offer is invalid, synchronously.
  auto op = gce->InsertInstance(Spec("wf-11/boot/0", "us-central1-a", "n2-standard-2", CapacityType::kOnDemand));
  EXPECT_EQ(ClassifyCloudError(op.status()), CloudErrorKind::kInvalid) << op.status().ToString();
  // Another project does not exist.
  EXPECT_EQ(sim.Raw("GET", "/compute/v1/projects/nope/zones/us-central1-a/instances").status, 404);
}

TEST(GceSimTest, NodeFailureAndSpotPreemptionEventsTerminateInstancesAndRemoveNodes) {
  GceSim sim(json{{"cloud", {{"nodeNotReadyDelay", "40s"}, {"nodeRemoveDelay", "5s"}}},
                  {"events", json::array({{{"kind", "nodeFailure"}, {"at", "10s"}, {"node", "node-b"}},
                                          {{"kind", "spotPreemption"}, {"at", 10}, {"count", 1}},
                                          {{"kind", "loadSurge"}, {"at", "1m"}, {"deployment", "shop/web"}, {"factor", 2}, {"duration", "1m"}}})}});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  ASSERT_TRUE(GceSim::Eventually([&] { return sim.Node("node-b").is_null() && sim.Node("node-c").is_null(); }))
      << sim.Log();
  EXPECT_FALSE(sim.Node("node-a").is_null());
  auto gce = sim.Provider();
  auto failed = gce->GetInstance("us-central1-b", "node-b");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->status, "TERMINATED");
  // The preempted spot instance (termination action DELETE) is gone.
  EXPECT_TRUE(GceSim::Eventually([&] {
    return ClassifyCloudError(gce->GetInstance("us-central1-a", "node-c").status()) == CloudErrorKind::kNotFound;
  }));
  json report = sim.Report();
  EXPECT_EQ(report["cloud"]["instancesFailed"], 1);
  EXPECT_EQ(report["cloud"]["instancesPreempted"], 1);
  EXPECT_EQ(report["cloud"]["orphanInstances"], 0);  // TERMINATED is not an orphan
  EXPECT_EQ(report["cloud"]["instancesDeleted"], 0);
  EXPECT_NEAR(report["costPerHour"].get<double>(), 0.134023, 1e-6);  // only node-a is billed
}

// instances.simulateMaintenanceEvent: GCE's way to test a preemption. A
// spot instance is preempted at once (as a spotPreemption event); an
// on-demand one live-migrates and nothing changes.
TEST(GceSimTest, SimulatedMaintenancePreemptsASpotInstanceAndLeavesAnOnDemandOneRunning) {
  GceSim sim(json{{"cloud", {{"nodeNotReadyDelay", "40s"}, {"nodeRemoveDelay", "5s"}}}});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto on_demand = sim.Raw("POST", ZonePath("us-central1-a") + "/instances/node-a/simulateMaintenanceEvent");
  EXPECT_EQ(on_demand.status, 200) << on_demand.body;
  auto spot = sim.Raw("POST", ZonePath("us-central1-a") + "/instances/node-c/simulateMaintenanceEvent");
  ASSERT_EQ(spot.status, 200) << spot.body;
  EXPECT_EQ(json::parse(spot.body).value("operationType", ""), "simulateMaintenanceEvent") << spot.body;
  ASSERT_TRUE(GceSim::Eventually([&] { return sim.Node("node-c").is_null(); })) << sim.Log();
  EXPECT_FALSE(sim.Node("node-a").is_null());
  json report = sim.Report();
  EXPECT_EQ(report["cloud"]["instancesPreempted"], 1) << report.dump();
  EXPECT_EQ(sim.Raw("POST", ZonePath("us-central1-a") + "/instances/node-c/simulateMaintenanceEvent").status, 404)
      << "a preempted (deleted) spot instance is gone";
  EXPECT_EQ(sim.Raw("POST", ZonePath("us-central1-a") + "/instances/nope/simulateMaintenanceEvent").status, 404);
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// An unreliable cloud (kinema-sim --faults on compute.*): half the answers
// are lost after the request was carried out, a fifth of the requests fail
// with 500 backendError. The client's retries with the same requestId still
// create and delete each instance exactly once.
TEST(GceSimTest, CreateAndDeleteSucceedThroughLostResponsesAndServerErrors) {
  json faults{{"rules", {{{"resource", "compute.*"}, {"lostResponseRate", 0.5}, {"error500Rate", 0.2}}}}};
  GceSim sim(json::object(), 1000, faults, /*seed=*/7);
  ASSERT_TRUE(sim.ok()) << sim.Log();
  // 60% of attempts fail: 20 attempts all fail with probability 4e-5 per
  // call. (The seed fixes the draws, but how many waits an operation takes
  // depends on timing, so which call sees which draw may vary.)
  auto gce = sim.Provider({}, /*max_attempts=*/20);
  std::vector<InstanceSpec> specs;
  for (int i = 0; i < 3; ++i) {
    specs.push_back(Spec("wf-faults/boot/" + std::to_string(i), i % 2 ? "us-central1-b" : "us-central1-a",
                         "e2-standard-4", CapacityType::kOnDemand));
    auto in = EnsureInstance(*gce, specs.back(), Deadline(30000ms));
    ASSERT_TRUE(in.ok()) << in.status().ToString();
    EXPECT_EQ(in->status, "RUNNING");
    EXPECT_EQ(in->name, specs.back().name);
  }
  for (const auto& spec : specs) {
    EXPECT_TRUE(GceSim::Eventually([&] { return !sim.Node(spec.name).is_null(); })) << spec.name;
  }
  json report = sim.Report();
  EXPECT_EQ(report["cloud"]["instancesCreated"], 3);
  EXPECT_EQ(report["cloud"]["duplicateCreateRequests"], 0);
  EXPECT_EQ(report["cloud"]["orphanInstances"], 0);

  for (size_t i = 0; i < specs.size(); ++i) {
    Status s = EnsureInstanceDeleted(*gce, specs[i].zone, specs[i].name, "wf-faults/delete/" + std::to_string(i),
                                     Deadline(30000ms));
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  EXPECT_TRUE(GceSim::Eventually([&] { return sim.Report()["cloud"]["instances"] == 3; }))  // the adopted ones
      << sim.Report().dump();
  report = sim.Report();
  EXPECT_EQ(report["cloud"]["instancesCreated"], 3);
  EXPECT_EQ(report["cloud"]["instancesDeleted"], 3);
  EXPECT_EQ(report["cloud"]["duplicateCreateRequests"], 0);
  EXPECT_EQ(report["cloud"]["orphanInstances"], 0);
  // The faults did happen, on the mutations too.
  std::string log = sim.Log();
  EXPECT_GT(Count(log, "fault: create compute.instances -> 503 backendError"), 0u) << log;
  EXPECT_GT(Count(log, "response lost"), 0u) << log;
  EXPECT_GT(Count(log, "-> 500 backendError"), 0u) << log;
}

TEST(GceSimTest, BadScenarioIsRejectedNamingTheKey) {
  GceSim sim(json{{"cloud", {{"bootDelay", "soon"}}}});
  EXPECT_FALSE(sim.ok());
  EXPECT_NE(sim.Log().find("cloud.bootDelay"), std::string::npos) << sim.Log();
}

}  // namespace
}  // namespace kinema::cloud
