#include "tools/kinema-sim/usage/metrics_api.h"

#include <cmath>
#include <map>

#include "tools/kinema-sim/api_error.h"
#include "tools/kinema-sim/api_handler.h"
#include "tools/kinema-sim/resource_types.h"
#include "tools/kinema-sim/selectors.h"
#include "tools/kinema-sim/sim_server.h"
#include "tools/kinema-sim/usage/usage_component.h"

namespace kinema::sim::usage {

namespace {

using json = nlohmann::json;

constexpr const char* kGroup = "metrics.k8s.io";
constexpr const char* kGroupVersion = "metrics.k8s.io/v1beta1";

std::string CpuQuantity(double cores) { return std::to_string(static_cast<int64_t>(std::llround(cores * 1e9))) + "n"; }
std::string MemoryQuantity(double bytes) { return std::to_string(static_cast<int64_t>(std::llround(bytes / 1024))) + "Ki"; }

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

HttpResponse NotFound(const std::string& resource, const std::string& name) {
  ApiError e = ApiError::NotFoundRaw(resource + "." + kGroup, name);
  return ErrorResponse(e);
}

json PodMetricsJson(const PodSample& p, const std::string& now) {
  json containers = json::array();
  for (const auto& c : p.containers) {
    containers.push_back({{"name", c.name}, {"usage", {{"cpu", CpuQuantity(c.cpu_cores)}, {"memory", MemoryQuantity(c.memory_bytes)}}}});
  }
  json md = {{"name", p.name}, {"namespace", p.ns}, {"creationTimestamp", now}};
  if (p.labels.is_object() && !p.labels.empty()) md["labels"] = p.labels;
  return {{"kind", "PodMetrics"}, {"apiVersion", kGroupVersion}, {"metadata", md},
          {"timestamp", now}, {"window", "30s"}, {"containers", containers}};
}

}  // namespace

HttpResponse HandleMetricsApi(UsageComponent& usage, SimServer& server, const HttpRequest& req) {
  if (req.method != "GET") return ErrorResponse(ApiError::MethodNotAllowed("the server does not allow this method on the requested resource"));
  std::vector<std::string> parts = Split(req.path);  // apis, metrics.k8s.io, v1beta1, ...
  if (parts.size() < 2 || parts[0] != "apis" || parts[1] != kGroup) return NotFound("", "");
  json gv = {{"groupVersion", kGroupVersion}, {"version", "v1beta1"}};
  if (parts.size() == 2) {
    return JsonResponse(200, json{{"kind", "APIGroup"}, {"apiVersion", "v1"}, {"name", kGroup},
                                  {"versions", {gv}}, {"preferredVersion", gv}}
                                 .dump());
  }
  if (parts[2] != "v1beta1") return NotFound("", "");
  if (parts.size() == 3) {
    json resources = json::array({
        {{"name", "nodes"}, {"singularName", ""}, {"namespaced", false}, {"kind", "NodeMetrics"}, {"verbs", {"get", "list"}}},
        {{"name", "pods"}, {"singularName", ""}, {"namespaced", true}, {"kind", "PodMetrics"}, {"verbs", {"get", "list"}}},
    });
    return JsonResponse(200, json{{"kind", "APIResourceList"}, {"apiVersion", "v1"}, {"groupVersion", kGroupVersion},
                                  {"resources", resources}}
                                 .dump());
  }
  auto selector = LabelSelector::Parse(req.Query("labelSelector"));
  if (!selector.ok()) return ErrorResponse(selector.error());
  std::string now = SimClock::FormatTime(server.clock().Now());

  // /pods, /namespaces/NS/pods, /namespaces/NS/pods/NAME
  std::string ns, name, resource;
  if (parts[3] == "namespaces" && parts.size() >= 6 && parts.size() <= 7 && parts[5] == "pods") {
    ns = parts[4];
    resource = "pods";
    if (parts.size() == 7) name = parts[6];
  } else if ((parts[3] == "pods" || parts[3] == "nodes") && parts.size() <= 5) {
    resource = parts[3];
    if (parts.size() == 5) name = parts[4];
  } else {
    return NotFound("", "");
  }

  std::vector<PodSample> pods = usage.SamplePods(/*running_only=*/true);
  if (resource == "pods") {
    json items = json::array();
    for (const auto& p : pods) {
      if (!ns.empty() && p.ns != ns) continue;
      if (!name.empty()) {
        if (p.name == name) return JsonResponse(200, PodMetricsJson(p, now).dump());
        continue;
      }
      if (!selector.value().Matches(p.labels)) continue;
      items.push_back(PodMetricsJson(p, now));
    }
    if (!name.empty()) return NotFound("pods", name);
    return JsonResponse(200, json{{"kind", "PodMetricsList"}, {"apiVersion", kGroupVersion},
                                  {"metadata", json::object()}, {"items", items}}
                                 .dump());
  }

  std::map<std::string, std::pair<double, double>> per_node;
  for (const auto& p : pods) {
    auto& u = per_node[p.node];
    for (const auto& c : p.containers) {
      u.first += c.cpu_cores;
      u.second += c.memory_bytes;
    }
  }
  WatchFilter f;
  f.resource = ResourceRegistry::Default().Find("", "v1", "nodes");
  json items = json::array();
  for (const auto& n : server.store().List(f).items) {
    if (!name.empty() && n->name != name) continue;
    const json& md = n->body.at("metadata");
    json labels = md.contains("labels") ? md["labels"] : json::object();
    if (name.empty() && !selector.value().Matches(labels)) continue;
    auto u = per_node[n->name];
    json m = {{"name", n->name}, {"creationTimestamp", now}};
    if (labels.is_object() && !labels.empty()) m["labels"] = labels;
    json item = {{"kind", "NodeMetrics"}, {"apiVersion", kGroupVersion}, {"metadata", m},
                 {"timestamp", now}, {"window", "30s"},
                 {"usage", {{"cpu", CpuQuantity(u.first)}, {"memory", MemoryQuantity(u.second)}}}};
    if (!name.empty()) return JsonResponse(200, item.dump());
    items.push_back(item);
  }
  if (!name.empty()) return NotFound("nodes", name);
  return JsonResponse(200, json{{"kind", "NodeMetricsList"}, {"apiVersion", kGroupVersion},
                                {"metadata", json::object()}, {"items", items}}
                               .dump());
}

}  // namespace kinema::sim::usage
