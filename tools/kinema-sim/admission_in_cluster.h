// Admission for the kinds an in-cluster deployment uses (issue 20):
// ServiceAccount, Secret, ConfigMap, Service, PersistentVolumeClaim,
// PersistentVolume and the RBAC kinds — the defaulting and validation the
// real apiserver's strategies apply (pkg/apis/core/validation,
// pkg/apis/rbac/validation), to the extent clients can observe them.
//
// Contract:
//   - ApplyInClusterDefaults(): Secret `stringData` is merged into `data`
//     (base64) and removed, `type` defaults to Opaque; Service `type`
//     ClusterIP, a clusterIP from 10.96.0.0/12 chosen from its name (headless
//     "None" kept), clusterIPs/ipFamilies/ipFamilyPolicy, sessionAffinity,
//     ports' protocol TCP and targetPort = port; PVC/PV `volumeMode`
//     Filesystem, PV reclaim policy Retain. Fills only absent fields.
//   - ValidateInCluster(): data keys ([-._a-zA-Z0-9]+), base64 Secret data,
//     Service ports, PVC accessModes and storage request, RBAC rules (verbs,
//     apiGroups for resource rules, nonResourceURLs only in ClusterRoles),
//     roleRef (kind, apiGroup, immutable on update), subjects.
//     Returns no causes for kinds it does not know.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <vector>

#include "tools/kinema-sim/api_error.h"
#include "tools/kinema-sim/resource_types.h"

namespace kinema::sim {

bool IsInClusterKind(const ResourceType& rt);
void ApplyInClusterDefaults(const ResourceType& rt, nlohmann::json& obj);
std::vector<StatusCause> ValidateInCluster(const ResourceType& rt, const nlohmann::json& obj,
                                           const nlohmann::json* old);

}  // namespace kinema::sim
