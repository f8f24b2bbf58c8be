#include "tools/kinema-sim/usage/usage_component.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "engine/quantity/quantity.h"
#include "tools/kinema-sim/resource_types.h"
#include "tools/kinema-sim/sim_server.h"
#include "tools/kinema-sim/usage/metrics_api.h"
#include "tools/kinema-sim/usage/metrics_text.h"

namespace kinema::sim::usage {

namespace {

using json = nlohmann::json;

const ResourceType& Rt(const char* group, const char* plural) {
  return *ResourceRegistry::Default().Find(group, "v1", plural);
}

int64_t Milli(const json& resources, const char* section, const char* name) {
  if (!resources.is_object() || !resources.contains(section) || !resources[section].is_object()) return 0;
  const json& s = resources[section];
  if (!s.contains(name) || !s[name].is_string()) return 0;
  auto v = ParseQuantityMilli(s[name].get<std::string>());
  return v.ok() ? *v : 0;
}

int64_t Bytes(const json& resources, const char* section, const char* name) {
  if (!resources.is_object() || !resources.contains(section) || !resources[section].is_object()) return 0;
  const json& s = resources[section];
  if (!s.contains(name) || !s[name].is_string()) return 0;
  auto v = ParseQuantityValue(s[name].get<std::string>());
  return v.ok() ? *v : 0;
}

std::string Str(const json& obj, const char* a, const char* b) {
  if (!obj.is_object() || !obj.contains(a) || !obj[a].is_object()) return "";
  const json& x = obj[a];
  if (!x.contains(b) || !x[b].is_string()) return "";
  return x[b].get<std::string>();
}

}  // namespace

UsageComponent::UsageComponent(SimServer* server) : server_(server) {
  server_->AddRoute("/metrics", /*require_auth=*/false, [this](const HttpRequest& req) {
    if (req.path != "/metrics" && req.path != "/metrics/") {
      return HttpResponse{404, "text/plain; charset=utf-8", "404 page not found\n", {}};
    }
    if (req.method != "GET" && req.method != "HEAD") {
      return HttpResponse{405, "text/plain; charset=utf-8", "method not allowed\n", {}};
    }
    return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", RenderMetrics(), {}};
  });
  server_->AddRoute("/apis/metrics.k8s.io", /*require_auth=*/true,
                    [this](const HttpRequest& req) { return HandleMetricsApi(*this, *server_, req); });
}

UsageComponent::~UsageComponent() = default;

Status UsageComponent::Start(SimServer& server) {
  UsageScenario scenario;
  KINEMA_RETURN_IF_ERROR(ParseUsageScenario(server.scenario(), &scenario));
  model_ = std::make_unique<UsageModel>(std::move(scenario), server.options().seed);
  double scale = server.clock().time_scale();
  auto period = std::chrono::milliseconds(static_cast<int64_t>(5000.0 / std::max(scale, 1e-6)));
  tick_period_ = std::clamp(period, std::chrono::milliseconds(250), std::chrono::milliseconds(1000));

  std::lock_guard l(mu_);
  wall_start_ = std::chrono::steady_clock::now();
  last_wall_ = wall_start_;
  WatchFilter pods_filter;
  pods_filter.resource = &Rt("", "pods");
  watcher_ = server.store().Subscribe(pods_filter, [] {});  // drained on every tick/read
  auto list = server.store().List(pods_filter);
  listed_rv_ = list.rv;
  for (const auto& o : list.items) ApplyPod(o->body);
  node_exporter_.Start(server.store());
  started_ = true;
  timer_ = std::make_unique<boost::asio::steady_timer>(server.io());
  ScheduleTick();
  spdlog::info("usage: following {} pods; {} workload profiles, {} load surges; tick {} ms", pods_.size(),
               model_->scenario().workloads.size(), model_->scenario().surges.size(), tick_period_.count());
  return Status::OK();
}

void UsageComponent::Stop() {
  std::lock_guard l(mu_);
  stopped_ = true;
  if (timer_) timer_->cancel();
  if (watcher_) watcher_->Stop();
  node_exporter_.Stop();
}

double UsageComponent::SimSeconds() const {
  auto wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start_).count();
  return wall * server_->clock().time_scale();
}

void UsageComponent::ScheduleTick() {
  timer_->expires_after(tick_period_);
  timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    Tick();
  });
}

void UsageComponent::Tick() {
  Advance();
  std::lock_guard l(mu_);
  if (!stopped_) ScheduleTick();
}

void UsageComponent::Advance() {
  std::vector<OomKill> kills;
  {
    std::lock_guard l(mu_);
    if (!started_ || stopped_) return;
    kills = AdvanceLocked();
  }
  if (!kills.empty()) RecordOomKills(kills);
}

void UsageComponent::DrainEvents() {
  for (auto& item : watcher_->Take()) {
    if (item.kind != WatchItem::Kind::kEvent || !item.object) continue;
    if (item.rv <= listed_rv_) continue;  // already in the initial list
    const auto& o = *item.object;
    if (item.type == "DELETED") {
      pods_.erase(o.ns + "/" + o.name);
    } else {
      ApplyPod(o.body);
    }
  }
}

void UsageComponent::ApplyPod(const json& pod) {
  try {
    ApplyPodUnchecked(pod);
  } catch (const std::exception& e) {  // a malformed pod must not stop the simulator
    spdlog::warn("usage: ignoring a malformed pod: {}", e.what());
  }
}

void UsageComponent::ApplyPodUnchecked(const json& pod) {
  const json& md = pod.at("metadata");
  std::string key = md.value("namespace", "") + "/" + md.value("name", "");
  PodState& p = pods_[key];
  PodSample& s = p.s;
  bool fresh = s.name.empty();
  s.ns = md.value("namespace", "");
  s.name = md.value("name", "");
  s.uid = md.value("uid", "");
  s.labels = md.contains("labels") ? md["labels"] : json::object();
  s.deleting = md.contains("deletionTimestamp") && !md["deletionTimestamp"].is_null();
  s.node = Str(pod, "spec", "nodeName");
  s.phase = Str(pod, "status", "phase");
  bool was_running = s.running;
  s.running = s.phase == "Running" && !s.node.empty();
  s.ready = s.running;
  if (pod.contains("status") && pod["status"].contains("conditions") && pod["status"]["conditions"].is_array()) {
    for (const auto& c : pod["status"]["conditions"]) {
      if (c.value("type", "") == "Ready") s.ready = s.running && c.value("status", "") == "True";
    }
  }
  std::string owner_kind, owner_name;
  if (md.contains("ownerReferences") && md["ownerReferences"].is_array()) {
    for (const auto& r : md["ownerReferences"]) {
      if (r.value("controller", false) || owner_kind.empty()) {
        owner_kind = r.value("kind", "");
        owner_name = r.value("name", "");
      }
    }
  }
  if (fresh || owner_kind != s.owner_kind || owner_name != s.owner_name) {
    s.owner_kind = owner_kind;
    s.owner_name = owner_name;
    p.workload_resolved = false;
  }
  if (!p.workload_resolved) ResolveWorkload(p);

  // A VM's launcher pod: usage from the VM's allocation and utilization.
  p.vm = false;
  if (md.contains("annotations") && md["annotations"].is_object()) {
    const json& an = md["annotations"];
    // Utilizations are plain numbers ("0.5"); sizes are quantities ("4", "2000m", "8Gi").
    auto num = [&](const char* key, double* out) {
      std::string k = std::string("simulation.node-classifier.io/") + key;
      if (!an.contains(k) || !an[k].is_string()) return false;
      try {
        size_t used = 0;
        *out = std::stod(an[k].get<std::string>(), &used);
        return used == an[k].get<std::string>().size();
      } catch (...) {
        return false;
      }
    };
    auto quantity = [&](const char* key, bool cpu, double* out) {
      std::string k = std::string("simulation.node-classifier.io/") + key;
      if (!an.contains(k) || !an[k].is_string()) return false;
      if (cpu) {
        auto v = ParseQuantityMilli(an[k].get<std::string>());
        if (v.ok()) *out = v.value() / 1000.0;
        return v.ok();
      }
      auto v = ParseQuantityValue(an[k].get<std::string>());
      if (v.ok()) *out = static_cast<double>(v.value());
      return v.ok();
    };
    if (quantity("vm-cpu-cores", true, &p.vm_cpu_cores) && quantity("vm-memory-bytes", false, &p.vm_memory_bytes)) {
      p.vm = true;
      if (!num("vm-cpu-utilization", &p.vm_cpu_util)) p.vm_cpu_util = 0.5;
      if (!num("vm-memory-utilization", &p.vm_memory_util)) p.vm_memory_util = 0.8;
    }
  }
  // Containers: keep counters and OOM state of containers that persist.
  std::map<std::string, int> restarts;
  std::map<std::string, json> actual;  // what each container runs with
  if (pod.contains("status") && pod["status"].contains("containerStatuses") &&
      pod["status"]["containerStatuses"].is_array()) {
    for (const auto& cs : pod["status"]["containerStatuses"]) {
      restarts[cs.value("name", "")] = cs.value("restartCount", 0);
      if (cs.contains("resources") && cs["resources"].is_object()) actual[cs.value("name", "")] = cs["resources"];
    }
  }
  std::vector<ContainerState> next;
  double now_t = started_ ? SimSeconds() : 0.0;
  if (pod.contains("spec") && pod["spec"].contains("containers") && pod["spec"]["containers"].is_array()) {
    for (const auto& c : pod["spec"]["containers"]) {
      ContainerState cs;
      std::string name = c.value("name", "");
      for (auto& old : p.containers) {
        if (old.s.name == name) cs = old;
      }
      cs.s.name = name;
      cs.s.image = c.value("image", "");
      const json& r = c.contains("resources") ? c["resources"] : json::object();
      cs.s.cpu_request_milli = Milli(r, "requests", "cpu");
      cs.s.cpu_limit_milli = Milli(r, "limits", "cpu");
      cs.s.memory_request = Bytes(r, "requests", "memory");
      cs.s.memory_limit = Bytes(r, "limits", "memory");
      // Kubernetes defaults requests to limits when only limits are set.
      if (cs.s.cpu_request_milli == 0) cs.s.cpu_request_milli = cs.s.cpu_limit_milli;
      if (cs.s.memory_request == 0) cs.s.memory_request = cs.s.memory_limit;
      auto act = actual.find(name);
      const json& ar = act != actual.end() ? act->second : r;
      cs.actual_cpu_limit_milli = Milli(ar, "limits", "cpu");
      cs.actual_memory_limit = Bytes(ar, "limits", "memory");
      auto it = restarts.find(name);
      if (it != restarts.end() && it->second > cs.s.restarts) {
        // Restarted by someone else (the kubelet, for a RestartContainer
        // resize): a new process, its memory starts again from the base.
        if (!fresh) {
          cs.started_t = now_t;
          cs.last_cpu = -1;
        }
        cs.s.restarts = it->second;
      }
      if (cs.noise_key == 0) cs.noise_key = UsageModel::NoiseKey(s.ns, s.name, name);
      if (s.running && !was_running) {
        cs.started_t = now_t;
        cs.last_cpu = -1;
      }
      next.push_back(std::move(cs));
    }
  }
  p.containers = std::move(next);
}

void UsageComponent::ResolveWorkload(PodState& p) {
  ResolveWorkloadName(p);
  p.workload_key = p.s.workload_name.empty() ? "" : p.s.workload_kind + "/" + p.s.ns + "/" + p.s.workload_name;
  p.profile = p.s.workload_name.empty() ? nullptr : model_->scenario().Find(p.s.ns, p.s.workload_name);
}

void UsageComponent::ResolveWorkloadName(PodState& p) {
  PodSample& s = p.s;
  p.workload_resolved = true;
  if (s.owner_kind == "ReplicaSet") {
    std::string key = s.ns + "/" + s.owner_name;
    auto it = rs_owner_.find(key);
    if (it == rs_owner_.end()) {
      auto rs = server_->store().Get(Rt("apps", "replicasets"), s.ns, s.owner_name);
      if (!rs) {  // not created yet: treat as a bare ReplicaSet, retry later
        s.workload_kind = "ReplicaSet";
        s.workload_name = s.owner_name;
        p.workload_resolved = false;
        return;
      }
      std::string dep;
      const json& md = rs->body.at("metadata");
      if (md.contains("ownerReferences") && md["ownerReferences"].is_array()) {
        for (const auto& r : md["ownerReferences"]) {
          if (r.value("kind", "") == "Deployment") dep = r.value("name", "");
        }
      }
      it = rs_owner_.emplace(key, dep).first;
    }
    if (it->second.empty()) {
      s.workload_kind = "ReplicaSet";
      s.workload_name = s.owner_name;
    } else {
      s.workload_kind = "Deployment";
      s.workload_name = it->second;
    }
  } else if (s.owner_kind == "StatefulSet" || s.owner_kind == "DaemonSet") {
    s.workload_kind = s.owner_kind;
    s.workload_name = s.owner_name;
  } else {
    s.workload_kind.clear();
    s.workload_name.clear();
  }
}

int UsageComponent::ReferenceReplicas(const std::string& kind, const std::string& ns, const std::string& name) {
  std::string key = kind + "/" + ns + "/" + name;
  auto it = reference_replicas_.find(key);
  if (it != reference_replicas_.end()) return it->second;
  const ResourceType* rt = nullptr;
  if (kind == "Deployment") rt = &Rt("apps", "deployments");
  if (kind == "StatefulSet") rt = &Rt("apps", "statefulsets");
  if (rt == nullptr) return 0;
  auto obj = server_->store().Get(*rt, ns, name);
  if (!obj) return 0;  // not known yet: no sharing until it is
  int replicas = 1;
  if (!obj->body.contains("spec")) return 0;
  const json& spec = obj->body["spec"];
  if (spec.contains("replicas") && spec["replicas"].is_number_integer()) replicas = spec["replicas"].get<int>();
  reference_replicas_[key] = replicas;
  return replicas;
}

std::vector<UsageComponent::OomKill> UsageComponent::AdvanceLocked() {
  DrainEvents();
  auto now = std::chrono::steady_clock::now();
  double dt = std::chrono::duration<double>(now - last_wall_).count();
  last_wall_ = now;
  double t = SimSeconds();

  // Running pods per workload, for load sharing.
  std::unordered_map<std::string, int> running;
  for (auto& [key, p] : pods_) {
    if (!p.workload_resolved) ResolveWorkload(p);
    if (p.s.running && p.s.ready && !p.s.workload_name.empty()) {
      running[p.workload_key]++;
    }
  }
  std::unordered_map<std::string, double> share;
  for (const auto& [wk, n] : running) {
    size_t a = wk.find('/'), b = wk.find('/', a + 1);
    int ref = ReferenceReplicas(wk.substr(0, a), wk.substr(a + 1, b - a - 1), wk.substr(b + 1));
    share[wk] = ref > 0 ? static_cast<double>(ref) / std::max(1, n) : 1.0;
  }

  std::vector<OomKill> kills;
  const bool oom = model_->scenario().oom_kill;
  for (auto& [key, p] : pods_) {
    if (!p.s.running) {
      for (auto& c : p.containers) {
        c.last_cpu = -1;
        c.s.cpu_cores = 0;
        c.s.memory_bytes = 0;
      }
      continue;
    }
    double sh = 1.0;
    if (!p.s.workload_name.empty()) {
      auto it = share.find(p.workload_key);
      if (it != share.end()) sh = it->second;
    }
    for (auto& c : p.containers) {
      if (c.ref_cpu_request < 0) {
        std::string rk = (p.workload_key.empty() ? "pod/" + key : p.workload_key) + "/" + c.s.name;
        auto ref = reference_requests_.emplace(
            rk, std::make_pair(c.s.cpu_request_milli / 1000.0, static_cast<double>(c.s.memory_request)));
        c.ref_cpu_request = ref.first->second.first;
        c.ref_memory_request = ref.first->second.second;
      }
      ContainerInputs in;
      in.cpu_request_cores = c.ref_cpu_request;
      in.memory_request_bytes = c.ref_memory_request;
      in.t_s = t;
      in.age_s = std::max(0.0, t - c.started_t);
      in.load_share = sh;
      Usage u = model_->Evaluate(p.s.ns, p.s.workload_name, p.profile, c.noise_key, in);
      if (p.vm) {  // the VM's guest: allocation x utilization, shared by its containers
        double n = static_cast<double>(p.containers.size());
        u.cpu_cores = p.vm_cpu_cores * p.vm_cpu_util / n;
        u.memory_bytes = p.vm_memory_bytes * p.vm_memory_util / n;
      }
      if (c.actual_cpu_limit_milli > 0) u.cpu_cores = std::min(u.cpu_cores, c.actual_cpu_limit_milli / 1000.0);  // throttled
      double prev = c.last_cpu < 0 ? u.cpu_cores : c.last_cpu;
      c.s.cpu_seconds_total += 0.5 * (prev + u.cpu_cores) * dt;
      c.last_cpu = u.cpu_cores;
      c.s.cpu_cores = u.cpu_cores;
      c.s.memory_bytes = u.memory_bytes;
      if (oom && c.actual_memory_limit > 0 && u.memory_bytes > static_cast<double>(c.actual_memory_limit) &&
          t >= c.next_oom_t &&
          !p.s.deleting) {
        auto started = server_->clock().Now() -
                       std::chrono::milliseconds(static_cast<int64_t>((t - c.started_t) * 1000));
        kills.push_back(OomKill{p.s.ns, p.s.name, c.s.name, SimClock::FormatTime(started)});
        // The container restarts: a new cgroup (counter from 0), memory from the base.
        c.s.restarts++;
        c.s.cpu_seconds_total = 0;
        c.last_cpu = -1;
        c.started_t = t;
        double backoff = std::min(300.0, 10.0 * std::pow(2.0, std::min(c.s.restarts - 1, 5)));
        c.next_oom_t = t + backoff;
      }
    }
  }
  // Node series follow the pods: a node's load is what its running pods use now.
  std::unordered_map<std::string, NodeDemand> demand;
  for (const auto& [key, p] : pods_) {
    if (!p.s.running) continue;
    NodeDemand& d = demand[p.s.node];
    for (const auto& c : p.containers) {
      d.cpu_cores += c.s.cpu_cores;
      d.memory_bytes += c.s.memory_bytes;
    }
  }
  node_exporter_.Advance(dt, demand);
  return kills;
}

void UsageComponent::RecordOomKills(const std::vector<OomKill>& kills) {
  const ResourceType& pods = Rt("", "pods");
  for (const auto& k : kills) {
    std::string now = SimClock::FormatTime(server_->clock().Now());
    auto r = server_->registry().Modify(
        pods, k.ns, k.pod,
        [&](json& obj) -> std::optional<ApiError> {
          json& st = obj["status"];
          if (!st.contains("containerStatuses") || !st["containerStatuses"].is_array()) {
            st["containerStatuses"] = json::array();
          }
          json* entry = nullptr;
          for (auto& cs : st["containerStatuses"]) {
            if (cs.value("name", "") == k.container) entry = &cs;
          }
          if (entry == nullptr) {
            st["containerStatuses"].push_back({{"name", k.container}, {"ready", true}, {"started", true},
                                               {"restartCount", 0}});
            entry = &st["containerStatuses"].back();
          }
          (*entry)["restartCount"] = entry->value("restartCount", 0) + 1;
          (*entry)["lastState"] = {{"terminated",
                                    {{"exitCode", 137},
                                     {"reason", "OOMKilled"},
                                     {"startedAt", k.started_at},
                                     {"finishedAt", now}}}};
          (*entry)["state"] = {{"running", {{"startedAt", now}}}};
          return std::nullopt;
        },
        "status");
    if (r.ok()) {
      server_->stats().oom_kills++;
      spdlog::info("usage: OOM-killed container {} of pod {}/{} (memory above its limit); restarted", k.container,
                   k.ns, k.pod);
    } else {
      spdlog::warn("usage: recording OOM kill of {}/{} container {}: {}", k.ns, k.pod, k.container,
                   r.error().message);
    }
  }
}

std::vector<PodSample> UsageComponent::SamplePods(bool running_only) {
  Advance();
  std::lock_guard l(mu_);
  std::vector<PodSample> out;
  out.reserve(pods_.size());
  for (const auto& [key, p] : pods_) {
    if (running_only && !p.s.running) continue;
    PodSample s = p.s;
    s.containers.clear();
    for (const auto& c : p.containers) s.containers.push_back(c.s);
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<double> UsageComponent::ContainerMemoryBytes(const std::string& ns, const std::string& pod,
                                                           const std::string& container) {
  std::lock_guard l(mu_);
  auto it = pods_.find(ns + "/" + pod);
  if (it == pods_.end() || !it->second.s.running) return std::nullopt;
  for (const auto& c : it->second.containers) {
    if (c.s.name == container) return c.s.memory_bytes;
  }
  return std::nullopt;
}

std::string UsageComponent::RenderMetrics() {
  Advance();
  // Other kinds are read from the store without holding mu_.
  KubeObjects objs = ListKubeObjects(server_->store());
  std::lock_guard l(mu_);
  MetricsWriter w;
  w.Reserve(pods_.size());
  std::vector<const PodState*> pods;
  pods.reserve(pods_.size());
  for (const auto& [key, p] : pods_) pods.push_back(&p);
  w.BeginContainerCpu();
  for (const PodState* p : pods) {
    if (!p->s.running) continue;
    for (const auto& c : p->containers) w.ContainerCpu(p->s, c.s);
  }
  w.BeginContainerMemory();
  for (const PodState* p : pods) {
    if (!p->s.running) continue;
    for (const auto& c : p->containers) w.ContainerMemory(p->s, c.s);
  }
  w.BeginRequests();
  for (const PodState* p : pods) {
    for (const auto& c : p->containers) w.Requests(p->s, c.s);
  }
  w.BeginLimits();
  for (const PodState* p : pods) {
    for (const auto& c : p->containers) w.Limits(p->s, c.s);
  }
  w.BeginRestarts();
  for (const PodState* p : pods) {
    for (const auto& c : p->containers) w.Restarts(p->s, c.s);
  }
  w.BeginOwners();
  for (const PodState* p : pods) w.Owner(p->s);
  w.KubeState(objs);
  std::string out = w.Take();
  node_exporter_.Render(&out);
  return out;
}

}  // namespace kinema::sim::usage
