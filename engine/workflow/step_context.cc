#include "engine/workflow/step_context.h"

#include "engine/workflow/workflow_engine.h"
#include "storage/event.h"
#include "storage/workflow_view.h"
#include "engine/common/time.h"

namespace kinema {

StepContext::StepContext(WorkflowEngine* engine, const WorkflowView* view, int step_index, std::string step_name,
                         int attempt, int64_t epoch, bool reconciling)
    : engine_(engine),
      view_(view),
      step_index_(step_index),
      step_name_(std::move(step_name)),
      attempt_(attempt),
      epoch_(epoch),
      reconciling_(reconciling) {}

const std::string& StepContext::workflow_id() const { return view_->id; }

std::string StepContext::idempotency_key() const {
  return view_->id + "/" + std::to_string(step_index_) + "/" + step_name_;
}

const nlohmann::json& StepContext::workflow_input() const { return view_->input; }

const nlohmann::json& StepContext::ResultOf(const std::string& name) const {
  static const nlohmann::json kNull;
  for (const auto& s : view_->steps) {
    if (s.name == name && s.status == StepStatus::kSucceeded) return s.result;
  }
  return kNull;
}

const nlohmann::json& StepContext::IntentInput() const {
  static const nlohmann::json kNull;
  for (const auto& s : view_->steps) {
    if (s.index == step_index_) return s.intent_input;
  }
  return kNull;
}

Status StepContext::AbortWorkflow(const std::string& reason) {
  OperatorCommand cmd;
  cmd.command = "abort";
  cmd.workflow_id = view_->id;
  cmd.reason = "step " + step_name_ + ": " + reason;
  cmd.identity = "kinema";
  cmd.via = "step";
  auto outcome = engine_->Command(cmd);
  if (!outcome.ok()) return outcome.status().WithContext("request abort of " + view_->id);
  if (!outcome->accepted) return Status::FailedPrecondition("abort of " + view_->id + " refused: " + outcome->message);
  return Status::Aborted(reason);
}

Status StepContext::Checkpoint() { return engine_->ControlStatus(view_->id, compensating_); }

Status StepContext::CheckEpoch() {
  auto e = engine_->CurrentEpoch();
  if (!e.ok()) return e.status();
  if (*e != epoch_) {
    return Status::PermissionDenied("leader epoch changed from " + std::to_string(epoch_) + " to " +
                                    std::to_string(*e) + " during step " + step_name_);
  }
  return Status::OK();
}

Status StepContext::SleepFor(const std::string& timer_name, std::chrono::milliseconds duration) {
  return engine_->SleepFor(*this, timer_name, duration);
}

StatusOr<int64_t> StepContext::DeadlineFor(const std::string& timer_name, std::chrono::milliseconds duration) {
  return engine_->DeadlineFor(*this, timer_name, duration);
}

StatusOr<std::optional<int64_t>> StepContext::JournaledDeadline(const std::string& timer_name) const {
  auto v = engine_->journal()->View(view_->id);
  if (!v.ok()) return v.status();
  auto it = v->timers.find(std::to_string(step_index_) + "/" + timer_name);  // the key DeadlineFor journals under
  if (it == v->timers.end()) return std::optional<int64_t>();
  return std::optional<int64_t>(it->second);
}

Status StepContext::Pause(std::chrono::milliseconds duration) {
  return engine_->InterruptibleWaitUntil(view_->id, NowMs() + duration.count(), true, compensating_);
}

void StepContext::Hook(const char* point) { engine_->CallHook(point, view_->id, step_index_); }

}  // namespace kinema

namespace kinema {

StatusOr<ClaimGrant> StepContext::Claim(const ClaimRequest& request) { return engine_->Claim(*this, request); }

Status StepContext::ReleaseClaims(const nlohmann::json& released) { return engine_->ReleaseClaims(*this, released); }

StatusOr<DisruptionHolds> StepContext::Holds() const {
  auto v = engine_->journal()->View(view_->id);
  if (!v.ok()) return v.status();
  return v->holds;
}

NodeAllowance StepContext::NodesAvailable(const std::string& reason, int64_t node_count) const {
  return engine_->NodesAvailable(view_->id, reason, node_count);
}

const LedgerOptions* StepContext::ledger_options() const { return engine_->ledger_options(); }

StatusOr<std::vector<WorkflowView>> StepContext::OtherWorkflowsSince(int64_t since_ms) const {
  auto ids = engine_->journal()->UpdatedSince(since_ms);
  if (!ids.ok()) return ids.status();
  std::vector<WorkflowView> out;
  for (const auto& id : *ids) {
    if (id == view_->id) continue;
    auto v = engine_->journal()->View(id);
    if (!v.ok()) return v.status();
    out.push_back(std::move(*v));
  }
  return out;
}

Status StepContext::RequestKind(const std::string& target, const std::string& key, const nlohmann::json& input) {
  return engine_->RequestKind(*this, target, key, input);
}

}  // namespace kinema
