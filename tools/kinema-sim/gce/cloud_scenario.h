// CloudScenario: the `cloud` section of a kinema-sim --scenario document and
// the cloud events of its `events` list (format: README.md in this folder).
//
// Contract:
//   - ParseCloudScenario reads only scenario["cloud"] and the entries of
//     scenario["events"] whose kind is "nodeFailure" or "spotPreemption"
//     (other kinds belong to other components and are ignored). Unknown keys
//     and bad values are InvalidArgument naming the key
//     ("cloud.bootDelay: bad duration 'x'").
//   - Durations and instants are seconds (a JSON number) or Go-style strings
//     ("90s", "15m", "1h30m"). Instants (`at`, `from`, `until`) are offsets
//     from the moment the simulated cluster starts serving.
// Thread-safety: plain values.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/status.h"

namespace kinema::sim::gce {

// No capacity for `machine_type` (empty: every type) of `capacity_type`
// ("spot", "on-demand"; empty: both) in `zone` during [from_s, until_s).
struct Stockout {
  std::string zone;
  std::string machine_type;
  std::string capacity_type;
  double from_s = 0;
  double until_s = std::numeric_limits<double>::infinity();
  bool Covers(const std::string& z, const std::string& type, bool spot, double t_s) const;
};

struct CloudEvent {
  enum class Kind { kNodeFailure, kSpotPreemption };
  Kind kind = Kind::kNodeFailure;
  double at_s = 0;
  std::string node;  // the Node (= instance) hit; empty with `count`
  int count = 0;     // spotPreemption without node: this many spot instances
};

struct CloudScenario {
  // Absent from the scenario: the project most snapshot Nodes' gce://
  // providerIDs name, else "sim-project" (project_set tells which).
  std::string project = "sim-project";
  bool project_set = false;
  double boot_delay_s = 30;           // insert → RUNNING (operation DONE)
  double join_delay_s = 20;           // RUNNING → Node registered and Ready
  double delete_delay_s = 10;         // delete → instance gone (operation DONE)
  double node_not_ready_delay_s = 40; // instance stopped → Node Ready=Unknown
  double node_remove_delay_s = 5;     // Node NotReady → Node removed
  double operation_error_delay_s = 3; // insert → DONE with a quota/stockout error
  std::optional<int64_t> quota_instances;  // per region; absent: unlimited
  std::optional<int64_t> quota_cpus;       // per region; absent: unlimited
  // Per machine family ("n2" → quota N2_CPUS), per region.
  std::map<std::string, int64_t> quota_family_cpus;
  std::vector<Stockout> stockouts;
  std::vector<CloudEvent> events;  // sorted by at_s
  // "gce": any instance registers its Node. "gke": only members of a node
  // pool's managed instance group do (GKE approves kubelet certificates for
  // group members only); the GKE API under /container/v1/ serves the
  // cluster `cluster`, located in the catalog's region.
  std::string mode = "gce";
  std::string cluster = "sim-cluster";
  double node_pool_create_delay_s = 90;  // nodePools.create → pool RUNNING (operation DONE)
  double node_pool_delete_delay_s = 60;  // nodePools.delete → pool gone (operation DONE)
  bool gke() const { return mode == "gke"; }
};

StatusOr<CloudScenario> ParseCloudScenario(const nlohmann::json& scenario);

// Seconds from a JSON number or a Go-style duration string; `key` names the
// field in errors.
StatusOr<double> ParseSeconds(const nlohmann::json& v, const std::string& key);

}  // namespace kinema::sim::gce
