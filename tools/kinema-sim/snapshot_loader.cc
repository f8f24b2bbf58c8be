#include "tools/kinema-sim/snapshot_loader.h"

#include "tools/kinema-sim/admission.h"
#include "tools/kinema-sim/custom_resources.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <set>
#include <sstream>

namespace kinema::sim {

namespace {

using Json = nlohmann::json;
using Mutation = ObjectStore::Mutation;

Status PutNew(Registry* registry, const ResourceType& rt, const std::string& ns, const std::string& name, Json obj) {
  auto r = registry->store()->Mutate(rt, ns, name, [&](const ObjectPtr& cur) -> ApiResult<Mutation> {
    if (cur) return ApiError::AlreadyExists(rt, name);
    return Mutation{Mutation::Action::kPut, std::move(obj)};
  });
  if (!r.ok()) return Status::AlreadyExists(r.error().message);
  return Status::OK();
}

}  // namespace

StatusOr<SnapshotSummary> LoadSnapshotFile(const std::string& path, Registry* registry) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("snapshot " + path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = LoadSnapshotText(ss.str(), registry);
  if (!r.ok()) return r.status().WithContext("snapshot " + path);
  return r;
}

StatusOr<SnapshotSummary> LoadSnapshotText(const std::string& text, Registry* registry) {
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("not valid JSON: ") + e.what());
  }
  if (!doc.is_object() || !doc.contains("items") || !doc["items"].is_array()) {
    return Status::InvalidArgument("expected a List object with an \"items\" array");
  }
  const auto& reg = ResourceRegistry::Default();
  const ResourceType& ns_type = *reg.Find("", "v1", "namespaces");
  SnapshotSummary summary;
  std::string now = SimClock::FormatTime(registry->clock()->Now());
  std::set<std::string> namespaces = {"default", "kube-system", "kube-public", "kube-node-lease"};
  std::vector<std::pair<const ResourceType*, Json>> items;
  const Json& arr = doc["items"];
  for (size_t i = 0; i < arr.size(); ++i) {
    std::string where = "item " + std::to_string(i);
    const Json& item = arr[i];
    if (!item.is_object()) return Status::InvalidArgument(where + ": not an object");
    if (!item.contains("kind") || !item["kind"].is_string()) return Status::InvalidArgument(where + ": kind: required string");
    std::string kind = item["kind"].get<std::string>();
    std::string api_version = item.value("apiVersion", "");
    const ResourceType* rt = api_version.empty() ? reg.FindByKindOnly(kind) : reg.FindByKind(api_version, kind);
    if (rt == nullptr) {
      spdlog::warn("snapshot {}: kind {} ({}) is not served; skipped", where, kind, api_version);
      summary.skipped++;
      continue;
    }
    if (!item.contains("metadata") || !item["metadata"].is_object()) {
      return Status::InvalidArgument(where + " (" + kind + "): metadata: required object");
    }
    const Json& md = item["metadata"];
    if (!md.contains("name") || !md["name"].is_string() || md["name"].get<std::string>().empty()) {
      return Status::InvalidArgument(where + " (" + kind + "): metadata.name: required string");
    }
    if (md.contains("labels") && !md["labels"].is_null() && !md["labels"].is_object()) {
      return Status::InvalidArgument(where + " (" + kind + "): metadata.labels: must be an object");
    }
    if (item.contains("spec") && !item["spec"].is_object()) {
      return Status::InvalidArgument(where + " (" + kind + "): spec: must be an object");
    }
    Json obj = item;
    obj["kind"] = rt->kind;
    obj["apiVersion"] = rt->ApiVersion();
    auto& m = obj["metadata"];
    if (rt->namespaced) {
      if (!m.contains("namespace") || !m["namespace"].is_string() || m["namespace"].get<std::string>().empty()) {
        m["namespace"] = "default";
      }
      namespaces.insert(m["namespace"].get<std::string>());
    } else {
      m.erase("namespace");
    }
    if (!m.contains("uid")) m["uid"] = registry->NewUid();
    if (!m.contains("creationTimestamp") || m["creationTimestamp"].is_null()) m["creationTimestamp"] = now;
    if (rt->uses_generation && !m.contains("generation")) m["generation"] = 1;
    m.erase("resourceVersion");
    m.erase("managedFields");
    ApplyDefaults(*rt, obj);  // as if the objects had been created through the API
    items.emplace_back(rt, std::move(obj));
  }
  // Namespaces first (explicit ones from the snapshot win).
  for (auto& [rt, obj] : items) {
    if (rt != &ns_type) continue;
    std::string name = obj["metadata"]["name"];
    KINEMA_RETURN_IF_ERROR(PutNew(registry, *rt, "", name, obj).WithContext("namespace " + name));
    namespaces.erase(name);
    summary.counts[rt->kind]++;
  }
  for (const auto& name : namespaces) {
    Json ns = {{"kind", "Namespace"},
               {"apiVersion", "v1"},
               {"metadata", {{"name", name}, {"uid", registry->NewUid()}, {"creationTimestamp", now},
                             {"labels", {{"kubernetes.io/metadata.name", name}}}}},
               {"spec", {{"finalizers", {"kubernetes"}}}},
               {"status", {{"phase", "Active"}}}};
    KINEMA_RETURN_IF_ERROR(PutNew(registry, ns_type, "", name, ns));
  }
  size_t index = 0;
  for (auto& [rt, obj] : items) {
    index++;
    if (rt == &ns_type) continue;
    std::string name = obj["metadata"]["name"];
    std::string ns = rt->namespaced ? obj["metadata"]["namespace"].get<std::string>() : "";
    Status s = PutNew(registry, *rt, ns, name, std::move(obj));
    if (!s.ok()) return Status::InvalidArgument("duplicate " + rt->kind + " " + (ns.empty() ? "" : ns + "/") + name);
    summary.counts[rt->kind]++;
  }
  // The CustomResourceDefinitions of the kinds the custom-resource facility
  // serves, as a cluster with those CRDs installed lists them.
  const ResourceType* crd_type = reg.Find("apiextensions.k8s.io", "v1", "customresourcedefinitions");
  for (const auto& crd : CustomResourceDefinitions()) {
    if (crd_type == nullptr || registry->store()->Get(*crd_type, "", crd.CrdName()) != nullptr) continue;
    Json obj = CrdObject(crd);
    obj["metadata"]["uid"] = registry->NewUid();
    obj["metadata"]["creationTimestamp"] = now;
    obj["metadata"]["generation"] = 1;
    obj["status"] = {{"acceptedNames", obj["spec"]["names"]},
                     {"storedVersions", Json::array({crd.version})},
                     {"conditions", Json::array({{{"type", "Established"}, {"status", "True"}, {"reason", "InitialNamesAccepted"},
                                                  {"lastTransitionTime", now}}})}};
    KINEMA_RETURN_IF_ERROR(PutNew(registry, *crd_type, "", crd.CrdName(), std::move(obj)));
  }
  registry->store()->CompactHistory();
  return summary;
}

}  // namespace kinema::sim
