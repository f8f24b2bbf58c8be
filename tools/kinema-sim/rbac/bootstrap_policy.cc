#include "tools/kinema-sim/rbac/bootstrap_policy.h"

#include "tools/kinema-sim/resource_types.h"

namespace kinema::sim::rbac {

namespace {

using Json = nlohmann::json;

Json Meta(const std::string& name) {
  return {{"name", name},
          {"labels", {{"kubernetes.io/bootstrapping", "rbac-defaults"}}},
          {"annotations", {{"rbac.authorization.kubernetes.io/autoupdate", "true"}}}};
}

Json Role(const std::string& name, Json rules) {
  return {{"apiVersion", "rbac.authorization.k8s.io/v1"}, {"kind", "ClusterRole"}, {"metadata", Meta(name)},
          {"rules", std::move(rules)}};
}

Json Binding(const std::string& name, const std::vector<std::string>& groups) {
  Json subjects = Json::array();
  for (const auto& g : groups) subjects.push_back({{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Group"}, {"name", g}});
  return {{"apiVersion", "rbac.authorization.k8s.io/v1"},
          {"kind", "ClusterRoleBinding"},
          {"metadata", Meta(name)},
          {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", name}}},
          {"subjects", subjects}};
}

}  // namespace

Status EnsureBootstrapPolicy(Registry* registry) {
  const auto& reg = ResourceRegistry::Default();
  const ResourceType& roles = *reg.Find("rbac.authorization.k8s.io", "v1", "clusterroles");
  const ResourceType& bindings = *reg.Find("rbac.authorization.k8s.io", "v1", "clusterrolebindings");
  const Json get = Json::array({"get"});
  std::vector<Json> objects = {
      Role("cluster-admin", Json::array({{{"apiGroups", {"*"}}, {"resources", {"*"}}, {"verbs", {"*"}}},
                                         {{"nonResourceURLs", {"*"}}, {"verbs", {"*"}}}})),
      Role("system:discovery",
           Json::array({{{"nonResourceURLs", {"/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
                                              "/openapi/*", "/readyz", "/version", "/version/"}},
                         {"verbs", get}}})),
      Role("system:public-info-viewer",
           Json::array({{{"nonResourceURLs", {"/healthz", "/livez", "/readyz", "/version", "/version/"}},
                         {"verbs", get}}})),
      Role("system:basic-user",
           Json::array({{{"apiGroups", {"authorization.k8s.io"}},
                         {"resources", {"selfsubjectaccessreviews", "selfsubjectrulesreviews"}},
                         {"verbs", {"create"}}},
                        {{"apiGroups", {"authentication.k8s.io"}},
                         {"resources", {"selfsubjectreviews"}},
                         {"verbs", {"create"}}}})),
      Binding("cluster-admin", {"system:masters"}),
      Binding("system:discovery", {"system:authenticated"}),
      Binding("system:public-info-viewer", {"system:authenticated", "system:unauthenticated"}),
      Binding("system:basic-user", {"system:authenticated"}),
  };
  for (auto& o : objects) {
    const ResourceType& rt = o["kind"] == "ClusterRole" ? roles : bindings;
    std::string name = o["metadata"]["name"];
    if (registry->store()->Get(rt, "", name)) continue;
    auto r = registry->Create(rt, "", std::move(o));
    if (!r.ok()) return Status::Internal("bootstrap RBAC policy: create " + rt.kind + " " + name + ": " + r.error().message);
  }
  return Status::OK();
}

}  // namespace kinema::sim::rbac
