#include "engine/runtime/workflow_service.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <thread>

#include "engine/admin/admin_protocol.h"
#include "engine/common/shutdown.h"
#include "engine/common/text.h"

namespace kinema {

WorkflowService::WorkflowService(ServiceOptions options, const WorkflowRegistry* registry,
                                 const EpochProvider* epochs, EngineOptions engine_options)
    : options_(std::move(options)), registry_(registry), epochs_(epochs), engine_options_(std::move(engine_options)) {
  if (options_.socket_path.empty()) options_.socket_path = AdminSocketPathFor(options_.journal_path);
}

WorkflowService::~WorkflowService() {
  admin_.reset();
  engine_.reset();
  journal_.reset();
}

Status WorkflowService::Open() {
  auto j = JournalWriter::Open(options_.journal_path, options_.journal);
  if (!j.ok()) return j.status();
  journal_ = std::move(*j);
  engine_ = std::make_unique<WorkflowEngine>(journal_.get(), registry_, epochs_, engine_options_);
  admin_ = std::make_unique<AdminServer>(io_, options_.socket_path,
                                         [this](const AdminRequest& req, const AdminPeer& peer) {
                                           return HandleAdmin(req, peer);
                                         });
  return admin_->Listen();
}

Status WorkflowService::LoadLedger(DisruptionLedger* ledger) {
  auto unfinished = journal_->Unfinished();
  if (!unfinished.ok()) return unfinished.status();
  std::vector<WorkflowView> views;
  for (const auto& w : *unfinished) {
    auto v = journal_->View(w.id);
    if (!v.ok()) return v.status();
    views.push_back(std::move(*v));
  }
  ledger->Load(views);
  return Status::OK();
}

nlohmann::json WorkflowService::HandleAdmin(const AdminRequest& req, const AdminPeer& peer) {
  if (req.command == "ping") return {{"ok", true}, {"pid", static_cast<int>(::getpid())}};
  OperatorCommand cmd;
  cmd.command = req.command;
  cmd.workflow_id = req.id;
  cmd.reason = req.reason;
  cmd.identity = req.identity.empty() ? "unknown" : req.identity;
  cmd.via = "admin-socket";
  cmd.peer_uid = peer.uid;
  cmd.peer_pid = peer.pid;
  auto out = engine_->Command(cmd);
  if (!out.ok()) return AdminErrorResponse(out.status());
  return {{"ok", true},          {"id", cmd.workflow_id}, {"accepted", out->accepted},
          {"status", out->status}, {"message", out->message}};
}

int WorkflowService::Run(std::function<Status(WorkflowEngine&)> driver) {
  Status driver_status;
  auto work_guard = boost::asio::make_work_guard(io_);
  std::thread worker([&] {
    // The engine turns a throwing step into a failed attempt; anything that
    // still escapes the driver is reported as its status (an uncaught
    // exception would abort the process without a word).
    try {
      driver_status = driver(*engine_);
    } catch (const std::exception& e) {
      driver_status = Status::Internal("controller loop threw an exception: " + Excerpt(e.what(), 2000));
    } catch (...) {
      driver_status = Status::Internal("controller loop threw an unknown exception");
    }
    boost::asio::post(io_, [&] { work_guard.reset(); admin_->Close(); io_.stop(); });
  });

  boost::asio::signal_set signals(io_, SIGTERM, SIGINT);
  boost::asio::steady_timer grace(io_);
  bool signalled = false;
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    signalled = true;
    spdlog::info("signal {} received: stopping at the next safe point (grace {} s)", sig,
                 options_.shutdown_grace.count());
    engine_->RequestStop();
    RequestProcessShutdown();  // retry back-offs in the adapters end now
    grace.expires_after(options_.shutdown_grace);
    grace.async_wait([&](boost::system::error_code gec) {
      if (gec) return;
      spdlog::error("a step did not reach a safe point within {} s; exiting, its intent is reconciled on restart",
                    options_.shutdown_grace.count());
      spdlog::default_logger()->flush();
      std::_Exit(0);
    });
  });
  io_.run();
  worker.join();
  if (!driver_status.ok() && !signalled) {
    spdlog::error("controller stopped: {}", driver_status.ToString());
    return 1;
  }
  spdlog::info("controller stopped cleanly");
  return 0;
}

Status RunRunnableWorkflows(WorkflowEngine& engine, bool keep_serving) {
  while (!engine.stop_requested()) {
    auto ids = engine.journal()->WorkflowIds(WorkflowStatus::kRunning);
    if (!ids.ok()) return ids.status();
    bool progressed = false;
    for (const auto& id : *ids) {
      if (engine.stop_requested()) break;
      auto v = engine.Run(id);
      if (!v.ok()) {
        if (v.status().code() == Status::Code::kPermissionDenied) return v.status();
        spdlog::error("workflow {}: {}", id, v.status().ToString());
        continue;
      }
      progressed = progressed || v->status != WorkflowStatus::kRunning;
    }
    auto still = engine.journal()->WorkflowIds(WorkflowStatus::kRunning);
    if (!still.ok()) return still.status();
    if (still->empty() && !keep_serving) return Status::OK();
    if (!progressed || still->empty()) engine.WaitForWork(1000);
  }
  return Status::OK();
}

}  // namespace kinema
