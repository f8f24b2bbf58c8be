// NodeEligibility: whether a DaemonSet's pod may run on a node — the
// daemonset controller's predicates (pkg/controller/daemon/
// daemon_controller.go NodeShouldRunDaemonPod): nodeSelector, required
// node affinity (matchExpressions In/NotIn/Exists/DoesNotExist/Gt/Lt and
// matchFields metadata.name; terms ORed, expressions ANDed), and taints
// with effect NoSchedule/NoExecute tolerated by the pod's tolerations plus
// the ones DaemonSet pods get automatically (not-ready, unreachable,
// disk/memory/pid-pressure, unschedulable, network-unavailable).
// Pure functions.
#pragma once

#include <nlohmann/json.hpp>

namespace kinema::sim::cluster {

bool Tolerates(const nlohmann::json& toleration, const nlohmann::json& taint);
bool MatchesRequiredNodeAffinity(const nlohmann::json& pod_spec, const nlohmann::json& node);
bool DaemonPodFitsNode(const nlohmann::json& pod_spec, const nlohmann::json& node);
// The tolerations the DaemonSet controller adds to every daemon pod.
const nlohmann::json& DaemonTolerations();

}  // namespace kinema::sim::cluster
