// NodeExporter: node-exporter-shaped series for every Node of the simulated
// cluster, consistent with the usage of the pods running on it, so that real
// Prometheus rules written for node-exporter (deploy/prometheus/) evaluate
// against the simulator.
//
// Series (each labelled node="<name>" and instance="<name>"; scrape with
// honor_labels: true so Prometheus keeps that instance label):
//   node_cpu_seconds_total{cpu="0".."n-1",mode="idle"|"user"|"system"}  counter
//   node_memory_MemTotal_bytes, node_memory_MemAvailable_bytes             gauge
//   node_pressure_cpu_waiting_seconds_total                                counter
//   node_pressure_memory_waiting_seconds_total, ..._memory_stalled_...    counter
//   node_pressure_io_waiting_seconds_total, ..._io_stalled_...            counter
//
// Model (NodePressureModel below; README.md "node-exporter series"):
//   - A node's CPU demand is the sum of its running pods' CPU usage, its
//     memory use the sum of their working sets (no system overhead: the same
//     node usage as metrics.k8s.io's NodeMetrics).
//   - Utilisation is demand / capacity, capped at 1; demand above capacity
//     shows up as pressure, not as usage.
//   - Pressure is a PSI-like waiting share: small and linear below a knee,
//     growing quadratically from the knee to a value at full utilisation,
//     then approaching 1 as demand exceeds capacity.
//
// Time: like the cAdvisor counter, every counter is an integral over wall
// time (trapezoid rule), so rate() in Prometheus shows the model's ratios at
// any --time-scale. Each CPU's idle + user + system grows by exactly one
// second per wall second.
//
// Invariants: counters never decrease while a node exists; a node deleted
// from the store loses its series (a re-created node starts from 0, which
// Prometheus treats as a counter reset).
// Thread-safety: none; the owner (UsageComponent) serialises every call
// under its mutex.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "tools/kinema-sim/object_store.h"

namespace kinema::sim::usage {

// What the pods on one node use right now.
struct NodeDemand {
  double cpu_cores = 0;
  double memory_bytes = 0;
};

// The instantaneous rates the counters grow by (per wall second).
struct NodeRates {
  double cpu_busy = 0;         // utilisation in [0,1]: each CPU's user+system share
  double cpu_waiting = 0;      // PSI cpu "some" share in [0,1]
  double memory_used = 0;      // utilisation in [0,1] (MemAvailable = MemTotal × (1 − this))
  double memory_waiting = 0;   // PSI memory "some"
  double memory_stalled = 0;   // PSI memory "full" (≤ some)
  double io_waiting = 0;       // PSI io "some"
  double io_stalled = 0;       // PSI io "full"
};

// The pressure model: pure. Demand ratios are demand / capacity and may
// exceed 1 (overcommitted CPU, working sets beyond the node's memory).
// Continuous and non-decreasing in both ratios; every share is in [0,1].
NodeRates NodePressureModel(double cpu_demand_ratio, double memory_demand_ratio);

class NodeExporter {
 public:
  NodeExporter() = default;
  ~NodeExporter();

  // Follows the store's Nodes (capacity from status.capacity, falling back to
  // status.allocatable). Call once before Advance().
  void Start(ObjectStore& store);
  void Stop();

  // Integrates every node's counters over `dt_wall` seconds, from the rates
  // of the previous call to those of `demand` (keyed by node name; nodes
  // without an entry have no load). Pods on nodes that do not exist are
  // ignored.
  void Advance(double dt_wall, const std::unordered_map<std::string, NodeDemand>& demand);

  // Appends the series (text exposition 0.0.4) to `out`.
  void Render(std::string* out) const;

  size_t node_count() const { return nodes_.size(); }

 private:
  struct NodeState {
    double cpu_cores = 0;       // capacity
    int cpus = 1;               // ceil(cpu_cores), at least 1
    double memory_bytes = 0;    // capacity (MemTotal)
    bool has_rates = false;     // `rates` holds the previous integration point
    NodeRates rates;
    // Counters (seconds); per CPU, every CPU of a node gets the same share.
    double idle = 0, user = 0, system = 0;
    double cpu_waiting = 0, memory_waiting = 0, memory_stalled = 0, io_waiting = 0, io_stalled = 0;
  };

  void DrainNodeEvents();
  void ApplyNode(const StoredObject& node);

  std::shared_ptr<Watcher> watcher_;
  uint64_t listed_rv_ = 0;
  std::map<std::string, NodeState> nodes_;  // by name: the page is sorted
};

}  // namespace kinema::sim::usage
