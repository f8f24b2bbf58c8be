#include "engine/workflow/workflow_engine.h"
#include "engine/common/time.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "engine/common/safe_json.h"
#include "engine/workflow/step_guard.h"

namespace kinema {

namespace {

Event MakeEvent(const char* kind, int step_index = -1, const std::string& step_name = "", int attempt = 0,
                nlohmann::json detail = nlohmann::json::object()) {
  Event e;
  e.kind = kind;
  e.step_index = step_index;
  e.step_name = step_name;
  e.attempt = attempt;
  e.detail = std::move(detail);
  return e;
}

}  // namespace

WorkflowEngine::WorkflowEngine(JournalWriter* journal, const WorkflowRegistry* registry, const EpochProvider* epochs,
                               EngineOptions options)
    : journal_(journal), registry_(registry), epochs_(epochs), options_(std::move(options)), rng_(options_.seed) {}

void WorkflowEngine::CallHook(const std::string& point, const std::string& id, int step) {
  if (options_.hook) options_.hook(point, id, step);
}

StatusOr<int64_t> WorkflowEngine::CurrentEpoch() const {
  auto e = epochs_->Current();
  if (!e) return Status::PermissionDenied("this process does not hold the leader epoch; not journaling or acting");
  return e->value;
}

StatusOr<WorkflowView> WorkflowEngine::Append(const std::string& id, std::vector<Event> events) {
  auto epoch = CurrentEpoch();
  if (!epoch.ok()) return epoch.status();
  auto v = journal_->Append(id, std::move(events), *epoch);
  if (v.ok() && v->IsTerminal()) {
    if (options_.ledger) options_.ledger->Forget(id);
    if (options_.on_terminal) options_.on_terminal(*v);
  }
  return v;
}

std::chrono::milliseconds WorkflowEngine::Backoff(const RetryPolicy& policy, int attempt) {
  std::lock_guard<std::mutex> l(rng_mu_);
  return policy.BackoffFor(attempt, rng_);
}

StatusOr<ClaimGrant> WorkflowEngine::Claim(StepContext& ctx, const ClaimRequest& request) {
  if (options_.ledger == nullptr) {
    return Status::FailedPrecondition("no disruption ledger in this process; " + ctx.step_name() + " cannot disrupt");
  }
  KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
  auto view = journal_->View(ctx.workflow_id());
  if (!view.ok()) return view.status();
  auto grant = options_.ledger->Claim(
      ctx.workflow_id(), view->holds, request,
      [&](const ClaimGrant& g) -> Status {
        auto v = Append(ctx.workflow_id(), {MakeEvent(event_kind::kDisruptionClaimed, ctx.step_index(), ctx.step_name(),
                                                      ctx.attempt(), g.ToJson(request))});
        return v.status();
      },
      NowMs());
  if (grant.ok()) {
    spdlog::info("workflow {} step {}: disruption budget granted {} node(s) to retire, {} pod(s), refused {} ({})",
                 ctx.workflow_id(), ctx.step_name(), grant->retire.size(), grant->pods.size(), grant->refused.size(),
                 grant->binding);
  }
  return grant;
}

Status WorkflowEngine::ReleaseClaims(StepContext& ctx, const nlohmann::json& released) {
  auto v = Append(ctx.workflow_id(), {MakeEvent(event_kind::kDisruptionReleased, ctx.step_index(), ctx.step_name(),
                                                ctx.attempt(), released)});
  if (!v.ok()) return v.status();
  if (options_.ledger) options_.ledger->Release(ctx.workflow_id(), released);
  return Status::OK();
}

NodeAllowance WorkflowEngine::NodesAvailable(const std::string& id, const std::string& reason,
                                             int64_t node_count) const {
  if (options_.ledger == nullptr) return NodeAllowance{INT64_MAX, "no disruption ledger"};
  return options_.ledger->NodesAvailable(reason, node_count, id, NowMs());
}

Status WorkflowEngine::RequestKind(StepContext& ctx, const std::string& target, const std::string& key,
                                   const nlohmann::json& input) {
  auto view = journal_->View(ctx.workflow_id());
  if (!view.ok()) return view.status();
  const std::string request_id = ctx.workflow_id() + "/" + std::to_string(ctx.step_index()) + "/" + key;
  for (const auto& r : view->requests) {
    if (r.id == request_id) return Status::OK();  // already journaled
  }
  auto v = Append(ctx.workflow_id(), {MakeEvent(event_kind::kKindRequested, ctx.step_index(), ctx.step_name(),
                                                ctx.attempt(), {{"target", target}, {"input", input}, {"requestId", request_id}})});
  if (!v.ok()) return v.status();
  if (options_.on_kind_request) {
    for (const auto& r : v->requests) {
      if (r.id == request_id) options_.on_kind_request(r);
    }
  }
  Wake();
  return Status::OK();
}

StatusOr<WorkflowView> WorkflowEngine::Start(const std::string& type_name, const std::string& id,
                                             const nlohmann::json& input) {
  auto existing = journal_->View(id);
  if (existing.ok()) return existing;
  if (existing.status().code() != Status::Code::kNotFound) return existing.status();
  const WorkflowType* type = registry_->Find(type_name);
  if (type == nullptr) return Status::InvalidArgument("unknown workflow type " + type_name);
  nlohmann::json names = nlohmann::json::array();
  for (const auto& s : type->steps) names.push_back(s.name);
  auto v = Append(id, {MakeEvent(event_kind::kWorkflowStarted, -1, "", 0,
                                 {{"type", type_name}, {"input", input}, {"steps", names}})});
  if (v.ok()) {
    spdlog::info("workflow {} ({}) started with {} steps", id, type_name, type->steps.size());
    Wake();
  }
  return v;
}

StatusOr<CommandOutcome> WorkflowEngine::Command(const OperatorCommand& cmd) {
  auto epoch = CurrentEpoch();
  if (!epoch.ok()) return epoch.status();
  auto out = ApplyOperatorCommand(journal_, *epoch, cmd);
  if (out.ok()) {
    spdlog::info("operator {} {} {} via {}: {} (reason: {})", cmd.identity, cmd.command, cmd.workflow_id, cmd.via,
                 out->message, cmd.reason);
  }
  Wake();
  return out;
}

void WorkflowEngine::RequestStop() {
  stop_.store(true);
  Wake();
}

void WorkflowEngine::Wake() {
  std::lock_guard<std::mutex> l(wake_mu_);
  ++wake_generation_;
  wake_cv_.notify_all();
}

void WorkflowEngine::WaitForWork(int ms) {
  std::unique_lock<std::mutex> l(wake_mu_);
  uint64_t gen = wake_generation_;
  wake_cv_.wait_for(l, std::chrono::milliseconds(ms), [&] { return wake_generation_ != gen || stop_.load(); });
}

Status WorkflowEngine::ControlStatus(const std::string& id, bool compensating) {
  if (stop_.load()) return Status::Cancelled("controller is shutting down");
  auto epoch = CurrentEpoch();
  if (!epoch.ok()) return epoch.status();
  auto v = journal_->View(id);
  if (!v.ok()) return v.status();
  if (v->terminated) return Status::Aborted("workflow was terminated by an operator");
  if (v->abort_requested && !compensating) return Status::Aborted("abort requested");
  if (v->status == WorkflowStatus::kPaused) return Status::Cancelled("workflow paused: " + v->pause_reason);
  return Status::OK();
}

Status WorkflowEngine::InterruptibleWaitUntil(const std::string& id, int64_t deadline_ms, bool honour_commands,
                                              bool compensating) {
  while (true) {
    if (honour_commands) {
      KINEMA_RETURN_IF_ERROR(ControlStatus(id, compensating));
    } else if (stop_.load()) {
      return Status::Cancelled("controller is shutting down");
    }
    int64_t left = deadline_ms - NowMs();
    if (left <= 0) return Status::OK();
    WaitForWork(static_cast<int>(std::min<int64_t>(left, options_.poll_ms)));
  }
}

StatusOr<int64_t> WorkflowEngine::DeadlineFor(StepContext& ctx, const std::string& timer_name,
                                              std::chrono::milliseconds d) {
  auto v = journal_->View(ctx.workflow_id());
  if (!v.ok()) return v.status();
  std::string key = std::to_string(ctx.step_index()) + "/" + timer_name;
  auto it = v->timers.find(key);
  if (it != v->timers.end()) {
    spdlog::info("workflow {} step {}: durable timer '{}' continues, {} ms left", ctx.workflow_id(), ctx.step_name(),
                 timer_name, std::max<int64_t>(0, it->second - NowMs()));
    return it->second;
  }
  int64_t deadline = NowMs() + d.count();
  auto w = Append(ctx.workflow_id(), {MakeEvent(event_kind::kTimerSet, ctx.step_index(), ctx.step_name(),
                                                ctx.attempt(), {{"name", timer_name}, {"deadlineMs", deadline}})});
  if (!w.ok()) return w.status();
  return deadline;
}

Status WorkflowEngine::SleepFor(StepContext& ctx, const std::string& timer_name, std::chrono::milliseconds d) {
  auto deadline = DeadlineFor(ctx, timer_name, d);
  if (!deadline.ok()) return deadline.status();
  return InterruptibleWaitUntil(ctx.workflow_id(), *deadline, true, ctx.compensating());
}

StatusOr<WorkflowView> WorkflowEngine::PauseOnce(const WorkflowView& view, const std::string& reason) {
  if (view.status == WorkflowStatus::kPaused && view.pause_reason == reason) return view;
  spdlog::warn("workflow {} paused: {}", view.id, reason);
  return Append(view.id, {MakeEvent(event_kind::kPaused, -1, "", 0, {{"reason", reason}, {"by", "engine"}})});
}

StatusOr<WorkflowView> WorkflowEngine::Run(const std::string& id) {
  while (true) {
    auto loaded = journal_->View(id);
    if (!loaded.ok()) return loaded.status();
    WorkflowView view = *loaded;
    if (stop_.load()) return view;
    if (view.IsTerminal() || view.status == WorkflowStatus::kPaused || view.status == WorkflowStatus::kFailed) {
      return view;
    }
    auto epoch = CurrentEpoch();
    if (!epoch.ok()) return epoch.status();

    const WorkflowType* type = registry_->Find(view.type);
    if (type == nullptr) return PauseOnce(view, "unknown workflow type " + view.type + " (no code for it in this build)");

    // Determinism guard: every step the journal has started must be the
    // code's step at that position.
    for (const StepView& s : view.steps) {
      bool started = s.attempts > 0 || s.status != StepStatus::kPending;
      if (!started) continue;
      std::string expected = s.index < static_cast<int>(type->steps.size()) ? type->steps[s.index].name : "<none>";
      if (s.name != expected) {
        return PauseOnce(view, "journal has " + s.name + " at step " + std::to_string(s.index) + ", code expects " +
                                   expected);
      }
    }

    if (view.abort_requested) return RunCompensations(*type, view);

    int idx = -1;
    for (int i = 0; i < static_cast<int>(type->steps.size()); ++i) {
      if (i >= static_cast<int>(view.steps.size()) || view.steps[i].status != StepStatus::kSucceeded) {
        idx = i;
        break;
      }
    }
    if (idx < 0) {
      auto done = Append(id, {MakeEvent(event_kind::kCompleted)});
      if (done.ok()) spdlog::info("workflow {} completed", id);
      return done;
    }
    const StepDefinition& def = type->steps[idx];
    StepView sv = idx < static_cast<int>(view.steps.size()) ? view.steps[idx] : StepView{};

    if (sv.retry_at_ms > NowMs()) {
      Status w = InterruptibleWaitUntil(id, sv.retry_at_ms, true);
      if (!w.ok() && w.code() != Status::Code::kAborted && w.code() != Status::Code::kCancelled) return w;
      if (w.code() == Status::Code::kCancelled) return journal_->View(id);
      continue;  // abort or deadline reached: re-evaluate
    }

    bool reconciling = sv.has_open_intent;
    int attempt = reconciling ? std::max(1, sv.attempts) : sv.attempts + 1;
    CallHook("before_intent", id, idx);
    StepContext ctx(this, &view, idx, def.name, attempt, *epoch, reconciling);
    nlohmann::json intent_detail = {{"idempotencyKey", ctx.idempotency_key()}, {"reconcile", reconciling}};
    if (def.journal_only) intent_detail["journalOnly"] = true;  // retention may prune such workflows
    if (def.intent_input) intent_detail["input"] = IntentInputGuarded(def.intent_input, ctx, "step " + def.name);
    auto after_intent = Append(id, {MakeEvent(event_kind::kStepIntent, idx, def.name, attempt, intent_detail)});
    if (!after_intent.ok()) return after_intent.status();
    view = *after_intent;
    CallHook("after_intent", id, idx);
    if (reconciling) {
      spdlog::info("workflow {} step {} ({}): intent without result from an earlier run; reconciling", id, idx,
                   def.name);
    }

    StatusOr<nlohmann::json> result = RunStepGuarded(reconciling ? def.reconcile : def.run, ctx,
                                                     "step " + def.name + (reconciling ? " (reconcile)" : ""));
    if (result.ok()) {
      std::vector<Event> events = {MakeEvent(event_kind::kStepResult, idx, def.name, attempt,
                                             {{"result", *result}, {"reconciled", reconciling}})};
      bool finish = result->is_object() && result->contains("finishWorkflow");
      if (finish) {
        // The step ended the iteration early (e.g. "no action"): the rest is skipped.
        nlohmann::json done = {{"outcome", safe_json::String(*result, "finishWorkflow")},
                               {"reason", safe_json::String(*result, "reason")},
                               {"finishedBy", def.name}};
        events.push_back(MakeEvent(event_kind::kCompleted, -1, "", 0, done));
        spdlog::info("workflow {} completed early at step {}: {} ({})", id, def.name, done["outcome"].get<std::string>(),
                     done["reason"].get<std::string>());
      }
      auto after = Append(id, std::move(events));
      if (!after.ok()) return after.status();
      CallHook("after_result", id, idx);
      if (finish) return after;
      continue;
    }

    const Status& err = result.status();
    switch (err.code()) {
      case Status::Code::kCancelled:  // shutdown or pause: intent stays open
        spdlog::info("workflow {} step {} interrupted ({}); it is reconciled when the workflow runs again", id,
                     def.name, err.message());
        return journal_->View(id);
      case Status::Code::kPermissionDenied: {
        // Fencing (the leader epoch is gone or changed): stop without a
        // word in the journal. Otherwise the world refused the step (a 403
        // from RBAC, an IAM denial): journaled below as a non-retryable
        // failure the operator can fix and resume.
        auto held = epochs_->Current();
        if (!held || held->value != *epoch) return err;
        break;
      }
      case Status::Code::kAborted: {
        auto now = journal_->View(id);
        if (!now.ok()) return now.status();
        if (now->IsTerminal()) return now;  // terminated: no further events
        auto f = Append(id, {MakeEvent(event_kind::kStepFailed, idx, def.name, attempt,
                                       {{"error", err.message()}, {"code", Status::CodeName(err.code())},
                                        {"retryable", false}})});
        if (!f.ok()) return f.status();
        continue;  // the loop sees abort_requested / terminated
      }
      default:
        break;
    }
    bool retryable = def.retry.IsRetryable(err);
    nlohmann::json detail = {{"error", err.message()}, {"code", Status::CodeName(err.code())},
                             {"retryable", retryable}};
    if (retryable && attempt < def.retry.max_attempts) {
      auto delay = Backoff(def.retry, attempt);
      detail["retryAtMs"] = NowMs() + delay.count();
      spdlog::warn("workflow {} step {} attempt {}/{} failed: {}; retrying in {} ms", id, def.name, attempt,
                   def.retry.max_attempts, err.ToString(), delay.count());
      auto f = Append(id, {MakeEvent(event_kind::kStepFailed, idx, def.name, attempt, detail)});
      if (!f.ok()) return f.status();
      continue;
    }
    std::vector<Event> events = {MakeEvent(event_kind::kStepFailed, idx, def.name, attempt, detail)};
    if (retryable) {
      std::string reason = "step " + def.name + " failed after " + std::to_string(attempt) +
                           " attempts: " + err.ToString();
      events.push_back(MakeEvent(event_kind::kPaused, -1, "", 0, {{"reason", reason}, {"by", "engine"}}));
      spdlog::error("workflow {} paused: {}", id, reason);
    } else {
      std::string reason = "step " + def.name + " failed with a non-retryable error: " + err.ToString();
      events.push_back(MakeEvent(event_kind::kFailed, -1, "", 0, {{"error", reason}}));
      spdlog::error("workflow {} failed: {}", id, reason);
    }
    return Append(id, std::move(events));
  }
}

StatusOr<WorkflowView> WorkflowEngine::RunCompensations(const WorkflowType& type, WorkflowView view) {
  const std::string id = view.id;
  spdlog::info("workflow {}: abort requested, compensating started steps in reverse order", id);
  for (int i = static_cast<int>(view.steps.size()) - 1; i >= 0; --i) {
    if (stop_.load()) return journal_->View(id);
    const StepView sv = view.steps[i];
    bool started = sv.attempts > 0;
    if (!started || sv.status == StepStatus::kCompensated) continue;
    if (i >= static_cast<int>(type.steps.size()) || !type.steps[i].compensate) continue;
    const StepDefinition& def = type.steps[i];
    auto epoch = CurrentEpoch();
    if (!epoch.ok()) return epoch.status();
    CallHook("before_compensation", id, i);
    if (!sv.has_open_compensation) {
      auto v = Append(id, {MakeEvent(event_kind::kCompensationIntent, i, def.name, sv.attempts)});
      if (!v.ok()) return v.status();
      view = *v;
    }
    StepContext ctx(this, &view, i, def.name, sv.attempts, *epoch, sv.has_open_compensation);
    ctx.set_compensating();
    Status st;
    for (int attempt = 1;; ++attempt) {
      st = CompensateGuarded(def.compensate, ctx, sv.result, "compensation of step " + def.name);
      if (st.ok()) break;
      if (!def.retry.IsRetryable(st) || attempt >= def.retry.max_attempts) {
        return PauseOnce(view, "compensation of step " + def.name + " failed after " + std::to_string(attempt) +
                                   " attempts: " + st.ToString() + " (abort continues on resume)");
      }
      Status w = InterruptibleWaitUntil(id, NowMs() + Backoff(def.retry, attempt).count(), false);
      if (!w.ok()) return journal_->View(id);
    }
    auto v = Append(id, {MakeEvent(event_kind::kCompensated, i, def.name, sv.attempts)});
    if (!v.ok()) return v.status();
    view = *v;
    CallHook("after_compensation", id, i);
  }
  auto done = Append(id, {MakeEvent(event_kind::kAborted, -1, "", 0, {{"reason", "abort requested"}})});
  if (done.ok()) spdlog::info("workflow {} aborted after compensation", id);
  return done;
}

}  // namespace kinema
