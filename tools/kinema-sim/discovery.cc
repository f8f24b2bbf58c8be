#include "tools/kinema-sim/discovery.h"

#include <nlohmann/json.hpp>

#include "tools/kinema-sim/resource_types.h"

namespace kinema::sim {

std::string VersionDocument() {
  return nlohmann::json{{"major", "1"},
                        {"minor", "32"},
                        {"gitVersion", "v1.32.0-kinema-sim"},
                        {"gitCommit", "0000000000000000000000000000000000000000"},
                        {"gitTreeState", "clean"},
                        {"buildDate", "2025-01-01T00:00:00Z"},
                        {"goVersion", "go1.23.0"},
                        {"compiler", "gc"},
                        {"platform", "linux/amd64"}}
      .dump();
}

std::string CoreApiVersions(const std::string& server_address) {
  return nlohmann::json{{"kind", "APIVersions"},
                        {"versions", {"v1"}},
                        {"serverAddressByClientCIDRs", {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}}}}
      .dump();
}

std::string ApiGroupList() {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& [group, version] : ResourceRegistry::Default().GroupVersions()) {
    nlohmann::json gv = {{"groupVersion", group + "/" + version}, {"version", version}};
    groups.push_back({{"name", group}, {"versions", {gv}}, {"preferredVersion", gv}});
  }
  // The resource metrics API, served by the usage part (usage/metrics_api.h).
  nlohmann::json metrics_gv = {{"groupVersion", "metrics.k8s.io/v1beta1"}, {"version", "v1beta1"}};
  groups.push_back({{"name", "metrics.k8s.io"}, {"versions", {metrics_gv}}, {"preferredVersion", metrics_gv}});
  return nlohmann::json{{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}}.dump();
}

std::optional<std::string> ApiResourceList(const std::string& group, const std::string& version) {
  nlohmann::json resources = nlohmann::json::array();
  bool any = false;
  for (const auto& t : ResourceRegistry::Default().All()) {
    if (t.group != group || t.version != version) continue;
    any = true;
    nlohmann::json r = {{"name", t.plural},
                        {"singularName", t.singular},
                        {"namespaced", t.namespaced},
                        {"kind", t.kind},
                        {"verbs", {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}}};
    if (!t.short_names.empty()) r["shortNames"] = t.short_names;
    if (!t.categories.empty()) r["categories"] = t.categories;
    resources.push_back(r);
    for (const auto& s : t.subresources) {
      nlohmann::json sr = {{"name", t.plural + "/" + s.name},
                           {"singularName", ""},
                           {"namespaced", t.namespaced},
                           {"kind", s.kind},
                           {"verbs", s.verbs}};
      if (!s.group.empty()) sr["group"] = s.group;
      if (!s.version.empty()) sr["version"] = s.version;
      resources.push_back(sr);
    }
  }
  if (!any) return std::nullopt;
  std::string gv = group.empty() ? version : group + "/" + version;
  return nlohmann::json{{"kind", "APIResourceList"}, {"apiVersion", "v1"}, {"groupVersion", gv}, {"resources", resources}}
      .dump();
}

}  // namespace kinema::sim
