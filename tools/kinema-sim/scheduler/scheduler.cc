#include "tools/kinema-sim/scheduler/scheduler.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "tools/kinema-sim/sim_server.h"

namespace kinema::sim::sched {

using nlohmann::json;

namespace {

const ResourceType& Pods() { return *ResourceRegistry::Default().Find("", "v1", "pods"); }
const ResourceType& Nodes() { return *ResourceRegistry::Default().Find("", "v1", "nodes"); }
const ResourceType& ReplicaSets() { return *ResourceRegistry::Default().Find("apps", "v1", "replicasets"); }
const ResourceType& StatefulSets() { return *ResourceRegistry::Default().Find("apps", "v1", "statefulsets"); }
const ResourceType& Events() { return *ResourceRegistry::Default().Find("", "v1", "events"); }

constexpr const char* kSchedulerName = "default-scheduler";

std::chrono::system_clock::duration SimSeconds(double s) {
  return std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(s));
}

// Replaces (or appends) the PodScheduled condition; false when nothing changed.
bool SetPodScheduled(json& pod, const std::string& status, const std::string& reason, const std::string& message,
                     const std::string& now) {
  json& conds = pod["status"]["conditions"];
  if (!conds.is_array()) conds = json::array();
  json cond = {{"type", "PodScheduled"}, {"status", status}, {"lastProbeTime", nullptr},
               {"lastTransitionTime", now}};
  if (!reason.empty()) cond["reason"] = reason;
  if (!message.empty()) cond["message"] = message;
  for (auto& c : conds) {
    if (!c.is_object() || c.value("type", "") != "PodScheduled") continue;
    if (c.value("status", "") == status && c.value("reason", "") == reason && c.value("message", "") == message)
      return false;
    if (c.value("status", "") == status && c.contains("lastTransitionTime"))
      cond["lastTransitionTime"] = c["lastTransitionTime"];
    c = std::move(cond);
    return true;
  }
  conds.push_back(std::move(cond));
  return true;
}

}  // namespace

// ---------------------------------------------------------------- config

StatusOr<SchedulerConfig> SchedulerConfig::FromScenario(const json& scenario, uint64_t seed) {
  SchedulerConfig c;
  c.seed = seed;
  if (!scenario.is_object() || !scenario.contains("scheduler")) return c;
  const json& s = scenario["scheduler"];
  if (!s.is_object()) return Status::InvalidArgument("scenario: \"scheduler\" must be an object");
  for (auto it = s.begin(); it != s.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    auto number = [&](double* out, double min) -> Status {
      if (!v.is_number() || v.get<double>() < min)
        return Status::InvalidArgument("scenario: scheduler." + k + " must be a number >= " + std::to_string(min));
      *out = v.get<double>();
      return Status::OK();
    };
    auto boolean = [&](bool* out) -> Status {
      if (!v.is_boolean()) return Status::InvalidArgument("scenario: scheduler." + k + " must be true or false");
      *out = v.get<bool>();
      return Status::OK();
    };
    Status st;
    if (k == "enabled") st = boolean(&c.enabled);
    else if (k == "recordEvents") st = boolean(&c.record_events);
    else if (k == "initialBackoffSeconds") st = number(&c.initial_backoff_seconds, 0);
    else if (k == "maxBackoffSeconds") st = number(&c.max_backoff_seconds, 0);
    else if (k == "maxUnschedulableSeconds") st = number(&c.max_unschedulable_seconds, 1);
    else st = Status::InvalidArgument("scenario: unknown key scheduler." + k);
    KINEMA_RETURN_IF_ERROR(st);
  }
  if (c.max_backoff_seconds < c.initial_backoff_seconds)
    return Status::InvalidArgument("scenario: scheduler.maxBackoffSeconds must be >= initialBackoffSeconds");
  return c;
}

// ---------------------------------------------------------------- lifecycle

Scheduler::Scheduler(Registry* registry, boost::asio::io_context* io, SchedulerConfig config)
    : registry_(registry),
      store_(registry->store()),
      clock_(registry->clock()),
      io_(io),
      strand_(boost::asio::make_strand(*io)),
      timer_(*io),
      config_(config),
      core_(config.seed) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  // No pump until the initial list is in (events queue up meanwhile).
  pump_requested_ = true;
  WatchFilter pods;
  pods.resource = &Pods();
  WatchFilter nodes;
  nodes.resource = &Nodes();
  pod_watch_ = store_->Subscribe(pods, [this] { RequestPump(); });
  node_watch_ = store_->Subscribe(nodes, [this] { RequestPump(); });
  WatchFilter rs;
  rs.resource = &ReplicaSets();
  rs_watch_ = store_->Subscribe(rs, [this] { RequestPump(); });
  WatchFilter sts;
  sts.resource = &StatefulSets();
  sts_watch_ = store_->Subscribe(sts, [this] { RequestPump(); });
  boost::asio::post(strand_, [this] {
    if (stopped_) return;
    InitialSync();
    pump_requested_ = false;
    Pump();
  });
}

void Scheduler::Stop() {
  if (stopped_.exchange(true)) return;
  if (pod_watch_) pod_watch_->Stop();
  if (node_watch_) node_watch_->Stop();
  if (rs_watch_) rs_watch_->Stop();
  if (sts_watch_) sts_watch_->Stop();
  boost::asio::post(strand_, [this] { timer_.cancel(); });
}

Scheduler::Stats Scheduler::stats() const {
  Stats s;
  s.attempts = attempts_;
  s.scheduled = scheduled_;
  s.unschedulable = unschedulable_count_;
  s.bind_errors = bind_errors_;
  s.pending = pending_count_;
  return s;
}

void Scheduler::RequestPump() {
  if (stopped_ || pump_requested_.exchange(true)) return;
  boost::asio::post(strand_, [this] {
    pump_requested_ = false;
    Pump();
  });
}

void Scheduler::InitialSync() {
  WatchFilter nodes;
  nodes.resource = &Nodes();
  for (const auto& n : store_->List(nodes).items) HandleNode(*n, false);
  for (const ResourceType* owners : {&ReplicaSets(), &StatefulSets()}) {
    WatchFilter f;
    f.resource = owners;
    for (const auto& o : store_->List(f).items) HandleOwner(*o, false);
  }
  WatchFilter pods;
  pods.resource = &Pods();
  for (const auto& p : store_->List(pods).items) HandlePod(*p, false);
  next_flush_ = clock_->Now() + SimSeconds(config_.flush_period_seconds);
  spdlog::info("scheduler: started with {} node(s), {} bound pod(s), {} pod(s) to schedule", state_.node_count(),
               state_.pod_count(), pending_.size());
}

// ---------------------------------------------------------------- events

void Scheduler::Drain() {
  // Nodes first: a pod bound to a just-added node then finds it.
  for (const WatchItem& item : node_watch_->Take())
    if (item.object) HandleNode(*item.object, item.type == "DELETED");
  for (const auto& watch : {rs_watch_, sts_watch_})
    for (const WatchItem& item : watch->Take())
      if (item.object) HandleOwner(*item.object, item.type == "DELETED");
  for (const WatchItem& item : pod_watch_->Take())
    if (item.object) HandlePod(*item.object, item.type == "DELETED");
}

std::string Scheduler::Fingerprint(const StoredObject& obj, const SchedPod& pod) {
  std::string f = obj.body["metadata"].contains("generation") ? obj.body["metadata"]["generation"].dump() : "";
  for (const auto& [k, v] : pod.labels) f += "|" + k + "=" + v;
  return f;
}

void Scheduler::HandleNode(const StoredObject& obj, bool deleted) {
  if (deleted) {
    state_.RemoveNode(obj.name);
    return;
  }
  const NodeInfo* known = state_.FindNode(obj.name);
  if (known != nullptr && known->node.rv >= obj.rv) return;  // replayed
  SchedNode node = ParseNode(obj.body);
  if (!node.parse_error.empty()) spdlog::warn("scheduler: node {}: {}", obj.name, node.parse_error);
  bool is_new = known == nullptr;
  if (state_.UpsertNode(std::move(node))) {
    spdlog::debug("scheduler: node {} {}; retrying unschedulable pods", obj.name, is_new ? "added" : "changed");
    MoveUnschedulable(~0u);
  }
}

void Scheduler::HandleOwner(const StoredObject& obj, bool deleted) {
  std::string key = obj.type->kind + "/" + obj.ns + "/" + obj.name;
  if (deleted) {
    owner_selectors_.erase(key);
    return;
  }
  const json& spec = obj.body.contains("spec") ? obj.body["spec"] : json();
  owner_selectors_[key] = ParseSelector(spec.is_object() && spec.contains("selector") ? spec["selector"] : json());
}

void Scheduler::OnBoundPodGone(const SchedPod& pod) {
  (void)pod;
  MoveUnschedulable(kRejectedResources | kRejectedSpread | kRejectedAntiAffinity);
}

void Scheduler::HandlePod(const StoredObject& obj, bool deleted) {
  std::string key = obj.ns + "/" + obj.name;
  if (deleted) {
    RemovePending(key);
    gated_.erase(key);
    failed_events_.erase(key);
    if (const SchedPod* bound = state_.FindPod(key)) {
      SchedPod copy = *bound;
      state_.RemovePod(key);
      OnBoundPodGone(copy);
    }
    return;
  }
  const SchedPod* bound = state_.FindPod(key);
  auto pit = pending_.find(key);
  if (bound != nullptr && bound->rv >= obj.rv) return;  // replayed
  if (pit != pending_.end() && pit->second.pod.rv >= obj.rv) return;

  SchedPod pod = ParsePod(obj.body);
  if (!pod.node_name.empty()) {
    RemovePending(key);
    gated_.erase(key);
    if (pod.Terminal()) {
      if (bound != nullptr) {
        SchedPod copy = *bound;
        state_.RemovePod(key);
        OnBoundPodGone(copy);
      }
      return;
    }
    bool added = bound == nullptr;
    bool relabelled = !added && bound->labels != pod.labels;
    bool terminating = !added && !bound->terminating && pod.terminating;  // leaves spread counts
    bool shrunk = !added && (pod.requests.milli_cpu < bound->requests.milli_cpu ||
                             pod.requests.memory < bound->requests.memory);  // in-place resize down
    state_.UpsertPod(std::move(pod));
    unsigned bits = 0;
    if (added || relabelled) bits |= kRejectedSpread | kRejectedAntiAffinity | kRejectedPodAffinity;
    if (terminating) bits |= kRejectedSpread;
    if (shrunk) bits |= kRejectedResources;
    if (bits != 0) MoveUnschedulable(bits);
    return;
  }
  // Unbound.
  if (bound != nullptr) {  // cannot happen with real semantics (nodeName is immutable once set)
    SchedPod copy = *bound;
    state_.RemovePod(key);
    OnBoundPodGone(copy);
  }
  if (pod.scheduler_name != kSchedulerName || pod.terminating || pod.Terminal()) {
    RemovePending(key);
    gated_.erase(key);
    return;
  }
  if (pod.gated) {
    RemovePending(key);
    if (gated_.insert(key).second)
      MarkUnschedulable(pod, "SchedulingGated", "Scheduling is blocked due to non-empty scheduling gates");
    return;
  }
  gated_.erase(key);
  std::string fp = Fingerprint(obj, pod);
  if (pit == pending_.end()) {
    PendingPod p;
    p.pod = std::move(pod);
    p.fingerprint = std::move(fp);
    p.seq = next_seq_++;
    auto [it, _] = pending_.emplace(key, std::move(p));
    pending_count_ = pending_.size();
    PushActive(it->second);
    return;
  }
  PendingPod& p = pit->second;
  bool changed = p.fingerprint != fp;
  if (p.where == Where::kActive) active_.erase({-p.pod.priority, p.seq, key});
  p.pod = std::move(pod);
  p.fingerprint = std::move(fp);
  if (p.where == Where::kActive) {
    active_.insert({-p.pod.priority, p.seq, key});
  } else if (p.where == Where::kUnschedulable && changed) {
    Requeue(p, clock_->Now());
  }
}

// ---------------------------------------------------------------- queues

void Scheduler::PushActive(PendingPod& p) {
  unschedulable_.erase(p.pod.Key());
  if (p.where == Where::kBackoff) backoff_.erase({p.backoff_until, p.pod.Key()});
  p.where = Where::kActive;
  active_.insert({-p.pod.priority, p.seq, p.pod.Key()});
}

void Scheduler::RemovePending(const std::string& key) {
  auto it = pending_.find(key);
  if (it == pending_.end()) return;
  PendingPod& p = it->second;
  if (p.where == Where::kActive) active_.erase({-p.pod.priority, p.seq, key});
  if (p.where == Where::kBackoff) backoff_.erase({p.backoff_until, key});
  unschedulable_.erase(key);
  pending_.erase(it);
  pending_count_ = pending_.size();
}

double Scheduler::BackoffSeconds(int attempts) const {
  double d = config_.initial_backoff_seconds;
  for (int i = 1; i < attempts; ++i) {
    d *= 2;
    if (d >= config_.max_backoff_seconds) return config_.max_backoff_seconds;
  }
  return std::min(d, config_.max_backoff_seconds);
}

void Scheduler::Requeue(PendingPod& p, TimePoint now) {
  if (p.where != Where::kUnschedulable) return;
  unschedulable_.erase(p.pod.Key());
  TimePoint ready = p.last_attempt + SimSeconds(BackoffSeconds(p.attempts));
  if (ready <= now) {
    PushActive(p);
  } else {
    p.where = Where::kBackoff;
    p.backoff_until = ready;
    backoff_.insert({ready, p.pod.Key()});
  }
}

void Scheduler::MoveUnschedulable(unsigned bits) {
  if (unschedulable_.empty()) return;
  std::vector<PendingPod*> moving;
  for (const auto& [key, p] : unschedulable_)
    if (p->rejected_by & bits) moving.push_back(p);
  if (moving.empty()) return;
  TimePoint now = clock_->Now();
  for (PendingPod* p : moving) Requeue(*p, now);
}

void Scheduler::PromoteBackoff(TimePoint now) {
  while (!backoff_.empty() && backoff_.begin()->first <= now) {
    std::string key = backoff_.begin()->second;
    backoff_.erase(backoff_.begin());
    auto it = pending_.find(key);
    if (it == pending_.end()) continue;
    it->second.where = Where::kActive;  // already out of backoff_
    active_.insert({-it->second.pod.priority, it->second.seq, key});
  }
}

void Scheduler::FlushStale(TimePoint now) {
  if (now < next_flush_) return;
  next_flush_ = now + SimSeconds(config_.flush_period_seconds);
  std::string summary = std::to_string(pending_.size()) + " pod(s) pending, " +
                        std::to_string(unschedulable_.size() + backoff_.size()) + " of them found no node";
  if (summary != last_summary_) {
    if (!pending_.empty() || !last_summary_.empty()) spdlog::info("scheduler: {}", summary);
    last_summary_ = summary;
  }
  std::vector<PendingPod*> stale;
  for (const auto& [key, p] : unschedulable_)
    if (now - p->unschedulable_since >= SimSeconds(config_.max_unschedulable_seconds)) stale.push_back(p);
  for (PendingPod* p : stale) Requeue(*p, now);
}

// ---------------------------------------------------------------- scheduling

void Scheduler::Pump() {
  if (stopped_) return;
  Drain();
  TimePoint now = clock_->Now();
  FlushStale(now);
  PromoteBackoff(now);
  size_t done = 0;
  while (!active_.empty() && done < config_.batch_size && !stopped_) {
    std::string key = std::get<2>(*active_.begin());
    active_.erase(active_.begin());
    ScheduleOne(key);
    ++done;
  }
  if (!active_.empty()) RequestPump();
  ArmTimer();
}

void Scheduler::ScheduleOne(const std::string& key) {
  auto it = pending_.find(key);
  if (it == pending_.end()) return;
  PendingPod& p = it->second;
  p.where = Where::kActive;  // popped; placed again below
  TimePoint now = clock_->Now();
  p.attempts++;
  p.last_attempt = now;
  attempts_++;
  p.pod.default_spread_selector = LabelSelectorSpec();
  if (p.pod.owner_kind == "ReplicaSet" || p.pod.owner_kind == "StatefulSet") {
    auto owner = owner_selectors_.find(p.pod.owner_kind + "/" + p.pod.ns + "/" + p.pod.owner_name);
    if (owner != owner_selectors_.end()) p.pod.default_spread_selector = owner->second;
  }
  ScheduleResult r = core_.Schedule(p.pod, state_);
  if (r.scheduled) {
    auto bound = Bind(p.pod, r.node);
    if (bound.ok()) {
      scheduled_++;
      SchedPod assumed = ParsePod(bound.value()->body);
      SchedPod copy = p.pod;
      spdlog::debug("scheduler: bound {} to {} (score {}, {} feasible of {} evaluated, attempt {})", key, r.node,
                    r.score, r.feasible_nodes, r.evaluated_nodes, p.attempts);
      RemovePending(key);
      failed_events_.erase(key);
      state_.UpsertPod(std::move(assumed));
      // AssignedPodAdd: the new pod can lift a spread minimum or be the
      // partner a pod with required affinity waits for.
      MoveUnschedulable(kRejectedSpread | kRejectedPodAffinity);
      if (config_.record_events)
        RecordEvent(copy, "Normal", "Scheduled", "Binding", "Successfully assigned " + key + " to " + r.node);
      return;
    }
    bind_errors_++;
    if (bound.error().code == 404 || bound.error().code == 409) {
      // Deleted, terminating or bound elsewhere meanwhile: the watch brings
      // the truth; forget it until then.
      spdlog::info("scheduler: binding {} to {} failed: {}", key, r.node, bound.error().message);
      RemovePending(key);
      return;
    }
    spdlog::warn("scheduler: binding {} to {} failed: {}; retrying after backoff", key, r.node,
                 bound.error().message);
    p.where = Where::kUnschedulable;
    p.rejected_by = ~0u;
    p.unschedulable_since = now;
    unschedulable_[key] = &p;
    Requeue(p, now);
    return;
  }
  unschedulable_count_++;
  p.where = Where::kUnschedulable;
  p.rejected_by = r.rejected_by;
  p.unschedulable_since = now;
  unschedulable_[key] = &p;
  auto last = failed_events_.find(key);
  if (last == failed_events_.end() || last->second.message != r.message)
    spdlog::info("scheduler: pod {} unschedulable: {}", key, r.message);
  SchedPod copy = p.pod;
  MarkUnschedulable(copy, "Unschedulable", r.message);
  if (config_.record_events) RecordEvent(copy, "Warning", "FailedScheduling", "Scheduling", r.message);
}

ApiResult<ObjectPtr> Scheduler::Bind(const SchedPod& pod, const std::string& node) {
  std::string now = SimClock::FormatTime(clock_->Now());
  return store_->Mutate(Pods(), pod.ns, pod.name, [&](const ObjectPtr& cur) -> ApiResult<ObjectStore::Mutation> {
    if (!cur) return ApiError::NotFound(Pods(), pod.name);
    const json& md = cur->body["metadata"];
    if (md.contains("deletionTimestamp"))
      return ApiError::Conflict(Pods(), pod.name, "pod " + pod.name + " is being deleted, cannot be assigned to a host");
    if (!pod.uid.empty() && md.value("uid", "") != pod.uid) return ApiError::NotFound(Pods(), pod.name);
    std::string current = cur->body.contains("spec") ? cur->body["spec"].value("nodeName", "") : "";
    if (!current.empty())
      return ApiError::Conflict(Pods(), pod.name, "pod " + pod.name + " is already assigned to node \"" + current + "\"");
    json next = cur->body;
    next["spec"]["nodeName"] = node;
    SetPodScheduled(next, "True", "", "", now);
    return ObjectStore::Mutation{ObjectStore::Mutation::Action::kPut, std::move(next)};
  });
}

void Scheduler::MarkUnschedulable(const SchedPod& pod, const std::string& reason, const std::string& message) {
  std::string now = SimClock::FormatTime(clock_->Now());
  auto r = registry_->Modify(
      Pods(), pod.ns, pod.name,
      [&](json& obj) -> std::optional<ApiError> {
        SetPodScheduled(obj, "False", reason, message, now);
        return std::nullopt;
      },
      "status");
  if (!r.ok() && r.error().code != 404)
    spdlog::warn("scheduler: updating PodScheduled of {}: {}", pod.Key(), r.error().message);
}

void Scheduler::RecordEvent(const SchedPod& pod, const std::string& type, const std::string& reason,
                            const std::string& action, const std::string& message) {
  auto now_tp = clock_->Now();
  std::string now = SimClock::FormatTime(now_tp);
  std::string key = pod.Key();
  if (reason == "FailedScheduling") {
    auto last = failed_events_.find(key);
    if (last != failed_events_.end() && last->second.message == message) {
      auto r = registry_->Modify(
          Events(), pod.ns, last->second.name,
          [&](json& ev) -> std::optional<ApiError> {
            ev["count"] = ev.value("count", 1) + 1;
            ev["lastTimestamp"] = now;
            return std::nullopt;
          },
          "");
      if (r.ok()) return;
    }
  }
  // Like client-go's recorder: "<pod>.<hex nanoseconds>" (plus a sequence
  // number, simulated time being coarse under a large --time-scale).
  long long nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now_tp.time_since_epoch()).count();
  char suffix[48];
  std::snprintf(suffix, sizeof(suffix), ".%llx%llx", nanos, static_cast<unsigned long long>(event_seq_++));
  json ev = {{"apiVersion", "v1"},
             {"kind", "Event"},
             {"metadata", {{"name", pod.name + suffix}, {"namespace", pod.ns}}},
             {"involvedObject",
              {{"apiVersion", "v1"}, {"kind", "Pod"}, {"namespace", pod.ns}, {"name", pod.name}, {"uid", pod.uid}}},
             {"reason", reason},
             {"message", message},
             {"type", type},
             {"action", action},
             {"source", {{"component", kSchedulerName}}},
             {"reportingComponent", kSchedulerName},
             {"reportingInstance", "kinema-sim"},
             {"firstTimestamp", now},
             {"lastTimestamp", now},
             {"count", 1}};
  std::string name = ev["metadata"]["name"];
  auto r = registry_->Create(Events(), pod.ns, std::move(ev));
  if (!r.ok()) {
    spdlog::debug("scheduler: recording event {} for {}: {}", reason, key, r.error().message);
    return;
  }
  if (reason == "FailedScheduling") failed_events_[key] = {name, message};
}

void Scheduler::ArmTimer() {
  if (stopped_) return;
  TimePoint now = clock_->Now();
  TimePoint next = next_flush_;
  if (!backoff_.empty()) next = std::min(next, backoff_.begin()->first);
  double sim = std::chrono::duration<double>(next - now).count();
  auto wall = clock_->WallDuration(std::max(0.0, sim)) + std::chrono::milliseconds(1);
  timer_.expires_after(wall);
  timer_.async_wait(boost::asio::bind_executor(strand_, [this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    Pump();
  }));
}

// ---------------------------------------------------------------- component

Status SchedulerComponent::Start(SimServer& server) {
  auto config = SchedulerConfig::FromScenario(server.scenario(), server.options().seed);
  if (!config.ok()) return config.status();
  if (!config.value().enabled) {
    spdlog::info("scheduler: disabled by the scenario; pods stay unscheduled");
    return Status::OK();
  }
  scheduler_ = std::make_unique<Scheduler>(&server.registry(), &server.io(), config.value());
  scheduler_->Start();
  return Status::OK();
}

void SchedulerComponent::Stop() {
  if (scheduler_) scheduler_->Stop();
}

}  // namespace kinema::sim::sched
