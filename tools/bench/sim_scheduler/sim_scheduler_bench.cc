// sim_scheduler_bench: the simulated kube-scheduler at scale. Generates a
// cluster (default 1,000 nodes in 3 zones, 2 DaemonSet pods per node bound,
// the rest of 20,000 pods Pending, owned by ReplicaSets (so the system
// default spreading applies), with a realistic mix of
// constraints: plain, zone spread, hostname anti-affinity, spot tolerations
// with preferred affinity, nodeSelector, hostname spread) and prints pods
// scheduled per second:
//   1. core      SchedulingCore + ClusterState only (decide + assume);
//   2. scheduler the Scheduler component on a real ObjectStore/Registry
//                (watch events, binding writes, status), with and without
//                Scheduled/FailedScheduling Events.
// Numbers only; not a test. Usage:
//   sim_scheduler_bench [--nodes N] [--pods P] [--seed S] [--mode all|core|scheduler]
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tools/kinema-sim/registry.h"
#include "tools/kinema-sim/scheduler/cluster_state.h"
#include "tools/kinema-sim/scheduler/scheduler.h"
#include "tools/kinema-sim/scheduler/scheduling_core.h"
#include "tools/kinema-sim/snapshot_loader.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace sched = kinema::sim::sched;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Cluster {
  std::vector<json> nodes;
  std::vector<json> bound;    // DaemonSet pods
  std::vector<json> pending;  // Deployment pods
  std::vector<json> owners;   // their ReplicaSets
};

json Node(const std::string& name, const std::string& zone, int cpu, int mem_gib, const std::string& pool, bool spot) {
  json labels = {{"kubernetes.io/hostname", name},
                 {"topology.kubernetes.io/zone", zone},
                 {"node.kubernetes.io/instance-type", pool},
                 {"pool", pool}};
  json spec = json::object();
  if (spot) {
    labels["cloud.google.com/gke-spot"] = "true";
    spec["taints"] = json::array({{{"key", "cloud.google.com/gke-spot"}, {"value", "true"}, {"effect", "NoSchedule"}}});
  }
  std::string alloc_cpu = std::to_string(cpu * 1000 - 80) + "m";
  std::string alloc_mem = std::to_string(mem_gib * 1024 * 88 / 100) + "Mi";
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"spec", spec},
          {"status",
           {{"allocatable", {{"cpu", alloc_cpu}, {"memory", alloc_mem}, {"pods", "110"}}},
            {"capacity", {{"cpu", std::to_string(cpu)}, {"memory", std::to_string(mem_gib) + "Gi"}, {"pods", "110"}}},
            {"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
}

json Pod(const std::string& ns, const std::string& name, const json& labels, int milli_cpu, int mem_mi) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
          {"spec",
           {{"schedulerName", "default-scheduler"},
            {"containers",
             json::array({{{"name", "app"},
                           {"image", "app:1"},
                           {"resources",
                            {{"requests", {{"cpu", std::to_string(milli_cpu) + "m"},
                                           {"memory", std::to_string(mem_mi) + "Mi"}}}}}}})}}},
          {"status", {{"phase", "Pending"}}}};
}

Cluster Generate(int nodes, int pods, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Cluster c;
  const char* zones[] = {"us-central1-a", "us-central1-b", "us-central1-c"};
  for (int i = 0; i < nodes; ++i) {
    std::string name = "node-" + std::to_string(i);
    int kind = static_cast<int>(rng() % 10);
    bool spot = kind == 9;
    if (kind < 5) c.nodes.push_back(Node(name, zones[i % 3], 8, 32, "standard", spot));
    else if (kind < 8) c.nodes.push_back(Node(name, zones[i % 3], 16, 64, "large", spot));
    else c.nodes.push_back(Node(name, zones[i % 3], 8, 64, "highmem", spot));
    for (const char* ds : {"logger", "proxy"}) {
      json p = Pod("kube-system", std::string(ds) + "-" + name, {{"app", ds}}, ds[0] == 'l' ? 100 : 50,
                   ds[0] == 'l' ? 128 : 64);
      p["spec"]["nodeName"] = name;
      p["spec"]["tolerations"] = json::array({{{"operator", "Exists"}}});
      p["status"]["phase"] = "Running";
      c.bound.push_back(p);
    }
  }
  int remaining = pods - static_cast<int>(c.bound.size());
  int deployment = 0;
  while (remaining > 0) {
    int replicas = std::min(remaining, 20 + static_cast<int>(rng() % 41));
    std::string app = "svc-" + std::to_string(deployment);
    std::string ns = "team-" + std::to_string(deployment % 10);
    int cpu = 100 + static_cast<int>(rng() % 5) * 100;
    int mem = 128 << (rng() % 4);
    int flavour = static_cast<int>(rng() % 20);
    std::string rs_name = app + "-5d4f8";
    json rs_labels = {{"app", app}, {"pod-template-hash", "5d4f8"}};
    c.owners.push_back({{"apiVersion", "apps/v1"},
                        {"kind", "ReplicaSet"},
                        {"metadata", {{"name", rs_name}, {"namespace", ns}, {"labels", rs_labels}}},
                        {"spec",
                         {{"replicas", replicas},
                          {"selector", {{"matchLabels", rs_labels}}},
                          {"template",
                           {{"metadata", {{"labels", rs_labels}}},
                            {"spec", {{"containers", json::array({{{"name", "app"}, {"image", "app:1"}}})}}}}}}}});
    for (int r = 0; r < replicas; ++r) {
      json p = Pod(ns, rs_name + "-" + std::to_string(r), rs_labels, cpu, mem);
      p["metadata"]["ownerReferences"] = json::array({{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"},
                                                       {"name", rs_name}, {"uid", rs_name}, {"controller", true}}});
      json& spec = p["spec"];
      json selector = {{"matchLabels", {{"app", app}}}};
      if (flavour < 10) {
        // plain
      } else if (flavour < 13) {
        spec["topologySpreadConstraints"] = json::array({{{"maxSkew", 1}, {"topologyKey", "topology.kubernetes.io/zone"},
                                                         {"whenUnsatisfiable", "DoNotSchedule"},
                                                         {"labelSelector", selector}}});
      } else if (flavour < 15) {
        spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] =
            json::array({{{"labelSelector", selector}, {"topologyKey", "kubernetes.io/hostname"}}});
      } else if (flavour < 17) {
        spec["tolerations"] = json::array(
            {{{"key", "cloud.google.com/gke-spot"}, {"operator", "Equal"}, {"value", "true"}, {"effect", "NoSchedule"}}});
        spec["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] = json::array(
            {{{"weight", 50},
              {"preference",
               {{"matchExpressions", json::array({{{"key", "cloud.google.com/gke-spot"}, {"operator", "Exists"}}})}}}}});
      } else if (flavour < 19) {
        spec["nodeSelector"] = {{"pool", "highmem"}};
      } else {
        spec["topologySpreadConstraints"] = json::array({{{"maxSkew", 1}, {"topologyKey", "kubernetes.io/hostname"},
                                                         {"whenUnsatisfiable", "DoNotSchedule"},
                                                         {"labelSelector", selector}}});
      }
      c.pending.push_back(std::move(p));
    }
    remaining -= replicas;
    ++deployment;
  }
  return c;
}

void BenchCore(const Cluster& c, uint64_t seed) {
  sched::ClusterState state;
  sched::SchedulingCore core(seed);
  for (const auto& n : c.nodes) state.UpsertNode(sched::ParseNode(n));
  for (const auto& p : c.bound) state.UpsertPod(sched::ParsePod(p));
  std::vector<sched::SchedPod> pending;
  auto t0 = Clock::now();
  for (const auto& p : c.pending) {
    pending.push_back(sched::ParsePod(p));
    // What the Scheduler does from the owning ReplicaSet: default spreading.
    pending.back().default_spread_selector =
        sched::ParseSelector(json{{"matchLabels", p["metadata"]["labels"]}});
  }
  auto t1 = Clock::now();
  size_t scheduled = 0, failed = 0;
  for (auto& p : pending) {
    auto r = core.Schedule(p, state);
    if (!r.scheduled) {
      ++failed;
      continue;
    }
    ++scheduled;
    p.node_name = r.node;
    state.UpsertPod(p);
  }
  auto t2 = Clock::now();
  std::printf("core:       parse %zu pods %.3f s; scheduled %zu, unschedulable %zu in %.3f s = %.0f pods/s\n",
              pending.size(), Seconds(t1 - t0), scheduled, failed, Seconds(t2 - t1),
              static_cast<double>(scheduled + failed) / Seconds(t2 - t1));
}

void BenchScheduler(const Cluster& c, uint64_t seed, bool events) {
  kinema::sim::SimClock clock(1.0);
  kinema::sim::ObjectStore store(20000);
  kinema::sim::Registry registry(&store, &clock);
  json items = json::array();
  for (const auto& n : c.nodes) items.push_back(n);
  for (const auto& o : c.owners) items.push_back(o);
  for (const auto& p : c.bound) items.push_back(p);
  for (const auto& p : c.pending) items.push_back(p);
  auto t0 = Clock::now();
  auto loaded = kinema::sim::LoadSnapshotText(json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}}.dump(),
                                              &registry);
  if (!loaded.ok()) {
    std::fprintf(stderr, "loading the generated cluster: %s\n", loaded.status().ToString().c_str());
    std::exit(1);
  }
  auto t1 = Clock::now();
  boost::asio::io_context io;
  sched::SchedulerConfig config;
  config.seed = seed;
  config.record_events = events;
  sched::Scheduler scheduler(&registry, &io, config);
  auto t2 = Clock::now();
  scheduler.Start();
  const uint64_t want = c.pending.size();
  // Runs until every pod is bound, or no pod has been bound for 2 s (the
  // rest fit nowhere); the rate counts up to the last bind.
  uint64_t last_bound = 0;
  auto last_bind = Clock::now();
  while (true) {
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
    auto s = scheduler.stats();
    if (s.scheduled != last_bound) {
      last_bound = s.scheduled;
      last_bind = Clock::now();
    }
    if (s.scheduled >= want || Clock::now() - last_bind > std::chrono::seconds(2)) break;
  }
  auto s = scheduler.stats();
  std::printf("scheduler:  events %-3s load %.2f s; bound %llu of %llu (%llu attempts, %llu failed) in %.3f s = %.0f pods/s\n",
              events ? "on" : "off", Seconds(t1 - t0), static_cast<unsigned long long>(s.scheduled),
              static_cast<unsigned long long>(want), static_cast<unsigned long long>(s.attempts),
              static_cast<unsigned long long>(s.unschedulable), Seconds(last_bind - t2),
              static_cast<double>(s.scheduled) / Seconds(last_bind - t2));
  scheduler.Stop();
  io.restart();
  io.poll();
}

}  // namespace

int main(int argc, char** argv) {
  int nodes = 1000, pods = 20000;
  uint64_t seed = 1;
  std::string mode = "all";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--nodes")) nodes = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--pods")) pods = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seed")) seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--mode")) mode = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: sim_scheduler_bench [--nodes N] [--pods P] [--seed S] [--mode all|core|scheduler]\n");
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  Cluster c = Generate(nodes, pods, seed);
  std::printf("cluster: %zu nodes, %zu bound DaemonSet pods, %zu pending pods\n", c.nodes.size(), c.bound.size(),
              c.pending.size());
  if (mode == "all" || mode == "core") BenchCore(c, seed);
  if (mode == "all" || mode == "scheduler") {
    BenchScheduler(c, seed, false);
    BenchScheduler(c, seed, true);
  }
  return 0;
}
