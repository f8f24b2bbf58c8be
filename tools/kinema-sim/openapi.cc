#include "tools/kinema-sim/openapi.h"

#include <nlohmann/json.hpp>

#include "tools/kinema-sim/custom_resources.h"
#include "tools/kinema-sim/resource_types.h"

namespace kinema::sim {

namespace {

std::string GvPath(const ResourceType& t) { return t.group.empty() ? "api/" + t.version : "apis/" + t.group + "/" + t.version; }

nlohmann::json Operation(const ResourceType& t, const std::string& action) {
  nlohmann::json params = nlohmann::json::array();
  for (const char* p : {"dryRun", "fieldManager", "fieldValidation", "force"}) {
    params.push_back({{"name", p}, {"in", "query"}, {"schema", {{"type", "string"}}}, {"uniqueItems", true}});
  }
  return {{"operationId", action + t.kind},
          {"x-kubernetes-action", action},
          {"x-kubernetes-group-version-kind", {{"group", t.group}, {"version", t.version}, {"kind", t.kind}}},
          {"parameters", params},
          {"responses", {{"200", {{"description", "OK"}}}}}};
}

}  // namespace

std::string OpenApiV3Root() {
  nlohmann::json paths = nlohmann::json::object();
  for (const auto& t : ResourceRegistry::Default().All()) {
    std::string gv = GvPath(t);
    paths[gv] = {{"serverRelativeURL", "/openapi/v3/" + gv + "?hash=kinema-sim-1"}};
  }
  return nlohmann::json{{"paths", paths}}.dump();
}

std::optional<std::string> OpenApiV3GroupVersion(const std::string& gv_path) {
  nlohmann::json paths = nlohmann::json::object();
  bool any = false;
  for (const auto& t : ResourceRegistry::Default().All()) {
    if (GvPath(t) != gv_path) continue;
    any = true;
    std::string base = "/" + gv_path + (t.namespaced ? "/namespaces/{namespace}/" : "/") + t.plural;
    paths[base] = {{"post", Operation(t, "post")}};
    paths[base + "/{name}"] = {{"get", Operation(t, "get")}, {"put", Operation(t, "put")},
                               {"patch", Operation(t, "patch")}, {"delete", Operation(t, "delete")}};
  }
  if (!any) return std::nullopt;
  nlohmann::json components = nlohmann::json::object();
  // -- custom resources: their openAPIV3Schema, as the apiserver publishes a CRD's (kubectl explain)
  for (const auto& t : ResourceRegistry::Default().All()) {
    const CustomResourceDefinition* crd = GvPath(t) == gv_path ? FindCustomResource(t) : nullptr;
    if (crd == nullptr) continue;
    nlohmann::json schema = crd->schema;
    schema["x-kubernetes-group-version-kind"] = {{{"group", t.group}, {"version", t.version}, {"kind", t.kind}}};
    std::string group_rev;  // io.k8s.autoscaling.v1.VerticalPodAutoscaler-style name: reversed group
    for (size_t end = t.group.size(); end != std::string::npos;) {
      size_t dot = t.group.rfind('.', end == 0 ? 0 : end - 1);
      std::string part = t.group.substr(dot == std::string::npos ? 0 : dot + 1,
                                        end - (dot == std::string::npos ? 0 : dot + 1));
      group_rev += (group_rev.empty() ? "" : ".") + part;
      if (dot == std::string::npos) break;
      end = dot;
    }
    components["schemas"][group_rev + "." + t.version + "." + t.kind] = schema;
  }
  // -- custom resources end
  return nlohmann::json{{"openapi", "3.0.0"},
                        {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0-kinema-sim"}}},
                        {"paths", paths},
                        {"components", components}}
      .dump();
}

}  // namespace kinema::sim
