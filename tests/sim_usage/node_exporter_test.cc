// The node-exporter-shaped series of kinema-sim: the pressure model (pure),
// NodeExporter on a bare ObjectStore (counters, capacity, nodes coming and
// going, the text format), and the series inside an in-process SimServer,
// following a pod onto and off a node.
#include "tools/kinema-sim/usage/node_exporter.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "tools/kinema-sim/resource_types.h"
#include "tools/kinema-sim/sim_server.h"
#include "tools/kinema-sim/usage/usage_component.h"

namespace kinema::sim::usage {
namespace {

using json = nlohmann::json;

// Every sample of an exposition page: "name{labels}" -> value.
std::map<std::string, double> Samples(const std::string& page) {
  std::map<std::string, double> out;
  std::istringstream in(page);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

std::string Cpu(const std::string& node, int cpu, const char* mode) {
  return "node_cpu_seconds_total{cpu=\"" + std::to_string(cpu) + "\",instance=\"" + node + "\",node=\"" + node +
         "\",mode=\"" + mode + "\"}";
}
std::string NodeSeries(const char* family, const std::string& node) {
  return std::string(family) + "{instance=\"" + node + "\",node=\"" + node + "\"}";
}

TEST(NodePressureModelTest, IdleNodeHasNoPressure) {
  NodeRates r = NodePressureModel(0, 0);
  EXPECT_EQ(r.cpu_busy, 0);
  EXPECT_EQ(r.cpu_waiting, 0);
  EXPECT_EQ(r.memory_used, 0);
  EXPECT_EQ(r.memory_waiting, 0);
  EXPECT_EQ(r.io_waiting, 0);
}

TEST(NodePressureModelTest, PressureIsSmallBelowTheKneeAndRisesSharplyNearSaturation) {
  EXPECT_LT(NodePressureModel(0.5, 0).cpu_waiting, 0.02);
  EXPECT_LT(NodePressureModel(0.7, 0).cpu_waiting, 0.02);
  EXPECT_GT(NodePressureModel(0.9, 0).cpu_waiting, 0.2);
  EXPECT_NEAR(NodePressureModel(1.0, 0).cpu_waiting, 0.8, 1e-12);
  EXPECT_EQ(NodePressureModel(0, 0.75).memory_waiting, 0);  // free memory: no stalls
  EXPECT_GT(NodePressureModel(0, 0.95).memory_waiting, 0.2);
  EXPECT_NEAR(NodePressureModel(0, 1.0).memory_waiting, 0.6, 1e-12);
}

TEST(NodePressureModelTest, DemandAboveCapacityShowsAsPressureNotUsage) {
  NodeRates r = NodePressureModel(1.5, 1.2);
  EXPECT_EQ(r.cpu_busy, 1.0);
  EXPECT_EQ(r.memory_used, 1.0);
  EXPECT_GT(r.cpu_waiting, 0.9);
  EXPECT_GT(r.memory_waiting, 0.7);
  EXPECT_LE(r.cpu_waiting, 1.0);
  EXPECT_GT(NodePressureModel(3, 0).cpu_waiting, r.cpu_waiting);
}

TEST(NodePressureModelTest, SharesAreContinuousMonotoneAndFullNeverExceedsSome) {
  NodeRates prev = NodePressureModel(0, 0);
  for (int i = 1; i <= 3000; ++i) {
    double x = i / 1000.0;  // 0.001 .. 3
    NodeRates r = NodePressureModel(x, x);
    EXPECT_GE(r.cpu_waiting, prev.cpu_waiting) << x;
    EXPECT_GE(r.memory_waiting, prev.memory_waiting) << x;
    EXPECT_LT(r.cpu_waiting - prev.cpu_waiting, 0.02) << "jump at " << x;
    EXPECT_LT(r.memory_waiting - prev.memory_waiting, 0.02) << "jump at " << x;
    EXPECT_LE(r.memory_stalled, r.memory_waiting);
    EXPECT_LE(r.io_stalled, r.io_waiting);
    for (double v : {r.cpu_busy, r.cpu_waiting, r.memory_used, r.memory_waiting, r.memory_stalled, r.io_waiting,
                     r.io_stalled}) {
      EXPECT_GE(v, 0);
      EXPECT_LE(v, 1);
    }
    prev = r;
  }
}

TEST(NodePressureModelTest, GarbageDemandGivesAnIdleNode) {
  NodeRates r = NodePressureModel(std::nan(""), -3);
  EXPECT_EQ(r.cpu_busy, 0);
  EXPECT_EQ(r.cpu_waiting, 0);
  EXPECT_EQ(r.memory_used, 0);
  EXPECT_EQ(r.memory_waiting, 0);
}

// A bare store holding Nodes.
class NodeStore {
 public:
  NodeStore() : store_(1000) {}
  ObjectStore& store() { return store_; }
  void Put(const std::string& name, json status) {
    json node = {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", name}}}, {"status", status}};
    auto r = store_.Mutate(Nodes(), "", name, [&](const ObjectPtr&) -> ApiResult<ObjectStore::Mutation> {
      return ObjectStore::Mutation{ObjectStore::Mutation::Action::kPut, node};
    });
    ASSERT_TRUE(r.ok());
  }
  void Remove(const std::string& name) {
    auto r = store_.Mutate(Nodes(), "", name, [&](const ObjectPtr&) -> ApiResult<ObjectStore::Mutation> {
      return ObjectStore::Mutation{ObjectStore::Mutation::Action::kRemove, {}};
    });
    ASSERT_TRUE(r.ok());
  }

 private:
  static const ResourceType& Nodes() { return *ResourceRegistry::Default().Find("", "v1", "nodes"); }
  ObjectStore store_;
};

json Capacity(const char* cpu, const char* memory) {
  return {{"capacity", {{"cpu", cpu}, {"memory", memory}}}, {"allocatable", {{"cpu", "1"}, {"memory", "1Gi"}}}};
}

TEST(NodeExporterTest, CountersGrowByTheModelsSharesPerWallSecond) {
  NodeStore s;
  s.Put("n1", Capacity("4", "16Gi"));
  NodeExporter e;
  e.Start(s.store());
  std::unordered_map<std::string, NodeDemand> demand{{"n1", {2.0, 4.0 * (1 << 30)}}};
  e.Advance(0, demand);
  e.Advance(10, demand);
  std::string page;
  e.Render(&page);
  auto m = Samples(page);
  for (int cpu = 0; cpu < 4; ++cpu) {  // capacity 4 (not allocatable 1): four CPUs, half busy
    EXPECT_DOUBLE_EQ(m.at(Cpu("n1", cpu, "idle")), 5.0);
    EXPECT_DOUBLE_EQ(m.at(Cpu("n1", cpu, "user")) + m.at(Cpu("n1", cpu, "system")), 5.0);
  }
  EXPECT_EQ(m.count(Cpu("n1", 4, "idle")), 0u);
  EXPECT_EQ(m.at(NodeSeries("node_memory_MemTotal_bytes", "n1")), 16.0 * (1 << 30));
  EXPECT_EQ(m.at(NodeSeries("node_memory_MemAvailable_bytes", "n1")), 12.0 * (1 << 30));
  EXPECT_DOUBLE_EQ(m.at(NodeSeries("node_pressure_cpu_waiting_seconds_total", "n1")),
                   10 * NodePressureModel(0.5, 0.25).cpu_waiting);
  EXPECT_EQ(m.at(NodeSeries("node_pressure_memory_waiting_seconds_total", "n1")), 0);
  EXPECT_EQ(m.count(NodeSeries("node_pressure_io_waiting_seconds_total", "n1")), 1u);
  EXPECT_EQ(m.count(NodeSeries("node_pressure_memory_stalled_seconds_total", "n1")), 1u);
  EXPECT_EQ(m.count(NodeSeries("node_pressure_io_stalled_seconds_total", "n1")), 1u);
}

TEST(NodeExporterTest, ChangingLoadIsIntegratedWithTheTrapezoidRule) {
  NodeStore s;
  s.Put("n1", Capacity("2", "8Gi"));
  NodeExporter e;
  e.Start(s.store());
  e.Advance(0, {{"n1", {0.0, 0.0}}});
  e.Advance(4, {{"n1", {2.0, 0.0}}});  // idle → fully busy: half of 4 s busy
  e.Advance(4, {{"n1", {4.0, 0.0}}});  // overcommitted: busy stays 1, pressure rises
  std::string page;
  e.Render(&page);
  auto m = Samples(page);
  EXPECT_DOUBLE_EQ(m.at(Cpu("n1", 1, "idle")), 2.0);
  EXPECT_DOUBLE_EQ(m.at(Cpu("n1", 1, "user")) + m.at(Cpu("n1", 1, "system")), 6.0);
  double w1 = NodePressureModel(1, 0).cpu_waiting, w2 = NodePressureModel(2, 0).cpu_waiting;
  EXPECT_DOUBLE_EQ(m.at(NodeSeries("node_pressure_cpu_waiting_seconds_total", "n1")),
                   0.5 * w1 * 4 + 0.5 * (w1 + w2) * 4);
  EXPECT_EQ(m.at(NodeSeries("node_memory_MemAvailable_bytes", "n1")), 8.0 * (1 << 30));
}

TEST(NodeExporterTest, NodesComeAndGoWithTheStore) {
  NodeStore s;
  s.Put("n1", Capacity("1", "1Gi"));
  s.Put("no-capacity", json::object());
  NodeExporter e;
  e.Start(s.store());
  e.Advance(1, {{"ghost", {5, 5}}});  // pods on unknown nodes are ignored
  EXPECT_EQ(e.node_count(), 1u);
  s.Put("n2", {{"allocatable", {{"cpu", "2500m"}, {"memory", "2Gi"}}}});  // allocatable when no capacity
  e.Advance(1, {});
  std::string page;
  e.Render(&page);
  auto m = Samples(page);
  EXPECT_EQ(m.count(Cpu("n2", 2, "idle")), 1u) << "2.5 cores are 3 CPUs";
  EXPECT_EQ(m.count(Cpu("n2", 3, "idle")), 0u);
  EXPECT_EQ(m.at(NodeSeries("node_memory_MemTotal_bytes", "n2")), 2.0 * (1 << 30));
  EXPECT_EQ(page.find("no-capacity"), std::string::npos);
  s.Remove("n1");
  e.Advance(1, {});
  page.clear();
  e.Render(&page);
  EXPECT_EQ(page.find("\"n1\""), std::string::npos) << page;
  EXPECT_EQ(e.node_count(), 1u);
}

TEST(NodeExporterTest, PageIsWellFormedExposition) {
  NodeStore s;
  s.Put("n1", Capacity("2", "1Gi"));
  s.Put("n2", Capacity("1", "1Gi"));
  NodeExporter e;
  e.Start(s.store());
  e.Advance(1, {{"n1", {1, 1e8}}});
  std::string page;
  e.Render(&page);
  // Every family once, with HELP and TYPE before its samples, samples grouped.
  std::istringstream in(page);
  std::string line, family;
  std::map<std::string, int> types;
  int samples = 0;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      family = line.substr(7, line.find(' ', 7) - 7);
      types[family]++;
      continue;
    }
    if (line[0] == '#') continue;
    ++samples;
    EXPECT_EQ(line.compare(0, family.size() + 1, family + "{"), 0) << line << " outside family " << family;
  }
  EXPECT_EQ(types.size(), 8u);
  for (const auto& [f, n] : types) EXPECT_EQ(n, 1) << f;
  EXPECT_EQ(samples, (2 + 1) * 3 + 2 * 7);
}

// An in-process simulator with the usage part, on the committed small
// snapshot (node-a, node-b, node-c: 4 CPUs and 16Gi each).
class Sim {
 public:
  explicit Sim(const std::string& scenario) {
    char tmpl[] = "/tmp/kinema-nodeexp-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::ofstream(dir_ + "/scenario.json") << scenario;
    const char* src = std::getenv("KINEMA_SOURCE_DIR");
    std::string root = src ? src : ".";
    SimOptions o;
    o.snapshot = root + "/tests/sim/data/small-snapshot.json";
    o.catalog = root + "/tests/sim/data/catalog.json";
    o.kubeconfig = dir_ + "/kubeconfig";
    o.scenario = dir_ + "/scenario.json";
    o.time_scale = 10;
    o.token = "t0ken";
    spdlog::set_level(spdlog::level::warn);
    server_ = std::make_unique<SimServer>(o);
    usage_ = std::make_unique<UsageComponent>(server_.get());
    server_->AddComponent(usage_.get());
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

 private:
  std::string dir_;
  std::unique_ptr<SimServer> server_;
  std::unique_ptr<UsageComponent> usage_;
  Status start_;
};

struct NodeView {
  double busy_share = 0;   // Δ(user+system) / Δ(all modes) between two pages
  double mem_used = 0;     // MemTotal − MemAvailable
};

NodeView View(const std::map<std::string, double>& a, const std::map<std::string, double>& b, const std::string& n) {
  auto d = [&](const char* mode) { return b.at(Cpu(n, 0, mode)) - a.at(Cpu(n, 0, mode)); };
  NodeView v;
  double busy = d("user") + d("system");
  v.busy_share = busy / (busy + d("idle"));
  v.mem_used = b.at(NodeSeries("node_memory_MemTotal_bytes", n)) - b.at(NodeSeries("node_memory_MemAvailable_bytes", n));
  return v;
}

void PutPod(SimServer& sim, const json& pod) {
  const auto& rt = *ResourceRegistry::Default().Find("", "v1", "pods");
  auto r = sim.store().Mutate(rt, pod["metadata"]["namespace"], pod["metadata"]["name"],
                              [&](const ObjectPtr&) -> ApiResult<ObjectStore::Mutation> {
                                return ObjectStore::Mutation{ObjectStore::Mutation::Action::kPut, pod};
                              });
  ASSERT_TRUE(r.ok());
}

void RemovePod(SimServer& sim, const std::string& ns, const std::string& name) {
  const auto& rt = *ResourceRegistry::Default().Find("", "v1", "pods");
  auto r = sim.store().Mutate(rt, ns, name, [&](const ObjectPtr&) -> ApiResult<ObjectStore::Mutation> {
    return ObjectStore::Mutation{ObjectStore::Mutation::Action::kRemove, {}};
  });
  ASSERT_TRUE(r.ok());
}

// Two pages `gap` apart.
std::pair<std::map<std::string, double>, std::map<std::string, double>> TwoPages(UsageComponent& u) {
  auto a = Samples(u.RenderMetrics());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  return {a, Samples(u.RenderMetrics())};
}

TEST(NodeSeriesInSimTest, NodeUsageIsItsPodsUsageAndFollowsAPodOntoAndOffTheNode) {
  Sim sim(R"({"usage": {"noise": 0, "memoryNoise": 0,
      "deployments": {"shop/web": {"cpu": {"level": "300m"}, "memory": {"level": "100Mi"}}}}})");
  ASSERT_TRUE(sim.start_status().ok()) << sim.start_status().ToString();

  // Expected node load: the sum of its running pods' usage.
  auto expected = [&](const std::string& node) {
    NodeDemand d;
    for (const auto& p : sim.usage().SamplePods(true)) {
      if (p.node != node) continue;
      for (const auto& c : p.containers) {
        d.cpu_cores += c.cpu_cores;
        d.memory_bytes += c.memory_bytes;
      }
    }
    return d;
  };
  auto [a, b] = TwoPages(sim.usage());
  NodeDemand node_a = expected("node-a");
  EXPECT_NEAR(node_a.cpu_cores, 0.625, 1e-9);  // web-0, web-1 (300m each), logger (25m)
  NodeView va = View(a, b, "node-a");
  EXPECT_NEAR(va.busy_share, node_a.cpu_cores / 4, 1e-9);
  EXPECT_NEAR(va.mem_used, node_a.memory_bytes, 1.0);
  EXPECT_EQ(b.count(Cpu("node-a", 3, "idle")), 1u);
  EXPECT_LT(View(a, b, "node-b").busy_share, 0.7);

  // A pod that wants 6 of node-b's 4 CPUs (the default 50% of a 12-core
  // request) lands there: node-b saturates, the excess shows as pressure.
  PutPod(sim.server(), {{"apiVersion", "v1"},
                        {"kind", "Pod"},
                        {"metadata", {{"name", "hog"}, {"namespace", "shop"}, {"uid", "hog-uid"}}},
                        {"spec",
                         {{"nodeName", "node-b"},
                          {"containers",
                           {{{"name", "app"},
                             {"image", "busybox"},
                             {"resources", {{"requests", {{"cpu", "12"}, {"memory", "8Gi"}}}}}}}}}},
                        {"status", {{"phase", "Running"}}}});
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the previous point already had the hog
  sim.usage().RenderMetrics();
  auto [c, d] = TwoPages(sim.usage());
  NodeView vb = View(c, d, "node-b");
  EXPECT_EQ(vb.busy_share, 1.0);
  EXPECT_NEAR(vb.mem_used, expected("node-b").memory_bytes, 1.0);
  EXPECT_GT(vb.mem_used, 0.6 * 8 * (1 << 30));
  auto psi = [&](const std::map<std::string, double>& m) {
    return m.at(NodeSeries("node_pressure_cpu_waiting_seconds_total", "node-b"));
  };
  double wall_b = (d.at(Cpu("node-b", 0, "idle")) + d.at(Cpu("node-b", 0, "user")) + d.at(Cpu("node-b", 0, "system"))) -
                  (c.at(Cpu("node-b", 0, "idle")) + c.at(Cpu("node-b", 0, "user")) + c.at(Cpu("node-b", 0, "system")));
  EXPECT_GT((psi(d) - psi(c)) / wall_b, 0.9) << "demand 1.5× capacity waits most of the time";
  EXPECT_NEAR(View(c, d, "node-a").busy_share, 0.625 / 4, 1e-9) << "other nodes are untouched";

  // The pod goes away (evicted, migrated): node-b's load goes with it.
  RemovePod(sim.server(), "shop", "hog");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  sim.usage().RenderMetrics();
  auto [e, f] = TwoPages(sim.usage());
  EXPECT_NEAR(View(e, f, "node-b").busy_share, expected("node-b").cpu_cores / 4, 1e-9);
  EXPECT_LT(View(e, f, "node-b").mem_used, 1.0 * (1 << 30));
}

}  // namespace
}  // namespace kinema::sim::usage
