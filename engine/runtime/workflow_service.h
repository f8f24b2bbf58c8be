// WorkflowService: the controller process around a WorkflowEngine.
//
// Owns the journal writer (and so the single-writer lock), the admin socket
// and a Boost.Asio event loop on the calling thread that handles SIGTERM/
// SIGINT and admin requests. Workflows run on one worker thread through a
// driver function.
//
// Shutdown contract: on SIGTERM/SIGINT the engine stops at a safe point
// (no new step starts; waits and checkpoints return Cancelled; a step in
// flight either finishes and journals its result or leaves its intent open
// for reconcile). Run() returns 0 once the driver returns; if it has not
// within `shutdown_grace`, the process exits 0 anyway: the journal is
// consistent at every instant, and the open intent is reconciled on restart.
// Thread-safety: Open() and Run() from the main thread only.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "engine/admin/admin_server.h"
#include "engine/workflow/workflow_engine.h"

namespace kinema {

struct ServiceOptions {
  std::string journal_path;
  std::string socket_path;  // empty: AdminSocketPathFor(journal_path)
  std::chrono::seconds shutdown_grace{8};
  JournalWriterOptions journal;
};

class WorkflowService {
 public:
  WorkflowService(ServiceOptions options, const WorkflowRegistry* registry, const EpochProvider* epochs,
                  EngineOptions engine_options);
  ~WorkflowService();

  Status Open();
  // Rebuilds `ledger` from the holds of the journal's unfinished workflows.
  Status LoadLedger(DisruptionLedger* ledger);
  WorkflowEngine& engine() { return *engine_; }
  JournalWriter& journal() { return *journal_; }

  // Runs `driver` on a worker thread while the event loop serves signals and
  // the admin socket. Returns the process exit code (0 on success or
  // signal-initiated shutdown, 1 if the driver failed).
  int Run(std::function<Status(WorkflowEngine&)> driver);

 private:
  nlohmann::json HandleAdmin(const AdminRequest& req, const AdminPeer& peer);

  ServiceOptions options_;
  const WorkflowRegistry* registry_;
  const EpochProvider* epochs_;
  EngineOptions engine_options_;
  boost::asio::io_context io_;
  std::unique_ptr<JournalWriter> journal_;
  std::unique_ptr<WorkflowEngine> engine_;
  std::unique_ptr<AdminServer> admin_;
};

// Driver helper: runs every `running` workflow until none is runnable. With
// keep_serving, it then waits for new work (starts, resumes) until stop.
Status RunRunnableWorkflows(WorkflowEngine& engine, bool keep_serving);

}  // namespace kinema
