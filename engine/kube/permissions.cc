#include "engine/kube/permissions.h"

#include <algorithm>

namespace kinema::kube {

const char* PermissionScopeName(PermissionScope s) {
  return s == PermissionScope::kCluster ? "cluster" : "lease-namespace";
}

std::vector<Permission> ControllerPermissions(const std::string& lease_name) {
  using S = PermissionScope;
  return {
      // Nodes (cluster-scoped).
      //   list:   engine/snapshot TakeClusterSnapshot (stability-wait, decision);
      //           steps/rescheduling/labeling_step.cc (nodes of the plan, compensation).
      //   get:    node_boot_step.cc (waits for booted nodes to register);
      //           drain_delete_step.cc (is the node still there); Client::GetAndUpdate.
      //   update: Client::GetAndUpdate (PUT) in labeling_step.cc (plan labels,
      //           retire taint, their removal) and drain_delete_step.cc (cordon).
      //   delete: drain_delete_step.cc (retired node); node_boot_step.cc
      //           (compensation: the Node of an instance it deleted).
      //   Fields: kinema.io/ labels (iteration, retire), the retire taint,
      //   unschedulable (cordon).
      {"", "nodes", {"delete", "get", "list", "update"}, S::kCluster, {}, "snapshot, labeling, node-boot, drain-and-delete",
       {"metadata.labels[kinema.io/]", "spec.taints", "spec.unschedulable"}},
      // Pods: list only (all namespaces; label and field selectors).
      //   engine/snapshot TakeClusterSnapshot; optimization_step.cc
      //   (exclusions.labelSelector); labeling_step.cc; deployment_patch_step.cc;
      //   node_boot_step.cc and drain_delete_step.cc (pods on a node).
      {"", "pods", {"list"}, S::kCluster, {}, "snapshot, optimization, labeling, node-boot, deployment-patch, drain-and-delete"},
      // Evictions: Client::Evict (POST pods/NAME/eviction, policy/v1) from
      // drain_delete_step.cc and deployment_patch_step.cc. RBAC sees a create
      // on the pods/eviction subresource of the core group.
      {"", "pods/eviction", {"create"}, S::kCluster, {}, "deployment-patch, drain-and-delete (Client::Evict)"},
      // Events: Client::RecordEvent creates core/v1 Events in the namespace of
      // the object it is about (a Deployment's namespace; "default" for
      // Nodes), so this must be cluster-wide, not a kube-system Role.
      {"", "events", {"create"}, S::kCluster, {}, "Client::RecordEvent (Events on Nodes and Deployments)"},
      // Deployments.
      //   list:   engine/snapshot TakeClusterSnapshot.
      //   get:    deployment_patch_step.cc (rollout progress); Client::GetAndUpdate.
      //   update: Client::GetAndUpdate (PUT) in deployment_patch_step.cc
      //           (node affinity toward the plan, and restoring the original).
      //   Fields: the preferred node affinity, the rollout strategy, the
      //   kinema.io/ annotations and labels (on the Deployment and its template).
      {"apps", "deployments", {"get", "list", "update"}, S::kCluster, {}, "snapshot, deployment-patch",
       {"metadata.annotations[kinema.io/]", "metadata.labels[kinema.io/]", "spec.strategy",
        "spec.template.metadata.annotations[kinema.io/]", "spec.template.metadata.labels[kinema.io/]",
        "spec.template.spec.affinity"}},
      // ReplicaSets: engine/snapshot; deployment_patch_step.cc (pod → Deployment).
      {"apps", "replicasets", {"list"}, S::kCluster, {}, "snapshot, deployment-patch"},
      // StatefulSets, DaemonSets: engine/snapshot (stability, pod owners).
      {"apps", "statefulsets", {"list"}, S::kCluster, {}, "snapshot"},
      {"apps", "daemonsets", {"list"}, S::kCluster, {}, "snapshot"},
      // PodDisruptionBudgets: engine/snapshot (the planner respects them).
      {"policy", "poddisruptionbudgets", {"list"}, S::kCluster, {}, "snapshot"},
      // HPAs (autoscaling/v2): engine/snapshot (stability: HPAs settled).
      {"autoscaling", "horizontalpodautoscalers", {"list"}, S::kCluster, {}, "snapshot"},
      // The leader Lease, engine/kube/leader_elector.cc: GET every retry
      // period, PUT to acquire/renew/release — restricted to its name.
      {"coordination.k8s.io", "leases", {"get", "update"}, S::kLeaseNamespace, {lease_name},
       "LeaderElector (get, acquire, renew, release)", {"spec"}},
      // POST when the Lease does not exist yet. RBAC cannot restrict create
      // by resourceNames (the name is not part of the request URL).
      {"coordination.k8s.io", "leases", {"create"}, S::kLeaseNamespace, {}, "LeaderElector (first acquire)"},
  };
}

namespace {

std::string Describe(std::string_view group, std::string_view resource, std::string_view verb) {
  return std::string(verb) + " " + std::string(resource) + (group.empty() ? "" : "." + std::string(group));
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::vector<std::string_view> Split(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find('/', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool QueryHasWatch(std::string_view query) {
  size_t i = 0;
  while (i <= query.size()) {
    size_t j = query.find('&', i);
    if (j == std::string_view::npos) j = query.size();
    std::string_view kv = query.substr(i, j - i);
    if (kv == "watch=true" || kv == "watch=1") return true;
    i = j + 1;
  }
  return false;
}

}  // namespace

Status CheckPermission(const std::vector<Permission>& permissions, std::string_view group,
                       std::string_view resource, std::string_view verb) {
  for (const Permission& p : permissions) {
    if (p.api_group == group && p.resource == resource && Contains(p.verbs, verb)) return Status::OK();
  }
  return Status::PermissionDenied("not declared in ControllerPermissions(): " + Describe(group, resource, verb));
}

StatusOr<RequestAttributes> RequestAttributesOf(std::string_view method, std::string_view path,
                                                std::string_view query) {
  if (size_t q = path.find('?'); q != std::string_view::npos) {
    if (query.empty()) query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  const std::vector<std::string_view> parts = Split(path);
  RequestAttributes a;
  size_t i = 0;
  if (parts.size() >= 2 && parts[0] == "api") {
    i = 2;  // api/v1
  } else if (parts.size() >= 3 && parts[0] == "apis") {
    a.api_group = std::string(parts[1]);
    i = 3;  // apis/<group>/<version>
  } else {
    return Status::InvalidArgument("not a resource request: " + std::string(path));
  }
  // /namespaces/<ns>/<resource>... ; /namespaces and /namespaces/<ns> alone
  // are the namespaces resource itself.
  if (parts.size() > i + 2 && parts[i] == "namespaces") {
    a.ns = std::string(parts[i + 1]);
    i += 2;
  }
  if (i >= parts.size()) return Status::InvalidArgument("not a resource request: " + std::string(path));
  a.resource = std::string(parts[i]);
  if (i + 1 < parts.size()) a.name = std::string(parts[i + 1]);
  if (i + 2 < parts.size()) a.resource += "/" + std::string(parts[i + 2]);
  if (i + 3 < parts.size()) return Status::InvalidArgument("not a resource request: " + std::string(path));

  const bool collection = a.name.empty();
  if (method == "GET" || method == "HEAD") {
    a.verb = collection ? (QueryHasWatch(query) ? "watch" : "list") : "get";
  } else if (method == "POST") {
    a.verb = "create";
  } else if (method == "PUT") {
    a.verb = "update";
  } else if (method == "PATCH") {
    a.verb = "patch";
  } else if (method == "DELETE") {
    a.verb = collection ? "deletecollection" : "delete";
  } else {
    return Status::InvalidArgument("unsupported HTTP method " + std::string(method) + " on " + std::string(path));
  }
  // POST to a collection names no object; the subresource form (pods/x/eviction)
  // keeps its name, as RBAC sees it.
  return a;
}

Status CheckRequest(const std::vector<Permission>& permissions, const RequestAttributes& r,
                    const std::string& lease_namespace) {
  for (const Permission& p : permissions) {
    if (p.api_group != r.api_group || p.resource != r.resource || !Contains(p.verbs, r.verb)) continue;
    if (p.scope == PermissionScope::kLeaseNamespace && r.ns != lease_namespace) continue;
    if (!p.resource_names.empty() && !Contains(p.resource_names, r.name)) continue;
    return Status::OK();
  }
  std::string where = r.ns.empty() ? "cluster-wide" : "in namespace " + r.ns;
  if (!r.name.empty()) where += ", name " + r.name;
  return Status::PermissionDenied("not declared in ControllerPermissions(): " +
                                  Describe(r.api_group, r.resource, r.verb) + " (" + where + ")");
}

}  // namespace kinema::kube
