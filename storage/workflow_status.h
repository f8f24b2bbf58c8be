// Workflow and step statuses. Inside the process they are enums; as text
// they exist only at the boundaries — the journal's derived tables (the
// `status` columns and their CHECK constraints), `kinemactl` output, logs and
// metrics labels — through the one mapping below. The text is a contract
// (../shared/spec/operations.md, kinemactl's JSON): it never changes.
//
//   workflow: running, paused, completed, aborted, failed
//             (kNotStarted: a view with no workflow_started event yet; it is
//             never journaled and has no journal text)
//   step:     pending, running, succeeded, failed, compensated, skipped
//
// Parsing is for text read from a file or a command line: anything that
// names no status (a damaged or hostile journal row, a typo) is an
// InvalidArgument naming the text, never a crash or a default.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <ostream>
#include <string_view>

#include "engine/common/status.h"

namespace kinema {

enum class WorkflowStatus { kNotStarted, kRunning, kPaused, kCompleted, kAborted, kFailed };
enum class StepStatus { kPending, kRunning, kSucceeded, kFailed, kCompensated, kSkipped };

// The journal text ("running", ...); kNotStarted is "not started" (logs only).
const char* WorkflowStatusName(WorkflowStatus s);
const char* StepStatusName(StepStatus s);

// Text → status: the five journal words for a workflow (not "not started"),
// the six for a step; anything else is InvalidArgument.
StatusOr<WorkflowStatus> ParseWorkflowStatus(std::string_view text);
StatusOr<StepStatus> ParseStepStatus(std::string_view text);

// JSON renders a status as its journal text (never as a number).
inline void to_json(nlohmann::json& j, WorkflowStatus s) { j = WorkflowStatusName(s); }
inline void to_json(nlohmann::json& j, StepStatus s) { j = StepStatusName(s); }
// For test failure messages and streams.
inline std::ostream& operator<<(std::ostream& os, WorkflowStatus s) { return os << WorkflowStatusName(s); }
inline std::ostream& operator<<(std::ostream& os, StepStatus s) { return os << StepStatusName(s); }

}  // namespace kinema
