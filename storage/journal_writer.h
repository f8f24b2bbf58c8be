// JournalWriter: the single process that writes the journal.
//
// Contract:
//   - Open() takes the exclusive "<path>.lock" (see file_lock.h), opens the
//     file with WAL + synchronous=FULL, runs quick_check, applies pending
//     migrations and loads the leader fence. A second writer is refused.
//     After upgrading an existing journal it rebuilds the derived tables
//     from the events (they are a cache and may have gained columns).
//   - Append() writes a batch of events for one workflow and the derived rows
//     they change in ONE BEGIN IMMEDIATE transaction; when it returns OK the
//     events are durable (fsynced). Events illegal in the workflow's state
//     are refused (FailedPrecondition) and nothing is written. Event details
//     are stored as valid UTF-8 (invalid sequences replaced by U+FFFD), and
//     the derived rows are folded from exactly what is stored.
//   - Fencing: every batch carries the writer's epoch. A batch whose epoch is
//     lower than the highest epoch that ever wrote the file comes from a
//     deposed leader and is refused with PermissionDenied; a higher epoch
//     raises the fence in the same transaction.
//   - Storage failures (I/O error, disk full, failed fsync) end the process
//     (sqlite_env.h); they are never retried.
//   - Group commit: appends from several threads that arrive while a commit
//     is in flight are committed together in the next transaction (one
//     fsync). Each caller still returns only after the transaction holding
//     its events has committed (durable); a batch that is illegal for its
//     workflow fails alone (the group is retried one batch at a time).
// Thread-safety: all methods are safe to call from any thread. The
// connection is serialised by one mutex held across a whole transaction
// (fsync included); the view cache has its own mutex, never held across a
// SQLite call, so View() of a workflow this process has touched does not
// wait for another worker's fsync.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "storage/event.h"
#include "storage/file_lock.h"
#include "storage/migrations.h"
#include "storage/workflow_view.h"

namespace SQLite {
class Database;
}
namespace kinema::journal_sql {
class StatementCache;
}

namespace kinema {

struct JournalWriterOptions {
  int busy_timeout_ms = 10000;
  bool quick_check_on_open = true;
  // Migrations to apply; nullptr means BuiltinMigrations(). Tests pass a
  // prefix to build journals "made by an earlier binary".
  const std::vector<Migration>* migrations = nullptr;
  // SQLite VFS to use; empty for the default. Tests use a fault-injecting one.
  std::string vfs;
};

class JournalWriter {
 public:
  static StatusOr<std::unique_ptr<JournalWriter>> Open(const std::string& path, const JournalWriterOptions& options);
  ~JournalWriter();  // checkpoints the WAL (TRUNCATE) and releases the lock

  const std::string& path() const { return path_; }

  // Appends `events` (all for `workflow_id`), stamping seq, at_ms (if 0),
  // epoch and workflow_id. On success (events durable) returns the
  // workflow's new view. Concurrent calls share transactions (group commit).
  StatusOr<WorkflowView> Append(const std::string& workflow_id, std::vector<Event> events, int64_t epoch);

  // Group commit: appends batches for several workflows in ONE transaction
  // (all or nothing). Same rules as Append for each batch.
  Status AppendMany(std::vector<std::pair<std::string, std::vector<Event>>> batches, int64_t epoch);

  // The current view of a workflow (NotFound if it has no events).
  StatusOr<WorkflowView> View(const std::string& workflow_id);

  // Ids of workflows whose derived status is `status`, oldest first.
  StatusOr<std::vector<std::string>> WorkflowIds(WorkflowStatus status);

  // Workflows that are not terminal (running, paused, failed and not
  // terminated), oldest first.
  StatusOr<std::vector<WorkflowSummary>> Unfinished();
  // Ids of workflows last updated at or after `since_ms`, oldest first.
  StatusOr<std::vector<std::string>> UpdatedSince(int64_t since_ms);
  // Requests for a kind to run (kind_requested) since `since_ms` that no
  // started workflow has taken yet, oldest first.
  StatusOr<std::vector<KindRequest>> PendingKindRequests(int64_t since_ms);

  // Retention: deletes up to `max_workflows` workflows that ended before
  // `ended_before_ms` without any effect outside the journal (every step
  // intent journalOnly, no disruption claim, no kind request), keeping one
  // row each in `pruned`. Fenced like Append. Returns how many were pruned.
  StatusOr<int> PruneEndedWithoutEffect(int64_t ended_before_ms, int max_workflows, int64_t epoch);

  // The highest epoch that ever wrote this journal.
  int64_t FenceEpoch();

  // Append transactions committed by this writer and the time they took
  // (BEGIN IMMEDIATE to COMMIT, fsync included), for /metrics.
  struct CommitStats {
    uint64_t commits = 0;
    double total_seconds = 0;
    double max_seconds = 0;
  };
  CommitStats commit_stats();

  // Drops and rewrites every derived row from the events (repair tool).
  Status RebuildDerived();

 private:
  using Batches = std::vector<std::pair<std::string, std::vector<Event>>>;
  JournalWriter() = default;
  // The view this process last committed for a workflow, loaded from the
  // events when not cached; an empty view for a workflow without events.
  // Requires db_mu_.
  StatusOr<WorkflowView> ViewForAppendLocked(const std::string& workflow_id);
  // Commits `batches` in one transaction (all or nothing) and publishes the
  // new views to the cache; on success `views` (if given) receives them.
  Status CommitBatches(Batches batches, int64_t epoch, std::map<std::string, WorkflowView>* views);
  // Inside an open transaction: validates, inserts and folds one batch.
  // Throws SQLite::Exception on storage errors; returns a Status for
  // illegal events (the caller rolls back).
  Status AppendLocked(const std::string& workflow_id, std::vector<Event>* events, int64_t epoch, int64_t now,
                      WorkflowView* next);
  Status FenceCheck(int64_t epoch, const char* what);

  // One caller waiting in Append's group commit.
  struct PendingAppend {
    std::string workflow_id;
    std::vector<Event> events;
    int64_t epoch = 0;
    bool done = false;  // guarded by group_mu_
    Status status;
    WorkflowView view;  // on success
  };
  void CommitGroup(std::vector<PendingAppend*>& group);

  std::mutex group_mu_;  // guards group_queue_, group_committing_ and PendingAppend::done
  std::condition_variable group_cv_;
  std::vector<PendingAppend*> group_queue_;
  bool group_committing_ = false;

  std::string path_;
  std::unique_ptr<FileLock> lock_;
  // Lock order: db_mu_ before view_mu_.
  std::mutex db_mu_;  // guards db_ and statements_; held across a whole transaction
  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<journal_sql::StatementCache> statements_;  // destroyed before db_
  std::mutex view_mu_;  // guards the members below; never held across a SQLite call
  CommitStats commit_stats_;
  int64_t fence_epoch_ = 0;
  // Workflows touched by this process, as committed. Entries are published
  // while db_mu_ is held, so a holder of db_mu_ never sees a committed
  // transaction whose views are not yet here.
  std::map<std::string, WorkflowView> cache_;
};

}  // namespace kinema
