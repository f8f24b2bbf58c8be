// Operator commands (abort, resume, pause, terminate) applied to the journal.
//
// The same function serves both paths: the controller applies commands that
// arrive on its admin socket (it is the journal's only writer), and kinemactl
// applies them directly when no controller runs (holding the writer lock).
// Each accepted command appends an `operator_command` audit event (identity,
// reason, via) and the event that carries its effect, in one transaction.
//
// Rules (refusals are FailedPrecondition with the reason; unknown ids NotFound):
//   pause     running                         → paused
//   resume    paused, failed (not terminated) → running
//   abort     running, paused, failed (not terminated) → running with abort
//             requested (the controller runs the compensations); repeating it
//             is accepted and only audited
//   terminate any non-terminal                → failed (terminated), no
//             compensation
// A non-empty reason is required for every command.
#pragma once

#include <cstdint>
#include <string>

#include "engine/common/status.h"
#include "storage/workflow_status.h"
#include "storage/journal_writer.h"

namespace kinema {

struct OperatorCommand {
  std::string command;  // abort | resume | pause | terminate
  std::string workflow_id;
  std::string reason;
  std::string identity;  // who: user@host or a service account
  std::string via;       // admin-socket | direct
  // The admin socket's peer (SO_PEERCRED), journaled beside the claimed
  // identity; -1 when unknown (direct use).
  int64_t peer_uid = -1;
  int64_t peer_pid = -1;
};

struct CommandOutcome {
  bool accepted = false;
  WorkflowStatus status = WorkflowStatus::kRunning;  // the workflow's status after the command
  std::string message;  // why it was refused, or what happens next
};

StatusOr<CommandOutcome> ApplyOperatorCommand(JournalWriter* journal, int64_t epoch, const OperatorCommand& cmd);

}  // namespace kinema
