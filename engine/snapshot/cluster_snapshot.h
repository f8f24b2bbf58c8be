// TakeClusterSnapshot: the cluster as the planner sees it — exactly the
// shape of `kubectl get nodes,pods,deployments,replicasets,statefulsets,
// daemonsets,pdb,hpa -A -o json` (planning.md §1): a v1 List whose items
// carry their own kind and apiVersion (list responses omit them per item;
// kubectl adds them, and so do we).
//
// Each kind is one paginated list (consistent per kind, not across kinds —
// the decision step's re-snapshot measures what changed meanwhile).
// Thread-safety: stateless; the client is thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/common/status.h"
#include "engine/kube/client.h"
#include "engine/kube/permissions.h"

namespace kinema {

struct ClusterSnapshot {
  nlohmann::json list;          // {"apiVersion":"v1","kind":"List","items":[...]}
  std::vector<nlohmann::json> items() const;  // a copy of list["items"]
  int nodes = 0, pods = 0;
  int64_t taken_ms = 0;
};

StatusOr<ClusterSnapshot> TakeClusterSnapshot(kube::Client& client);

// The RBAC rules TakeClusterSnapshot needs (list of each kind, cluster-wide).
std::vector<kube::Permission> SnapshotPermissions();

}  // namespace kinema
