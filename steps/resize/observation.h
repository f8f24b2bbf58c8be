// What the `observe` step journals: the managed pods, their containers'
// requests, limits and usage, and the state of their last resize. Typed
// values with ToJson/FromJson, and the pure readers that build them from
// Kubernetes objects.
//
// Times are the cluster's clock (the metrics' timestamps, the pods'
// startTime and the kinema.io/last-resize annotation), never the
// controller's, so cooldowns and windows compare like with like.
// Thread-safety: plain values and pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "steps/resize/policy.h"

namespace kinema::resize {

// Annotations the kind writes on a pod it resized (the seed's cooldown record).
inline constexpr const char* kLastResizeAnnotation = "kinema.io/last-resize";            // RFC 3339
inline constexpr const char* kLastResizeWorkflowAnnotation = "kinema.io/last-resize-workflow";  // workflow id

struct ObservedContainer {
  std::string name;
  std::optional<int64_t> cpu_request, cpu_limit, memory_request, memory_limit;  // millicores, bytes
  bool cpu_restart = false, memory_restart = false;  // resizePolicy RestartContainer
  bool has_usage = false;
  double cpu_usage = 0, memory_usage = 0;  // millicores, bytes
};

// Where a pod's last resize stands (from its conditions and status).
enum class ResizeState { kNone, kInProgress, kDeferred, kInfeasible };
const char* ResizeStateName(ResizeState s);
ResizeState ResizeStateFromName(const std::string& s);

struct ObservedPod {
  std::string ns, name, uid, node;
  int64_t generation = 0;
  int64_t started_ms = 0;       // status.startTime (else creationTimestamp)
  int64_t last_resize_ms = 0;   // the annotation; 0 = never resized by Kinema
  std::string last_resize_workflow;
  ResizeState resize = ResizeState::kNone;
  std::string resize_message;   // the kubelet's message for Deferred/Infeasible
  int64_t sampled_ms = 0;       // the usage sample's time
  std::vector<ObservedContainer> containers;

  std::string key() const { return ns + "/" + name; }
  const ObservedContainer* Find(const std::string& container) const;
  nlohmann::json ToJson() const;
  static StatusOr<ObservedPod> FromJson(const nlohmann::json& j);
};

struct Observation {
  std::string source;           // metrics | prometheus
  int64_t at_ms = 0;            // cluster time of the observation (latest sample)
  std::vector<ObservedPod> pods;
  std::vector<std::string> skipped;  // "ns/name: why" for pods not managed this cycle
  std::vector<std::string> notes;    // source problems (malformed metrics, ...)

  nlohmann::json ToJson() const;
  static StatusOr<Observation> FromJson(const nlohmann::json& j);
};

// Reads a pod's spec and status (requests, limits, resizePolicy, start
// time, annotation, resize conditions). Usage is left empty.
ObservedPod ReadPod(const nlohmann::json& pod);

// Is a pod's spec ahead of what its containers run with? (A resize not yet
// actuated: spec resources differ from status.containerStatuses[].resources,
// or status.observedGeneration < metadata.generation.)
bool SpecAheadOfStatus(const nlohmann::json& pod);

// One usage sample of a pod's containers, kept for the window.
struct UsageSample {
  int64_t at_ms = 0;
  std::map<std::string, std::pair<double, double>> containers;  // name -> (cpu millicores, memory bytes)
};

// Samples per pod uid from earlier observations (the journal's history).
using UsageHistory = std::map<std::string, std::vector<UsageSample>>;
void AddToHistory(const Observation& o, UsageHistory* history);

// The policy's view of one observed pod: usage now, the peak over
// [now - window, now] from `history` plus the current sample, and whether
// samples reach back to the window's start.
PodState ToPodState(const ObservedPod& pod, const UsageHistory& history, int64_t window_ms);

}  // namespace kinema::resize
