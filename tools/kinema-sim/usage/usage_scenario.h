// UsageScenario: the parsed `usage` section and the `loadSurge` events of a
// kinema-sim --scenario document (format: README.md in this folder).
//
// Contract:
//   - ParseUsageScenario reads only scenario["usage"] and the entries of
//     scenario["events"] whose kind is "loadSurge" (other kinds belong to
//     other components and are ignored). Unknown keys and bad values are
//     InvalidArgument naming the key ("usage.deployments.shop/web.cpu.period:
//     bad duration 'x'").
//   - Durations are seconds (a JSON number) or Go-style strings ("90s",
//     "15m", "1h30m"); levels are Kubernetes quantities ("250m", "512Mi") or
//     numbers (cores, bytes).
// Thread-safety: plain values.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "engine/common/status.h"

namespace kinema::sim::usage {

// How one resource (cpu or memory) of a container moves over simulated time.
struct ResourceProfile {
  enum class Shape { kConstant, kDiurnal, kTrend, kSpike };
  Shape shape = Shape::kConstant;
  std::optional<double> level;    // absolute base level (cores or bytes)
  std::optional<double> fraction; // base = fraction × request (when no level)
  std::optional<double> noise;    // relative noise amplitude (default: usage.noise)
  double period_s = 86400;        // diurnal
  double amplitude = 0;           // diurnal: base × (1 + amplitude × sin(2π(t+phase)/period))
  double phase_s = 0;
  double slope_per_hour = 0;      // trend: base × (1 + slope × hours), floored at 0
  double at_s = 0, duration_s = 0, factor = 1;  // spike: × factor in [at, at+duration)

  // The multiplier of the base level at `t_s` simulated seconds.
  double Multiplier(double t_s) const;
};

struct WorkloadUsage {
  std::string ns;    // empty: the name matches in every namespace
  std::string name;  // Deployment or StatefulSet (or DaemonSet) name
  ResourceProfile cpu, memory;
  bool share_load = true;  // CPU per pod ∝ reference replicas / running replicas
};

struct LoadSurge {
  std::string ns;    // empty: every namespace
  std::string name;
  double factor = 1;
  double memory_factor = 1;
  double at_s = 0, duration_s = 0;
  bool Active(double t_s) const { return t_s >= at_s && t_s < at_s + duration_s; }
};

struct UsageScenario {
  double cpu_fraction = 0.5;        // default CPU usage = fraction × request
  double memory_fraction = 0.6;     // default memory usage = fraction × request
  double noise = 0.05;              // default relative CPU noise amplitude
  double memory_noise = 0.02;       // default relative memory noise amplitude
  double no_request_cpu = 0.01;     // cores, for containers without a CPU request
  double no_request_memory = 32.0 * 1024 * 1024;  // bytes
  bool oom_kill = true;             // kill containers whose memory passes their limit
  std::vector<WorkloadUsage> workloads;
  std::vector<LoadSurge> surges;

  // The profile for workload ns/name, or nullptr.
  const WorkloadUsage* Find(const std::string& ns, const std::string& name) const;
};

Status ParseUsageScenario(const nlohmann::json& scenario, UsageScenario* out);

// "90s", "15m", "1h30m", "250ms" or a number of seconds.
StatusOr<double> ParseSeconds(const nlohmann::json& v);

}  // namespace kinema::sim::usage
