// Journal events: the append-only source of truth.
//
// Every change to a workflow is one or more events appended in a single
// transaction. Derived tables (workflows, steps, timers) are a pure fold of
// the events (see workflow_view.h).
//
// Event kinds and their `detail` JSON:
//   workflow_started   {type, input, steps:[names]}
//   step_intent        {idempotencyKey, input, reconcile:bool}      (step, attempt, epoch set)
//   step_result        {result, reconciled:bool}
//   step_failed        {error, code, retryable:bool, retryAtMs?}    (retryAtMs present: another attempt follows)
//   timer_set          {name, deadlineMs}
//   paused             {reason, by?, via?}
//   resumed            {reason, by, via}
//   abort_requested    {reason, by, via}
//   compensation_intent {}                                          (step set)
//   compensated        {result}                                     (step set)
//   completed          {outcome?, reason?}   (pending steps become skipped)
//   aborted            {reason}
//   failed             {error}
//   terminated         {reason, by, via}
//   operator_command   {command, reason, identity, via}
//   disruption_claimed {reason, nodeCount, retire:[node], nodes:[node],   (step set) what the
//                       pods:[{pod, node}], budget:{...}}                 disruption ledger granted
//   disruption_released {retire:[node], nodes:[node], pods:[pod]}        (step set) no longer held
//   kind_requested     {target, input, requestId}                         (step set) ask another
//                                                                         kind to run
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace kinema {

namespace event_kind {
inline constexpr const char* kWorkflowStarted = "workflow_started";
inline constexpr const char* kStepIntent = "step_intent";
inline constexpr const char* kStepResult = "step_result";
inline constexpr const char* kStepFailed = "step_failed";
inline constexpr const char* kTimerSet = "timer_set";
inline constexpr const char* kPaused = "paused";
inline constexpr const char* kResumed = "resumed";
inline constexpr const char* kAbortRequested = "abort_requested";
inline constexpr const char* kCompensationIntent = "compensation_intent";
inline constexpr const char* kCompensated = "compensated";
inline constexpr const char* kCompleted = "completed";
inline constexpr const char* kAborted = "aborted";
inline constexpr const char* kFailed = "failed";
inline constexpr const char* kTerminated = "terminated";
inline constexpr const char* kOperatorCommand = "operator_command";
inline constexpr const char* kDisruptionClaimed = "disruption_claimed";
inline constexpr const char* kDisruptionReleased = "disruption_released";
inline constexpr const char* kKindRequested = "kind_requested";
}  // namespace event_kind

bool IsKnownEventKind(const std::string& kind);

struct Event {
  int64_t seq = 0;  // assigned by the journal on append
  std::string workflow_id;
  int64_t at_ms = 0;  // assigned on append when 0
  std::string kind;
  int step_index = -1;  // -1: workflow-level event
  std::string step_name;
  int64_t epoch = 0;
  int attempt = 0;
  nlohmann::json detail = nlohmann::json::object();
};

}  // namespace kinema
