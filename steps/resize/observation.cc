#include "steps/resize/observation.h"

#include <algorithm>

#include "engine/common/time.h"
#include "engine/kube/object.h"
#include "engine/quantity/quantity.h"
#include "engine/workflow/typed_result.h"

namespace kinema::resize {

using nlohmann::json;

const char* ResizeStateName(ResizeState s) {
  switch (s) {
    case ResizeState::kNone: return "none";
    case ResizeState::kInProgress: return "inProgress";
    case ResizeState::kDeferred: return "Deferred";
    case ResizeState::kInfeasible: return "Infeasible";
  }
  return "none";
}

ResizeState ResizeStateFromName(const std::string& s) {
  if (s == "inProgress") return ResizeState::kInProgress;
  if (s == "Deferred") return ResizeState::kDeferred;
  if (s == "Infeasible") return ResizeState::kInfeasible;
  return ResizeState::kNone;
}

const ObservedContainer* ObservedPod::Find(const std::string& container) const {
  for (const auto& c : containers) {
    if (c.name == container) return &c;
  }
  return nullptr;
}

namespace {

void PutOpt(json& j, const char* k, const std::optional<int64_t>& v) {
  if (v) j[k] = *v;
}
std::optional<int64_t> GetOpt(const json& j, const char* k) {
  if (!j.contains(k) || j[k].is_null()) return std::nullopt;
  return j.at(k).get<int64_t>();
}

std::optional<int64_t> Quantity(const json& section, const char* resource) {
  if (!section.is_object() || !section.contains(resource) || !section[resource].is_string()) return std::nullopt;
  const std::string q = section[resource].get<std::string>();
  auto v = std::string(resource) == "cpu" ? ParseQuantityMilli(q) : ParseQuantityValue(q);
  if (!v.ok()) return std::nullopt;
  return *v;
}

const json& Section(const json& c, const char* section) {
  static const json kNull;
  if (!c.is_object() || !c.contains("resources") || !c["resources"].is_object()) return kNull;
  const json& r = c["resources"];
  return r.contains(section) ? r[section] : kNull;
}

}  // namespace

json ObservedPod::ToJson() const {
  json cs = json::array();
  for (const auto& c : containers) {
    json j{{"name", c.name}};
    PutOpt(j, "cpuRequest", c.cpu_request);
    PutOpt(j, "cpuLimit", c.cpu_limit);
    PutOpt(j, "memoryRequest", c.memory_request);
    PutOpt(j, "memoryLimit", c.memory_limit);
    if (c.cpu_restart) j["cpuRestart"] = true;
    if (c.memory_restart) j["memoryRestart"] = true;
    if (c.has_usage) {
      j["cpuUsage"] = c.cpu_usage;
      j["memoryUsage"] = c.memory_usage;
    }
    cs.push_back(std::move(j));
  }
  json j{{"namespace", ns}, {"name", name},          {"uid", uid},
         {"node", node},    {"generation", generation}, {"startedMs", started_ms},
         {"lastResizeMs", last_resize_ms}, {"sampledMs", sampled_ms}, {"containers", std::move(cs)}};
  if (!last_resize_workflow.empty()) j["lastResizeWorkflow"] = last_resize_workflow;
  if (resize != ResizeState::kNone) {
    j["resize"] = ResizeStateName(resize);
    j["resizeMessage"] = resize_message;
  }
  return j;
}

StatusOr<ObservedPod> ObservedPod::FromJson(const json& j) {
  return DecodeJson<ObservedPod>("observed pod", [&]() -> StatusOr<ObservedPod> {
    ObservedPod p;
    p.ns = j.at("namespace").get<std::string>();
    p.name = j.at("name").get<std::string>();
    p.uid = j.value("uid", "");
    p.node = j.value("node", "");
    p.generation = j.value("generation", int64_t{0});
    p.started_ms = j.value("startedMs", int64_t{0});
    p.last_resize_ms = j.value("lastResizeMs", int64_t{0});
    p.last_resize_workflow = j.value("lastResizeWorkflow", "");
    p.sampled_ms = j.value("sampledMs", int64_t{0});
    p.resize = ResizeStateFromName(j.value("resize", "none"));
    p.resize_message = j.value("resizeMessage", "");
    for (const auto& c : j.at("containers")) {
      ObservedContainer oc;
      oc.name = c.at("name").get<std::string>();
      oc.cpu_request = GetOpt(c, "cpuRequest");
      oc.cpu_limit = GetOpt(c, "cpuLimit");
      oc.memory_request = GetOpt(c, "memoryRequest");
      oc.memory_limit = GetOpt(c, "memoryLimit");
      oc.cpu_restart = c.value("cpuRestart", false);
      oc.memory_restart = c.value("memoryRestart", false);
      oc.has_usage = c.contains("memoryUsage");
      if (oc.has_usage) {
        oc.cpu_usage = c.at("cpuUsage").get<double>();
        oc.memory_usage = c.at("memoryUsage").get<double>();
      }
      p.containers.push_back(std::move(oc));
    }
    return p;
  });
}

json Observation::ToJson() const {
  json ps = json::array();
  for (const auto& p : pods) ps.push_back(p.ToJson());
  return json{{"source", source}, {"atMs", at_ms}, {"pods", std::move(ps)}, {"skipped", skipped}, {"notes", notes}};
}

StatusOr<Observation> Observation::FromJson(const json& j) {
  return DecodeJson<Observation>("resize observation", [&]() -> StatusOr<Observation> {
    Observation o;
    o.source = j.value("source", "");
    o.at_ms = j.value("atMs", int64_t{0});
    for (const auto& p : j.at("pods")) {
      auto op = ObservedPod::FromJson(p);
      if (!op.ok()) return op.status();
      o.pods.push_back(std::move(*op));
    }
    if (j.contains("skipped")) o.skipped = j["skipped"].get<std::vector<std::string>>();
    if (j.contains("notes")) o.notes = j["notes"].get<std::vector<std::string>>();
    return o;
  });
}

ObservedPod ReadPod(const json& pod) {
  ObservedPod p;
  p.ns = kube::obj::Namespace(pod);
  p.name = kube::obj::Name(pod);
  p.uid = kube::obj::Uid(pod);
  p.node = kube::pod::NodeName(pod);
  p.generation = kube::obj::Generation(pod);
  std::string started = kube::obj::StringAt(pod, "status.startTime");
  if (started.empty()) started = kube::obj::StringAt(pod, "metadata.creationTimestamp");
  if (auto t = ParseRfc3339Ms(started)) p.started_ms = *t;
  const auto ann = kube::obj::Annotations(pod);
  if (auto it = ann.find(kLastResizeAnnotation); it != ann.end()) {
    if (auto t = ParseRfc3339Ms(it->second)) p.last_resize_ms = *t;
  }
  if (auto it = ann.find(kLastResizeWorkflowAnnotation); it != ann.end()) p.last_resize_workflow = it->second;
  if (pod.contains("status") && pod["status"].contains("conditions") && pod["status"]["conditions"].is_array()) {
    for (const auto& c : pod["status"]["conditions"]) {
      if (!c.is_object() || c.value("status", "") != "True") continue;
      const std::string type = c.value("type", "");
      if (type == "PodResizePending") {
        p.resize = c.value("reason", "") == "Infeasible" ? ResizeState::kInfeasible : ResizeState::kDeferred;
        p.resize_message = c.value("message", "");
      } else if (type == "PodResizeInProgress" && p.resize == ResizeState::kNone) {
        p.resize = ResizeState::kInProgress;
        p.resize_message = c.value("message", "");
      }
    }
  }
  if (p.resize == ResizeState::kNone && SpecAheadOfStatus(pod)) p.resize = ResizeState::kInProgress;
  if (pod.contains("spec") && pod["spec"].contains("containers") && pod["spec"]["containers"].is_array()) {
    for (const auto& c : pod["spec"]["containers"]) {
      ObservedContainer oc;
      oc.name = c.value("name", "");
      oc.cpu_request = Quantity(Section(c, "requests"), "cpu");
      oc.cpu_limit = Quantity(Section(c, "limits"), "cpu");
      oc.memory_request = Quantity(Section(c, "requests"), "memory");
      oc.memory_limit = Quantity(Section(c, "limits"), "memory");
      if (c.contains("resizePolicy") && c["resizePolicy"].is_array()) {
        for (const auto& rp : c["resizePolicy"]) {
          if (!rp.is_object() || rp.value("restartPolicy", "") != "RestartContainer") continue;
          if (rp.value("resourceName", "") == "cpu") oc.cpu_restart = true;
          if (rp.value("resourceName", "") == "memory") oc.memory_restart = true;
        }
      }
      p.containers.push_back(std::move(oc));
    }
  }
  return p;
}

bool SpecAheadOfStatus(const json& pod) {
  const int64_t gen = kube::obj::Generation(pod);
  const int64_t observed = kube::obj::IntAt(pod, "status.observedGeneration");
  if (gen > 0 && observed > 0 && observed < gen) return true;
  if (!pod.contains("spec") || !pod["spec"].contains("containers") || !pod.contains("status")) return false;
  const json& statuses = pod["status"].value("containerStatuses", json::array());
  if (!statuses.is_array()) return false;
  for (const auto& c : pod["spec"]["containers"]) {
    const std::string name = c.value("name", "");
    for (const auto& s : statuses) {
      if (!s.is_object() || s.value("name", "") != name || !s.contains("resources")) continue;
      for (const char* section : {"requests", "limits"}) {
        for (const char* r : {"cpu", "memory"}) {
          if (Quantity(Section(c, section), r) != Quantity(Section(s, section), r)) return true;
        }
      }
    }
  }
  return false;
}

void AddToHistory(const Observation& o, UsageHistory* history) {
  for (const auto& p : o.pods) {
    UsageSample s;
    s.at_ms = p.sampled_ms;
    for (const auto& c : p.containers) {
      if (c.has_usage) s.containers[c.name] = {c.cpu_usage, c.memory_usage};
    }
    if (!s.containers.empty()) (*history)[p.uid].push_back(std::move(s));
  }
}

PodState ToPodState(const ObservedPod& pod, const UsageHistory& history, int64_t window_ms) {
  PodState st;
  st.key = pod.key();
  st.last_resize_ms = std::max(pod.last_resize_ms, pod.started_ms);
  st.resize_pending = pod.resize != ResizeState::kNone;
  const int64_t start = pod.sampled_ms - window_ms;
  const std::vector<UsageSample>* samples = nullptr;
  if (auto it = history.find(pod.uid); it != history.end()) samples = &it->second;
  for (const auto& c : pod.containers) {
    ContainerState cs;
    cs.name = c.name;
    cs.has_usage = c.has_usage;
    cs.cpu.request = c.cpu_request;
    cs.cpu.limit = c.cpu_limit;
    cs.memory.request = c.memory_request;
    cs.memory.limit = c.memory_limit;
    cs.cpu.restart_required = c.cpu_restart;
    cs.memory.restart_required = c.memory_restart;
    cs.cpu.usage = cs.cpu.window_peak = c.cpu_usage;
    cs.memory.usage = cs.memory.window_peak = c.memory_usage;
    bool covered = window_ms <= 0;
    if (samples != nullptr) {
      for (const auto& s : *samples) {
        auto it = s.containers.find(c.name);
        if (it == s.containers.end() || s.at_ms > pod.sampled_ms) continue;
        if (s.at_ms <= start) {
          covered = true;  // a sample at or before the window's start: the window is fully observed
          continue;
        }
        cs.cpu.window_peak = std::max(cs.cpu.window_peak, it->second.first);
        cs.memory.window_peak = std::max(cs.memory.window_peak, it->second.second);
      }
    }
    cs.cpu.window_covered = cs.memory.window_covered = covered;
    st.containers.push_back(std::move(cs));
  }
  return st;
}

}  // namespace kinema::resize
