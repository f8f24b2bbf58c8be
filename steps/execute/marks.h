// Marks the controller puts on the cluster while it executes a workflow:
// names, labels, taints and the node-affinity term. Pure functions; no I/O.
//
// Every mark is removable by compensation and none piles up across
// workflows:
//   node label  kinema.io/iteration=<workflow>   nodes moved pods should land on
//   node label  kinema.io/retire=<workflow>      nodes this workflow retires
//   node taint  kinema.io/retire=<workflow>:NoSchedule   nothing new lands there
//   pod template annotation kinema.io/iteration=<workflow>  "patched by"
//   pod template: ONE preferred node-affinity term on kinema.io/iteration
//     (weight 100), plus with per-workload steering one on the planned
//     nodes' kubernetes.io/hostname (weight 100, the iteration term then
//     10); an earlier workflow's terms are replaced, never added to.
//   cloud labels kinema-workflow=<workflow>, kinema-planned=<planned name>
// Thread-safety: stateless functions.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace kinema::execute {

inline constexpr const char* kIterationLabel = "kinema.io/iteration";
inline constexpr const char* kRetireLabel = "kinema.io/retire";
inline constexpr const char* kRetireTaintKey = "kinema.io/retire";
inline constexpr const char* kCloudWorkflowLabel = "kinema-workflow";
inline constexpr const char* kCloudPlannedLabel = "kinema-planned";
// The Node label GKE sets to the node's pool (gke retirement's group hint).
inline constexpr const char* kGkeNodePoolLabel = "cloud.google.com/gke-nodepool";

// A label value (and cloud label value) for a workflow id: lower-case,
// [a-z0-9-] only, at most 63 characters, starting and ending alphanumeric.
// Distinct ids that differ in their last 63 valid characters stay distinct.
std::string IterationValue(const std::string& workflow_id);

// Node taints with the retire taint of `iteration` added (replacing any
// earlier kinema.io/retire taint).
nlohmann::json TaintsWithRetire(const nlohmann::json& taints, const std::string& iteration);
// Node taints without any kinema.io/retire taint.
nlohmann::json TaintsWithoutRetire(const nlohmann::json& taints);

// `affinity` (a pod template's spec.affinity, may be null) with the
// controller's preferred node-affinity term for `iteration` — every earlier
// term on kinema.io/iteration or kinema.io/retire (the steering term of
// workload_move.h) removed first, so terms never pile up.
nlohmann::json AffinityPreferringIteration(const nlohmann::json& affinity, const std::string& iteration);

// The value of `key` in object.metadata.labels, "" when absent.
std::string LabelOf(const nlohmann::json& object, const char* key);

}  // namespace kinema::execute
