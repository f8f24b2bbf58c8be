// WorkflowView: the derived state of one workflow, a pure fold of its events.
//
// Invariants:
//   - ApplyEvent is deterministic and depends only on the view and the event,
//     so folding a workflow's events from scratch always reproduces the rows
//     of the derived tables (checked by `kinemactl verify`).
//   - Statuses: workflow ∈ {running, paused, completed, aborted, failed};
//     step ∈ {pending, running, succeeded, failed, compensated, skipped}.
//   - completed/aborted are terminal; failed is terminal only when
//     `terminated` is set (a non-retryable step failure stays resumable).
//   - steps[i].index == i, and a workflow has at most kMaxWorkflowSteps
//     steps: an event naming another index (read from a damaged or hostile
//     file) is refused, never allocated.
// Thread-safety: plain values.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "storage/event.h"

namespace kinema {

inline constexpr int kMaxWorkflowSteps = 1024;

struct StepView {
  int index = 0;
  std::string name;
  std::string status = "pending";
  int attempts = 0;
  int64_t started_ms = 0;   // 0: not started
  int64_t finished_ms = 0;  // 0: not finished
  std::string error;
  std::string idempotency_key;
  int64_t epoch = 0;
  nlohmann::json result;  // null until succeeded
  // Not persisted in the steps table (rebuilt from events when needed):
  bool has_open_intent = false;       // intent journaled, no result/failure yet
  bool has_open_compensation = false; // compensation intent without compensated
  int64_t retry_at_ms = 0;            // >0: another attempt is scheduled
  nlohmann::json intent_input;
};

struct WorkflowView {
  std::string id;
  std::string type;
  std::string status;  // empty until workflow_started
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  nlohmann::json input = nlohmann::json::object();
  std::string last_error;
  std::string pause_reason;
  bool abort_requested = false;
  bool terminated = false;
  std::string outcome;  // from the completed event's detail (may be empty)
  int64_t last_seq = 0;
  std::vector<StepView> steps;
  std::map<std::string, int64_t> timers;  // "<step>/<name>" -> deadline ms

  // Position of the first step that has neither succeeded nor been skipped
  // (or -1 when none).
  int CurrentStepIndex() const;
  std::string CurrentStepName() const;
  bool IsTerminal() const;
};

// Folds `e` into `v`. Returns FailedPrecondition for an event that is not
// legal in the view's state (e.g. a result for a step without an intent); the
// view is left unchanged in that case.
Status ApplyEvent(WorkflowView* v, const Event& e);

}  // namespace kinema
