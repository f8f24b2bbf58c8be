// Internal to storage/: SQL shared by the journal writer, the reader and
// verify. Every function takes an open connection; callers own transactions.
// All functions may throw SQLite::Exception (callers convert it to Status).
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <optional>
#include <string>
#include <vector>

#include "storage/event.h"
#include "storage/workflow_view.h"

namespace kinema::journal_sql {

Event EventFromRow(SQLite::Statement& q);  // columns as in kEventColumns
inline constexpr const char* kEventColumns = "seq, workflow_id, at_ms, kind, step_index, step_name, epoch, attempt, detail";

int64_t InsertEvent(SQLite::Database& db, const Event& e);  // returns the new seq
std::vector<Event> EventsOf(SQLite::Database& db, const std::string& workflow_id);

// Folds the events of one workflow; nullopt when it has none.
std::optional<WorkflowView> FoldWorkflow(SQLite::Database& db, const std::string& workflow_id, Status* fold_error);

// Reads the derived rows (workflows, steps, timers) of one workflow.
std::optional<WorkflowView> ReadDerived(SQLite::Database& db, const std::string& workflow_id);

// Writes the derived rows of `v` (upsert workflow, steps and timers).
void WriteDerived(SQLite::Database& db, const WorkflowView& v);

std::vector<std::string> WorkflowIdsWithStatus(SQLite::Database& db, const std::string& status);

}  // namespace kinema::journal_sql
