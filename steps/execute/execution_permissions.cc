#include "steps/execute/execution_permissions.h"

namespace kinema::execute {

using S = kube::PermissionScope;

std::vector<std::string> NodeFieldsKinemaChanges() {
  // kinema.io/ labels (iteration, retire), the retire taint, unschedulable (cordon).
  return {"metadata.labels[kinema.io/]", "spec.taints", "spec.unschedulable"};
}

std::vector<kube::Permission> NodeBootPermissions() {
  return {
      // get: waits for booted Nodes to register; delete: compensation deletes
      // the Node of an instance it deleted.
      {"", "nodes", {"delete", "get"}, S::kCluster, {}, "node-boot"},
      // list (fieldSelector spec.nodeName): compensation keeps a node that hosts pods.
      {"", "pods", {"list"}, S::kCluster, {}, "node-boot (compensation)"},
  };
}

std::vector<kube::Permission> NodeMarkingPermissions() {
  return {
      // list: previous iteration labels, compensation; get+update:
      // Client::GetAndUpdate (labels, the retire taint, their removal).
      {"", "nodes", {"get", "list", "update"}, S::kCluster, {}, "labeling", NodeFieldsKinemaChanges()},
      // list: the kind's input finds kept nodes that receive moved pods.
      {"", "pods", {"list"}, S::kCluster, {}, "labeling"},
  };
}

std::vector<kube::Permission> WorkloadMovePermissions() {
  return {
      {"", "pods", {"list"}, S::kCluster, {}, "deployment-patch (pods on retiring nodes)"},
      {"apps", "replicasets", {"list"}, S::kCluster, {}, "deployment-patch (pod -> Deployment)"},
      // get: rollout progress; update: Client::GetAndUpdate (affinity toward
      // the plan, strategy, and restoring the originals).
      {"apps", "deployments", {"get", "update"}, S::kCluster, {}, "deployment-patch",
       {"metadata.annotations[kinema.io/]", "metadata.labels[kinema.io/]", "spec.strategy",
        "spec.template.metadata.annotations[kinema.io/]", "spec.template.metadata.labels[kinema.io/]",
        "spec.template.spec.affinity"}},
      {"policy", "poddisruptionbudgets", {"list"}, S::kCluster, {}, "deployment-patch (rollouts within PDBs)"},
      // The stall breaker: room on the nodes, owners that may lose a pod.
      {"", "nodes", {"list"}, S::kCluster, {}, "deployment-patch (stall breaker: room per node)"},
      {"apps", "deployments", {"list"}, S::kCluster, {}, "deployment-patch (stall breaker: owners that may lose a pod)"},
      // Client::Evict: POST pods/NAME/eviction (policy/v1); RBAC sees a
      // create on the pods/eviction subresource of the core group.
      {"", "pods/eviction", {"create"}, S::kCluster, {}, "deployment-patch (Client::Evict)"},
      // Room holds (room_hold.h): placeholder pods in the controller's own
      // namespace, created before the rollouts and deleted as they start.
      {"", "pods", {"create", "delete"}, S::kLeaseNamespace, {}, "deployment-patch (room holds)"},
  };
}

std::vector<kube::Permission> NodeRetirementPermissions() {
  return {
      // get: is the node still there; update: Client::GetAndUpdate removes
      // the marks of a node it keeps; delete: the retired Node.
      {"", "nodes", {"delete", "get", "update"}, S::kCluster, {}, "drain-and-delete", NodeFieldsKinemaChanges()},
      {"", "pods", {"list"}, S::kCluster, {}, "drain-and-delete (pods on a node)"},
      {"", "pods/eviction", {"create"}, S::kCluster, {}, "drain-and-delete (Client::Evict)"},
  };
}

}  // namespace kinema::execute
