#include "engine/kube/permissions.h"

#include <algorithm>

namespace kinema::kube {

const char* PermissionScopeName(PermissionScope s) {
  return s == PermissionScope::kCluster ? "cluster" : "lease-namespace";
}

std::vector<Permission> EnginePermissions(const std::string& lease_name) {
  using S = PermissionScope;
  return {
      // Events: Client::RecordEvent creates core/v1 Events in the namespace of
      // the object it is about (a Deployment's namespace; "default" for
      // Nodes), so this must be cluster-wide, not a kube-system Role.
      {"", "events", {"create"}, S::kCluster, {}, "Client::RecordEvent (Events on the objects workflows touch)"},
      // The leader Lease, engine/kube/leader_elector.cc: GET every retry
      // period, PUT to acquire/renew/release — restricted to its name.
      {"coordination.k8s.io", "leases", {"get", "update"}, S::kLeaseNamespace, {lease_name},
       "LeaderElector (get, acquire, renew, release)", {"spec"}},
      // POST when the Lease does not exist yet. RBAC cannot restrict create
      // by resourceNames (the name is not part of the request URL).
      {"coordination.k8s.io", "leases", {"create"}, S::kLeaseNamespace, {}, "LeaderElector (first acquire)"},
  };
}

std::vector<Permission> MergePermissions(const std::vector<Permission>& permissions) {
  std::vector<Permission> out;
  for (const auto& p : permissions) {
    auto same = std::find_if(out.begin(), out.end(), [&](const Permission& o) {
      return o.api_group == p.api_group && o.resource == p.resource && o.scope == p.scope &&
             o.resource_names == p.resource_names;
    });
    if (same == out.end()) {
      out.push_back(p);
      same = out.end() - 1;
    } else {
      same->verbs.insert(same->verbs.end(), p.verbs.begin(), p.verbs.end());
      if (same->used_by.find(p.used_by) == std::string::npos) same->used_by += "; " + p.used_by;
      same->mutable_fields.insert(same->mutable_fields.end(), p.mutable_fields.begin(), p.mutable_fields.end());
    }
    std::sort(same->verbs.begin(), same->verbs.end());
    same->verbs.erase(std::unique(same->verbs.begin(), same->verbs.end()), same->verbs.end());
    std::sort(same->mutable_fields.begin(), same->mutable_fields.end());
    same->mutable_fields.erase(std::unique(same->mutable_fields.begin(), same->mutable_fields.end()),
                               same->mutable_fields.end());
  }
  return out;
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
  return Status::PermissionDenied("not declared by any workflow kind or the engine: " + Describe(group, resource, verb));
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
  return Status::PermissionDenied("not declared by any workflow kind or the engine: " +
                                  Describe(r.api_group, r.resource, r.verb) + " (" + where + ")");
}

}  // namespace kinema::kube
