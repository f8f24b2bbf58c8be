// Internal to storage/: SQL shared by the journal writer, the reader and
// verify. Every function takes an open connection; callers own transactions.
// All functions may throw SQLite::Exception (callers convert it to Status).
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "storage/event.h"
#include "storage/workflow_view.h"

namespace kinema::journal_sql {

Event EventFromRow(SQLite::Statement& q);  // columns as in kEventColumns
inline constexpr const char* kEventColumns = "seq, workflow_id, at_ms, kind, step_index, step_name, epoch, attempt, detail";

// Prepared statements of one connection, compiled on first use and reused
// (re-preparing the append's statements cost more than executing them).
// Every statement is reset after use, so none holds a read snapshot between
// calls. Must be destroyed before its connection. Not thread-safe: owned by
// whoever serialises the connection.
class StatementCache {
 public:
  explicit StatementCache(SQLite::Database& db) : db_(db) {}
  SQLite::Database& db() { return db_; }
  // The statement for `sql` (a string literal: the cache keys on its text),
  // reset and with its bindings cleared.
  SQLite::Statement& Get(const char* sql);
  // Runs a statement that returns no rows (BEGIN, COMMIT, ...) and resets it.
  void Exec(const char* sql);

 private:
  SQLite::Database& db_;
  std::map<std::string, std::unique_ptr<SQLite::Statement>> statements_;
};

int64_t InsertEvent(StatementCache& sc, const Event& e);  // returns the new seq
std::vector<Event> EventsOf(SQLite::Database& db, const std::string& workflow_id);

// Folds the events of one workflow; nullopt when it has none.
std::optional<WorkflowView> FoldWorkflow(SQLite::Database& db, const std::string& workflow_id, Status* fold_error);
// The same through the writer's prepared statements.
std::optional<WorkflowView> FoldWorkflow(StatementCache& sc, const std::string& workflow_id, Status* fold_error);

// Reads the derived rows (workflows, steps, timers) of one workflow.
std::optional<WorkflowView> ReadDerived(SQLite::Database& db, const std::string& workflow_id);

// What a batch of events changed in the derived rows: the workflow row
// always; steps by index; every step when the workflow ended (pending steps
// become skipped); timers when one was set.
struct DerivedChange {
  std::set<int> steps;
  bool all_steps = false;
  bool timers = false;
  // The workflow row is new or its indexed columns (status, type,
  // created_ms) changed; otherwise only its other columns are rewritten,
  // which leaves the listing indexes' pages untouched.
  bool workflow_keys = false;
  void Note(const Event& e);
};

// Writes the derived rows of `v` (upsert workflow, steps and timers): all of
// them when `change` is null, else only what it names.
void WriteDerived(StatementCache& sc, const WorkflowView& v, const DerivedChange* change);

std::vector<std::string> WorkflowIdsWithStatus(SQLite::Database& db, WorkflowStatus status);

// Rows of the workflows table, optionally filtered by status (nullopt = any)
// and type ("" = any), oldest first. A row whose status is no journal word
// throws CorruptRow (as does ReadDerived).
std::vector<WorkflowSummary> ListWorkflows(SQLite::Database& db, std::optional<WorkflowStatus> status,
                                           const std::string& type);

// Ids of workflows last updated at or after `since_ms`, oldest first.
std::vector<std::string> WorkflowIdsUpdatedSince(SQLite::Database& db, int64_t since_ms);

// Workflows that are not terminal (running, paused, failed and not
// terminated), oldest first.
std::vector<WorkflowSummary> UnfinishedWorkflows(SQLite::Database& db);

// Terminal workflows last updated before `ended_before_ms` whose every
// step intent is journalOnly and that never claimed a disruption or
// requested a kind; at most `limit`, oldest first.
std::vector<std::string> PrunableWorkflows(SQLite::Database& db, int64_t ended_before_ms, int limit);
// Deletes one workflow's events and derived rows and records it in
// `pruned` (prune_guard must be active in the same transaction).
void PruneWorkflow(SQLite::Database& db, const std::string& id, int64_t now_ms);

// kind_requested events since `since_ms` that no workflow_started event
// lists in its input's "requests" (by requestId).
std::vector<KindRequest> PendingKindRequests(SQLite::Database& db, int64_t since_ms);

}  // namespace kinema::journal_sql
