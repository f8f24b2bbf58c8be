// The resource types the cluster controllers use (served by kinema-sim).
#pragma once

#include "tools/kinema-sim/resource_types.h"

namespace kinema::sim::cluster {

inline const ResourceType& PodsType() { return *ResourceRegistry::Default().Find("", "v1", "pods"); }
inline const ResourceType& NodesType() { return *ResourceRegistry::Default().Find("", "v1", "nodes"); }
inline const ResourceType& ReplicaSetsType() { return *ResourceRegistry::Default().Find("apps", "v1", "replicasets"); }
inline const ResourceType& DeploymentsType() { return *ResourceRegistry::Default().Find("apps", "v1", "deployments"); }
inline const ResourceType& StatefulSetsType() { return *ResourceRegistry::Default().Find("apps", "v1", "statefulsets"); }
inline const ResourceType& DaemonSetsType() { return *ResourceRegistry::Default().Find("apps", "v1", "daemonsets"); }
inline const ResourceType& LeasesType() {
  return *ResourceRegistry::Default().Find("coordination.k8s.io", "v1", "leases");
}
inline const ResourceType& PdbsType() {
  return *ResourceRegistry::Default().Find("policy", "v1", "poddisruptionbudgets");
}

}  // namespace kinema::sim::cluster
