#include "tools/kinema-sim/cluster/statefulset_claims.h"

#include <spdlog/spdlog.h>

#include "tools/kinema-sim/resource_types.h"

namespace kinema::sim::cluster {

namespace {

using Json = nlohmann::json;

Json Templates(const Json& set) {
  Json t = set.value("spec", Json::object()).value("volumeClaimTemplates", Json::array());
  return t.is_array() ? t : Json::array();
}

std::string ClaimName(const Json& tmpl, const std::string& set, int ordinal) {
  return tmpl.value("metadata", Json::object()).value("name", "") + "-" + set + "-" + std::to_string(ordinal);
}

}  // namespace

std::optional<ApiError> EnsureMemberClaims(Registry& registry, const StoredObject& set, int ordinal) {
  const ResourceType& pvcs = *ResourceRegistry::Default().Find("", "v1", "persistentvolumeclaims");
  for (const auto& tmpl : Templates(set.body)) {
    if (!tmpl.is_object()) continue;
    std::string name = ClaimName(tmpl, set.name, ordinal);
    if (registry.store()->Get(pvcs, set.ns, name)) continue;
    Json md = tmpl.value("metadata", Json::object());
    Json labels = md.value("labels", Json::object());
    Json match = set.body["spec"].value("selector", Json::object()).value("matchLabels", Json::object());
    for (auto it = match.begin(); it != match.end(); ++it) labels[it.key()] = it.value();
    Json claim = {{"apiVersion", "v1"},
                  {"kind", "PersistentVolumeClaim"},
                  {"metadata", {{"name", name}, {"namespace", set.ns}, {"labels", labels}}},
                  {"spec", tmpl.value("spec", Json::object())}};
    if (md.contains("annotations")) claim["metadata"]["annotations"] = md["annotations"];
    auto r = registry.Create(pvcs, set.ns, std::move(claim));
    if (!r.ok() && r.error().code != 409) {
      spdlog::warn("statefulset {}/{}: create claim {}: {} ({})", set.ns, set.name, name, r.error().code,
                   r.error().message);
      return r.error();
    }
    if (r.ok()) spdlog::info("statefulset {}/{}: created claim {}", set.ns, set.name, name);
  }
  return std::nullopt;
}

void AddClaimVolumes(const Json& set, int ordinal, Json& pod) {
  Json templates = Templates(set);
  if (templates.empty()) return;
  Json& spec = pod["spec"];
  Json volumes = spec.value("volumes", Json::array());
  if (!volumes.is_array()) volumes = Json::array();
  std::string set_name = set["metadata"].value("name", "");
  for (const auto& tmpl : templates) {
    if (!tmpl.is_object()) continue;
    std::string vol = tmpl.value("metadata", Json::object()).value("name", "");
    for (auto it = volumes.begin(); it != volumes.end();) {
      it = it->is_object() && it->value("name", "") == vol ? volumes.erase(it) : it + 1;
    }
    volumes.push_back({{"name", vol},
                       {"persistentVolumeClaim", {{"claimName", ClaimName(tmpl, set_name, ordinal)}}}});
  }
  spec["volumes"] = volumes;
}

}  // namespace kinema::sim::cluster
