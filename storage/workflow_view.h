// WorkflowView: the derived state of one workflow, a pure fold of its events.
//
// Invariants:
//   - ApplyEvent is deterministic and depends only on the view and the event,
//     so folding a workflow's events from scratch always reproduces the rows
//     of the derived tables (checked by `kinemactl verify`).
//   - Statuses are enums (workflow_status.h); their text exists only at
//     the journal boundary.
//   - completed/aborted are terminal; failed is terminal only when
//     `terminated` is set (a non-retryable step failure stays resumable).
//   - steps[i].index == i, and a workflow has at most kMaxWorkflowSteps
//     steps: an event naming another index (read from a damaged or hostile
//     file) is refused, never allocated.
// Thread-safety: plain values.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "storage/event.h"
#include "storage/workflow_status.h"

namespace kinema {

inline constexpr int kMaxWorkflowSteps = 1024;

struct StepView {
  int index = 0;
  std::string name;
  StepStatus status = StepStatus::kPending;
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

// What a workflow holds in the shared disruption ledger (folded from
// disruption_claimed / disruption_released events). The *_claimed counters
// never decrease: eviction limits and node budgets are per workflow.
struct DisruptionHolds {
  std::string reason;                        // the kind's disruption reason
  int64_t node_count = 0;                    // cluster nodes at the first claim (budgets' base)
  std::set<std::string> retiring;            // nodes being drained or retired now
  std::set<std::string> nodes;               // other nodes it acts on (evictions, resizes)
  std::map<std::string, std::string> pods;   // pod "ns/name" -> node, claimed and not released
  int64_t nodes_retired_claimed = 0;         // retire grants ever
  int64_t pods_claimed = 0;                  // pod grants ever
  std::map<std::string, int64_t> pods_claimed_per_node;
  std::map<std::string, int64_t> pods_claimed_per_namespace;
  bool empty() const { return retiring.empty() && nodes.empty() && pods.empty(); }
};

// A request from one workflow for another kind to run (kind_requested).
struct KindRequest {
  std::string id;      // unique: "<workflow>/<step>/<n>"
  std::string target;  // workflow type
  nlohmann::json input;
  int64_t at_ms = 0;
};

struct WorkflowView {
  std::string id;
  std::string type;
  WorkflowStatus status = WorkflowStatus::kNotStarted;  // until workflow_started
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
  DisruptionHolds holds;                  // not persisted: folded from events
  std::vector<KindRequest> requests;      // not persisted: folded from events

  // Position of the first step that has neither succeeded nor been skipped
  // (or -1 when none).
  int CurrentStepIndex() const;
  std::string CurrentStepName() const;
  bool IsTerminal() const;
};

// One row of the workflows table, for listing and scheduling.
struct WorkflowSummary {
  std::string id;
  std::string type;
  WorkflowStatus status = WorkflowStatus::kRunning;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::string current_step;
  std::string last_error;
  std::string pause_reason;
  bool abort_requested = false;
  bool terminated = false;
  std::string outcome;
};

// Folds `e` into `v`. Returns FailedPrecondition for an event that is not
// legal in the view's state (e.g. a result for a step without an intent); the
// view is left unchanged in that case.
Status ApplyEvent(WorkflowView* v, const Event& e);

}  // namespace kinema
