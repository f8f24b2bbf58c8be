#include "engine/runtime/kind_scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

#include "engine/common/time.h"

namespace kinema {

namespace {

std::string TimestampId(const std::string& type, int64_t now_ms) {
  std::time_t t = static_cast<std::time_t>(now_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return type + "-" + buf;
}

bool IsBlocking(const WorkflowSummary& w) {
  return w.status == WorkflowStatus::kPaused || (w.status == WorkflowStatus::kFailed && !w.terminated);
}

}  // namespace

KindScheduler::KindScheduler(const KindRegistry* kinds, const ControllerConfig* config, Metrics* metrics,
                             const EpochProvider* epochs, KindSchedulerOptions options)
    : kinds_(kinds), config_(config), metrics_(metrics), epochs_(epochs), options_(std::move(options)) {
  for (const auto& k : kinds_->kinds()) {
    bool selected = options_.only_types.empty() ? config_->kinds.count(k->type()) && config_->kinds.at(k->type()).enabled
                                                : options_.only_types.count(k->type()) > 0;
    if (!selected) continue;
    types_.push_back(k->type());
    per_kind_[k->type()].kind = k.get();
  }
}

KindScheduler::~KindScheduler() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
}

void KindScheduler::DescribeMetrics(Metrics* m) {
  m->Describe("kinema_iterations_total", "counter", "Workflows that reached a terminal state, by type and outcome.");
  m->DescribeHistogram("kinema_step_duration_seconds", "Seconds from a step's first start to its finish, by type and step.",
                       {0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600});
  m->Describe("kinema_step_retries_total", "counter", "Step attempts beyond the first, by type and step.");
  m->Describe("kinema_kind_blocked", "gauge",
              "1 while a paused or failed workflow blocks new workflows of this type (resume or abort it).");
}

void KindScheduler::OnTerminal(const WorkflowView& v) {
  if (metrics_ == nullptr) return;
  std::string outcome = v.outcome.empty() ? WorkflowStatusName(v.status) : v.outcome;
  metrics_->Add("kinema_iterations_total", {{"type", v.type}, {"outcome", outcome}});
  for (const auto& s : v.steps) {
    if (s.attempts > 1) metrics_->Add("kinema_step_retries_total", {{"type", v.type}, {"step", s.name}}, s.attempts - 1);
    if (s.started_ms > 0 && s.finished_ms >= s.started_ms) {
      metrics_->Observe("kinema_step_duration_seconds", {{"type", v.type}, {"step", s.name}},
                        (s.finished_ms - s.started_ms) / 1000.0);
    }
  }
  if (const WorkflowKind* k = kinds_->Find(v.type)) k->RecordFinished(v, metrics_);
}

void KindScheduler::OnKindRequest(const KindRequest& r) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!seen_requests_.insert(r.id).second) return;
    pending_requests_[r.target].push_back(r);
  }
  spdlog::info("workflow kind {} requested by {}; it starts when its rules allow", r.target, r.id);
  if (engine_) engine_->Wake();
}

void KindScheduler::LoadPendingRequests(WorkflowEngine& engine) {
  auto pending = engine.journal()->PendingKindRequests(NowMs() - options_.request_horizon.count());
  if (!pending.ok()) {
    spdlog::warn("kind requests not loaded from the journal: {}", pending.status().ToString());
    return;
  }
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& r : *pending) {
    if (seen_requests_.insert(r.id).second) pending_requests_[r.target].push_back(r);
  }
  requests_loaded_ = true;
}

void KindScheduler::PruneIfDue(WorkflowEngine& engine) {
  const int64_t now = NowMs();
  if (options_.retention.count() <= 0 || now < next_prune_ms_) return;
  next_prune_ms_ = now + options_.prune_every.count();
  auto epoch = epochs_->Current();
  if (!epoch) return;
  int total = 0;
  for (;;) {  // in batches, so the journal's lock is never held for long
    auto pruned = engine.journal()->PruneEndedWithoutEffect(now - options_.retention.count(), 500, epoch->value);
    if (!pruned.ok()) {
      spdlog::warn("journal retention: {}", pruned.status().ToString());
      return;
    }
    total += *pruned;
    if (*pruned < 500 || engine.stop_requested()) break;
  }
  if (total > 0) {
    spdlog::info("journal retention: pruned {} workflow(s) that ended without effect more than {} ago", total,
                 FormatDuration(options_.retention));
  }
}

std::string KindScheduler::NewWorkflowId(WorkflowEngine& engine, const std::string& type) {
  const std::string base = TimestampId(type, NowMs());
  for (int n = 1;; ++n) {
    std::string id = n == 1 ? base : base + "-" + std::to_string(n);
    if (engine.journal()->View(id).status().code() == Status::Code::kNotFound) return id;
  }
}

void KindScheduler::Submit(const std::string& id, const std::string& type) {
  // mu_ held by the caller
  active_ids_.insert(id);
  per_kind_[type].active = id;
  queue_.emplace_back(id, type);
  work_cv_.notify_one();
}

bool KindScheduler::RetiringWorkflowActive(const std::string& except_type,
                                           const std::vector<WorkflowSummary>& unfinished, std::string* who) const {
  for (const auto& w : unfinished) {
    if (w.type == except_type || w.status != WorkflowStatus::kRunning) continue;
    const WorkflowKind* k = kinds_->Find(w.type);
    if (k && k->traits().disruption == DisruptionClass::kRetiresNodes) {
      *who = w.id;
      return true;
    }
  }
  for (const auto& [type, pk] : per_kind_) {
    if (type != except_type && !pk.active.empty() && pk.kind->traits().disruption == DisruptionClass::kRetiresNodes) {
      *who = pk.active;
      return true;
    }
  }
  return false;
}

Status KindScheduler::ResumeUnfinished(WorkflowEngine&, const std::vector<WorkflowSummary>& unfinished) {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& w : unfinished) {
    if (w.status != WorkflowStatus::kRunning || active_ids_.count(w.id)) continue;
    auto it = per_kind_.find(w.type);
    if (it == per_kind_.end()) continue;  // not a selected kind (or unknown to this build)
    if (!it->second.active.empty()) continue;
    spdlog::info("resuming unfinished workflow {} ({})", w.id, w.type);
    it->second.once_started = true;
    Submit(w.id, w.type);
  }
  return Status::OK();
}

Status KindScheduler::StartDueKinds(WorkflowEngine& engine, const std::vector<WorkflowSummary>& unfinished) {
  const int64_t now = NowMs();
  for (const auto& type : types_) {
    std::unique_lock<std::mutex> l(mu_);
    PerKind& pk = per_kind_[type];
    pk.waiting_for.clear();
    if (!pk.active.empty()) continue;
    std::string blocker, why;
    bool running_unfinished = false;
    for (const auto& w : unfinished) {
      if (w.type != type) continue;
      if (w.status == WorkflowStatus::kRunning) running_unfinished = true;
      if (IsBlocking(w) && blocker.empty()) {
        blocker = w.id;
        why = std::string(WorkflowStatusName(w.status)) + ": " +
              (w.status == WorkflowStatus::kPaused ? w.pause_reason : w.last_error);
      }
    }
    if (blocker != pk.blocked_by) {
      if (!blocker.empty()) {
        spdlog::warn("workflow {} is {}; no new {} workflow starts until it is resumed or aborted "
                     "(kinemactl resume|abort {} --reason ...); other kinds continue", blocker, why, type, blocker);
      } else if (!pk.blocked_by.empty()) {
        spdlog::info("{} is no longer blocked (workflow {} was resumed or ended)", type, pk.blocked_by);
      }
    }
    pk.blocked_by = blocker;
    pk.blocked_why = why;
    if (metrics_) metrics_->Set("kinema_kind_blocked", {{"type", type}}, blocker.empty() ? 0 : 1);
    if (running_unfinished) continue;
    if (!blocker.empty()) {
      if (options_.once && pk.once_result.empty()) {
        pk.once_result = "blocked by workflow " + blocker + " (" + why + "); resume or abort it with kinemactl";
      }
      continue;
    }
    auto& requests = pending_requests_[type];
    bool due = options_.once ? !pk.once_started : (now >= pk.next_due_ms || !requests.empty());
    if (!due) continue;
    std::string who;
    if (pk.kind->traits().disruption == DisruptionClass::kRetiresNodes &&
        RetiringWorkflowActive(type, unfinished, &who)) {
      pk.waiting_for = who;
      continue;
    }
    KindStart start;
    start.dry_run = options_.dry_run;
    start.requests = requests;
    nlohmann::json input = pk.kind->StartInput(start);
    if (!start.requests.empty()) {
      nlohmann::json reqs = nlohmann::json::array();
      for (const auto& r : start.requests) reqs.push_back({{"requestId", r.id}, {"input", r.input}});
      input["requests"] = reqs;
    }
    l.unlock();
    const std::string id = NewWorkflowId(engine, type);
    auto v = engine.Start(type, id, input);
    l.lock();
    if (!v.ok()) return v.status().WithContext("start " + type + " workflow " + id);
    // Only the requests this workflow took: others may have arrived while
    // mu_ was released for Start (they go to the next workflow of the kind).
    requests.erase(requests.begin(), requests.begin() + std::min(requests.size(), start.requests.size()));
    pk.once_started = true;
    spdlog::info("started workflow {} ({}{})", id, type,
                 start.requests.empty() ? "" : ", " + std::to_string(start.requests.size()) + " request(s) from other kinds");
    Submit(id, type);
  }
  return Status::OK();
}

Status KindScheduler::Tick(WorkflowEngine& engine) {
  auto unfinished = engine.journal()->Unfinished();
  if (!unfinished.ok()) return unfinished.status();
  KINEMA_RETURN_IF_ERROR(ResumeUnfinished(engine, *unfinished));
  return StartDueKinds(engine, *unfinished);
}

void KindScheduler::WorkerLoop(WorkflowEngine* engine) {
  for (;;) {
    std::pair<std::string, std::string> job;
    {
      std::unique_lock<std::mutex> l(mu_);
      work_cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = queue_.front();
      queue_.pop_front();
    }
    StatusOr<WorkflowView> result = engine->Run(job.first);
    {
      std::lock_guard<std::mutex> l(mu_);
      PerKind& pk = per_kind_[job.second];
      if (pk.active == job.first) pk.active.clear();
      active_ids_.erase(job.first);
      Interval(pk, job.first, result);
    }
    engine->Wake();
  }
}

void KindScheduler::Interval(PerKind& pk, const std::string& id, const StatusOr<WorkflowView>& result) {
  // mu_ held
  const int64_t interval = config_->kinds.count(pk.kind->type()) ? config_->kinds.at(pk.kind->type()).interval.count()
                                                                  : pk.kind->traits().default_interval.count();
  if (!result.ok()) {
    if (result.status().code() == Status::Code::kPermissionDenied) return;  // lost the epoch: resumed by the next leader
    spdlog::error("workflow {}: {}", id, result.status().ToString());
    pk.next_due_ms = NowMs() + interval;
    if (options_.once && pk.once_result.empty()) pk.once_result = "workflow " + id + ": " + result.status().ToString();
    return;
  }
  const WorkflowView& v = *result;
  spdlog::info("workflow {} is {}{}", id, WorkflowStatusName(v.status), v.outcome.empty() ? "" : " (" + v.outcome + ")");
  if (v.IsTerminal()) {
    pk.next_due_ms = NowMs() + interval;
    if (options_.once && pk.once_result.empty()) pk.once_result = "ok";
  } else if (v.status == WorkflowStatus::kPaused || v.status == WorkflowStatus::kFailed) {
    pk.next_due_ms = NowMs() + interval;
    if (options_.once && pk.once_result.empty()) {
      pk.once_result = "workflow " + id + " is " + WorkflowStatusName(v.status) + ": " +
                       (v.pause_reason.empty() ? v.last_error : v.pause_reason) + " (resume or abort it with kinemactl)";
    }
  }
  // still running: interrupted by shutdown or a lost lease; resumed later
}

bool KindScheduler::OnceDone() const {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& type : types_) {
    const PerKind& pk = per_kind_.at(type);
    if (!pk.active.empty() || pk.once_result.empty()) return false;
  }
  return true;
}

Status KindScheduler::OnceOutcome() const {
  std::lock_guard<std::mutex> l(mu_);
  std::string failures;
  for (const auto& type : types_) {
    const PerKind& pk = per_kind_.at(type);
    if (pk.once_result == "ok") continue;
    failures += (failures.empty() ? "" : "; ") + type + ": " +
                (pk.once_result.empty() ? std::string("did not finish (stopped)") : pk.once_result);
  }
  return failures.empty() ? Status::OK() : Status::FailedPrecondition(failures);
}

Status KindScheduler::Run(WorkflowEngine& engine) {
  {
    std::lock_guard<std::mutex> l(mu_);
    engine_ = &engine;
    stopping_ = false;
    for (auto& [type, pk] : per_kind_) {  // a new run: --once counts from here
      pk.once_started = false;
      pk.once_result.clear();
    }
  }
  for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this, &engine] { WorkerLoop(&engine); });
  bool logged_waiting = false;
  Status result;
  while (!engine.stop_requested()) {
    if (!epochs_->Current()) {
      if (!logged_waiting) spdlog::info("waiting to become leader");
      logged_waiting = true;
      engine.WaitForWork(500);
      continue;
    }
    logged_waiting = false;
    if (!requests_loaded_) LoadPendingRequests(engine);
    PruneIfDue(engine);
    Status st = Tick(engine);
    if (!st.ok()) {
      if (st.code() == Status::Code::kPermissionDenied) continue;  // lease lost between checks
      result = st;
      break;
    }
    if (options_.once && OnceDone()) break;
    int64_t wait_ms = 1000;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const auto& type : types_) {
        const PerKind& pk = per_kind_.at(type);
        if (pk.active.empty() && pk.blocked_by.empty()) {
          wait_ms = std::min(wait_ms, std::max<int64_t>(10, pk.next_due_ms - NowMs()));
        }
      }
    }
    engine.WaitForWork(static_cast<int>(wait_ms));
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    queue_.clear();
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  engine_ = nullptr;
  if (!result.ok()) return result;
  if (options_.once && !engine.stop_requested()) return OnceOutcome();
  return Status::OK();
}

std::vector<KindState> KindScheduler::States() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<KindState> out;
  const int64_t now = NowMs();
  for (const auto& type : types_) {
    const PerKind& pk = per_kind_.at(type);
    KindState s;
    s.type = type;
    if (!pk.active.empty()) {
      s.state = "running";
      s.workflow = pk.active;
      s.detail = "running " + pk.active;
    } else if (!pk.blocked_by.empty()) {
      s.state = "blocked";
      s.workflow = pk.blocked_by;
      s.detail = "blocked by " + pk.blocked_by + " (" + pk.blocked_why + "): resume or abort it with kinemactl";
    } else if (!pk.waiting_for.empty()) {
      s.state = "waiting";
      s.workflow = pk.waiting_for;
      s.detail = "waiting for " + pk.waiting_for + " (one node-retiring workflow at a time)";
    } else {
      s.state = now >= pk.next_due_ms ? "due" : "idle";
      s.detail = now >= pk.next_due_ms ? "due now" : "next in " + FormatDuration(Duration((pk.next_due_ms - now) / 1000 * 1000));
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace kinema
