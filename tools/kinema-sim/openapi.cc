#include "tools/kinema-sim/openapi.h"

#include <nlohmann/json.hpp>

#include "tools/kinema-sim/custom_resources.h"
#include "tools/kinema-sim/resource_types.h"

namespace kinema::sim {

namespace {

using Json = nlohmann::json;

const char kMeta[] = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const char kOwnerRef[] = "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference";

std::string GvPath(const ResourceType& t) { return t.group.empty() ? "api/" + t.version : "apis/" + t.group + "/" + t.version; }

// io.k8s.api.<short group>.<version>.<Kind>, as the real document names them.
std::string DefinitionName(const ResourceType& t) {
  std::string g = t.group.empty() ? "core" : t.group.substr(0, t.group.find('.'));
  if (t.group == "rbac.authorization.k8s.io") g = "rbac";
  return "io.k8s.api." + g + "." + t.version + "." + t.kind;
}

Json Str() { return {{"type", "string"}}; }
Json Bool() { return {{"type", "boolean"}}; }
Json Int() { return {{"type", "integer"}, {"format", "int64"}}; }
Json StrMap() { return {{"type", "object"}, {"additionalProperties", Str()}}; }
Json StrList() { return {{"type", "array"}, {"items", Str()}}; }
Json OpenObject() { return {{"type", "object"}}; }
Json Ref(const std::string& prefix, const std::string& name) { return {{"$ref", prefix + name}}; }

// Helper definitions (named like the real ones) every document carries.
Json HelperDefinitions(const std::string& ref) {
  Json d = Json::object();
  d[kOwnerRef] = {{"type", "object"},
                  {"required", {"apiVersion", "kind", "name", "uid"}},
                  {"properties",
                   {{"apiVersion", Str()}, {"kind", Str()}, {"name", Str()}, {"uid", Str()},
                    {"controller", Bool()}, {"blockOwnerDeletion", Bool()}}}};
  d[kMeta] = {{"type", "object"},
              {"properties",
               {{"name", Str()},
                {"generateName", Str()},
                {"namespace", Str()},
                {"selfLink", Str()},
                {"uid", Str()},
                {"resourceVersion", Str()},
                {"generation", Int()},
                {"creationTimestamp", {{"type", "string"}, {"format", "date-time"}}},
                {"deletionTimestamp", {{"type", "string"}, {"format", "date-time"}}},
                {"deletionGracePeriodSeconds", Int()},
                {"labels", StrMap()},
                {"annotations", StrMap()},
                {"ownerReferences",
                 {{"type", "array"}, {"items", Ref(ref, kOwnerRef)},
                  {"x-kubernetes-patch-merge-key", "uid"}, {"x-kubernetes-patch-strategy", "merge"}}},
                {"finalizers", StrList()},
                {"managedFields", {{"type", "array"}, {"items", OpenObject()}}}}}};
  d["io.k8s.api.rbac.v1.PolicyRule"] = {
      {"type", "object"},
      {"required", {"verbs"}},
      {"properties",
       {{"apiGroups", StrList()}, {"resources", StrList()}, {"verbs", StrList()}, {"resourceNames", StrList()},
        {"nonResourceURLs", StrList()}}}};
  d["io.k8s.api.rbac.v1.RoleRef"] = {{"type", "object"},
                                     {"required", {"apiGroup", "kind", "name"}},
                                     {"properties", {{"apiGroup", Str()}, {"kind", Str()}, {"name", Str()}}}};
  d["io.k8s.api.rbac.v1.Subject"] = {{"type", "object"},
                                     {"required", {"kind", "name"}},
                                     {"properties",
                                      {{"apiGroup", Str()}, {"kind", Str()}, {"name", Str()}, {"namespace", Str()}}}};
  return d;
}

// The kind-specific top-level properties.
Json KindProperties(const ResourceType& t, const std::string& ref) {
  const std::string& k = t.kind;
  if (k == "ConfigMap") {
    return {{"data", StrMap()}, {"binaryData", {{"type", "object"}, {"additionalProperties", {{"type", "string"}, {"format", "byte"}}}}},
            {"immutable", Bool()}};
  }
  if (k == "Secret") {
    return {{"data", {{"type", "object"}, {"additionalProperties", {{"type", "string"}, {"format", "byte"}}}}},
            {"stringData", StrMap()}, {"type", Str()}, {"immutable", Bool()}};
  }
  if (k == "ServiceAccount") {
    return {{"secrets", {{"type", "array"}, {"items", OpenObject()}}},
            {"imagePullSecrets", {{"type", "array"}, {"items", OpenObject()}}},
            {"automountServiceAccountToken", Bool()}};
  }
  if (k == "Role" || k == "ClusterRole") {
    Json p = {{"rules", {{"type", "array"}, {"items", Ref(ref, "io.k8s.api.rbac.v1.PolicyRule")}}}};
    if (k == "ClusterRole") p["aggregationRule"] = OpenObject();
    return p;
  }
  if (k == "RoleBinding" || k == "ClusterRoleBinding") {
    return {{"roleRef", Ref(ref, "io.k8s.api.rbac.v1.RoleRef")},
            {"subjects", {{"type", "array"}, {"items", Ref(ref, "io.k8s.api.rbac.v1.Subject")}}}};
  }
  if (k == "Event") {
    Json p = Json::object();
    for (const char* f : {"involvedObject", "source", "series", "related"}) p[f] = OpenObject();
    for (const char* f : {"reason", "message", "type", "action", "reportingComponent", "reportingInstance"}) p[f] = Str();
    for (const char* f : {"firstTimestamp", "lastTimestamp"}) p[f] = {{"type", "string"}, {"format", "date-time"}};
    p["eventTime"] = {{"type", "string"}, {"format", "date-time"}};
    p["count"] = {{"type", "integer"}, {"format", "int32"}};
    return p;
  }
  Json p = {{"spec", OpenObject()}};
  if (t.has_status || k == "Namespace") p["status"] = OpenObject();
  return p;
}

Json KindDefinition(const ResourceType& t, const std::string& ref) {
  Json props = KindProperties(t, ref);
  props["apiVersion"] = Str();
  props["kind"] = Str();
  props["metadata"] = Ref(ref, kMeta);
  Json d = {{"type", "object"},
            {"properties", props},
            {"x-kubernetes-group-version-kind", Json::array({{{"group", t.group}, {"version", t.version}, {"kind", t.kind}}})}};
  if (t.kind == "RoleBinding" || t.kind == "ClusterRoleBinding") d["required"] = {"roleRef"};
  return d;
}

Json Operation(const ResourceType& t, const std::string& action, bool v2) {
  Json params = Json::array();
  for (const char* p : {"dryRun", "fieldManager", "fieldValidation", "force"}) {
    if (v2) {
      params.push_back({{"name", p}, {"in", "query"}, {"type", "string"}, {"uniqueItems", true}});
    } else {
      params.push_back({{"name", p}, {"in", "query"}, {"schema", {{"type", "string"}}}, {"uniqueItems", true}});
    }
  }
  return {{"operationId", action + t.kind},
          {"x-kubernetes-action", action},
          {"x-kubernetes-group-version-kind", {{"group", t.group}, {"version", t.version}, {"kind", t.kind}}},
          {"parameters", params},
          {"responses", {{"200", {{"description", "OK"}}}}}};
}

void AddPaths(const ResourceType& t, const std::string& gv_path, bool v2, Json& paths) {
  std::string base = "/" + gv_path + (t.namespaced ? "/namespaces/{namespace}/" : "/") + t.plural;
  paths[base] = {{"post", Operation(t, "post", v2)}};
  paths[base + "/{name}"] = {{"get", Operation(t, "get", v2)}, {"put", Operation(t, "put", v2)},
                             {"patch", Operation(t, "patch", v2)}, {"delete", Operation(t, "delete", v2)}};
}

}  // namespace

std::string OpenApiV2() {
  const std::string ref = "#/definitions/";
  Json defs = HelperDefinitions(ref);
  Json paths = Json::object();
  for (const auto& t : ResourceRegistry::Default().All()) {
    defs[DefinitionName(t)] = KindDefinition(t, ref);
    AddPaths(t, GvPath(t), true, paths);
  }
  return Json{{"swagger", "2.0"},
              {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0-kinema-sim"}}},
              {"paths", paths},
              {"definitions", defs}}
      .dump();
}

std::string OpenApiV3Root() {
  Json paths = Json::object();
  for (const auto& t : ResourceRegistry::Default().All()) {
    std::string gv = GvPath(t);
    paths[gv] = {{"serverRelativeURL", "/openapi/v3/" + gv + "?hash=kinema-sim-2"}};
  }
  return Json{{"paths", paths}}.dump();
}

std::optional<std::string> OpenApiV3GroupVersion(const std::string& gv_path) {
  const std::string ref = "#/components/schemas/";
  Json paths = Json::object();
  Json schemas = HelperDefinitions(ref);
  bool any = false;
  for (const auto& t : ResourceRegistry::Default().All()) {
    if (GvPath(t) != gv_path) continue;
    any = true;
    AddPaths(t, gv_path, false, paths);
    schemas[DefinitionName(t)] = KindDefinition(t, ref);
  }
  if (!any) return std::nullopt;
  // -- custom resources: their openAPIV3Schema, as the apiserver publishes a CRD's (kubectl explain)
  for (const auto& t : ResourceRegistry::Default().All()) {
    const CustomResourceDefinition* crd = GvPath(t) == gv_path ? FindCustomResource(t) : nullptr;
    if (crd == nullptr) continue;
    Json schema = crd->schema;
    schema["x-kubernetes-group-version-kind"] = {{{"group", t.group}, {"version", t.version}, {"kind", t.kind}}};
    schemas[DefinitionName(t)] = schema;
  }
  // -- custom resources end
  return Json{{"openapi", "3.0.0"},
              {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0-kinema-sim"}}},
              {"paths", paths},
              {"components", {{"schemas", schemas}}}}
      .dump();
}

}  // namespace kinema::sim
