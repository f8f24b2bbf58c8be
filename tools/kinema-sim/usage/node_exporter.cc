#include "tools/kinema-sim/usage/node_exporter.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>

#include "engine/quantity/quantity.h"
#include "tools/kinema-sim/resource_types.h"
#include "tools/kinema-sim/usage/metrics_text.h"

namespace kinema::sim::usage {

namespace {

using json = nlohmann::json;

// CPU: a task waits when every CPU is busy. Below the knee that is rare
// (kCpuBase per unit of utilisation: scheduling noise); from the knee to
// full utilisation the waiting share grows as the cube of the distance
// into that range, reaching kCpuAtFull; demand beyond capacity keeps tasks
// waiting nearly all the time.
constexpr double kCpuKnee = 0.7;
constexpr double kCpuBase = 0.02;
constexpr double kCpuAtFull = 0.8;
// Memory: no stalls while memory is free; reclaim starts near the knee.
constexpr double kMemoryKnee = 0.8;
constexpr double kMemoryAtFull = 0.6;
// Busy CPU time is split between user and system like this.
constexpr double kUserShare = 0.8;
// IO stalls come from reclaim only (refaults): this share of memory's.
constexpr double kIoShareOfMemory = 0.5;

// Waiting share for a demand ratio `r`: base·r + (at_full − base)·s³ with
// s the position of r between the knee and 1, then 1 − (1 − at_full)/r³
// above 1 (continuous at 1, tends to 1).
double WaitingShare(double r, double knee, double base, double at_full) {
  if (!(r > 0)) return 0;  // also NaN
  if (r > 1) return std::min(1.0, 1.0 - (1.0 - at_full) / (r * r * r));
  double s = std::clamp((r - knee) / (1.0 - knee), 0.0, 1.0);
  return base * r + (at_full - base) * s * s * s;
}

double CapacityOf(const json& status, const char* resource, bool milli) {
  for (const char* section : {"capacity", "allocatable"}) {
    if (!status.contains(section) || !status[section].is_object()) continue;
    const json& s = status[section];
    if (!s.contains(resource) || !s[resource].is_string()) continue;
    const std::string q = s[resource].get<std::string>();
    if (milli) {
      auto m = ParseQuantityMilli(q);
      if (m.ok()) return *m / 1000.0;
    } else {
      auto b = ParseQuantityValue(q);
      if (b.ok()) return static_cast<double>(*b);
    }
  }
  return 0;
}

void Family(std::string* out, const char* name, const char* type, const char* help) {
  fmt::format_to(std::back_inserter(*out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

std::string Num(double v) { return fmt::format("{}", v); }

}  // namespace

NodeRates NodePressureModel(double cpu_demand_ratio, double memory_demand_ratio) {
  NodeRates r;
  r.cpu_busy = std::clamp(cpu_demand_ratio, 0.0, 1.0);
  if (std::isnan(cpu_demand_ratio)) r.cpu_busy = 0;
  r.cpu_waiting = WaitingShare(cpu_demand_ratio, kCpuKnee, kCpuBase, kCpuAtFull);
  r.memory_used = std::clamp(memory_demand_ratio, 0.0, 1.0);
  if (std::isnan(memory_demand_ratio)) r.memory_used = 0;
  r.memory_waiting = WaitingShare(memory_demand_ratio, kMemoryKnee, 0.0, kMemoryAtFull);
  r.memory_stalled = r.memory_waiting * r.memory_waiting;
  r.io_waiting = kIoShareOfMemory * r.memory_waiting;
  r.io_stalled = kIoShareOfMemory * r.memory_stalled;
  return r;
}

NodeExporter::~NodeExporter() { Stop(); }

void NodeExporter::Start(ObjectStore& store) {
  WatchFilter f;
  f.resource = ResourceRegistry::Default().Find("", "v1", "nodes");
  watcher_ = store.Subscribe(f, [] {});  // drained on every Advance
  auto list = store.List(f);
  listed_rv_ = list.rv;
  for (const auto& o : list.items) ApplyNode(*o);
}

void NodeExporter::Stop() {
  if (watcher_) watcher_->Stop();
}

void NodeExporter::ApplyNode(const StoredObject& node) {
  const json& st = node.body.contains("status") ? node.body["status"] : json::object();
  double cpu = st.is_object() ? CapacityOf(st, "cpu", /*milli=*/true) : 0;
  double mem = st.is_object() ? CapacityOf(st, "memory", /*milli=*/false) : 0;
  if (cpu <= 0 || mem <= 0) {  // no capacity: nothing to be a share of
    if (nodes_.erase(node.name) == 0) {
      spdlog::debug("usage: node {} has no cpu/memory capacity; no node-exporter series", node.name);
    }
    return;
  }
  NodeState& n = nodes_[node.name];
  n.cpu_cores = cpu;
  n.cpus = std::max(1, static_cast<int>(std::ceil(cpu - 1e-9)));
  n.memory_bytes = mem;
}

void NodeExporter::DrainNodeEvents() {
  if (!watcher_) return;
  for (auto& item : watcher_->Take()) {
    if (item.kind != WatchItem::Kind::kEvent || !item.object) continue;
    if (item.rv <= listed_rv_) continue;  // already in the initial list
    if (item.type == "DELETED") {
      nodes_.erase(item.object->name);
    } else {
      ApplyNode(*item.object);
    }
  }
}

void NodeExporter::Advance(double dt_wall, const std::unordered_map<std::string, NodeDemand>& demand) {
  DrainNodeEvents();
  const NodeDemand none;
  for (auto& [name, n] : nodes_) {
    auto it = demand.find(name);
    const NodeDemand& d = it == demand.end() ? none : it->second;
    NodeRates now = NodePressureModel(d.cpu_cores / n.cpu_cores, d.memory_bytes / n.memory_bytes);
    const NodeRates& prev = n.has_rates ? n.rates : now;
    if (dt_wall > 0) {
      auto trapezoid = [dt_wall](double a, double b) { return 0.5 * (a + b) * dt_wall; };
      double busy = trapezoid(prev.cpu_busy, now.cpu_busy);
      n.user += kUserShare * busy;
      n.system += (1.0 - kUserShare) * busy;
      n.idle += dt_wall - busy;
      n.cpu_waiting += trapezoid(prev.cpu_waiting, now.cpu_waiting);
      n.memory_waiting += trapezoid(prev.memory_waiting, now.memory_waiting);
      n.memory_stalled += trapezoid(prev.memory_stalled, now.memory_stalled);
      n.io_waiting += trapezoid(prev.io_waiting, now.io_waiting);
      n.io_stalled += trapezoid(prev.io_stalled, now.io_stalled);
    }
    n.rates = now;
    n.has_rates = true;
  }
}

void NodeExporter::Render(std::string* out) const {
  // instance/node label pairs, rendered once per node.
  std::vector<std::string> labels;
  labels.reserve(nodes_.size());
  for (const auto& [name, n] : nodes_) {
    const std::string v = EscapeLabelValue(name);
    labels.push_back("instance=\"" + v + "\",node=\"" + v + "\"");
  }

  Family(out, "node_cpu_seconds_total", "counter", "Seconds the CPUs spent in each mode.");
  size_t i = 0;
  for (const auto& [name, n] : nodes_) {
    const std::string& l = labels[i++];
    // Every CPU of a node has the same counters: render each mode's tail once.
    const std::string tails[] = {"\"," + l + ",mode=\"idle\"} " + Num(n.idle) + "\n",
                                 "\"," + l + ",mode=\"system\"} " + Num(n.system) + "\n",
                                 "\"," + l + ",mode=\"user\"} " + Num(n.user) + "\n"};
    for (int cpu = 0; cpu < n.cpus; ++cpu) {
      char num[16];
      auto [end, ec] = std::to_chars(num, num + sizeof num, cpu);
      (void)ec;
      for (const auto& tail : tails) {
        out->append("node_cpu_seconds_total{cpu=\"");
        out->append(num, end);
        out->append(tail);
      }
    }
  }

  struct Gauge {
    const char* family;
    const char* type;
    const char* help;
    double (*value)(const NodeState&);
  };
  const Gauge gauges[] = {
      {"node_memory_MemTotal_bytes", "gauge", "Memory information field MemTotal_bytes.",
       [](const NodeState& n) { return std::floor(n.memory_bytes); }},
      {"node_memory_MemAvailable_bytes", "gauge", "Memory information field MemAvailable_bytes.",
       [](const NodeState& n) { return std::floor(n.memory_bytes * (1.0 - n.rates.memory_used)); }},
      {"node_pressure_cpu_waiting_seconds_total", "counter",
       "Total time in seconds that processes have waited for CPU time",
       [](const NodeState& n) { return n.cpu_waiting; }},
      {"node_pressure_memory_waiting_seconds_total", "counter",
       "Total time in seconds that processes have waited for memory",
       [](const NodeState& n) { return n.memory_waiting; }},
      {"node_pressure_memory_stalled_seconds_total", "counter",
       "Total time in seconds no process could make progress due to memory congestion",
       [](const NodeState& n) { return n.memory_stalled; }},
      {"node_pressure_io_waiting_seconds_total", "counter",
       "Total time in seconds that processes have waited due to IO congestion",
       [](const NodeState& n) { return n.io_waiting; }},
      {"node_pressure_io_stalled_seconds_total", "counter",
       "Total time in seconds no process could make progress due to IO congestion",
       [](const NodeState& n) { return n.io_stalled; }},
  };
  for (const auto& g : gauges) {
    Family(out, g.family, g.type, g.help);
    i = 0;
    for (const auto& [name, n] : nodes_) {
      out->append(g.family);
      out->push_back('{');
      out->append(labels[i++]);
      out->push_back('}');
      fmt::format_to(std::back_inserter(*out), " {}\n", g.value(n));
    }
  }
}

}  // namespace kinema::sim::usage
