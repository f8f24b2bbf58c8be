// The in-place resize policy of the seed "Kubernetes Dynamic Resource
// Manager", as a pure function of one pod's observed state.
//
// Per container and resource (memory always, CPU when resize.cpu.enabled):
//   - scale up, immediately (it prevents OOM kills), when
//       usage >= scaleUpThreshold × request:
//       new request = max(usage × scaleUpUsageMultiplier, request × scaleUpMinGrowth);
//   - scale down when the peak usage over the window stayed
//       <= scaleDownThreshold × request, the window is covered by
//       observations, `cooldown` has passed since the pod's last resize (a
//       pod never resized counts from its start), and the cut is at least
//       scaleDownMinDiff of the request:
//       new request = max(peak × scaleDownUsageMultiplier, minRequest).
// Safety rules applied to every change:
//   - the limit keeps its ratio to the request (limit/request before =
//     after); a container without a limit stays without one;
//   - the pod's QoS class never changes (Guaranteed stays request == limit,
//     a Burstable limit never collapses onto its request); a resize that
//     would change it is refused;
//   - a memory limit is never set below kMemoryLimitUsageFloor × usage;
//   - a resource whose resizePolicy is RestartContainer is changed only with
//     allowRestart;
//   - containers without a request for the resource (nor a limit, which
//     would default it) are left alone;
//   - a pod with a resize still pending or in progress is left alone.
// Rounding: memory up to whole MiB, CPU up to whole millicores; limits too.
// Units: memory in bytes, CPU in millicores (usage as doubles in the same
// units).
// Thread-safety: pure functions and plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/time.h"

namespace kinema::resize {

inline constexpr double kMemoryLimitUsageFloor = 1.2;
inline constexpr int64_t kMiB = 1024 * 1024;

// One resource's thresholds (resize.memory.* or resize.cpu.*).
struct ResourcePolicy {
  bool enabled = true;
  double scale_up_threshold = 0.8;
  double scale_up_usage_multiplier = 1.4;
  double scale_up_min_growth = 1.2;
  double scale_down_threshold = 0.3;
  double scale_down_usage_multiplier = 2.5;
  double scale_down_min_diff = 0.2;
  int64_t min_request = 100 * kMiB;  // bytes for memory, millicores for CPU
  Duration cooldown{600000};
};

struct PolicySettings {
  ResourcePolicy memory;
  ResourcePolicy cpu = DefaultCpuPolicy();
  bool allow_restart = false;

  static ResourcePolicy DefaultCpuPolicy() {
    ResourcePolicy p;
    p.enabled = false;
    p.min_request = 10;  // 10m
    return p;
  }
};

enum class Resource { kCpu, kMemory };
const char* ResourceName(Resource r);  // "cpu", "memory"

// What the controller knows about one resource of one container.
struct ResourceState {
  std::optional<int64_t> request, limit;
  double usage = 0;         // the latest sample
  double window_peak = 0;   // the highest sample over the window (>= usage)
  bool window_covered = false;  // samples cover the whole window
  bool restart_required = false;  // resizePolicy RestartContainer for this resource
};

struct ContainerState {
  std::string name;
  ResourceState cpu, memory;
  bool has_usage = false;  // the metrics source reported this container
  const ResourceState& Of(Resource r) const { return r == Resource::kCpu ? cpu : memory; }
};

struct PodState {
  std::string key;  // "ns/name"
  std::vector<ContainerState> containers;
  int64_t last_resize_ms = 0;  // the annotation's time, else the pod's start
  bool resize_pending = false;  // spec differs from what runs, or PodResizePending/InProgress
};

enum class Direction { kUp, kDown };
const char* DirectionName(Direction d);

struct ResourceChange {
  std::string container;
  Resource resource = Resource::kMemory;
  Direction direction = Direction::kUp;
  int64_t old_request = 0, new_request = 0;
  std::optional<int64_t> old_limit, new_limit;
  std::string why;  // the rule and the numbers behind it
};

struct PodDecision {
  std::string key;
  std::vector<ResourceChange> changes;  // empty: leave the pod as it is
  std::vector<std::string> notes;       // why a container or resource was left alone
  bool restarts = false;                // a change needs a container restart (allowRestart)
  bool scale_up() const;
};

// The QoS class of a pod from its containers' requests and limits (cpu and
// memory): "Guaranteed", "Burstable" or "BestEffort", as the API server
// computes it (a limit without a request counts as request == limit).
struct QosResources {
  std::optional<int64_t> cpu_request, cpu_limit, memory_request, memory_limit;
};
std::string QosClass(const std::vector<QosResources>& containers);

PodDecision DecidePod(const PodState& pod, const PolicySettings& policy, int64_t now_ms);

// Rounds up to the resource's granularity (MiB for memory, 1m for CPU).
int64_t RoundUp(Resource r, double value);

}  // namespace kinema::resize
