#include "engine/workflow/operator_commands.h"

#include "storage/event.h"

namespace kinema {

StatusOr<CommandOutcome> ApplyOperatorCommand(JournalWriter* journal, int64_t epoch, const OperatorCommand& cmd) {
  if (cmd.reason.empty()) return Status::InvalidArgument(cmd.command + " requires a reason");
  auto view = journal->View(cmd.workflow_id);
  if (!view.ok()) return view.status();
  const WorkflowView& v = *view;

  auto refuse = [&](const std::string& why) -> StatusOr<CommandOutcome> {
    return Status::FailedPrecondition(cmd.command + " " + cmd.workflow_id + ": " + why);
  };
  std::string effect;
  if (cmd.command == "pause") {
    if (v.status != WorkflowStatus::kRunning) return refuse("workflow is " + std::string(WorkflowStatusName(v.status)) + ", only a running workflow can be paused");
    effect = event_kind::kPaused;
  } else if (cmd.command == "resume") {
    if (v.status == WorkflowStatus::kRunning) return refuse("workflow is already running");
    if (v.IsTerminal()) return refuse("workflow is " + std::string(v.terminated ? "terminated" : WorkflowStatusName(v.status)) + "; nothing to resume");
    effect = event_kind::kResumed;
  } else if (cmd.command == "abort") {
    if (v.IsTerminal()) return refuse("workflow is " + std::string(v.terminated ? "terminated" : WorkflowStatusName(v.status)) + "; nothing to abort");
    effect = v.abort_requested ? "" : event_kind::kAbortRequested;
  } else if (cmd.command == "terminate") {
    if (v.IsTerminal()) return refuse("workflow is " + std::string(v.terminated ? "terminated" : WorkflowStatusName(v.status)) + " already");
    effect = event_kind::kTerminated;
  } else {
    return Status::InvalidArgument("unknown command " + cmd.command);
  }

  nlohmann::json who = {{"reason", cmd.reason}, {"by", cmd.identity}, {"via", cmd.via}};
  std::vector<Event> events;
  Event audit;
  audit.kind = event_kind::kOperatorCommand;
  audit.detail = {{"command", cmd.command}, {"reason", cmd.reason}, {"identity", cmd.identity}, {"via", cmd.via}};
  if (cmd.peer_uid >= 0) audit.detail["peerUid"] = cmd.peer_uid;  // from the socket: not forgeable
  if (cmd.peer_pid >= 0) audit.detail["peerPid"] = cmd.peer_pid;
  events.push_back(audit);
  if (!effect.empty()) {
    Event e;
    e.kind = effect;
    e.detail = who;
    events.push_back(e);
  }
  auto after = journal->Append(cmd.workflow_id, std::move(events), epoch);
  if (!after.ok()) return after.status();
  CommandOutcome out;
  out.accepted = true;
  out.status = after->status;
  if (cmd.command == "abort") {
    out.message = effect.empty() ? "abort was already requested; compensations run in the controller"
                                 : "abort requested; the controller runs compensations at the next safe point";
  } else if (cmd.command == "resume") {
    out.message = "resumed from step " + after->CurrentStepName();
  } else if (cmd.command == "pause") {
    out.message = "paused; the current step stops at its next checkpoint";
  } else {
    out.message = "terminated without compensation";
  }
  return out;
}

}  // namespace kinema
