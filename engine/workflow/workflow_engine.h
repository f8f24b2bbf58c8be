// WorkflowEngine: runs durable workflows against the journal.
//
// Execution model (DBOS-style step checkpoints, see research/durable.md):
//   for each step in order:
//     succeeded in the journal        → skipped, its result is reused
//     intent without result           → reconcile (never blind re-run)
//     otherwise                       → INTENT committed, then run, then
//                                       RESULT (or step_failed) committed
//   Retries follow the step's RetryPolicy with durable backoff; exhaustion
//   pauses the workflow. A non-retryable error fails it (resumable).
//   Determinism guard: a journaled step name that differs from the code's at
//   the same position pauses the workflow with
//   "journal has X at step N, code expects Y".
//   Abort: at step boundaries and checkpoints; compensations of started steps
//   run in reverse order, then the workflow is `aborted`.
//   Every journal write carries the epoch from the EpochProvider; without an
//   epoch nothing is journaled or executed (PermissionDenied).
//
// Thread-safety: Run() may be called from several threads at once for
// different workflows (the journal serialises writes; the jitter RNG is
// guarded); Run() for a given workflow must be called from one thread at a
// time. Commands (Abort, Pause, ...) and RequestStop() may be called from any
// thread and wake waiting steps.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <random>
#include <string>

#include "engine/workflow/epoch_provider.h"
#include "engine/workflow/operator_commands.h"
#include "engine/workflow/step_context.h"
#include "engine/workflow/workflow_type.h"
#include "storage/journal_writer.h"

namespace kinema {

struct EngineOptions {
  uint64_t seed = 42;  // jitter
  // Test hook called at journal boundaries: "before_intent", "after_intent",
  // "after_result", "before_compensation", "after_compensation", and any
  // point a step passes to StepContext::Hook.
  std::function<void(const std::string& point, const std::string& workflow_id, int step_index)> hook;
  // How often a blocked wait re-reads the journal for commands (ms).
  int poll_ms = 200;
  // The shared disruption budget; null: StepContext::Claim fails with
  // FailedPrecondition (engines that run no disrupting workflow).
  DisruptionLedger* ledger = nullptr;
  // Called after a workflow reached a terminal state (metrics, scheduler).
  std::function<void(const WorkflowView&)> on_terminal;
  // Called after a step journaled a request for another kind to run.
  std::function<void(const KindRequest&)> on_kind_request;
};

class WorkflowEngine {
 public:
  WorkflowEngine(JournalWriter* journal, const WorkflowRegistry* registry, const EpochProvider* epochs,
                 EngineOptions options);

  // Starts a workflow; starting an id that exists returns its current view
  // (the id is the idempotency key of the whole iteration).
  StatusOr<WorkflowView> Start(const std::string& type, const std::string& id, const nlohmann::json& input);

  // Runs one workflow until it is terminal, paused, failed, interrupted by
  // RequestStop(), or the epoch is lost. Returns its view at that point.
  StatusOr<WorkflowView> Run(const std::string& id);

  // Applies an operator command (this engine is the journal's only writer)
  // and wakes the workflow's waits.
  StatusOr<CommandOutcome> Command(const OperatorCommand& cmd);

  // Safe-point shutdown: waits return Cancelled, no new step starts.
  void RequestStop();
  bool stop_requested() const { return stop_.load(); }
  // Wakes waits so they re-read the journal (after a command or a start).
  void Wake();
  // Blocks up to `ms` or until Wake()/RequestStop().
  void WaitForWork(int ms);

  JournalWriter* journal() { return journal_; }
  DisruptionLedger* ledger() { return options_.ledger; }

 private:
  friend class StepContext;
  StatusOr<int64_t> CurrentEpoch() const;
  // Checkpoint() semantics; `compensating`: the abort request being carried
  // out does not interrupt (terminate, pause, shutdown and epoch loss do).
  Status ControlStatus(const std::string& id, bool compensating = false);
  Status InterruptibleWaitUntil(const std::string& id, int64_t deadline_ms, bool honour_commands,
                                bool compensating = false);
  Status SleepFor(StepContext& ctx, const std::string& timer_name, std::chrono::milliseconds d);
  StatusOr<int64_t> DeadlineFor(StepContext& ctx, const std::string& timer_name, std::chrono::milliseconds d);
  StatusOr<WorkflowView> Append(const std::string& id, std::vector<Event> events);
  StatusOr<WorkflowView> RunCompensations(const WorkflowType& type, WorkflowView view);
  StatusOr<WorkflowView> PauseOnce(const WorkflowView& view, const std::string& reason);
  void CallHook(const std::string& point, const std::string& id, int step);
  std::chrono::milliseconds Backoff(const RetryPolicy& policy, int attempt);
  StatusOr<ClaimGrant> Claim(StepContext& ctx, const ClaimRequest& request);
  Status ReleaseClaims(StepContext& ctx, const nlohmann::json& released);
  NodeAllowance NodesAvailable(const std::string& id, const std::string& reason, int64_t node_count) const;
  const LedgerOptions* ledger_options() const { return options_.ledger ? &options_.ledger->options() : nullptr; }
  Status RequestKind(StepContext& ctx, const std::string& target, const std::string& key, const nlohmann::json& input);

  JournalWriter* journal_;
  const WorkflowRegistry* registry_;
  const EpochProvider* epochs_;
  EngineOptions options_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // guarded by rng_mu_
  std::atomic<bool> stop_{false};
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  uint64_t wake_generation_ = 0;
};

}  // namespace kinema
