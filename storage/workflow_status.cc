#include "storage/workflow_status.h"

#include <string>

namespace kinema {

namespace {
// The one mapping, each way (journal text ↔ enum).
constexpr std::pair<WorkflowStatus, const char*> kWorkflowNames[] = {
    {WorkflowStatus::kRunning, "running"}, {WorkflowStatus::kPaused, "paused"},
    {WorkflowStatus::kCompleted, "completed"}, {WorkflowStatus::kAborted, "aborted"},
    {WorkflowStatus::kFailed, "failed"}};
constexpr std::pair<StepStatus, const char*> kStepNames[] = {
    {StepStatus::kPending, "pending"},         {StepStatus::kRunning, "running"},
    {StepStatus::kSucceeded, "succeeded"},     {StepStatus::kFailed, "failed"},
    {StepStatus::kCompensated, "compensated"}, {StepStatus::kSkipped, "skipped"}};

// Bounded, printable quote of untrusted text for an error message.
std::string Quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > 64) out += "...";
  return out + "'";
}
}  // namespace

const char* WorkflowStatusName(WorkflowStatus s) {
  for (const auto& [status, name] : kWorkflowNames) {
    if (status == s) return name;
  }
  return "not started";
}

const char* StepStatusName(StepStatus s) {
  for (const auto& [status, name] : kStepNames) {
    if (status == s) return name;
  }
  return "pending";  // unreachable: every StepStatus is in kStepNames
}

StatusOr<WorkflowStatus> ParseWorkflowStatus(std::string_view text) {
  for (const auto& [status, name] : kWorkflowNames) {
    if (text == name) return status;
  }
  return Status::InvalidArgument("unknown workflow status " + Quoted(text) +
                                 " (one of running, paused, completed, aborted, failed)");
}

StatusOr<StepStatus> ParseStepStatus(std::string_view text) {
  for (const auto& [status, name] : kStepNames) {
    if (text == name) return status;
  }
  return Status::InvalidArgument("unknown step status " + Quoted(text) +
                                 " (one of pending, running, succeeded, failed, compensated, skipped)");
}

}  // namespace kinema
