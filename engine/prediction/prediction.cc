#include "engine/prediction/prediction.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "engine/common/numeric.h"
#include "engine/common/safe_json.h"
#include "engine/quantity/quantity.h"

namespace kinema::prediction {

namespace {

using json = nlohmann::json;

struct TemplateContainer {
  std::string name;
  double cpu_request = 0;     // cores
  double memory_request = 0;  // bytes
};

struct Workload {
  std::string ns, kind, name;
  int pods = 0;
  std::vector<TemplateContainer> containers;
  // container -> per-pod series
  std::map<std::string, std::map<std::string, UsageSeries>> cpu, memory;
};

using WorkloadKey = std::tuple<std::string, std::string, std::string>;  // ns, kind, name

std::string Meta(const json& item, const char* field) {
  const json* md = safe_json::FindObject(item, "metadata");
  return md == nullptr ? "" : safe_json::String(*md, field);
}

std::string Kind(const json& item) { return safe_json::String(item, "kind"); }

// The controller ownerReference (kind, name) or empty.
std::pair<std::string, std::string> Controller(const json& item) {
  const json* refs = safe_json::FindPath(item, "metadata.ownerReferences");
  if (refs == nullptr || !refs->is_array()) return {};
  std::pair<std::string, std::string> first;
  for (const auto& r : *refs) {
    std::pair<std::string, std::string> p{safe_json::String(r, "kind"), safe_json::String(r, "name")};
    if (safe_json::Bool(r, "controller")) return p;
    if (first.first.empty()) first = p;
  }
  return first;
}

double Request(const json& container, const char* resource, bool cpu) {
  const json* r = safe_json::FindObject(container, "resources");
  if (r == nullptr) return 0;
  for (const char* section : {"requests", "limits"}) {  // requests default to limits
    const json* sec = safe_json::FindObject(*r, section);
    auto q = sec == nullptr ? std::nullopt : safe_json::OptString(*sec, resource);
    if (!q) continue;
    if (cpu) {
      auto m = ParseQuantityMilli(*q);
      if (m.ok() && *m >= 0) return *m / 1000.0;
    } else {
      auto b = ParseQuantityValue(*q);
      if (b.ok() && *b >= 0) return static_cast<double>(*b);
    }
  }
  return 0;
}

std::string PromDuration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

std::string Selector(const std::vector<std::string>& namespaces) {
  std::string sel = "container!=\"\",container!=\"POD\"";
  if (!namespaces.empty()) {
    std::string re;
    for (const auto& ns : namespaces) {
      if (!re.empty()) re += "|";
      for (char c : ns) {
        if (std::string("\\.+*?()|[]{}^$\"").find(c) != std::string::npos) re += "\\\\";
        re += c;
      }
    }
    sel += ",namespace=~\"" + re + "\"";
  }
  return sel;
}

// Planned requests as integers (never negative, never past int64).
int64_t CpuMilli(double cores) { return CeilToInt64Clamped(cores * 1000 - 1e-9, 0); }
int64_t MemoryBytes(double bytes) { return CeilToInt64Clamped(bytes - 1e-6, 0); }

std::string Quantity(double v, bool cpu) {
  if (cpu) return FormatMilliCpu(CpuMilli(v));
  return std::to_string(MemoryBytes(v));
}

}  // namespace

int64_t ContainerPlan::PlannedCpuMilli() const { return CpuMilli(cpu.planned); }
int64_t ContainerPlan::PlannedMemoryBytes() const { return MemoryBytes(memory.planned); }

std::string CpuQuery(const std::vector<std::string>& namespaces, std::chrono::milliseconds rate_window) {
  return "sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{" + Selector(namespaces) + "}[" +
         PromDuration(rate_window) + "]))";
}

std::string MemoryQuery(const std::vector<std::string>& namespaces) {
  return "sum by (namespace, pod, container) (container_memory_working_set_bytes{" + Selector(namespaces) + "})";
}

const WorkloadPlan* Prediction::Find(const std::string& ns, const std::string& kind, const std::string& name) const {
  for (const auto& w : workloads) {
    if (w.ns == ns && w.kind == kind && w.name == name) return &w;
  }
  return nullptr;
}

json Prediction::ToJson() const {
  auto ms = [](std::chrono::milliseconds d) { return PromDuration(d); };
  json ws = json::array();
  json adjustments = json::object();
  for (const auto& w : workloads) {
    json cs = json::array();
    json adj = json::object();
    for (const auto& c : w.containers) {
      json cj = {{"name", c.name}, {"cpu", c.cpu.ToJson()}, {"memory", c.memory.ToJson()},
                 {"plannedCpu", Quantity(c.cpu.planned, true)}, {"plannedMemory", Quantity(c.memory.planned, false)}};
      cs.push_back(cj);
      json a = json::object();
      if (c.cpu.has_data) a["cpu"] = Quantity(c.cpu.planned, true);
      if (c.memory.has_data) a["memory"] = Quantity(c.memory.planned, false);
      if (!a.empty()) adj[c.name] = a;
    }
    ws.push_back({{"namespace", w.ns}, {"kind", w.kind}, {"name", w.name}, {"pods", w.pods}, {"containers", cs}});
    if (!adj.empty()) adjustments[w.ns + "/" + w.kind + "/" + w.name] = adj;
  }
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
  return {{"source", source},
          {"atUnix", secs},
          {"window", ms(options.window)},
          {"horizon", ms(options.horizon)},
          {"step", ms(options.step)},
          {"rateWindow", ms(options.rate_window)},
          {"factor", options.factor},
          {"headroom", options.headroom},
          {"workloads", ws},
          {"adjustments", adjustments},
          {"notes", notes},
          {"unmatchedSeries", unmatched_series}};
}

StatusOr<Prediction> PredictFromPrometheus(const prometheus::Client& client, const ClusterSnapshot& snapshot,
                                           const PredictionOptions& options,
                                           std::chrono::system_clock::time_point now) {
  if (options.window.count() <= 0 || options.step.count() <= 0 || options.rate_window.count() <= 0) {
    return Status::InvalidArgument("prediction: window, step and rate window must be positive");
  }
  Prediction out;
  out.at = now;
  out.options = options;

  // 1. Workloads and ownership from the snapshot.
  std::map<WorkloadKey, Workload> workloads;
  std::map<std::pair<std::string, std::string>, std::string> rs_to_deployment;  // (ns, rs) -> deployment
  std::map<std::pair<std::string, std::string>, WorkloadKey> pod_owner;       // (ns, pod) -> workload
  std::set<std::string> namespaces;
  static const json kNoItems = json::array();
  const json* found_items = safe_json::FindArray(snapshot.list, "items");
  const json& items = found_items != nullptr ? *found_items : kNoItems;
  for (const auto& it : items) {
    std::string kind = Kind(it);
    if (kind != "Deployment" && kind != "StatefulSet") continue;
    Workload w;
    w.ns = Meta(it, "namespace");
    w.kind = kind;
    w.name = Meta(it, "name");
    const json* cs = safe_json::FindPath(it, "spec.template.spec.containers");
    if (cs && cs->is_array()) {
      for (const auto& c : *cs) {
        w.containers.push_back({safe_json::String(c, "name"), Request(c, "cpu", true), Request(c, "memory", false)});
      }
    }
    namespaces.insert(w.ns);
    workloads[{w.ns, kind, w.name}] = std::move(w);
  }
  for (const auto& it : items) {
    if (Kind(it) != "ReplicaSet") continue;
    auto [k, n] = Controller(it);
    if (k == "Deployment") rs_to_deployment[{Meta(it, "namespace"), Meta(it, "name")}] = n;
  }
  for (const auto& it : items) {
    if (Kind(it) != "Pod") continue;
    std::string ns = Meta(it, "namespace");
    auto [k, n] = Controller(it);
    WorkloadKey key;
    if (k == "ReplicaSet") {
      auto r = rs_to_deployment.find({ns, n});
      if (r == rs_to_deployment.end()) continue;
      key = {ns, "Deployment", r->second};
    } else if (k == "StatefulSet") {
      key = {ns, "StatefulSet", n};
    } else {
      continue;
    }
    auto w = workloads.find(key);
    if (w == workloads.end()) continue;
    w->second.pods++;
    pod_owner[{ns, Meta(it, "name")}] = key;
  }
  if (workloads.empty()) {
    out.notes.push_back("the snapshot has no Deployments or StatefulSets: nothing to predict");
    return out;
  }

  // Pods no longer in the snapshot (an earlier rollout): their ReplicaSet if
  // still listed, else the naming rule <deployment>-<hash>-<suffix> or <sts>-<ordinal>.
  auto owner_of = [&](const std::string& ns, const std::string& pod) -> const WorkloadKey* {
    auto it = pod_owner.find({ns, pod});
    if (it != pod_owner.end()) return &it->second;
    size_t last = pod.rfind('-');
    if (last == std::string::npos || last == 0) return nullptr;
    std::string prefix = pod.substr(0, last);
    auto rs = rs_to_deployment.find({ns, prefix});
    WorkloadKey key;
    bool found = false;
    if (rs != rs_to_deployment.end()) {
      key = {ns, "Deployment", rs->second};
      found = workloads.count(key) > 0;
    }
    if (!found) {
      size_t second = prefix.rfind('-');
      if (second != std::string::npos && second > 0) {
        key = {ns, "Deployment", prefix.substr(0, second)};
        found = workloads.count(key) > 0;
      }
    }
    if (!found && std::all_of(pod.begin() + last + 1, pod.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      key = {ns, "StatefulSet", prefix};
      found = workloads.count(key) > 0;
    }
    if (!found) return nullptr;
    return &pod_owner.emplace(std::make_pair(ns, pod), key).first->second;
  };

  // 2. Range queries.
  std::vector<std::string> ns_list(namespaces.begin(), namespaces.end());
  auto start = now - options.window;
  auto cpu = client.QueryRange(CpuQuery(ns_list, options.rate_window), start, now, options.step);
  if (!cpu.ok()) return cpu.status().WithContext("prediction: cpu usage");
  auto mem = client.QueryRange(MemoryQuery(ns_list), start, now, options.step);
  if (!mem.ok()) return mem.status().WithContext("prediction: memory usage");

  const double start_s = std::chrono::duration<double>(start.time_since_epoch()).count();
  const double step_s = options.step.count() / 1000.0;
  const double rate_s = options.rate_window.count() / 1000.0;
  auto collect = [&](const prometheus::QueryResult& r, bool is_cpu) {
    for (const auto& s : r.series) {
      std::string ns = s.Label("namespace"), pod = s.Label("pod"), container = s.Label("container");
      const WorkloadKey* key = owner_of(ns, pod);
      if (key == nullptr || container.empty()) {
        out.unmatched_series++;
        continue;
      }
      Workload& w = workloads[*key];
      UsageSeries& dst = (is_cpu ? w.cpu : w.memory)[container][pod];
      // rate() under-reads while its range is not yet filled by a new
      // series (a new container's counter starts inside the window), so the
      // first rate_window of a series that starts inside the window is dropped.
      double skip_until = -1;
      if (is_cpu && !s.samples.empty() && s.samples.front().t > start_s + step_s / 2) {
        skip_until = s.samples.front().t + rate_s;
      }
      for (const auto& p : s.samples) {
        if (p.t < skip_until) continue;
        dst.push_back({p.t, p.v});
      }
    }
  };
  collect(*cpu, true);
  collect(*mem, false);

  // 3. Forecast each container of each workload's template.
  for (auto& [key, w] : workloads) {
    WorkloadPlan plan;
    plan.ns = w.ns;
    plan.kind = w.kind;
    plan.name = w.name;
    plan.pods = w.pods;
    std::vector<std::string> missing;
    for (const auto& c : w.containers) {
      auto series_of = [&](std::map<std::string, std::map<std::string, UsageSeries>>& m) {
        std::vector<UsageSeries> v;
        auto it = m.find(c.name);
        if (it != m.end()) {
          for (auto& [pod, s] : it->second) v.push_back(std::move(s));
        }
        return v;
      };
      ContainerPlan cp;
      cp.name = c.name;
      cp.cpu = ForecastResource("cpu", c.cpu_request, series_of(w.cpu), options);
      cp.memory = ForecastResource("memory", c.memory_request, series_of(w.memory), options);
      if (!cp.cpu.has_data || !cp.memory.has_data) missing.push_back(c.name);
      plan.containers.push_back(std::move(cp));
    }
    if (!missing.empty()) {
      std::string names;
      for (const auto& m : missing) names += (names.empty() ? "" : ", ") + m;
      out.notes.push_back(w.kind + " " + w.ns + "/" + w.name + ": no usage series for container(s) " + names +
                          " over the window; their requests are kept");
    }
    out.workloads.push_back(std::move(plan));
  }
  spdlog::debug("prediction: {} workloads, {} cpu series, {} memory series, {} unmatched", out.workloads.size(),
                cpu->series.size(), mem->series.size(), out.unmatched_series);
  return out;
}

int ApplyPrediction(const Prediction& prediction, json* snapshot_list) {
  if (safe_json::FindArray(*snapshot_list, "items") == nullptr) return 0;
  json& items = (*snapshot_list)["items"];
  std::map<std::pair<std::string, std::string>, std::string> rs_to_deployment;
  for (const auto& it : items) {
    if (Kind(it) != "ReplicaSet") continue;
    auto [k, n] = Controller(it);
    if (k == "Deployment") rs_to_deployment[{Meta(it, "namespace"), Meta(it, "name")}] = n;
  }
  int changed = 0;
  for (auto& it : items) {
    if (Kind(it) != "Pod") continue;
    std::string ns = Meta(it, "namespace");
    auto [k, n] = Controller(it);
    const WorkloadPlan* plan = nullptr;
    if (k == "ReplicaSet") {
      auto r = rs_to_deployment.find({ns, n});
      if (r != rs_to_deployment.end()) plan = prediction.Find(ns, "Deployment", r->second);
    } else if (k == "StatefulSet") {
      plan = prediction.Find(ns, "StatefulSet", n);
    }
    if (plan == nullptr || safe_json::FindPath(it, "spec.containers") == nullptr ||
        !it["spec"]["containers"].is_array()) {
      continue;
    }
    for (auto& c : it["spec"]["containers"]) {
      if (!c.is_object()) continue;
      for (const auto& cp : plan->containers) {
        if (cp.name != safe_json::String(c, "name")) continue;
        if (c.contains("resources") && !c["resources"].is_object()) c["resources"] = json::object();
        if (c["resources"].contains("requests") && !c["resources"]["requests"].is_object()) {
          c["resources"]["requests"] = json::object();
        }
        json& req = c["resources"]["requests"];
        if (cp.cpu.has_data) req["cpu"] = Quantity(cp.cpu.planned, true);
        if (cp.memory.has_data) req["memory"] = Quantity(cp.memory.planned, false);
        if (cp.cpu.has_data || cp.memory.has_data) changed++;
      }
    }
  }
  return changed;
}

}  // namespace kinema::prediction
