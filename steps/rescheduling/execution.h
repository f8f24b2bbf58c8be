// Pure decisions of the executing half of an iteration (steps 4-7: node
// boot, labeling, deployment patch, drain-and-delete). Functions of the plan,
// the catalog and Kubernetes objects as JSON; no I/O. The *_step.cc files
// perform the effects.
//
// Names and marks the controller puts on the cluster (all removable by
// compensation, none piling up across iterations):
//   node label  kinema.io/iteration=<iteration>   nodes the moved pods should land on
//   node label  kinema.io/retire=<iteration>      nodes this iteration retires
//   node taint  kinema.io/retire=<iteration>:NoSchedule   nothing new lands there
//   pod template annotation kinema.io/iteration=<iteration>  "patched by"
//   pod template: ONE preferred node-affinity term on kinema.io/iteration
//     (weight 100); an earlier iteration's term is replaced, never added to.
//   cloud labels kinema-workflow=<iteration>, kinema-planned=<planned name>
// Thread-safety: stateless functions.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/catalog/catalog.h"

namespace kinema::rescheduling {

inline constexpr const char* kIterationLabel = "kinema.io/iteration";
inline constexpr const char* kRetireLabel = "kinema.io/retire";
inline constexpr const char* kRetireTaintKey = "kinema.io/retire";
inline constexpr const char* kDoNotDisrupt = "kinema.io/do-not-disrupt";
inline constexpr const char* kCloudWorkflowLabel = "kinema-workflow";
inline constexpr const char* kCloudPlannedLabel = "kinema-planned";

// A label value (and cloud label value) for a workflow id: lower-case,
// [a-z0-9-] only, at most 63 characters, starting and ending alphanumeric.
// Distinct ids of the form "iteration-YYYYMMDDTHHMMSSZ" stay distinct.
std::string IterationValue(const std::string& workflow_id);

// ---------------------------------------------------------------- boot

struct BootTarget {
  std::string planned;        // the plan's name for the node
  std::string instance_name;  // cloud instance = Node name; derived from the workflow id
  std::string machine_type;
  std::string zone;
  std::string capacity;       // "on-demand" | "spot"
};

// The plan's `boot` nodes, each with a deterministic instance name
// (InstanceNameFor(prefix, "<workflow id>/<planned>")), in plan order.
std::vector<BootTarget> BootTargetsOf(const nlohmann::json& plan, const std::string& workflow_id,
                                      const std::string& prefix);

struct BootOption {
  std::string zone;
  std::string machine_type;
  bool operator==(const BootOption&) const = default;
};

// Where to try a boot, in order: the planned type and zone; the same type in
// its other offered zones; then types at least as large (allocatable cpu,
// memory and pods) that offer the capacity type, cheapest first, each in its
// zones. `allowed_zones` (config cloud.zones) filters zones when non-empty.
std::vector<BootOption> BootOptionsFor(const Catalog& catalog, const BootTarget& target,
                                       const std::vector<std::string>& allowed_zones);

// ---------------------------------------------------------------- nodes

// Nodes the plan retires, in plan order.
std::vector<std::string> RetiringNodesOf(const nlohmann::json& plan);
// Kept nodes (by name) that receive at least one moved pod in the plan;
// `current_node` maps "ns/pod" to the pod's node now (pods missing from it
// are not counted as moved).
std::vector<std::string> KeptNodesReceivingPods(const nlohmann::json& plan,
                                                const std::map<std::string, std::string>& current_node);
bool NodeIsReady(const nlohmann::json& node);
bool HasDoNotDisrupt(const nlohmann::json& object);
// "gce://project/zone/name" → zone and name; false if not a GCE provider id.
bool ParseGceProviderId(const std::string& provider_id, std::string* zone, std::string* name);

// Node taints with the retire taint of `iteration` added (replacing any
// earlier kinema.io/retire taint).
nlohmann::json TaintsWithRetire(const nlohmann::json& taints, const std::string& iteration);
// Node taints without any kinema.io/retire taint.
nlohmann::json TaintsWithoutRetire(const nlohmann::json& taints);

// ---------------------------------------------------------------- pods

struct OwnerRef {
  std::string kind;  // "" when the pod has no controller
  std::string name;
};
OwnerRef ControllerOf(const nlohmann::json& object);
bool IsDaemonSetPod(const nlohmann::json& pod);
bool IsMirrorPod(const nlohmann::json& pod);
// Succeeded/Failed, or being deleted.
bool IsPodFinished(const nlohmann::json& pod);

// Why a pod on a retiring node cannot be moved by evicting it ("" = it can):
// no controller, mirror pod, do-not-disrupt annotation.
std::string WhyPodCannotMove(const nlohmann::json& pod);

// ---------------------------------------------------------------- deployments

// `affinity` (a pod template's spec.affinity, may be null) with the
// controller's preferred node-affinity term for `iteration` — every earlier
// term on kinema.io/iteration removed first, so terms never pile up.
nlohmann::json AffinityPreferringIteration(const nlohmann::json& affinity, const std::string& iteration);

// True when the Deployment has finished rolling out its current template:
// observedGeneration >= generation, and updated, ready, available and total
// replicas all equal spec.replicas. Otherwise *why says what is missing.
// ProgressDeadlineExceeded sets *failed.
bool DeploymentRolledOut(const nlohmann::json& deployment, std::string* why, bool* failed);

// Does a LabelSelector (matchLabels + matchExpressions In/NotIn/Exists/
// DoesNotExist) select these labels? An empty selector selects nothing.
bool SelectorMatches(const nlohmann::json& selector, const nlohmann::json& labels);
// A policy/v1 PDB's selector against pod labels (empty selector: all pods).
bool PdbSelects(const nlohmann::json& pdb, const nlohmann::json& pod_labels);

// Kubernetes' IntOrString scaling: "25%" of total (rounded up or down), or
// the integer itself.
int64_t ScaledValue(const nlohmann::json& int_or_percent, int64_t total, bool round_up, int64_t fallback);

// The RollingUpdate strategy a move uses for a Deployment with `replicas`
// replicas whose pods the given PDBs select: maxUnavailable = the smaller of
// the Deployment's own and what the tightest PDB allows at full health, so a
// rollout is never a PDB violation (rollouts are not evictions: PDBs do not
// gate them); maxSurge 0 when maxUnavailable >= 1 (each pod's place is freed
// before its replacement is created, so the move needs no capacity the plan
// did not reserve), else the Deployment's, at least 1. A Recreate strategy is
// returned unchanged.
nlohmann::json RolloutStrategyWithinBudgets(const nlohmann::json& strategy, int64_t replicas,
                                            const std::vector<nlohmann::json>& pdbs);

}  // namespace kinema::rescheduling
