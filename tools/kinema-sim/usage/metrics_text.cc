#include "tools/kinema-sim/usage/metrics_text.h"

#include <spdlog/fmt/fmt.h>

#include <cmath>
#include <iterator>

#include "engine/quantity/quantity.h"
#include "tools/kinema-sim/resource_types.h"

namespace kinema::sim::usage {

namespace {

using json = nlohmann::json;

std::vector<ObjectPtr> ListKind(const ObjectStore& store, const char* group, const char* version,
                                const char* plural) {
  WatchFilter f;
  f.resource = ResourceRegistry::Default().Find(group, version, plural);
  if (f.resource == nullptr) return {};
  return store.List(f).items;
}

int IntAt(const json& obj, const char* a, const char* b, int def) {
  if (!obj.contains(a) || !obj[a].is_object()) return def;
  const json& x = obj[a];
  if (!x.contains(b) || !x[b].is_number_integer()) return def;
  return x[b].get<int>();
}

}  // namespace

KubeObjects ListKubeObjects(const ObjectStore& store) {
  KubeObjects o;
  o.hpas = ListKind(store, "autoscaling", "v2", "horizontalpodautoscalers");
  o.replicasets = ListKind(store, "apps", "v1", "replicasets");
  o.deployments = ListKind(store, "apps", "v1", "deployments");
  o.nodes = ListKind(store, "", "v1", "nodes");
  return o;
}

std::string EscapeLabelValue(const std::string& v) {
  if (v.find_first_of("\\\"\n") == std::string::npos) return v;
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void MetricsWriter::Family(const char* name, const char* type, const char* help) {
  fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void MetricsWriter::Label(const char* name, const std::string& value, bool first) {
  if (!first) out_ += ',';
  out_ += name;
  out_ += "=\"";
  bool plain = true;
  for (char ch : value) plain &= ch != '\\' && ch != '"' && ch != '\n';
  if (plain) {
    out_.append(value);
  } else {
    out_ += EscapeLabelValue(value);
  }
  out_ += '"';
}

void MetricsWriter::Value(double v) {
  if (std::isnan(v)) {
    out_ += "} NaN\n";
    return;
  }
  fmt::format_to(std::back_inserter(out_), "}} {}\n", v);
}

void MetricsWriter::ContainerLabels(const PodSample& p, const ContainerSample& c) {
  out_ += '{';
  Label("container", c.name, true);
  out_ += ",id=\"/kubepods/pod";
  out_ += p.uid;
  out_ += '/';
  out_ += c.name;
  out_ += '"';
  Label("image", c.image);
  Label("name", c.name);
  Label("namespace", p.ns);
  Label("node", p.node);
  Label("pod", p.name);
}

void MetricsWriter::BeginContainerCpu() {
  Family("container_cpu_usage_seconds_total", "counter",
         "Cumulative cpu time consumed in seconds (kinema-sim: integrated over wall time, so rate() is the "
         "simulated usage in cores).");
}

void MetricsWriter::ContainerCpu(const PodSample& p, const ContainerSample& c) {
  out_ += "container_cpu_usage_seconds_total";
  ContainerLabels(p, c);
  Value(c.cpu_seconds_total);
}

void MetricsWriter::BeginContainerMemory() {
  Family("container_memory_working_set_bytes", "gauge", "Current working set in bytes.");
}

void MetricsWriter::ContainerMemory(const PodSample& p, const ContainerSample& c) {
  out_ += "container_memory_working_set_bytes";
  ContainerLabels(p, c);
  Value(std::floor(c.memory_bytes));
}

void MetricsWriter::ResourceLine(const char* family, const PodSample& p, const ContainerSample& c,
                                 const char* resource, const char* unit, double v) {
  out_ += family;
  out_ += '{';
  Label("namespace", p.ns, true);
  Label("pod", p.name);
  Label("uid", p.uid);
  Label("container", c.name);
  Label("node", p.node);
  Label("resource", resource);
  Label("unit", unit);
  Value(v);
}

void MetricsWriter::BeginRequests() {
  Family("kube_pod_container_resource_requests", "gauge",
         "The number of requested request resource by a container.");
}

void MetricsWriter::Requests(const PodSample& p, const ContainerSample& c) {
  if (c.cpu_request_milli > 0)
    ResourceLine("kube_pod_container_resource_requests", p, c, "cpu", "core", c.cpu_request_milli / 1000.0);
  if (c.memory_request > 0)
    ResourceLine("kube_pod_container_resource_requests", p, c, "memory", "byte", static_cast<double>(c.memory_request));
}

void MetricsWriter::BeginLimits() {
  Family("kube_pod_container_resource_limits", "gauge", "The number of requested limit resource by a container.");
}

void MetricsWriter::Limits(const PodSample& p, const ContainerSample& c) {
  if (c.cpu_limit_milli > 0)
    ResourceLine("kube_pod_container_resource_limits", p, c, "cpu", "core", c.cpu_limit_milli / 1000.0);
  if (c.memory_limit > 0)
    ResourceLine("kube_pod_container_resource_limits", p, c, "memory", "byte", static_cast<double>(c.memory_limit));
}

void MetricsWriter::BeginRestarts() {
  Family("kube_pod_container_status_restarts_total", "counter",
         "The number of container restarts per container.");
}

void MetricsWriter::Restarts(const PodSample& p, const ContainerSample& c) {
  out_ += "kube_pod_container_status_restarts_total{";
  Label("namespace", p.ns, true);
  Label("pod", p.name);
  Label("uid", p.uid);
  Label("container", c.name);
  Value(c.restarts);
}

void MetricsWriter::BeginOwners() { Family("kube_pod_owner", "gauge", "Information about the Pod's owner."); }

void MetricsWriter::Owner(const PodSample& p) {
  out_ += "kube_pod_owner{";
  Label("namespace", p.ns, true);
  Label("pod", p.name);
  Label("uid", p.uid);
  Label("owner_kind", p.owner_kind.empty() ? "<none>" : p.owner_kind);
  Label("owner_name", p.owner_name.empty() ? "<none>" : p.owner_name);
  Label("owner_is_controller", p.owner_kind.empty() ? "<none>" : "true");
  Value(1);
}

void MetricsWriter::KubeState(const KubeObjects& objs) {
  auto ns_name = [](const ObjectPtr& o) { return std::make_pair(o->ns, o->name); };
  struct HpaField {
    const char* family;
    const char* help;
    const char* section;
    const char* field;
  };
  const HpaField hpa_fields[] = {
      {"kube_horizontalpodautoscaler_status_desired_replicas", "Desired number of replicas of pods managed by this autoscaler.", "status", "desiredReplicas"},
      {"kube_horizontalpodautoscaler_status_current_replicas", "Current number of replicas of pods managed by this autoscaler.", "status", "currentReplicas"},
      {"kube_horizontalpodautoscaler_spec_min_replicas", "Lower limit for the number of pods that can be set by the autoscaler, default 1.", "spec", "minReplicas"},
      {"kube_horizontalpodautoscaler_spec_max_replicas", "Upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas.", "spec", "maxReplicas"},
  };
  for (const auto& f : hpa_fields) {
    Family(f.family, "gauge", f.help);
    for (const auto& h : objs.hpas) {
      auto [ns, name] = ns_name(h);
      int def = std::string(f.field) == "minReplicas" ? 1 : 0;
      out_ += f.family;
      out_ += '{';
      Label("namespace", ns, true);
      Label("horizontalpodautoscaler", name);
      Value(IntAt(h->body, f.section, f.field, def));
    }
  }
  Family("kube_replicaset_status_ready_replicas", "gauge", "The number of ready replicas per ReplicaSet.");
  for (const auto& r : objs.replicasets) {
    out_ += "kube_replicaset_status_ready_replicas{";
    Label("namespace", r->ns, true);
    Label("replicaset", r->name);
    Value(IntAt(r->body, "status", "readyReplicas", 0));
  }
  Family("kube_replicaset_spec_replicas", "gauge", "Number of desired pods for a ReplicaSet.");
  for (const auto& r : objs.replicasets) {
    out_ += "kube_replicaset_spec_replicas{";
    Label("namespace", r->ns, true);
    Label("replicaset", r->name);
    Value(IntAt(r->body, "spec", "replicas", 1));
  }
  Family("kube_deployment_spec_replicas", "gauge", "Number of desired pods for a deployment.");
  for (const auto& d : objs.deployments) {
    out_ += "kube_deployment_spec_replicas{";
    Label("namespace", d->ns, true);
    Label("deployment", d->name);
    Value(IntAt(d->body, "spec", "replicas", 1));
  }
  Family("kube_deployment_status_replicas_ready", "gauge", "The number of ready replicas per deployment.");
  for (const auto& d : objs.deployments) {
    out_ += "kube_deployment_status_replicas_ready{";
    Label("namespace", d->ns, true);
    Label("deployment", d->name);
    Value(IntAt(d->body, "status", "readyReplicas", 0));
  }
  Family("kube_node_status_allocatable", "gauge", "The allocatable for different resources of a node.");
  for (const auto& n : objs.nodes) {
    const json& st = n->body.contains("status") ? n->body["status"] : json::object();
    if (!st.contains("allocatable") || !st["allocatable"].is_object()) continue;
    const json& a = st["allocatable"];
    auto line = [&](const char* res, const char* unit, double v) {
      out_ += "kube_node_status_allocatable{";
      Label("node", n->name, true);
      Label("resource", res);
      Label("unit", unit);
      Value(v);
    };
    if (a.contains("cpu") && a["cpu"].is_string()) {
      auto m = ParseQuantityMilli(a["cpu"].get<std::string>());
      if (m.ok()) line("cpu", "core", *m / 1000.0);
    }
    if (a.contains("memory") && a["memory"].is_string()) {
      auto b = ParseQuantityValue(a["memory"].get<std::string>());
      if (b.ok()) line("memory", "byte", static_cast<double>(*b));
    }
    if (a.contains("pods") && a["pods"].is_string()) {
      auto b = ParseQuantityValue(a["pods"].get<std::string>());
      if (b.ok()) line("pods", "integer", static_cast<double>(*b));
    }
  }
}

}  // namespace kinema::sim::usage
