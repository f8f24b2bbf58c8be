// engine/cloud's GkeCloudProvider (and the GCE provider's template mode)
// against the real kinema-sim binary in `cloud.mode: gke`: node pools are
// created on first need, nodes join only as members of a pool's group,
// stockouts and quotas come back typed with the stuck member deleted, a
// member deleted behind the group's back comes back under its name, pool
// creation is found again after a restart, and all of it through an
// unreliable API. Simulated time runs 1000x faster than wall time.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <thread>

#include "engine/catalog/catalog.h"
#include "engine/cloud/gce_provider.h"
#include "engine/cloud/gke_provider.h"
#include "engine/http/http_client.h"
#include "tests/sim/sim_process.h"

namespace kinema::cloud {
namespace {

using nlohmann::json;
using simtest::SimProcess;
using namespace std::chrono_literals;

constexpr const char* kProject = "demo";  // the small snapshot's providerIDs
constexpr const char* kRegion = "us-central1";
constexpr const char* kZoneA = "us-central1-a";
constexpr const char* kZoneB = "us-central1-b";

json TestCatalog() {
  json zones = json::array({kZoneA, kZoneB});
  return json{{"provider", "gce"},
              {"region", kRegion},
              {"currency", "USD"},
              {"machineTypes",
               json::array({{{"name", "e2-standard-4"}, {"vcpu", 4}, {"memoryMiB", 16384}, {"zones", zones},
                             {"pricePerHour", {{"onDemand", 0.134012}, {"spot", 0.040207}}},
                             {"labels", {{"cloud.google.com/gke-nodepool", "pool-e2-4"}, {"tier", "general"}}}},
                            {{"name", "e2-standard-8"}, {"vcpu", 8}, {"memoryMiB", 32768}, {"zones", zones},
                             {"pricePerHour", {{"onDemand", 0.268024}, {"spot", 0.080414}}}},
                            {{"name", "n2-standard-4"}, {"vcpu", 4}, {"memoryMiB", 16384}, {"zones", zones},
                             {"pricePerHour", {{"onDemand", 0.194236}, {"spot", 0.04696}}}}})},
              {"spot",
               {{"labels", {{"kinema.io/capacity-type", "spot"}}},
                {"taints", json::array({{{"key", "kinema.io/spot"}, {"value", "true"}, {"effect", "NoSchedule"}}})}}}};
}

json SnapshotNode(const std::string& name, const std::string& zone, const std::string& type, bool spot,
                  const json& extra_labels) {
  json labels{{"kubernetes.io/hostname", name},
              {"node.kubernetes.io/instance-type", type},
              {"topology.kubernetes.io/zone", zone},
              {"kubernetes.io/os", "linux"}};
  if (spot) labels["cloud.google.com/gke-spot"] = "true";
  for (auto& [k, v] : extra_labels.items()) labels[k] = v;
  return json{{"apiVersion", "v1"},
              {"kind", "Node"},
              {"metadata", {{"name", name}, {"labels", labels}, {"creationTimestamp", "2026-01-01T00:00:00Z"}}},
              {"spec", {{"providerID", "gce://demo/" + zone + "/" + name}}},
              {"status",
               {{"capacity", {{"cpu", "4"}, {"memory", "16Gi"}, {"pods", "110"}}},
                {"allocatable", {{"cpu", "3920m"}, {"memory", "13Gi"}, {"pods", "110"}}},
                {"conditions", json::array({{{"type", "Ready"}, {"status", "True"}, {"reason", "KubeletReady"}}})}}}};
}

// Nodes of two operator pools: "general" (labelled for Kinema) and "batch".
json PoolSnapshot() {
  json general{{"cloud.google.com/gke-nodepool", "general"}, {"kinema.io/managed-pool", "true"}};
  json batch{{"cloud.google.com/gke-nodepool", "batch"}};
  return json{{"apiVersion", "v1"},
              {"kind", "List"},
              {"items", json::array({SnapshotNode("gen-a", kZoneA, "e2-standard-4", false, general),
                                     SnapshotNode("gen-b", kZoneB, "e2-standard-4", false, general),
                                     SnapshotNode("batch-a", kZoneA, "e2-standard-8", true, batch)})}};
}

class GkeSim {
 public:
  explicit GkeSim(json cloud = json::object(), const json& faults = nullptr, double time_scale = 1000,
                  const json& snapshot = nullptr) {
    char tmpl[] = "/tmp/kinema-gke-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    if (!cloud.contains("mode")) cloud["mode"] = "gke";
    std::ofstream(dir_ + "/catalog.json") << TestCatalog().dump();
    json scenario{{"cloud", cloud}};
    if (cloud.contains("events")) {
      scenario["events"] = cloud["events"];
      scenario["cloud"].erase("events");
    }
    std::ofstream(dir_ + "/scenario.json") << scenario.dump();
    std::vector<std::string> args{"--catalog", dir_ + "/catalog.json", "--scenario", dir_ + "/scenario.json",
                                  "--time-scale", std::to_string(time_scale)};
    if (!snapshot.is_null()) {
      std::ofstream(dir_ + "/snapshot.json") << snapshot.dump();
      args.insert(args.end(), {"--snapshot", dir_ + "/snapshot.json"});
    }
    if (!faults.is_null()) {
      std::ofstream(dir_ + "/faults.json") << faults.dump();
      args.insert(args.end(), {"--faults", dir_ + "/faults.json", "--seed", "7"});
    }
    sim_ = std::make_unique<SimProcess>(args);
    catalog_ = ParseCatalog(TestCatalog()).value();
  }
  ~GkeSim() {
    sim_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool ok() const { return sim_->ok(); }
  std::string Log() const { return sim_->Log(); }

  GceOptions Compute() const {
    GceOptions o;
    o.endpoint = sim_->Url() + "/compute/v1";
    o.project = kProject;
    o.poll_interval = 10ms;
    o.retry.initial_backoff = 10ms;
    o.retry.max_backoff = 100ms;
    o.retry.max_attempts = 8;
    return o;
  }
  std::unique_ptr<GkeCloudProvider> Gke(NodePoolMode mode = NodePoolMode::kCreate) const {
    GkeOptions g;
    g.compute = Compute();
    g.container_endpoint = sim_->Url() + "/container/v1";
    g.location = kRegion;
    g.cluster = "sim-cluster";
    g.pool_mode = mode;
    g.catalog = catalog_;
    g.pool_cache_ttl = 0ms;
    auto p = GkeCloudProvider::Create(g, NewNoTokenSource(), http_);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? std::move(*p) : nullptr;
  }
  std::unique_ptr<GceCloudProvider> Gce(const std::string& instance_template = "") const {
    GceOptions o = Compute();
    o.instance_template = instance_template;
    auto p = GceCloudProvider::Create(o, NewNoTokenSource(), http_);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? std::move(*p) : nullptr;
  }

  http::Response Raw(const std::string& method, const std::string& path, const std::string& body = "") const {
    http::Request r;
    r.method = method;
    r.url = sim_->Url() + path;
    r.body = body;
    if (!body.empty()) r.headers.push_back({"Content-Type", "application/json"});
    auto resp = http_->Do(r);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    return resp.ok() ? *resp : http::Response{};
  }
  json Get(const std::string& path) const { return json::parse(Raw("GET", path).body, nullptr, false); }
  json Report() const { return Get("/sim/v1/report"); }
  json Node(const std::string& name) const {
    auto r = Raw("GET", "/api/v1/nodes/" + name);
    return r.status == 200 ? json::parse(r.body) : json();
  }
  static bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10000ms) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }

 private:
  std::string dir_;
  std::unique_ptr<SimProcess> sim_;
  Catalog catalog_;
  std::shared_ptr<http::HttpClient> http_ = std::make_shared<http::HttpClient>();
};

NodeSpec Spec(const std::string& key, const std::string& zone, const std::string& type, CapacityType cap) {
  NodeSpec s;
  s.key = key;
  s.zone = zone;
  s.machine_type = type;
  s.capacity = cap;
  return s;
}

Clock::time_point In(std::chrono::milliseconds d = 20000ms) { return Clock::now() + d; }

// Calls LaunchNode until it says running or failed.
NodeStatus LaunchUntilSettled(CloudProvider& p, const NodeSpec& spec) {
  auto st = EnsureNodeLaunched(p, spec, In(), 20ms);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  return st.ok() ? *st : NodeStatus{};
}

bool IsReady(const json& node) {
  if (!node.is_object()) return false;
  for (const auto& c : node["status"].value("conditions", json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

TEST(GkeSim, PoolIsCreatedOnFirstNeedAndItsMemberRegistersAsANodeOfThatPool) {
  GkeSim sim;
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gke = sim.Gke();
  ASSERT_NE(gke, nullptr);
  uint64_t created_before = sim.Report()["cloud"]["instancesCreated"].get<uint64_t>();

  NodeSpec spec = Spec("wf-1/new-1/us-central1-a/e2-standard-8", kZoneA, "e2-standard-8", CapacityType::kSpot);
  EXPECT_EQ(gke->NodeGroupFor("e2-standard-8", CapacityType::kSpot), "kinema-e2-standard-8-spot");
  NodeStatus st = LaunchUntilSettled(*gke, spec);
  ASSERT_EQ(st.state, NodeState::kRunning) << st.detail << "\n" << sim.Log();
  EXPECT_EQ(st.group, "kinema-e2-standard-8-spot");
  // <baseInstanceName>-k<hash>, the base as GKE builds it (cluster and pool names cut to 20 characters).
  EXPECT_EQ(st.instance_name.rfind("gke-sim-cluster-kinema-e2-standard-8-", 0), 0u) << st.instance_name;
  EXPECT_EQ(st.provider_id, "gce://demo/us-central1-a/" + st.instance_name);

  // The pool: autoscaling off, Kinema's label, the catalog's labels and taints (not its gke-nodepool).
  auto pool = gke->GetNodePool("kinema-e2-standard-8-spot");
  ASSERT_TRUE(pool.ok()) << pool.status().ToString();
  EXPECT_FALSE(pool->autoscaling_enabled);
  EXPECT_EQ(pool->node_labels.at("kinema.io/managed-pool"), "true");
  EXPECT_EQ(pool->node_labels.at("kinema.io/capacity-type"), "spot");
  EXPECT_TRUE(pool->spot);
  EXPECT_EQ(pool->locations, (std::vector<std::string>{kZoneA, kZoneB}));

  // The Node: registered by GKE's rules, labelled by its pool.
  json node;
  ASSERT_TRUE(GkeSim::Eventually([&] {
    node = sim.Node(st.instance_name);
    return IsReady(node);
  })) << sim.Log();
  const json& labels = node["metadata"]["labels"];
  EXPECT_EQ(labels["cloud.google.com/gke-nodepool"], "kinema-e2-standard-8-spot");
  EXPECT_EQ(labels["cloud.google.com/gke-spot"], "true");
  EXPECT_EQ(labels["kinema.io/managed-pool"], "true");
  EXPECT_EQ(labels["node.kubernetes.io/instance-type"], "e2-standard-8");
  EXPECT_EQ(node["spec"]["providerID"], st.provider_id);
  bool tainted = false;
  for (const auto& t : node["spec"].value("taints", json::array())) tainted |= t.value("key", "") == "kinema.io/spot";
  EXPECT_TRUE(tainted) << node.dump();

  // Idempotent: the same key finds the same member; nothing else is created.
  NodeStatus again = LaunchUntilSettled(*gke, spec);
  EXPECT_EQ(again.state, NodeState::kRunning);
  EXPECT_EQ(again.instance_name, st.instance_name);
  auto described = gke->DescribeNode(spec);
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->state, NodeState::kRunning);
  json report = sim.Report();
  EXPECT_EQ(report["cloud"]["instancesCreated"].get<uint64_t>(), created_before + 1);
  EXPECT_EQ(report["cloud"]["duplicateCreateRequests"], 0);
  EXPECT_EQ(report["cloud"]["nonMemberInstances"], 0);
  auto ops = gke->ListClusterOperations();
  ASSERT_TRUE(ops.ok());
  int creates = 0;
  for (const auto& op : *ops) creates += op.operation_type == "CREATE_NODE_POOL" ? 1 : 0;
  EXPECT_EQ(creates, 1);

  // Kinema's nodes are the members of its pools (the snapshot's default-pool is not one).
  auto managed = gke->ListManagedNodes();
  ASSERT_TRUE(managed.ok());
  ASSERT_EQ(managed->size(), 1u);
  EXPECT_EQ((*managed)[0].instance_name, st.instance_name);
  EXPECT_EQ((*managed)[0].group, "kinema-e2-standard-8-spot");

  // Retire through the group.
  uint64_t deleted_before = report["cloud"]["instancesDeleted"].get<uint64_t>();
  ASSERT_TRUE(EnsureNodeRetired(*gke, NodeRef{kZoneA, st.instance_name, st.group}, "wf-1/retire/" + st.instance_name,
                                In(), 20ms)
                  .ok());
  EXPECT_EQ(sim.Report()["cloud"]["instancesDeleted"].get<uint64_t>(), deleted_before + 1);
  auto after = gke->ListManagedNodes();
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
  EXPECT_TRUE(GkeSim::Eventually([&] { return sim.Node(st.instance_name).is_null(); })) << sim.Log();
}

TEST(GkeSim, StockoutInOneZoneAndQuotaOnOneTypeAreTypedAndTheStuckMemberIsDeleted) {
  json cloud{{"stockouts", json::array({{{"zone", kZoneA}, {"machineType", "e2-standard-8"}}})},
             {"quotas", {{"familyCpus", {{"n2", 2}}}}}};
  GkeSim sim(cloud);
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gke = sim.Gke();
  ASSERT_NE(gke, nullptr);

  NodeSpec a = Spec("wf-2/new-1/us-central1-a/e2-standard-8", kZoneA, "e2-standard-8", CapacityType::kOnDemand);
  NodeStatus st = LaunchUntilSettled(*gke, a);
  ASSERT_EQ(st.state, NodeState::kFailed) << st.detail;
  EXPECT_EQ(ClassifyCloudError(st.error), CloudErrorKind::kZoneResourcePoolExhausted) << st.error.ToString();
  EXPECT_NE(st.detail.find("deleted the stuck member"), std::string::npos) << st.detail;
  bool marked = false;
  for (const auto& u : gke->UnavailableOfferings()) {
    marked |= u.machine_type == "e2-standard-8" && u.zone == kZoneA && u.capacity == CapacityType::kOnDemand;
  }
  EXPECT_TRUE(marked);
  // The stuck member leaves its group: nothing keeps targetSize inflated.
  auto pool = gke->GetNodePool("kinema-e2-standard-8-od");
  ASSERT_TRUE(pool.ok());
  GroupRef group;
  for (const auto& url : pool->instance_group_urls) {
    GroupRef g;
    if (ParseGroupUrl(url, &g) && g.zone == kZoneA) group = g;
  }
  ASSERT_FALSE(group.name.empty());
  EXPECT_TRUE(GkeSim::Eventually([&] {
    auto members = gke->ListMembers(group);
    return members.ok() && members->empty();
  })) << sim.Log();
  EXPECT_TRUE(GkeSim::Eventually([&] { return sim.Report()["cloud"]["stuckMembers"] == 0; }));
  // The same key stays failed.
  auto retry = gke->LaunchNode(a);
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->state, NodeState::kFailed) << retry->detail;
  EXPECT_EQ(ClassifyCloudError(retry->error), CloudErrorKind::kSpent) << retry->error.ToString();
  EXPECT_TRUE(ShouldTryAnotherOffering(ClassifyCloudError(retry->error)));

  // Fallback 1: the same type in the other zone.
  NodeStatus b = LaunchUntilSettled(*gke, Spec("wf-2/new-1/us-central1-b/e2-standard-8", kZoneB, "e2-standard-8",
                                               CapacityType::kOnDemand));
  EXPECT_EQ(b.state, NodeState::kRunning) << b.detail;

  // Quota on one family: typed, and it names the quota.
  NodeStatus q = LaunchUntilSettled(*gke, Spec("wf-2/new-2/us-central1-a/n2-standard-4", kZoneA, "n2-standard-4",
                                               CapacityType::kOnDemand));
  ASSERT_EQ(q.state, NodeState::kFailed);
  EXPECT_EQ(ClassifyCloudError(q.error), CloudErrorKind::kQuotaExceeded) << q.error.ToString();
  EXPECT_NE(q.error.message().find("N2_CPUS"), std::string::npos);
  // Fallback 2: another type.
  NodeStatus other = LaunchUntilSettled(*gke, Spec("wf-2/new-2/us-central1-a/e2-standard-4", kZoneA, "e2-standard-4",
                                                   CapacityType::kOnDemand));
  EXPECT_EQ(other.state, NodeState::kRunning) << other.detail;
  EXPECT_EQ(sim.Report()["cloud"]["duplicateCreateRequests"], 0);
}

TEST(GkeSim, AnInstanceThatIsNoGroupsMemberNeverRegisters) {
  GkeSim sim;
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gke = sim.Gke();
  InstanceSpec spec;
  spec.name = "kinema-bare";
  spec.zone = kZoneA;
  spec.machine_type = "e2-standard-4";
  spec.idempotency_key = "bare";
  auto refused = gke->InsertInstance(spec);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("member of a node pool"), std::string::npos);

  // A bare instances.insert (what the gce provider would do) runs, but never joins.
  auto gce = sim.Gce();
  auto inst = EnsureInstance(*gce, spec, In());
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  EXPECT_EQ(inst->status, "RUNNING");
  ASSERT_TRUE(GkeSim::Eventually([&] { return sim.Report()["cloud"]["nonMemberInstances"] == 1; })) << sim.Log();
  EXPECT_TRUE(sim.Node("kinema-bare").is_null());
}

TEST(GkeSim, AMemberDeletedBehindItsGroupsBackComesBackUnderItsName) {
  GkeSim sim;
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gke = sim.Gke();
  NodeSpec spec = Spec("wf-3/new-1/us-central1-b/e2-standard-4", kZoneB, "e2-standard-4", CapacityType::kOnDemand);
  NodeStatus st = LaunchUntilSettled(*gke, spec);
  ASSERT_EQ(st.state, NodeState::kRunning) << st.detail;
  ASSERT_TRUE(GkeSim::Eventually([&] { return IsReady(sim.Node(st.instance_name)); })) << sim.Log();
  std::string uid = sim.Node(st.instance_name)["metadata"]["uid"];
  auto first = gke->GetInstance(kZoneB, st.instance_name);
  ASSERT_TRUE(first.ok());

  // instances.delete on a member: the group repairs it (never do this to retire a node).
  auto gce = sim.Gce();
  ASSERT_TRUE(EnsureInstanceDeleted(*gce, kZoneB, st.instance_name, "behind-the-back", In()).ok());
  ASSERT_TRUE(GkeSim::Eventually([&] {
    auto again = gke->GetInstance(kZoneB, st.instance_name);
    return again.ok() && again->id != first->id && again->status == "RUNNING";
  })) << sim.Log();
  ASSERT_TRUE(GkeSim::Eventually([&] {
    json n = sim.Node(st.instance_name);
    return IsReady(n) && n["metadata"]["uid"] != uid;
  })) << sim.Log();
  auto described = gke->DescribeNode(spec);
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->state, NodeState::kRunning);
  auto managed = gke->ListManagedNodes();
  ASSERT_TRUE(managed.ok());
  ASSERT_EQ(managed->size(), 1u);

  // The raw DeleteInstance under gke goes through the group: no recreation.
  ASSERT_TRUE(EnsureInstanceDeleted(*gke, kZoneB, st.instance_name, "retire", In()).ok());
  EXPECT_TRUE(GkeSim::Eventually([&] {
    auto m = gke->ListManagedNodes();
    return m.ok() && m->empty();
  }));
  EXPECT_TRUE(GkeSim::Eventually([&] { return sim.Node(st.instance_name).is_null(); }));
}

TEST(GkeSim, ExistingModeUsesOnlyPoolsTheOperatorLabelled) {
  GkeSim sim;
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gke = sim.Gke(NodePoolMode::kExisting);
  NodeSpec spec = Spec("wf-4/new-1/us-central1-a/e2-standard-4", kZoneA, "e2-standard-4", CapacityType::kOnDemand);
  auto st = gke->LaunchNode(spec);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  ASSERT_EQ(st->state, NodeState::kFailed);
  EXPECT_EQ(ClassifyCloudError(st->error), CloudErrorKind::kNoNodeGroup) << st->error.ToString();
  EXPECT_TRUE(ShouldTryAnotherOffering(ClassifyCloudError(st->error)));
  auto pools = gke->ListNodePools();
  ASSERT_TRUE(pools.ok());
  ASSERT_EQ(pools->size(), 1u) << "nothing created in existing mode";
  EXPECT_EQ((*pools)[0].name, "default-pool");

  // The operator creates and labels a pool.
  json body{{"nodePool",
             {{"name", "ops-general"},
              {"initialNodeCount", 0},
              {"config", {{"machineType", "e2-standard-4"}, {"labels", {{"kinema.io/managed-pool", "true"}}}}}}}};
  auto r = sim.Raw("POST", "/container/v1/projects/demo/locations/us-central1/clusters/sim-cluster/nodePools",
                   body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  NodeStatus ok = LaunchUntilSettled(*gke, Spec("wf-4/new-1b/us-central1-a/e2-standard-4", kZoneA, "e2-standard-4",
                                                CapacityType::kOnDemand));
  EXPECT_EQ(ok.state, NodeState::kRunning) << ok.detail;
  EXPECT_EQ(ok.group, "ops-general");
}

TEST(GkeSim, PoolCreationIsFoundAgainAfterARestartAndABusyClusterIsWaitedFor) {
  GkeSim sim(json{{"nodePoolCreateDelay", "1500s"}});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  NodeSpec first = Spec("wf-5/new-1/us-central1-a/e2-standard-4", kZoneA, "e2-standard-4", CapacityType::kOnDemand);
  NodeSpec second = Spec("wf-5/new-2/us-central1-a/e2-standard-8", kZoneA, "e2-standard-8", CapacityType::kOnDemand);
  std::string op;
  {
    auto gke = sim.Gke();
    auto st = gke->LaunchNode(first);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    ASSERT_EQ(st->state, NodeState::kPreparing) << st->detail;
    op = st->operation;
    ASSERT_FALSE(op.empty());
  }
  {
    // Another pool while the first is being created: GKE refuses; the provider waits.
    auto gke = sim.Gke();
    auto st = gke->LaunchNode(second);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    EXPECT_EQ(st->state, NodeState::kPreparing);
    EXPECT_NE(st->detail.find("busy"), std::string::npos) << st->detail;
  }
  // A restarted controller (a fresh provider) finds the pool and its operation.
  auto gke = sim.Gke();
  auto st = gke->LaunchNode(first);
  ASSERT_TRUE(st.ok());
  if (st->state == NodeState::kPreparing) {
    EXPECT_EQ(st->operation, op);
  }
  EXPECT_EQ(LaunchUntilSettled(*gke, first).state, NodeState::kRunning);
  EXPECT_EQ(LaunchUntilSettled(*gke, second).state, NodeState::kRunning);
  auto ops = gke->ListClusterOperations();
  ASSERT_TRUE(ops.ok());
  int creates = 0;
  for (const auto& o : *ops) creates += o.operation_type == "CREATE_NODE_POOL" ? 1 : 0;
  EXPECT_EQ(creates, 2);
}

TEST(GkeSim, LaunchAndRetireThroughAnUnreliableGkeAndGroupApi) {
  json faults{{"rules",
               json::array({{{"resource", "container.*"}, {"error500Rate", 0.3}, {"lostResponseRate", 0.2}},
                            {{"resource", "compute.instanceGroupManagers"},
                             {"error503Rate", 0.2},
                             {"lostResponseRate", 0.3}}})}};
  GkeSim sim(json::object(), faults);
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gke = sim.Gke();
  std::vector<NodeStatus> launched;
  for (int i = 0; i < 3; ++i) {
    NodeSpec spec = Spec("wf-6/new-" + std::to_string(i) + "/us-central1-a/e2-standard-4", kZoneA, "e2-standard-4",
                         CapacityType::kSpot);
    NodeStatus st = LaunchUntilSettled(*gke, spec);
    ASSERT_EQ(st.state, NodeState::kRunning) << st.detail << "\n" << sim.Log();
    launched.push_back(st);
  }
  json report = sim.Report();
  EXPECT_EQ(report["cloud"]["duplicateCreateRequests"], 0);
  auto managed = gke->ListManagedNodes();
  ASSERT_TRUE(managed.ok()) << managed.status().ToString();
  EXPECT_EQ(managed->size(), 3u);
  for (const auto& st : launched) {
    ASSERT_TRUE(EnsureNodeRetired(*gke, NodeRef{kZoneA, st.instance_name, st.group}, "retire/" + st.instance_name,
                                  In(), 20ms)
                    .ok());
  }
  auto after = gke->ListManagedNodes();
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
  EXPECT_EQ(sim.Report()["cloud"]["orphanInstances"], 0);
}

TEST(GkeSim, SnapshotNodesBelongToThePoolsTheirLabelsNameAndRetireThroughThem) {
  GkeSim sim(json::object(), nullptr, 1000, PoolSnapshot());
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gke = sim.Gke(NodePoolMode::kExisting);
  auto pools = gke->ListNodePools();
  ASSERT_TRUE(pools.ok()) << pools.status().ToString();
  ASSERT_EQ(pools->size(), 2u);
  const NodePool& batch = (*pools)[0];
  const NodePool& general = (*pools)[1];
  EXPECT_EQ(batch.name, "batch");
  EXPECT_TRUE(batch.spot);
  EXPECT_EQ(batch.machine_type, "e2-standard-8");
  EXPECT_EQ(general.name, "general");
  EXPECT_EQ(general.node_labels.at("kinema.io/managed-pool"), "true");
  EXPECT_EQ(general.locations, (std::vector<std::string>{kZoneA, kZoneB}));
  EXPECT_EQ(general.instance_group_urls.size(), 2u);

  // Kinema manages the labelled pool's members only, whatever their names.
  auto managed = gke->ListManagedNodes();
  ASSERT_TRUE(managed.ok());
  std::set<std::string> names;
  for (const auto& n : *managed) names.insert(n.instance_name);
  EXPECT_EQ(names, (std::set<std::string>{"gen-a", "gen-b"}));

  // Any pool's node retires through its own group: no recreation, the Node goes.
  ASSERT_TRUE(EnsureNodeRetired(*gke, NodeRef{kZoneA, "batch-a", "batch"}, "retire/batch-a", In(), 20ms).ok());
  EXPECT_TRUE(GkeSim::Eventually([&] { return sim.Node("batch-a").is_null(); })) << sim.Log();
  auto instance = gke->GetInstance(kZoneA, "batch-a");
  EXPECT_EQ(ClassifyCloudError(instance.status()), CloudErrorKind::kNotFound) << "the group did not recreate it";

  // existing mode adds to the labelled pool.
  NodeStatus st = LaunchUntilSettled(*gke, Spec("wf-8/new-1/us-central1-b/e2-standard-4", kZoneB, "e2-standard-4",
                                                CapacityType::kOnDemand));
  ASSERT_EQ(st.state, NodeState::kRunning) << st.detail;
  EXPECT_EQ(st.group, "general");
  ASSERT_TRUE(GkeSim::Eventually([&] { return IsReady(sim.Node(st.instance_name)); })) << sim.Log();
  EXPECT_EQ(sim.Node(st.instance_name)["metadata"]["labels"]["cloud.google.com/gke-nodepool"], "general");
}

TEST(GkeSim, APreemptedSpotMemberIsRecreatedUnderItsNameAndStaysKinemas) {
  // One spot preemption at 400 simulated seconds: the only spot instance by then is Kinema's.
  GkeSim sim(json{{"events", json::array({{{"kind", "spotPreemption"}, {"at", "400s"}, {"count", 1}}})}}, nullptr,
             1000, PoolSnapshot());
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gke = sim.Gke();
  ASSERT_TRUE(EnsureNodeRetired(*gke, NodeRef{kZoneA, "batch-a", "batch"}, "retire/batch-a", In(), 20ms).ok());
  NodeStatus st = LaunchUntilSettled(*gke, Spec("wf-9/new-1/us-central1-a/e2-standard-4", kZoneA, "e2-standard-4",
                                                CapacityType::kSpot));
  ASSERT_EQ(st.state, NodeState::kRunning) << st.detail;
  auto first = gke->GetInstance(kZoneA, st.instance_name);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(GkeSim::Eventually([&] { return sim.Report()["cloud"]["instancesPreempted"] == 1; })) << sim.Log();
  ASSERT_TRUE(GkeSim::Eventually([&] {
    auto again = gke->GetInstance(kZoneA, st.instance_name);
    return again.ok() && again->id != first->id && again->status == "RUNNING";
  })) << sim.Log();
  ASSERT_TRUE(GkeSim::Eventually([&] { return IsReady(sim.Node(st.instance_name)); })) << sim.Log();
  auto managed = gke->ListManagedNodes();
  ASSERT_TRUE(managed.ok());
  bool found = false;
  for (const auto& n : *managed) found |= n.instance_name == st.instance_name;
  EXPECT_TRUE(found) << "recognised by membership";
  EXPECT_EQ(sim.Report()["cloud"]["orphanInstances"], 0);
}

TEST(GceTemplateSim, NodesBootFromTheOperatorsTemplateWithOnlyTheOverridesChanged) {
  GkeSim sim(json{{"mode", "gce"}});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto gce = sim.Gce("global/instanceTemplates/sim-node-template");
  ASSERT_NE(gce, nullptr);
  ASSERT_TRUE(gce->CheckInstanceTemplate().ok());
  NodeSpec spec = Spec("wf-7/new-1/us-central1-b/e2-standard-8", kZoneB, "e2-standard-8", CapacityType::kSpot);
  spec.labels = {{"kinema-planned", "new-1"}};
  NodeStatus st = LaunchUntilSettled(*gce, spec);
  ASSERT_EQ(st.state, NodeState::kRunning) << st.detail;
  EXPECT_EQ(st.instance_name, InstanceNameFor("kinema", spec.key));
  auto inst = gce->GetInstance(kZoneB, st.instance_name);
  ASSERT_TRUE(inst.ok());
  EXPECT_EQ(inst->machine_type, "e2-standard-8");
  EXPECT_EQ(inst->capacity, CapacityType::kSpot);
  EXPECT_TRUE(inst->metadata.count("startup-script")) << "join logic from the template";
  EXPECT_EQ(inst->metadata.at("instance-template"), "projects/demo/global/instanceTemplates/sim-node-template");
  EXPECT_EQ(inst->labels.at("role"), "worker") << "the template's labels are kept";
  EXPECT_EQ(inst->labels.at("kinema-planned"), "new-1");
  EXPECT_EQ(inst->labels.at("kinema-managed"), "true");
  ASSERT_TRUE(GkeSim::Eventually([&] { return IsReady(sim.Node(st.instance_name)); })) << sim.Log();
  auto managed = gce->ListManagedNodes();
  ASSERT_TRUE(managed.ok());
  ASSERT_EQ(managed->size(), 1u);
  auto gone = gce->RetireNode(NodeRef{kZoneB, st.instance_name, ""}, "retire");
  ASSERT_TRUE(gone.ok());
  ASSERT_TRUE(EnsureNodeRetired(*gce, NodeRef{kZoneB, st.instance_name, ""}, "retire", In(), 20ms).ok());

  auto missing = sim.Gce("global/instanceTemplates/nope");
  Status s = missing->CheckInstanceTemplate();
  EXPECT_EQ(ClassifyCloudError(s), CloudErrorKind::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find("does not exist"), std::string::npos);
}

}  // namespace
}  // namespace kinema::cloud
