// StepContext: what a running step sees of its workflow and the engine.
//
// Contract:
//   - idempotency_key() is "<workflow id>/<step index>/<step name>", stable
//     across attempts and restarts; steps pass it to the outside world
//     (GCE requestId, annotations) so a repeated effect is recognised.
//   - Checkpoint() is the cooperative interruption point: it returns
//       Aborted          an abort was requested (compensations follow),
//       Cancelled        shutdown or pause: stop now, the intent stays open
//                        and the step is reconciled when the workflow runs again,
//       PermissionDenied this process lost its leader epoch,
//     and OK otherwise. Long steps call it between units of work and must
//     return its error unchanged.
//   - SleepFor() is a durable timer: the deadline is journaled the first time
//     and, after a restart, the wait continues with the remaining time. It
//     returns the same errors as Checkpoint() when interrupted.
//   - CheckEpoch() must be called right before every mutation of the world.
//   - Claim() asks the shared disruption ledger before the step disrupts
//     nodes or pods; what was granted is journaled (disruption_claimed)
//     before it returns, so the grant survives a crash and counts for every
//     workflow. Act only on what was granted.
//   - RequestKind() journals a request for another workflow kind to run with
//     an input (kind_requested); the scheduler hands it to that kind's next
//     workflow. Idempotent per `key` within the workflow.
// Thread-safety: used only by the thread running the step.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>

#include "engine/budget/disruption_ledger.h"
#include "engine/common/status.h"

namespace kinema {

class WorkflowEngine;
struct WorkflowView;

class StepContext {
 public:
  StepContext(WorkflowEngine* engine, const WorkflowView* view, int step_index, std::string step_name, int attempt,
              int64_t epoch, bool reconciling);

  const std::string& workflow_id() const;
  int step_index() const { return step_index_; }
  const std::string& step_name() const { return step_name_; }
  int attempt() const { return attempt_; }
  int64_t epoch() const { return epoch_; }
  bool reconciling() const { return reconciling_; }
  // Set by the engine for a compensation: the abort request it carries out
  // no longer interrupts Checkpoint(), Pause() and SleepFor() (a compensation
  // that waits for a cloud delete must not be stopped by its own abort);
  // terminate, pause, shutdown and a lost epoch still do.
  void set_compensating() { compensating_ = true; }
  bool compensating() const { return compensating_; }
  std::string idempotency_key() const;
  const nlohmann::json& workflow_input() const;
  // Result of an earlier step of this workflow (null if it has none).
  const nlohmann::json& ResultOf(const std::string& step_name) const;

  // The input journaled with this step's latest intent (null if none). While
  // StepDefinition::intent_input runs it is the PREVIOUS attempt's input, so
  // a step can carry facts recorded before its first effect (e.g. the
  // original spec of what it is about to patch) across retries and restarts.
  const nlohmann::json& IntentInput() const;

  // The step gives up on the whole workflow: journals an abort request
  // (audited as identity "kinema", via "step") and returns Aborted(reason),
  // which the step must return unchanged; the engine then runs the
  // compensations of the started steps, as for `kinemactl abort`.
  Status AbortWorkflow(const std::string& reason);

  Status Checkpoint();
  Status CheckEpoch();
  Status SleepFor(const std::string& timer_name, std::chrono::milliseconds duration);
  // A durable deadline without sleeping: the first call journals now+duration
  // under `timer_name`; later calls (also after a restart) return the same
  // absolute deadline, in ms since the Unix epoch.
  StatusOr<int64_t> DeadlineFor(const std::string& timer_name, std::chrono::milliseconds duration);
  // The deadline journaled under `timer_name` by this step (DeadlineFor or
  // SleepFor, in any attempt or process), nullopt when none; journals nothing.
  StatusOr<std::optional<int64_t>> JournaledDeadline(const std::string& timer_name) const;
  // Sleeps `duration` (not journaled) unless interrupted; returns the same
  // errors as Checkpoint(). For polling loops inside a step.
  Status Pause(std::chrono::milliseconds duration);
  // Test hook (crash campaign): lets a harness act at named points.
  void Hook(const char* point);

  // The shared disruption budget (see the contract above).
  StatusOr<ClaimGrant> Claim(const ClaimRequest& request);
  // Journals that this workflow no longer holds these nodes or pods
  // ({"retire":[..], "nodes":[..], "pods":[..]}).
  Status ReleaseClaims(const nlohmann::json& released);
  // What this workflow holds now (from the journal).
  StatusOr<DisruptionHolds> Holds() const;
  // Nodes `reason` may retire now out of `node_count`, after what the other
  // workflows hold (for planning within the budget); unlimited without a
  // ledger.
  NodeAllowance NodesAvailable(const std::string& reason, int64_t node_count) const;
  const LedgerOptions* ledger_options() const;
  Status RequestKind(const std::string& target, const std::string& key, const nlohmann::json& input);
  // The other workflows updated at or after `since_ms`, as the journal folds
  // them (what the rest of Kinema did meanwhile: their holds, results).
  StatusOr<std::vector<WorkflowView>> OtherWorkflowsSince(int64_t since_ms) const;

 private:
  WorkflowEngine* engine_;
  const WorkflowView* view_;
  int step_index_;
  std::string step_name_;
  int attempt_;
  int64_t epoch_;
  bool reconciling_;
  bool compensating_ = false;
};

}  // namespace kinema
