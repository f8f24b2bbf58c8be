// KindScheduler: decides which workflows run, per workflow kind, on a pool
// of workers — the controller's policy, out of `main`.
//
// Rules (documented in README "Workflow kinds and the scheduler"):
//   1. Unfinished `running` workflows of the selected kinds are resumed
//      first (they were admitted before a restart).
//   2. At most one workflow per kind runs at a time; a new one starts when
//      the kind is due: at start-up and `interval` after its previous
//      workflow ended, or at once when another kind requested it
//      (kind_requested events), or with --once immediately.
//   3. A paused or failed (not terminated) workflow blocks new workflows of
//      its own kind only, until an operator resumes or aborts it; the
//      block is logged, shown in /readyz (States()) and by kinemactl list.
//   4. At most one workflow of a kind that retires nodes
//      (DisruptionClass::kRetiresNodes) runs at a time; the next waits.
//      Kinds that only evict or resize pods run beside it; the shared
//      disruption ledger keeps them on disjoint nodes and pods.
//   5. `workers` workflows run at once, each on its own thread, so a long
//      rollout does not starve a short resize loop.
// With `once`, every selected kind runs one workflow (an unfinished one of
// that kind is resumed instead of starting another); Run() returns OK when
// all reached a terminal state, FailedPrecondition naming each kind that
// ended paused/failed or was blocked.
// Retention: while leading, workflows that ended without any effect and
// are older than `retention` are pruned from the journal (at start, then
// every `prune_every`); workflows with an effect are kept.
// Workflow ids: "<type>-<UTC timestamp>" ("spot-rescheduling-20261204T101500Z"),
// a "-2", "-3", ... suffix when the id exists.
// Thread-safety: Run() on one thread; States() from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/config/controller_config.h"
#include "engine/kinds/kind_registry.h"
#include "engine/status/metrics.h"
#include "engine/workflow/epoch_provider.h"
#include "engine/workflow/workflow_engine.h"

namespace kinema {

struct KindSchedulerOptions {
  bool once = false;
  std::set<std::string> only_types;  // --kind; empty = the enabled kinds
  int workers = 4;
  bool dry_run = false;
  // How long kind requests stay valid (pending ones older than this are
  // ignored after a restart).
  Duration request_horizon{24LL * 3600 * 1000};
  // journal.retention: workflows that ended without effect are pruned once
  // older than this (checked at start and every prune_every); 0: never.
  Duration retention{7LL * 24 * 3600 * 1000};
  Duration prune_every{3600LL * 1000};
};

struct KindState {
  std::string type;
  std::string state;     // "idle", "running", "waiting", "blocked", "due"
  std::string workflow;  // the running or blocking workflow
  std::string detail;    // human sentence
};

class KindScheduler {
 public:
  KindScheduler(const KindRegistry* kinds, const ControllerConfig* config, Metrics* metrics,
                const EpochProvider* epochs, KindSchedulerOptions options);
  ~KindScheduler();

  // The types this scheduler runs (the selected or enabled kinds).
  const std::vector<std::string>& types() const { return types_; }

  // Drives `engine` until stop (see the contract above).
  Status Run(WorkflowEngine& engine);

  // What each kind is doing now.
  std::vector<KindState> States() const;

  // Engine callbacks: wire EngineOptions::on_terminal to OnTerminal and
  // EngineOptions::on_kind_request to OnKindRequest.
  void OnTerminal(const WorkflowView& view);
  void OnKindRequest(const KindRequest& request);

  // The metric families the scheduler records.
  static void DescribeMetrics(Metrics* metrics);

 private:
  struct PerKind {
    const WorkflowKind* kind = nullptr;
    std::string active;         // workflow id on a worker
    std::string blocked_by;     // paused/failed workflow id
    std::string blocked_why;
    std::string waiting_for;    // a node-retiring workflow of another kind
    int64_t next_due_ms = 0;
    bool once_started = false;  // with once: a workflow of this kind was started or resumed
    std::string once_result;    // with once: "" until it ended; "ok" or the reason it did not
  };

  Status Tick(WorkflowEngine& engine);
  Status ResumeUnfinished(WorkflowEngine& engine, const std::vector<WorkflowSummary>& unfinished);
  Status StartDueKinds(WorkflowEngine& engine, const std::vector<WorkflowSummary>& unfinished);
  bool RetiringWorkflowActive(const std::string& except_type, const std::vector<WorkflowSummary>& unfinished,
                              std::string* who) const;
  std::string NewWorkflowId(WorkflowEngine& engine, const std::string& type);
  void Submit(const std::string& id, const std::string& type);
  void WorkerLoop(WorkflowEngine* engine);
  void Interval(PerKind& pk, const std::string& id, const StatusOr<WorkflowView>& result);
  bool OnceDone() const;
  Status OnceOutcome() const;
  void LoadPendingRequests(WorkflowEngine& engine);
  void PruneIfDue(WorkflowEngine& engine);

  const KindRegistry* kinds_;
  const ControllerConfig* config_;
  Metrics* metrics_;
  const EpochProvider* epochs_;
  KindSchedulerOptions options_;
  std::vector<std::string> types_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;       // workers wait for queue_
  std::deque<std::pair<std::string, std::string>> queue_;  // (id, type)
  std::map<std::string, PerKind> per_kind_;                 // by type
  std::set<std::string> active_ids_;
  std::map<std::string, std::vector<KindRequest>> pending_requests_;  // by target type
  std::set<std::string> seen_requests_;
  bool requests_loaded_ = false;
  int64_t next_prune_ms_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  WorkflowEngine* engine_ = nullptr;  // while Run() runs
};

}  // namespace kinema
