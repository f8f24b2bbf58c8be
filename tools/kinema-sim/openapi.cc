#include "tools/kinema-sim/openapi.h"

#include <nlohmann/json.hpp>

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
  return nlohmann::json{{"openapi", "3.0.0"},
                        {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0-kinema-sim"}}},
                        {"paths", paths},
                        {"components", nlohmann::json::object()}}
      .dump();
}

}  // namespace kinema::sim
