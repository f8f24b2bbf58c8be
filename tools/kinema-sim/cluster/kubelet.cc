#include "tools/kinema-sim/cluster/kubelet.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <functional>
#include <set>

#include "tools/kinema-sim/sim_stats.h"

#include "engine/quantity/quantity.h"
#include "tools/kinema-sim/cluster/kinds.h"
#include "tools/kinema-sim/cluster/status_bringup.h"

namespace kinema::sim::cluster {

namespace {

std::string NodeOf(const ObjectPtr& pod) {
  if (!pod) return "";
  auto s = pod->body.find("spec");
  return s != pod->body.end() && s->is_object() ? s->value("nodeName", "") : "";
}

bool NodeObjectReady(const Json& node) {
  return HasTrueCondition(node, "Ready");
}

std::string ContainerId(uint64_t n) {
  char buf[80];
  std::snprintf(buf, sizeof(buf), "containerd://%016llx%016llx", static_cast<unsigned long long>(n * 0x9e3779b97f4a7c15ULL),
                static_cast<unsigned long long>(n));
  return buf;
}

}  // namespace

Status Kubelet::Setup(SimServer& server) {
  const Json& sc = server.scenario();
  if (sc.contains("kubelet")) {
    const Json& k = sc["kubelet"];
    if (!k.is_object()) return Status::InvalidArgument("scenario kubelet: must be an object");
    const std::map<std::string, double*> durations = {{"podStartDelay", &start_delay_},
                                                      {"terminationDelay", &termination_delay_},
                                                      {"resizeDelay", &resize_delay_},
                                                      {"resizeRetry", &resize_retry_},
                                                      {"leaseRenewInterval", &lease_renew_interval_},
                                                      {"leaseDuration", &lease_duration_},
                                                      {"nodeStatusReportFrequency", &node_status_report_}};
    for (auto it = k.begin(); it != k.end(); ++it) {
      auto field = durations.find(it.key());
      if (field == durations.end()) return Status::InvalidArgument("scenario kubelet." + it.key() + ": unknown key");
      auto v = ParseSeconds(it.value(), "kubelet." + it.key());
      if (!v.ok()) return v.status();
      *field->second = v.value();
    }
    if (lease_duration_ < 1) return Status::InvalidArgument("scenario kubelet.leaseDuration: must be at least 1s");
  }
  {
    auto cat = ParseCatalog(server.pricer().catalog());
    if (cat.ok()) catalog_ = std::make_unique<Catalog>(std::move(*cat));
  }
  nodes_ = std::make_unique<Informer>(&NodesType(), [this](const ObjectPtr& p, const ObjectPtr& c) { OnNode(p, c); });
  pods_ = std::make_unique<Informer>(&PodsType(), [this](const ObjectPtr& p, const ObjectPtr& c) { OnPod(p, c); });
  nodes_->Start(&server.store(), Notifier());
  pods_->Start(&server.store(), Notifier());
  if (lease_renew_interval_ > 0 && lease_renew_interval_ >= lease_duration_) {
    return Status::InvalidArgument("scenario kubelet.leaseRenewInterval: must be shorter than kubelet.leaseDuration (" +
                                   std::to_string(lease_duration_) + "s)");
  }
  spdlog::info("kubelet: pod start delay {}s, termination delay {}s, lease renewal every {}s (duration {}s), node "
               "status every {}s",
               start_delay_, termination_delay_, lease_renew_interval_, lease_duration_, node_status_report_);
  return Status::OK();
}

void Kubelet::Teardown() {
  nodes_->Stop();
  pods_->Stop();
}

void Kubelet::DrainAll() {
  nodes_->Drain();
  pods_->Drain();
}

bool Kubelet::NodeReady(const std::string& node) const {
  auto it = node_ready_.find(node);
  return it != node_ready_.end() && it->second;
}

std::string Kubelet::NodeIp(const std::string& node) const {
  ObjectPtr n = nodes_->Get("", node);
  if (n && n->body.contains("status") && n->body["status"].contains("addresses")) {
    for (const auto& a : n->body["status"]["addresses"]) {
      if (a.value("type", "") == "InternalIP") return a.value("address", "");
    }
  }
  return "10.128.0.1";
}

std::string Kubelet::NextNodeIp() {
  uint64_t n = ++next_node_ip_;
  return "10.128." + std::to_string(64 + (n >> 8) % 128) + "." + std::to_string(n & 255);
}

std::string Kubelet::NextPodIp() {
  uint64_t n = ++next_ip_;
  return "10." + std::to_string(64 + (n >> 16) % 64) + "." + std::to_string((n >> 8) & 255) + "." +
         std::to_string(n & 255);
}

void Kubelet::OnNode(const ObjectPtr& prev, const ObjectPtr& cur) {
  const ObjectPtr& any = cur ? cur : prev;
  bool was = prev && NodeObjectReady(prev->body);
  bool now = cur && NodeObjectReady(cur->body);
  if (cur) node_ready_[any->name] = now;
  else node_ready_.erase(any->name);
  if (cur && NodeNeedsBringUp(cur->body)) nodes_to_bring_up_.insert(any->name);
  if (now && !was) StartHeartbeat(any->name);
  if (!cur) {
    status_reported_.erase(any->name);
    DeleteLease(any->name);
  }
  if (was == now && prev && cur) return;
  auto it = pods_by_node_.find(any->name);
  if (it == pods_by_node_.end()) return;
  for (const Key& k : it->second) pending_review_.insert(k);
}

void Kubelet::OnPod(const ObjectPtr& prev, const ObjectPtr& cur) {
  const ObjectPtr& any = cur ? cur : prev;
  Key key{any->ns, any->name};
  std::string before = NodeOf(prev), after = NodeOf(cur);
  if (before != after && !before.empty()) {
    auto it = pods_by_node_.find(before);
    if (it != pods_by_node_.end()) {
      it->second.erase(key);
      if (it->second.empty()) pods_by_node_.erase(it);
    }
  }
  if (!after.empty()) pods_by_node_[after].insert(key);
  if (!cur) {
    starting_.erase(key);
    terminating_.erase(key);
    resize_outcome_.erase(key);
    pending_review_.erase(key);
    return;
  }
  pending_review_.insert(key);
}

void Kubelet::Pump() {
  DrainAll();
  if (!nodes_to_bring_up_.empty()) {
    auto nodes = std::move(nodes_to_bring_up_);
    nodes_to_bring_up_.clear();
    for (const auto& n : nodes) BringUpNode(n);
    DrainAll();
  }
  auto review = std::move(pending_review_);
  pending_review_.clear();
  for (const Key& k : review) Consider(k);
}

void Kubelet::Consider(const Key& key) {
  ObjectPtr pod = pods_->Get(key.first, key.second);
  if (!pod) return;
  const Json& b = pod->body;
  if (runs_elsewhere_ && runs_elsewhere_(b)) return;
  std::string node = NodeOf(pod);
  if (node.empty()) return;
  std::string uid = Uid(b);
  bool ready_node = NodeReady(node);
  if (IsTerminating(b)) {
    if (!ready_node) return;  // no kubelet to confirm; PodGC's job once the node is gone
    auto it = terminating_.find(key);
    if (it != terminating_.end() && it->second == uid) return;
    terminating_[key] = uid;
    long long grace = b["metadata"].value("deletionGracePeriodSeconds", 0LL);
    SimClock::TimePoint deadline;
    if (!SimClock::ParseTime(b["metadata"].value("deletionTimestamp", ""), &deadline)) deadline = Now();
    auto started = deadline - std::chrono::seconds(grace);
    double delay = std::min(static_cast<double>(grace), termination_delay_);
    auto due = started + std::chrono::duration_cast<SimClock::TimePoint::duration>(std::chrono::duration<double>(delay));
    At(due, [this, key, uid] { FinishTermination(key, uid); });
    return;
  }
  std::string phase = PodPhase(b);
  if (phase == "Pending" || phase.empty()) {  // no phase: a snapshot pod dumped without status
    if (!ready_node) return;
    auto it = starting_.find(key);
    if (it != starting_.end() && it->second == uid) return;
    starting_[key] = uid;
    After(start_delay_, [this, key, uid] { StartPod(key, uid); });
    return;
  }
  if (phase == "Running") {
    if (ready_node && RunningPodNeedsBringUp(b)) {
      BringUpPod(key, uid);
      return;  // re-considered with the completed status
    }
    if (ready_node) ConsiderResize(key, pod);
    bool ready = IsPodReady(b);
    if (!ready_node && ready) {
      SetPodReady(key, false);
    } else if (ready_node && !ready) {
      const Json* c = FindCondition(b["status"], "Ready");
      if (c && c->value("reason", "") == "NodeNotReady") SetPodReady(key, true);
    }
  }
}

void Kubelet::StartPod(const Key& key, const std::string& uid) {
  DrainAll();
  auto it = starting_.find(key);
  if (it == starting_.end() || it->second != uid) return;
  starting_.erase(it);
  ObjectPtr pod = pods_->Get(key.first, key.second);
  if (!pod || Uid(pod->body) != uid || IsTerminating(pod->body)) return;
  if (PodPhase(pod->body) != "Pending" && !PodPhase(pod->body).empty()) return;
  std::string node = NodeOf(pod);
  if (node.empty() || !NodeReady(node)) return;  // re-considered when the node turns Ready
  if (PodPhase(pod->body) == "Pending") {  // a snapshot pod without a phase was admitted where it ran
    if (auto rejected = AdmissionRejection(pod->body, node, key)) {
      RejectPod(key, uid, rejected->first, rejected->second);
      return;
    }
  }
  auto now = Now();
  std::string ts = SimClock::FormatTime(now);
  std::string host_ip = NodeIp(node);
  std::string pod_ip = NextPodIp();
  auto r = server().registry().Modify(
      PodsType(), key.first, key.second,
      [&](Json& p) -> std::optional<ApiError> {
        if (Uid(p) != uid || (PodPhase(p) != "Pending" && !PodPhase(p).empty()) || IsTerminating(p)) {
          return ApiError::Conflict(PodsType(), key.second, "pod changed");
        }
        Json& st = p["status"];
        if (!st.is_object()) st = Json::object();
        st["phase"] = "Running";
        st["hostIP"] = host_ip;
        st["hostIPs"] = Json::array({{{"ip", host_ip}}});
        st["podIP"] = pod_ip;
        st["podIPs"] = Json::array({{{"ip", pod_ip}}});
        st["startTime"] = ts;
        st["observedGeneration"] = p["metadata"].value("generation", 1LL);
        for (const char* c : {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"}) {
          SetCondition(st, c, "True", "", "", now);
          for (auto& cond : st["conditions"]) {
            if (cond.value("type", "") == c) {
              cond.erase("reason");
              cond.erase("message");
            }
          }
        }
        Json statuses = Json::array();
        const Json& spec = p["spec"];
        if (spec.contains("containers")) {
          for (const auto& c : spec["containers"]) {
            statuses.push_back(RunningContainerStatus(c, ts, ContainerId(next_ip_ * 64 + statuses.size())));
          }
        }
        st["containerStatuses"] = std::move(statuses);
        if (spec.contains("initContainers") && spec["initContainers"].is_array()) {
          Json inits = Json::array();
          for (const auto& c : spec["initContainers"]) {
            inits.push_back({{"name", c.value("name", "")},
                             {"image", c.value("image", "")},
                             {"ready", true},
                             {"restartCount", 0},
                             {"state", {{"terminated", {{"exitCode", 0}, {"reason", "Completed"},
                                                        {"startedAt", ts}, {"finishedAt", ts}}}}}});
          }
          st["initContainerStatuses"] = std::move(inits);
        }
        return std::nullopt;
      },
      "status");
  if (!r.ok()) return;
  spdlog::debug("kubelet {}: pod {}/{} running", node, key.first, key.second);
  const Json spec = pod->body.value("spec", Json::object());
  if (spec.contains("activeDeadlineSeconds") && spec["activeDeadlineSeconds"].is_number_integer() &&
      spec["activeDeadlineSeconds"].get<long long>() > 0) {
    At(now + std::chrono::seconds(spec["activeDeadlineSeconds"].get<long long>()),
       [this, key, uid] { ExpireActiveDeadline(key, uid); });
  }
}

void Kubelet::ExpireActiveDeadline(const Key& key, const std::string& uid) {
  DrainAll();
  ObjectPtr pod = pods_->Get(key.first, key.second);
  if (!pod || Uid(pod->body) != uid || IsTerminating(pod->body) || PodPhase(pod->body) != "Running") return;
  auto now = Now();
  std::string ts = SimClock::FormatTime(now);
  auto r = server().registry().Modify(
      PodsType(), key.first, key.second,
      [&](Json& p) -> std::optional<ApiError> {
        if (Uid(p) != uid || PodPhase(p) != "Running" || IsTerminating(p)) {
          return ApiError::Conflict(PodsType(), key.second, "pod changed");
        }
        Json& st = p["status"];
        st["phase"] = "Failed";
        st["reason"] = "DeadlineExceeded";
        st["message"] = "Pod was active on the node longer than the specified deadline";
        for (const char* c : {"Ready", "ContainersReady"}) SetCondition(st, c, "False", "PodFailed", "", now);
        if (st.contains("containerStatuses") && st["containerStatuses"].is_array()) {
          for (auto& cs : st["containerStatuses"]) {
            std::string started = cs["state"].contains("running") ? cs["state"]["running"].value("startedAt", ts) : ts;
            cs["ready"] = false;
            cs["started"] = false;
            cs["state"] = {{"terminated", {{"exitCode", 137}, {"reason", "Error"}, {"startedAt", started},
                                           {"finishedAt", ts}}}};
          }
        }
        return std::nullopt;
      },
      "status");
  if (r.ok()) spdlog::info("kubelet: pod {}/{} failed: active deadline exceeded", key.first, key.second);
}

void Kubelet::BringUpNode(const std::string& node) {
  ObjectPtr n = nodes_->Get("", node);
  if (!n || !NodeNeedsBringUp(n->body)) return;
  const std::string ip = NextNodeIp();
  auto r = server().registry().Modify(
      NodesType(), "", node,
      [&](Json& obj) -> std::optional<ApiError> {
        if (!NodeNeedsBringUp(obj)) return ApiError::Conflict(NodesType(), node, "node already has conditions");
        BringUpNodeStatus(obj, catalog_.get(), ip, Now());
        return std::nullopt;
      },
      "status");
  if (r.ok()) {
    status_reported_[node] = Now();
    spdlog::info("kubelet {}: posted initial node status (Ready=True): the snapshot had no conditions", node);
  } else if (r.error().code != 409 && r.error().code != 404) {
    spdlog::warn("kubelet {}: posting initial node status: {}", node, r.error().message);
  }
}

void Kubelet::BringUpPod(const Key& key, const std::string& uid) {
  ObjectPtr pod = pods_->Get(key.first, key.second);
  if (!pod) return;
  const std::string host_ip = NodeIp(NodeOf(pod));
  const std::string pod_ip = NextPodIp();
  auto r = server().registry().Modify(
      PodsType(), key.first, key.second,
      [&](Json& p) -> std::optional<ApiError> {
        if (Uid(p) != uid || PodPhase(p) != "Running" || !RunningPodNeedsBringUp(p)) {
          return ApiError::Conflict(PodsType(), key.second, "pod changed");
        }
        BringUpRunningPod(p, host_ip, pod_ip, Now());
        return std::nullopt;
      },
      "status");
  if (r.ok()) spdlog::debug("kubelet: completed the running status of snapshot pod {}/{}", key.first, key.second);
}

void Kubelet::FinishTermination(const Key& key, const std::string& uid) {
  DrainAll();
  auto it = terminating_.find(key);
  if (it == terminating_.end() || it->second != uid) return;
  terminating_.erase(it);
  ObjectPtr pod = pods_->Get(key.first, key.second);
  if (!pod || Uid(pod->body) != uid || !IsTerminating(pod->body)) return;
  if (!NodeReady(NodeOf(pod))) return;
  auto r = server().registry().FinishPodTermination(key.first, key.second);
  if (r.ok() && r.value().removed) spdlog::debug("kubelet: pod {}/{} terminated", key.first, key.second);
}

namespace {

// What a container runs with: containerStatuses[].resources, else its spec
// at start (pods started before resize support carry no status resources).
Json ActualResources(const Json& pod, size_t i) {
  const Json& st = pod.value("status", Json::object());
  if (st.contains("containerStatuses") && st["containerStatuses"].is_array()) {
    const std::string name = pod["spec"]["containers"][i].value("name", "");
    for (const auto& cs : st["containerStatuses"]) {
      if (cs.value("name", "") == name && cs.contains("resources")) return cs["resources"];
    }
  }
  return Json();
}

std::pair<int64_t, int64_t> Requests(const Json& resources_list) {
  int64_t cpu = 0, mem = 0;
  for (const auto& res : resources_list) {
    Json req = res.is_object() ? res.value("requests", Json::object()) : Json::object();
    if (req.contains("cpu")) {
      auto v = ParseQuantityMilli(req["cpu"].is_string() ? req["cpu"].get<std::string>() : req["cpu"].dump());
      if (v.ok()) cpu += v.value();
    }
    if (req.contains("memory")) {
      auto v = ParseQuantityValue(req["memory"].is_string() ? req["memory"].get<std::string>() : req["memory"].dump());
      if (v.ok()) mem += v.value();
    }
  }
  return {cpu, mem};
}

// The resources the pod currently asks for, one entry per container.
Json DesiredResources(const Json& pod) {
  Json out = Json::array();
  for (const auto& c : pod["spec"].value("containers", Json::array())) out.push_back(c.value("resources", Json::object()));
  return out;
}

// Admitted requests: allocatedResources where known, else the desired ones.
Json AdmittedResources(const Json& pod) {
  Json out = Json::array();
  const auto containers = pod["spec"].value("containers", Json::array());
  for (size_t i = 0; i < containers.size(); ++i) {
    Json actual = ActualResources(pod, i);
    out.push_back(actual.is_null() ? containers[i].value("resources", Json::object()) : actual);
  }
  return out;
}

int64_t Allocatable(const Json& node, const char* what) {
  const Json a = node.value("status", Json::object()).value("allocatable", Json::object());
  if (!a.contains(what)) return INT64_MAX;
  std::string v = a[what].is_string() ? a[what].get<std::string>() : a[what].dump();
  auto q = std::string(what) == "cpu" ? ParseQuantityMilli(v) : ParseQuantityValue(v);
  return q.ok() ? q.value() : INT64_MAX;
}

}  // namespace

Kubelet::NodeUse Kubelet::UseOf(const std::string& node, const Key& except,
                                const std::function<bool(const Json& pod)>& counts) const {
  NodeUse use;
  auto it = pods_by_node_.find(node);
  if (it == pods_by_node_.end()) return use;
  for (const Key& k : it->second) {
    if (k == except) continue;
    ObjectPtr p = pods_->Get(k.first, k.second);
    if (!p || !counts(p->body)) continue;
    auto r = Requests(AdmittedResources(p->body));
    use.cpu += r.first;
    use.memory += r.second;
    ++use.pods;
  }
  return use;
}

std::pair<int64_t, int64_t> Kubelet::NodeRequests(const std::string& node, const Key& except) const {
  NodeUse use = UseOf(node, except, [](const Json& pod) { return IsActivePod(pod); });
  return {use.cpu, use.memory};
}

std::optional<std::pair<std::string, std::string>> Kubelet::AdmissionRejection(const Json& pod,
                                                                               const std::string& node,
                                                                               const Key& key) const {
  ObjectPtr n = nodes_->Get("", node);
  if (!n) return std::nullopt;
  // The pods the kubelet runs (terminating ones too); not those not admitted yet, nor finished ones.
  const NodeUse used = UseOf(node, key, [](const Json& pod) { return PodPhase(pod) == "Running"; });
  auto want = Requests(DesiredResources(pod));
  struct Need {
    const char* name;
    int64_t requested, used, capacity;
  };
  const Need needs[] = {{"cpu", want.first, used.cpu, Allocatable(n->body, "cpu")},
                        {"memory", want.second, used.memory, Allocatable(n->body, "memory")},
                        {"pods", 1, used.pods, Allocatable(n->body, "pods")}};
  for (const Need& x : needs) {
    if (x.requested <= 0 || x.used + x.requested <= x.capacity) continue;
    return std::make_pair(std::string("OutOf") + x.name,
                          std::string("Pod was rejected: Node didn't have enough resource: ") + x.name +
                              ", requested: " + std::to_string(x.requested) + ", used: " + std::to_string(x.used) +
                              ", capacity: " + std::to_string(x.capacity));
  }
  return std::nullopt;
}

void Kubelet::RejectPod(const Key& key, const std::string& uid, const std::string& reason, const std::string& message) {
  auto r = server().registry().Modify(
      PodsType(), key.first, key.second,
      [&](Json& p) -> std::optional<ApiError> {
        if (Uid(p) != uid || PodPhase(p) != "Pending" || IsTerminating(p)) {
          return ApiError::Conflict(PodsType(), key.second, "pod changed");
        }
        Json& st = p["status"];
        if (!st.is_object()) st = Json::object();
        st["phase"] = "Failed";
        st["reason"] = reason;
        st["message"] = message;
        return std::nullopt;
      },
      "status");
  if (r.ok()) spdlog::info("kubelet: pod {}/{} rejected: {}: {}", key.first, key.second, reason, message);
}

namespace {

// The conditions of a resize, with the pod generation they answer.
void SetResizeCondition(Json& st, const char* type, const std::string& reason, const std::string& message,
                        long long generation, SimClock::TimePoint now) {
  SetCondition(st, type, "True", reason, message, now);
  for (auto& c : st["conditions"]) {
    if (c.value("type", "") != type) continue;
    if (reason.empty()) c.erase("reason");
    if (message.empty()) c.erase("message");
    c["observedGeneration"] = generation;
  }
}

void RemoveCondition(Json& st, const char* type) {
  Json& conds = st["conditions"];
  if (!conds.is_array()) return;
  for (auto it = conds.begin(); it != conds.end(); ++it) {
    if (it->value("type", "") == type) {
      conds.erase(it);
      return;
    }
  }
}

// Resources of container `name` whose value differs between two resource blocks.
std::set<std::string> ChangedResources(const Json& a, const Json& b) {
  std::set<std::string> out;
  for (const char* part : {"requests", "limits"}) {
    Json pa = a.is_object() ? a.value(part, Json::object()) : Json::object();
    Json pb = b.is_object() ? b.value(part, Json::object()) : Json::object();
    for (const char* r : {"cpu", "memory"}) {
      if (pa.value(r, Json()) != pb.value(r, Json())) out.insert(r);
    }
  }
  return out;
}

// resizePolicy of a container for one resource (NotRequired by default).
bool NeedsRestart(const Json& container, const std::string& resource) {
  if (!container.contains("resizePolicy") || !container["resizePolicy"].is_array()) return false;
  for (const auto& p : container["resizePolicy"]) {
    if (p.value("resourceName", "") == resource) return p.value("restartPolicy", "NotRequired") == "RestartContainer";
  }
  return false;
}

}  // namespace

void Kubelet::CountResizeOutcome(const Key& key, long long generation, const std::string& outcome) {
  auto& last = resize_outcome_[key];
  if (last.first == generation && last.second == outcome) return;
  last = {generation, outcome};
  SimStats& stats = server().stats();
  if (outcome == "Accepted") stats.resizes_accepted++;
  else if (outcome == "Deferred") stats.resizes_deferred++;
  else if (outcome == "Infeasible") stats.resizes_infeasible++;
}

void Kubelet::ConsiderResize(const Key& key, const ObjectPtr& pod) {
  const Json& b = pod->body;
  const auto containers = b["spec"].value("containers", Json::array());
  bool differs = false;
  for (size_t i = 0; i < containers.size(); ++i) {
    Json actual = ActualResources(b, i);
    if (!actual.is_null() && actual != containers[i].value("resources", Json::object())) differs = true;
  }
  if (!differs || resizing_.count(key)) return;
  std::string node = NodeOf(pod);
  ObjectPtr n = nodes_->Get("", node);
  if (!n) return;
  auto want = Requests(DesiredResources(b));
  auto others = NodeRequests(node, key);
  int64_t cpu_alloc = Allocatable(n->body, "cpu"), mem_alloc = Allocatable(n->body, "memory");
  std::string uid = Uid(b);
  auto now = Now();
  long long generation = b["metadata"].value("generation", 0LL);
  // KEP-1287 admission, as the kubelet's canResizePod: the pod alone must fit
  // the node (else Infeasible, memory checked first), and with the other
  // admitted pods (else Deferred, retried).
  if (want.first > cpu_alloc || want.second > mem_alloc) {
    std::string msg = want.second > mem_alloc
                          ? "memory, requested: " + std::to_string(want.second) + ", capacity: " + std::to_string(mem_alloc)
                          : "cpu, requested: " + std::to_string(want.first) + ", capacity: " + std::to_string(cpu_alloc);
    auto r = server().registry().Modify(
        PodsType(), key.first, key.second,
        [&](Json& p) -> std::optional<ApiError> {
          SetResizeCondition(p["status"], "PodResizePending", "Infeasible", "Node didn't have enough capacity: " + msg,
                             generation, now);
          p["status"]["observedGeneration"] = generation;
          return std::nullopt;
        },
        "status");
    if (r.ok()) CountResizeOutcome(key, generation, "Infeasible");
    return;  // not retried until the spec changes again
  }
  if (want.first + others.first > cpu_alloc || want.second + others.second > mem_alloc) {
    std::string msg = want.first + others.first > cpu_alloc
                          ? "cpu, requested: " + std::to_string(want.first) + ", used: " + std::to_string(others.first) +
                                ", capacity: " + std::to_string(cpu_alloc)
                          : "memory, requested: " + std::to_string(want.second) + ", used: " +
                                std::to_string(others.second) + ", capacity: " + std::to_string(mem_alloc);
    auto r = server().registry().Modify(
        PodsType(), key.first, key.second,
        [&](Json& p) -> std::optional<ApiError> {
          SetResizeCondition(p["status"], "PodResizePending", "Deferred", "Node didn't have enough resource: " + msg,
                             generation, now);
          p["status"]["observedGeneration"] = generation;
          return std::nullopt;
        },
        "status");
    if (r.ok()) CountResizeOutcome(key, generation, "Deferred");
    resizing_.insert(key);
    After(resize_retry_, [this, key] {
      resizing_.erase(key);
      pending_review_.insert(key);
      Pump();
    });
    return;
  }
  // Admit: allocatedResources now, actuation after resizeDelay.
  auto r = server().registry().Modify(
      PodsType(), key.first, key.second,
      [&](Json& p) -> std::optional<ApiError> {
        if (Uid(p) != uid) return ApiError::Conflict(PodsType(), key.second, "pod changed");
        Json& st = p["status"];
        RemoveCondition(st, "PodResizePending");
        SetResizeCondition(st, "PodResizeInProgress", "", "", generation, now);
        st["observedGeneration"] = generation;
        if (st.contains("containerStatuses")) {
          for (auto& cs : st["containerStatuses"]) {
            for (const auto& c : p["spec"]["containers"]) {
              if (c.value("name", "") != cs.value("name", "")) continue;
              Json res = c.value("resources", Json::object());
              if (res.contains("requests")) cs["allocatedResources"] = res["requests"];
            }
          }
        }
        return std::nullopt;
      },
      "status");
  if (!r.ok()) return;
  CountResizeOutcome(key, generation, "Accepted");
  spdlog::info("kubelet {}: resizing pod {}/{} (generation {})", node, key.first, key.second, generation);
  resizing_.insert(key);
  After(resize_delay_, [this, key, uid] { FinishResize(key, uid); });
}

std::string Kubelet::MemoryDecreaseError(const Json& pod) const {
  if (!memory_probe_) return "";
  const Json st = pod.value("status", Json::object());
  const Json statuses = st.value("containerStatuses", Json::array());
  std::vector<std::string> errors;
  double pod_limit = 0, pod_usage = 0;
  bool decreasing = false, all_limited = true;
  for (const auto& c : pod["spec"].value("containers", Json::array())) {
    const std::string name = c.value("name", "");
    int64_t want = 0, have = 0;
    const Json want_limits = c.value("resources", Json::object()).value("limits", Json::object());
    if (want_limits.contains("memory") && want_limits["memory"].is_string()) {
      auto v = ParseQuantityValue(want_limits["memory"].get<std::string>());
      if (v.ok()) want = v.value();
    }
    for (const auto& cs : statuses) {
      if (cs.value("name", "") != name) continue;
      const Json lim = cs.value("resources", Json::object()).value("limits", Json::object());
      if (lim.contains("memory") && lim["memory"].is_string()) {
        auto v = ParseQuantityValue(lim["memory"].get<std::string>());
        if (v.ok()) have = v.value();
      }
    }
    auto usage = memory_probe_(pod["metadata"].value("namespace", ""), pod["metadata"].value("name", ""), name);
    if (want <= 0) all_limited = false;
    pod_limit += static_cast<double>(want);
    pod_usage += usage.value_or(0);
    if (want > 0 && (have == 0 || want < have)) {
      decreasing = true;
      if (usage && *usage > static_cast<double>(want)) {
        errors.push_back("attempting to set container \"" + name + "\" memory limit (" + std::to_string(want) +
                         ") below current usage (" + std::to_string(static_cast<int64_t>(*usage)) + ")");
      }
    }
  }
  if (decreasing && all_limited && pod_usage > pod_limit) {
    errors.insert(errors.begin(), "attempting to set pod memory limit (" +
                                      std::to_string(static_cast<int64_t>(pod_limit)) + ") below current usage (" +
                                      std::to_string(static_cast<int64_t>(pod_usage)) + ")");
  }
  if (errors.empty()) return "";
  std::string joined;
  for (const auto& e : errors) joined += (joined.empty() ? "" : ", ") + e;
  return "cannot decrease memory limits: " + (errors.size() > 1 ? "[" + joined + "]" : joined);
}

void Kubelet::FinishResize(const Key& key, const std::string& uid) {
  resizing_.erase(key);
  const std::string ts = SimClock::FormatTime(Now());
  if (ObjectPtr current = pods_->Get(key.first, key.second); current && Uid(current->body) == uid) {
    std::string error = MemoryDecreaseError(current->body);
    if (!error.empty()) {
      // 1.35: the limit cut is refused while usage is above it; the resize stays in progress.
      long long generation = current->body["metadata"].value("generation", 0LL);
      auto now = Now();
      server().registry().Modify(
          PodsType(), key.first, key.second,
          [&](Json& p) -> std::optional<ApiError> {
            if (Uid(p) != uid) return ApiError::Conflict(PodsType(), key.second, "pod changed");
            SetResizeCondition(p["status"], "PodResizeInProgress", "Error", error, generation, now);
            return std::nullopt;
          },
          "status");
      spdlog::info("kubelet: resize of pod {}/{} not actuated: {}", key.first, key.second, error);
      resizing_.insert(key);
      After(resize_retry_, [this, key, uid] {
        DrainAll();
        FinishResize(key, uid);
      });
      return;
    }
  }
  std::vector<std::string> restarted;
  auto r = server().registry().Modify(
      PodsType(), key.first, key.second,
      [&](Json& p) -> std::optional<ApiError> {
        if (Uid(p) != uid) return ApiError::Conflict(PodsType(), key.second, "pod changed");
        restarted.clear();
        Json& st = p["status"];
        if (st.contains("containerStatuses")) {
          for (auto& cs : st["containerStatuses"]) {
            for (const auto& c : p["spec"]["containers"]) {
              if (c.value("name", "") != cs.value("name", "")) continue;
              Json want = c.value("resources", Json::object());
              bool restart = false;
              for (const auto& res : ChangedResources(cs.value("resources", Json::object()), want)) {
                restart = restart || NeedsRestart(c, res);
              }
              cs["resources"] = want;
              if (!restart) continue;
              // resizePolicy RestartContainer: the container is restarted with the new resources.
              const Json running = cs.value("state", Json::object()).value("running", Json::object());
              cs["lastState"] = {{"terminated", {{"exitCode", 0},
                                                 {"reason", "Completed"},
                                                 {"startedAt", running.value("startedAt", ts)},
                                                 {"finishedAt", ts}}}};
              cs["state"] = {{"running", {{"startedAt", ts}}}};
              cs["restartCount"] = cs.value("restartCount", 0) + 1;
              restarted.push_back(cs.value("name", ""));
            }
          }
        }
        RemoveCondition(st, "PodResizeInProgress");
        st["observedGeneration"] = p["metadata"].value("generation", 0LL);
        return std::nullopt;
      },
      "status");
  if (r.ok()) {
    spdlog::info("kubelet: pod {}/{} resized{}", key.first, key.second,
                 restarted.empty() ? "" : " (containers restarted by resizePolicy: " + restarted[0] + ")");
  }
  pending_review_.insert(key);  // a newer resize may have arrived meanwhile
  Pump();
}

void Kubelet::SetPodReady(const Key& key, bool ready) {
  auto now = Now();
  auto r = server().registry().Modify(
      PodsType(), key.first, key.second,
      [&](Json& p) -> std::optional<ApiError> {
        Json& st = p["status"];
        if (ready) {
          SetCondition(st, "Ready", "True", "", "", now);
          SetCondition(st, "ContainersReady", "True", "", "", now);
          for (auto& c : st["conditions"]) {
            std::string t = c.value("type", "");
            if (t == "Ready" || t == "ContainersReady") {
              c.erase("reason");
              c.erase("message");
            }
          }
        } else {
          SetCondition(st, "Ready", "False", "NodeNotReady", "the node hosting this pod is not ready", now);
        }
        if (st.contains("containerStatuses")) {
          for (auto& cs : st["containerStatuses"]) cs["ready"] = ready;
        }
        return std::nullopt;
      },
      "status");
  if (r.ok()) spdlog::info("pod {}/{} {}", key.first, key.second, ready ? "ready again (node recovered)" : "not ready (node not ready)");
}

// --- heartbeats -------------------------------------------------------------

void Kubelet::StartHeartbeat(const std::string& node) {
  if (lease_renew_interval_ <= 0 || !heartbeating_.insert(node).second) return;  // off, or already queued
  // Each node beats on its own phase, one of kHeartbeatSlots fractions of
  // the interval picked from its name: a thousand nodes neither renew in one
  // burst nor wake the strand a thousand times per interval.
  constexpr size_t kHeartbeatSlots = 20;
  double phase = static_cast<double>(std::hash<std::string>{}(node) % kHeartbeatSlots) / kHeartbeatSlots;
  auto due = Now() + std::chrono::duration_cast<SimClock::TimePoint::duration>(
                         std::chrono::duration<double>(phase * lease_renew_interval_));
  At(due, [this, node, due] { Heartbeat(node, due); });
}

void Kubelet::Heartbeat(const std::string& node, SimClock::TimePoint due) {
  heartbeating_.erase(node);
  ObjectPtr n = nodes_->Get("", node);
  if (!n) return;                          // deleted: OnNode removed its Lease
  if (!NodeObjectReady(n->body)) return;   // no kubelet posts for it; resumes when Ready again
  RenewLease(n);
  auto last = status_reported_.find(node);
  if (last == status_reported_.end() ||
      Now() - last->second >= std::chrono::duration_cast<SimClock::TimePoint::duration>(
                                   std::chrono::duration<double>(node_status_report_))) {
    ReportNodeStatus(node);
  }
  // Next beat one interval after this one was due (not after it ran), so
  // nodes of one slot stay together.
  auto next = due + std::chrono::duration_cast<SimClock::TimePoint::duration>(
                        std::chrono::duration<double>(lease_renew_interval_));
  if (next < Now()) next = Now();
  heartbeating_.insert(node);
  At(next, [this, node, next] { Heartbeat(node, next); });
}

void Kubelet::RenewLease(const ObjectPtr& node) {
  static const std::string kNs = "kube-node-lease";
  const std::string renew = SimClock::FormatMicroTime(Now());
  const long long duration = static_cast<long long>(lease_duration_);
  Json owner = {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node->name}, {"uid", Uid(node->body)}};
  auto r = server().registry().Modify(
      LeasesType(), kNs, node->name,
      [&](Json& l) -> std::optional<ApiError> {
        l["metadata"]["ownerReferences"] = Json::array({owner});
        Json& spec = l["spec"];
        spec["holderIdentity"] = node->name;
        spec["leaseDurationSeconds"] = duration;
        spec["renewTime"] = renew;
        return std::nullopt;
      },
      "");
  if (r.ok()) return;
  if (r.error().code != 404) {
    spdlog::warn("kubelet {}: renew lease {}/{}: {}", node->name, kNs, node->name, r.error().message);
    return;
  }
  Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", node->name}, {"namespace", kNs}, {"ownerReferences", Json::array({owner})}}},
                {"spec", {{"holderIdentity", node->name}, {"leaseDurationSeconds", duration}, {"renewTime", renew}}}};
  auto c = server().registry().Create(LeasesType(), kNs, std::move(lease));
  if (!c.ok()) spdlog::warn("kubelet {}: create lease {}/{}: {}", node->name, kNs, node->name, c.error().message);
}

void Kubelet::ReportNodeStatus(const std::string& node) {
  const SimClock::TimePoint now = Now();
  const std::string ts = SimClock::FormatTime(now);
  auto r = server().registry().Modify(
      NodesType(), "", node,
      [&](Json& n) -> std::optional<ApiError> {
        if (!NodeObjectReady(n)) return ApiError::Conflict(NodesType(), node, "node is not Ready");
        for (auto& c : n["status"]["conditions"]) c["lastHeartbeatTime"] = ts;
        return std::nullopt;
      },
      "status");
  if (r.ok()) status_reported_[node] = now;
}

void Kubelet::DeleteLease(const std::string& node) {
  auto r = server().registry().Delete(LeasesType(), "kube-node-lease", node, DeleteOptions{});
  if (r.ok()) spdlog::info("kubelet: lease kube-node-lease/{} deleted with its node", node);
}

}  // namespace kinema::sim::cluster
