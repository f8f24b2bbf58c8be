// Authorizer: the apiserver's RBAC authorizer over the Roles,
// ClusterRoles, RoleBindings and ClusterRoleBindings in the store
// (plugin/pkg/auth/authorizer/rbac): a request is allowed when a rule of a
// role bound to the user (by name, group or ServiceAccount) matches it.
//
//   - Resource requests: verb, API group, resource ("pods", "pods/eviction";
//     a rule's "*" and "*/<subresource>" match), resourceNames (empty =
//     any). A list/watch with fieldSelector metadata.name=X carries name X.
//     RoleBindings of the request's namespace count, ClusterRoleBindings
//     always; a RoleBinding to a ClusterRole grants its rules in that
//     namespace only. Aggregated ClusterRoles are not expanded.
//   - Non-resource requests (/api, /apis, /version, /openapi/v2 ...): the
//     rules' nonResourceURLs ("*" suffix = prefix match), ClusterRoles only.
//   - Superusers (group system:masters) are allowed without looking.
//   - Denial: 403 Forbidden with the real message
//     (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go
//     forbiddenMessage + apierrors.NewForbidden), e.g.
//     `deployments.apps "cart" is forbidden: User "system:serviceaccount:kube-system:kinema"
//      cannot patch resource "deployments" in API group "apps" in the namespace "shop"`,
//     with `: RBAC: clusterrole.rbac.authorization.k8s.io "x" not found` appended when
//     a binding names a role that does not exist (the RBAC authorizer's reason).
// Thread-safety: thread-safe (reads the store under its own lock).
#pragma once

#include <string>

#include "tools/kinema-sim/api_error.h"
#include "tools/kinema-sim/object_store.h"
#include "tools/kinema-sim/rbac/service_account_tokens.h"

namespace kinema::sim::rbac {

struct RequestAttributes {
  bool resource_request = true;
  std::string verb;         // get list watch create update patch delete deletecollection; non-resource: get, post...
  std::string api_group;
  std::string api_version;
  std::string resource;     // plural
  std::string subresource;
  std::string ns;
  std::string name;
  std::string path;         // non-resource requests
};

struct Decision {
  bool allowed = false;
  std::string reason;  // RBAC's reason on denial (missing roles), may be empty
};

class Authorizer {
 public:
  explicit Authorizer(const ObjectStore* store) : store_(store) {}
  Decision Authorize(const UserInfo& user, const RequestAttributes& attrs) const;
  // The 403 Status for a denied request.
  static ApiError Forbidden(const UserInfo& user, const RequestAttributes& attrs, const std::string& reason);

 private:
  const ObjectStore* store_;
};

}  // namespace kinema::sim::rbac
