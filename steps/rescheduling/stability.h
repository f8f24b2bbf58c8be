// Stability verdict (step 0, decision half): is the cluster quiet enough to
// plan? A pure function of a cluster snapshot; the stability-wait step polls
// it and requires it to hold for the whole quiet window.
//
// Unstable when any of:
//   - a pod is Pending (not being deleted);
//   - a Deployment is not rolled out: observedGeneration < generation, or
//     updated/ready/available replicas != spec.replicas, or extra replicas
//     (a rollout's surge) still exist;
//   - a StatefulSet is not rolled out: observedGeneration, readyReplicas,
//     currentRevision != updateRevision;
//   - an HPA is not at its desired count, or a resource metric's current
//     average utilisation is above max_hpa_utilization × its target;
//   - a Node is not Ready;
//   - a Node still carries Kinema's retire label (an earlier iteration is
//     still draining).
// Namespaces in `excluded_namespaces` are ignored.
#pragma once

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

namespace kinema::rescheduling {

inline constexpr const char* kRetireLabel = "kinema.io/retire";
inline constexpr const char* kIterationLabel = "kinema.io/iteration";
inline constexpr const char* kRetireTaintKey = "kinema.io/retiring";

struct StabilityOptions {
  double max_hpa_utilization = 0.9;
  std::set<std::string> excluded_namespaces;
};

struct StabilityReport {
  bool stable = true;
  std::vector<std::string> reasons;  // at most 20, most important first
  int unstable_objects = 0;
};

// `objects`: items of a kubectl-style List (nodes, pods, deployments,
// statefulsets, horizontalpodautoscalers; other kinds are ignored).
StabilityReport EvaluateStability(const std::vector<nlohmann::json>& objects, const StabilityOptions& options);

}  // namespace kinema::rescheduling
