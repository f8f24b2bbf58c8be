#include "steps/resize/template.h"

#include <algorithm>

namespace kinema::resize {

using nlohmann::json;

json TemplateChange::ToJson() const {
  json cs = json::object();
  for (const auto& [c, rs] : containers) {
    for (const auto& [r, v] : rs) {
      const Resource res = r == "cpu" ? Resource::kCpu : Resource::kMemory;
      cs[c][r]["request"] = FormatQuantity(res, v.request);
      if (v.limit) cs[c][r]["limit"] = FormatQuantity(res, *v.limit);
    }
  }
  return json{{"workload", key()}, {"containers", cs}, {"pods", pods}};
}

std::vector<TemplateChange> TemplateChanges(const std::vector<PodResize>& applied,
                                            const std::map<std::string, std::string>& owners) {
  std::map<std::string, TemplateChange> by;
  for (const auto& r : applied) {
    auto it = owners.find(r.key());
    if (it == owners.end() || it->second.empty()) continue;
    const auto slash = it->second.find('/');
    if (slash == std::string::npos) continue;
    TemplateChange& t = by[r.ns + "/" + it->second];
    t.ns = r.ns;
    t.kind = it->second.substr(0, slash);
    t.name = it->second.substr(slash + 1);
    t.pods.push_back(r.key());
    for (const auto& c : r.changes) {
      auto [v, fresh] = t.containers[c.container].try_emplace(ResourceName(c.resource));
      if (fresh || c.new_request > v->second.request) {
        v->second.request = c.new_request;
        v->second.limit = c.new_limit;
      }
    }
  }
  std::vector<TemplateChange> out;
  for (auto& [k, t] : by) out.push_back(std::move(t));
  return out;
}

bool ApplyToTemplate(const TemplateChange& change, json* workload) {
  if (!workload->contains("spec") || !(*workload)["spec"].contains("template")) return false;
  json& tspec = (*workload)["spec"]["template"]["spec"];
  if (!tspec.contains("containers") || !tspec["containers"].is_array()) return false;
  bool changed = false;
  for (auto& c : tspec["containers"]) {
    auto it = change.containers.find(c.value("name", ""));
    if (it == change.containers.end()) continue;
    for (const auto& [r, v] : it->second) {
      const Resource res = r == "cpu" ? Resource::kCpu : Resource::kMemory;
      const std::string req = FormatQuantity(res, v.request);
      json& requests = c["resources"]["requests"];
      if (!requests.is_object()) requests = json::object();
      if (requests.value(r, "") != req) {
        requests[r] = req;
        changed = true;
      }
      if (v.limit) {
        const std::string lim = FormatQuantity(res, *v.limit);
        json& limits = c["resources"]["limits"];
        if (!limits.is_object()) limits = json::object();
        if (limits.value(r, "") != lim) {
          limits[r] = lim;
          changed = true;
        }
      }
    }
  }
  return changed;
}

}  // namespace kinema::resize
