// Permissions: the Kubernetes RBAC permissions the controller's code uses —
// the declaration deploy/ (ClusterRole + Role) is checked against.
//
// What:
//   - Each part of the code declares the (apiGroup, resource[/subresource],
//     verbs, scope) it sends to the API server, each entry naming the code
//     that needs it: EnginePermissions() here (leader Lease, Events), the
//     snapshot (engine/snapshot), and every workflow kind (steps/<kind>);
//     the kind registry unions them with MergePermissions(). Nothing more: a
//     verb no code sends is not declared (least privilege), and a request
//     the code sends that is not declared is a bug in a declaration (the
//     controller would get 403 Forbidden in a real cluster).
//   - RequestAttributesOf() maps an HTTP request (method, path, query) to the
//     RBAC attributes the API server's authorizer sees (same rules as the
//     apiserver's RequestInfoFactory: GET on a collection is list, or watch
//     with ?watch=true; GET on an object is get; POST create; PUT update;
//     PATCH patch; DELETE on an object delete, on a collection
//     deletecollection), so a recording of real requests (e.g. against
//     kinema-sim) can be checked with CheckRequest().
//   - CheckPermission()/CheckRequest() return OK when a declared rule allows
//     the request, else kPermissionDenied naming what is missing.
//
// Invariants of every declaration: no wildcards ("*") anywhere; verbs
// are Kubernetes RBAC verbs; resource_names only on verbs that RBAC can
// restrict by name (never create, list, watch, deletecollection); every
// update/patch of a kind other than the Lease names its mutable_fields.
// Thread-safety: pure functions over values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/common/status.h"

namespace kinema::kube {

enum class PermissionScope {
  kCluster,         // ClusterRole (+ ClusterRoleBinding): every namespace and cluster-scoped kinds
  kLeaseNamespace,  // Role (+ RoleBinding) in leaderElection.namespace (kube-system)
};
const char* PermissionScopeName(PermissionScope s);  // "cluster" / "lease-namespace"

struct Permission {
  std::string api_group;                  // "" for core
  std::string resource;                   // "pods", or with subresource "pods/eviction"
  std::vector<std::string> verbs;         // sorted, e.g. {"delete", "get", "list", "update"}
  PermissionScope scope = PermissionScope::kCluster;
  std::vector<std::string> resource_names;  // empty: any name
  std::string used_by;                    // the code that sends these requests
  // For update/patch: the only fields those writes change. deploy/'s
  // ValidatingAdmissionPolicy (admission_policy.h) lets the controller's
  // service account change exactly these and nothing else. A dotted path
  // ("spec.strategy") frees that field and everything under it; a map field
  // with a key prefix ("metadata.labels[kinema.io/]") frees only keys with
  // that prefix. Empty with update/patch: nothing may change.
  std::vector<std::string> mutable_fields = {};
};

// The engine's own requests: the leader Lease (`lease_name` is
// leaderElection.name) and Events.
std::vector<Permission> EnginePermissions(const std::string& lease_name = "kinema");

// Merges declarations: one entry per (group, resource, scope, resource
// names) with the sorted union of verbs, of mutable_fields and of `used_by`.
std::vector<Permission> MergePermissions(const std::vector<Permission>& permissions);

// OK iff some permission allows `verb` on `group`/`resource` (any scope, any
// name). kPermissionDenied names the missing (group, resource, verb).
Status CheckPermission(const std::vector<Permission>& permissions, std::string_view group,
                       std::string_view resource, std::string_view verb);

// The RBAC attributes of one request.
struct RequestAttributes {
  std::string verb;       // get, list, watch, create, update, patch, delete, deletecollection
  std::string api_group;  // "" for core
  std::string resource;   // "pods" or "pods/eviction"
  std::string ns;         // "" for cluster-scoped kinds and all-namespace lists
  std::string name;       // "" for collections
};

// Parses "/api/v1/namespaces/shop/pods/cart-1/eviction" and friends.
// InvalidArgument for paths that are not resource requests (e.g. /version).
StatusOr<RequestAttributes> RequestAttributesOf(std::string_view method, std::string_view path,
                                                std::string_view query = {});

// Like CheckPermission, and also honours scope (a kLeaseNamespace rule only
// allows requests in `lease_namespace`) and resource_names.
Status CheckRequest(const std::vector<Permission>& permissions, const RequestAttributes& request,
                    const std::string& lease_namespace = "kube-system");

}  // namespace kinema::kube
