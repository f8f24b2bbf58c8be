// sim_node_exporter_bench: what the node-exporter-shaped series cost the
// simulator. Generates a cluster (default 1,000 nodes of 8 CPUs, 20 running
// pods each), starts an in-process SimServer with the usage part on it, and
// prints, each the median of several runs:
//   1. the whole /metrics page (UsageComponent::RenderMetrics): time, bytes;
//   2. the node series alone (NodeExporter::Render on the same nodes): time,
//      bytes, lines, and their share of (1);
//   3. one integration step of the node counters (summing the pods' usage
//      per node + NodeExporter::Advance), the work each usage tick adds.
// Numbers only; not a test. Usage:
//   sim_node_exporter_bench [--nodes N] [--pods-per-node M] [--cpus C]
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "tools/kinema-sim/sim_server.h"
#include "tools/kinema-sim/usage/node_exporter.h"
#include "tools/kinema-sim/usage/usage_component.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using kinema::sim::usage::NodeDemand;
using kinema::sim::usage::NodeExporter;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

template <typename F>
double MedianMs(int runs, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    f();
    t.push_back(Ms(Clock::now() - t0));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void WriteSnapshot(const std::string& path, int nodes, int pods_per_node, int cpus) {
  json items = json::array();
  for (int n = 0; n < nodes; ++n) {
    std::string name = "node-" + std::to_string(n);
    items.push_back({{"apiVersion", "v1"},
                     {"kind", "Node"},
                     {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}},
                     {"status",
                      {{"capacity", {{"cpu", std::to_string(cpus)}, {"memory", std::to_string(4 * cpus) + "Gi"}, {"pods", "110"}}},
                       {"allocatable", {{"cpu", std::to_string(cpus * 1000 - 90) + "m"}, {"memory", std::to_string(4 * cpus - 2) + "Gi"}, {"pods", "110"}}},
                       {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}});
  }
  for (int p = 0; p < nodes * pods_per_node; ++p) {
    std::string name = "pod-" + std::to_string(p);
    items.push_back({{"apiVersion", "v1"},
                     {"kind", "Pod"},
                     {"metadata", {{"name", name}, {"namespace", "bench"}, {"uid", "uid-" + name}}},
                     {"spec",
                      {{"nodeName", "node-" + std::to_string(p % nodes)},
                       {"containers",
                        {{{"name", "main"},
                          {"image", "registry/app:1"},
                          {"resources", {{"requests", {{"cpu", "300m"}, {"memory", "512Mi"}}}}}}}}}},
                     {"status", {{"phase", "Running"}, {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}});
  }
  std::ofstream(path) << json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}}.dump();
}

int Flag(int argc, char** argv, const char* name, int def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  }
  return def;
}

}  // namespace

int main(int argc, char** argv) {
  const int nodes = Flag(argc, argv, "--nodes", 1000);
  const int pods_per_node = Flag(argc, argv, "--pods-per-node", 20);
  const int cpus = Flag(argc, argv, "--cpus", 8);
  spdlog::set_level(spdlog::level::warn);
  char tmpl[] = "/tmp/kinema-nodeexp-bench-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  WriteSnapshot(dir + "/snapshot.json", nodes, pods_per_node, cpus);
  std::ofstream(dir + "/scenario.json") << "{}";

  kinema::sim::SimOptions o;
  o.snapshot = dir + "/snapshot.json";
  o.catalog = std::string(KINEMA_SOURCE_ROOT) + "/tests/sim/data/catalog.json";
  o.kubeconfig = dir + "/kubeconfig";
  o.scenario = dir + "/scenario.json";
  o.token = "bench";
  kinema::sim::SimServer server(o);
  kinema::sim::usage::UsageComponent usage(&server);
  server.AddComponent(&usage);
  auto st = server.Start();
  if (!st.ok()) {
    std::fprintf(stderr, "start: %s\n", st.ToString().c_str());
    return 1;
  }
  std::printf("cluster: %d nodes x %d CPUs, %d running pods\n", nodes, cpus, nodes * pods_per_node);

  size_t page_bytes = 0;
  double page_ms = MedianMs(5, [&] { page_bytes = usage.RenderMetrics().size(); });
  std::printf("whole /metrics page:      %8.1f ms  %6.1f MB\n", page_ms, page_bytes / 1e6);

  // The node part alone, on the same store and the same pod usage.
  NodeExporter exporter;
  exporter.Start(server.store());
  auto pods = usage.SamplePods(true);
  std::unordered_map<std::string, NodeDemand> demand;
  double advance_ms = MedianMs(21, [&] {
    demand.clear();
    for (const auto& p : pods) {
      NodeDemand& d = demand[p.node];
      for (const auto& c : p.containers) {
        d.cpu_cores += c.cpu_cores;
        d.memory_bytes += c.memory_bytes;
      }
    }
    exporter.Advance(0.5, demand);
  });
  std::string nodes_page;
  double render_ms = MedianMs(11, [&] {
    nodes_page.clear();
    exporter.Render(&nodes_page);
  });
  size_t lines = std::count(nodes_page.begin(), nodes_page.end(), '\n');
  std::printf("node series alone:        %8.1f ms  %6.1f MB  %zu lines  (%.0f %% of the page's time, %.0f %% of its bytes)\n",
              render_ms, nodes_page.size() / 1e6, lines, 100 * render_ms / page_ms,
              100.0 * nodes_page.size() / page_bytes);
  std::printf("node counters, one tick:  %8.2f ms  (per-node sums over %zu pods + Advance)\n", advance_ms, pods.size());
  exporter.Stop();
  server.Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
