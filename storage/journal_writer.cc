#include "storage/journal_writer.h"

#include <set>

#include <algorithm>
#include <chrono>

#include <SQLiteCpp/SQLiteCpp.h>
#include <spdlog/spdlog.h>

#include "engine/common/safe_json.h"
#include "storage/journal_queries.h"
#include "storage/sqlite_env.h"
#include "engine/common/time.h"

namespace kinema {

StatusOr<std::unique_ptr<JournalWriter>> JournalWriter::Open(const std::string& path,
                                                             const JournalWriterOptions& options) {
  auto lock = FileLock::TryAcquire(LockPathFor(path));
  if (!lock.ok()) return lock.status().WithContext("open journal " + path);
  auto db = OpenWriterConnection(path, options.busy_timeout_ms, options.vfs);
  if (!db.ok()) return db.status();
  if (options.quick_check_on_open) {
    Status qc = QuickCheck(**db);
    if (!qc.ok()) return qc.WithContext("journal " + path);
  }
  const auto& migrations = options.migrations ? *options.migrations : BuiltinMigrations();
  auto before = ReadSchemaVersion(**db);
  if (!before.ok()) return before.status();
  KINEMA_RETURN_IF_ERROR(ApplyMigrations(**db, path, migrations));
  auto after = ReadSchemaVersion(**db);
  if (!after.ok()) return after.status();

  std::unique_ptr<JournalWriter> w(new JournalWriter());
  w->path_ = path;
  w->lock_ = std::move(*lock);
  w->db_ = std::move(*db);
  w->statements_ = std::make_unique<journal_sql::StatementCache>(*w->db_);
  try {
    w->fence_epoch_ = w->db_->execAndGet("SELECT max_epoch FROM fence WHERE id = 1").getInt64();
  } catch (const std::exception& e) {
    // A journal built with only the earliest migrations has no fence table.
    w->fence_epoch_ = 0;
  }
  if (*before > 0 && *after > *before) {
    // Derived tables are a cache of the events; a schema upgrade may have
    // added columns to them, so they are rebuilt from the events.
    KINEMA_RETURN_IF_ERROR(w->RebuildDerived());
    spdlog::info("journal {}: upgraded from schema {} to {}; derived tables rebuilt from events", path, *before,
                 *after);
  }
  return w;
}

JournalWriter::~JournalWriter() {
  std::lock_guard<std::mutex> l(db_mu_);
  statements_.reset();  // finalized before the connection closes
  if (db_) {
    try {
      db_->exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch (const std::exception& e) {
      spdlog::warn("journal {}: checkpoint on close failed: {}", path_, e.what());
    }
    db_.reset();
  }
}

StatusOr<WorkflowView> JournalWriter::ViewForAppendLocked(const std::string& workflow_id) {
  {
    std::lock_guard<std::mutex> v(view_mu_);
    auto it = cache_.find(workflow_id);
    if (it != cache_.end()) return it->second;
  }
  try {
    Status fold_error;
    auto folded = journal_sql::FoldWorkflow(*statements_, workflow_id, &fold_error);
    if (!fold_error.ok()) return fold_error.WithContext("journal " + path_ + ": workflow " + workflow_id);
    if (!folded) return WorkflowView();  // no events: not cached, it may never be written
    std::lock_guard<std::mutex> v(view_mu_);
    return cache_.emplace(workflow_id, std::move(*folded)).first->second;
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "load workflow " + workflow_id, false);
  }
}

Status JournalWriter::AppendLocked(const std::string& workflow_id, std::vector<Event>* events, int64_t epoch,
                                  int64_t now, WorkflowView* next) {
  // `next` is the caller's copy: on an illegal event the whole transaction
  // is rolled back and the copy discarded, so folding in place is safe.
  journal_sql::DerivedChange change;
  const WorkflowStatus status_before = next->status;  // kNotStarted: the workflow row is new
  for (Event& e : *events) {
    e.workflow_id = workflow_id;
    e.epoch = epoch;
    if (e.at_ms == 0) e.at_ms = now;
    if (!IsKnownEventKind(e.kind)) return Status::InvalidArgument("unknown event kind " + e.kind);
    // The view is folded from exactly what is stored: detail text that is
    // not UTF-8 (an error message carrying a remote body) is stored, and
    // folded, with U+FFFD in its place.
    safe_json::MakeValidUtf8(&e.detail);
    e.seq = next->last_seq + 1;  // provisional: the fold sees the order
    Status s = ApplyEvent(next, e);
    if (!s.ok()) return s.WithContext("journal " + path_ + ": workflow " + workflow_id);
    e.seq = journal_sql::InsertEvent(*statements_, e);
    next->last_seq = e.seq;
    change.Note(e);
  }
  change.workflow_keys = status_before != next->status;
  journal_sql::WriteDerived(*statements_, *next, &change);
  return Status::OK();
}

namespace {
void RollbackQuietly(journal_sql::StatementCache& sc) {
  try {
    sc.Exec("ROLLBACK");
  } catch (...) {
  }
}
}  // namespace

JournalWriter::CommitStats JournalWriter::commit_stats() {
  std::lock_guard<std::mutex> v(view_mu_);
  return commit_stats_;
}

Status JournalWriter::FenceCheck(int64_t epoch, const char* what) {
  std::lock_guard<std::mutex> v(view_mu_);
  if (epoch >= fence_epoch_) return Status::OK();
  return Status::PermissionDenied("journal " + path_ + ": epoch " + std::to_string(epoch) +
                                  " is older than the fence " + std::to_string(fence_epoch_) +
                                  " (a newer leader has written); refusing to " + what);
}

StatusOr<WorkflowView> JournalWriter::Append(const std::string& workflow_id, std::vector<Event> events,
                                             int64_t epoch) {
  PendingAppend mine;
  mine.workflow_id = workflow_id;
  mine.events = std::move(events);
  mine.epoch = epoch;
  {
    std::unique_lock<std::mutex> g(group_mu_);
    group_queue_.push_back(&mine);
    while (!mine.done) {
      if (group_committing_) {
        group_cv_.wait(g);
        continue;
      }
      // Become the leader: commit everything queued so far in one go. Appends
      // that arrive meanwhile queue up for the next transaction.
      group_committing_ = true;
      std::vector<PendingAppend*> group;
      group.swap(group_queue_);
      g.unlock();
      CommitGroup(group);
      g.lock();
      for (auto* p : group) p->done = true;
      group_committing_ = false;
      group_cv_.notify_all();
    }
  }
  if (!mine.status.ok()) return mine.status;
  return std::move(mine.view);
}

void JournalWriter::CommitGroup(std::vector<PendingAppend*>& group) {
  // One transaction for the group when every member has the same epoch and
  // a workflow appears once; an illegal batch makes the group fall back to
  // one transaction per member, so only the offender fails.
  bool together = group.size() > 1;
  std::set<std::string> ids;
  for (auto* p : group) {
    together = together && p->epoch == group.front()->epoch && ids.insert(p->workflow_id).second;
  }
  if (together) {
    Batches batches;
    for (auto* p : group) batches.emplace_back(p->workflow_id, p->events);
    std::map<std::string, WorkflowView> views;
    Status s = CommitBatches(std::move(batches), group.front()->epoch, &views);
    if (s.ok() || s.code() == Status::Code::kPermissionDenied) {
      for (auto* p : group) {
        p->status = s;
        if (s.ok()) p->view = std::move(views.at(p->workflow_id));
      }
      return;
    }
  }
  for (auto* p : group) {
    Batches one;
    one.emplace_back(p->workflow_id, std::move(p->events));
    std::map<std::string, WorkflowView> views;
    p->status = CommitBatches(std::move(one), p->epoch, &views);
    if (p->status.ok()) p->view = std::move(views.at(p->workflow_id));
  }
}

Status JournalWriter::AppendMany(Batches batches, int64_t epoch) {
  return CommitBatches(std::move(batches), epoch, nullptr);
}

Status JournalWriter::CommitBatches(Batches batches, int64_t epoch, std::map<std::string, WorkflowView>* views) {
  std::lock_guard<std::mutex> l(db_mu_);
  KINEMA_RETURN_IF_ERROR(FenceCheck(epoch, "write"));
  std::map<std::string, WorkflowView> next;
  for (const auto& b : batches) {
    if (next.count(b.first)) continue;
    auto current = ViewForAppendLocked(b.first);
    if (!current.ok()) return current.status();
    next.emplace(b.first, std::move(*current));
  }
  const int64_t fence = FenceEpoch();
  int64_t now = NowMs();
  auto started = std::chrono::steady_clock::now();
  journal_sql::StatementCache& sc = *statements_;
  try {
    sc.Exec("BEGIN IMMEDIATE");
    try {
      if (epoch > fence) {
        SQLite::Statement& f = sc.Get("UPDATE fence SET max_epoch = ? WHERE id = 1 AND max_epoch < ?");
        f.bind(1, static_cast<int64_t>(epoch));
        f.bind(2, static_cast<int64_t>(epoch));
        f.exec();
        f.reset();
      }
      for (auto& b : batches) {
        Status s = AppendLocked(b.first, &b.second, epoch, now, &next.at(b.first));
        if (!s.ok()) {
          RollbackQuietly(sc);
          return s;
        }
      }
      sc.Exec("COMMIT");
    } catch (...) {
      RollbackQuietly(sc);
      throw;
    }
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "journal " + path_ + ": append", true);
  }
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // Published before db_mu_ is released (see cache_).
  std::lock_guard<std::mutex> v(view_mu_);
  commit_stats_.commits++;
  commit_stats_.total_seconds += took;
  commit_stats_.max_seconds = std::max(commit_stats_.max_seconds, took);
  if (epoch > fence_epoch_) fence_epoch_ = epoch;
  for (auto& [id, view] : next) {
    if (views != nullptr) {
      cache_[id] = view;
      views->emplace(id, std::move(view));
    } else {
      cache_[id] = std::move(view);
    }
  }
  return Status::OK();
}

StatusOr<WorkflowView> JournalWriter::View(const std::string& workflow_id) {
  {
    std::lock_guard<std::mutex> v(view_mu_);
    auto it = cache_.find(workflow_id);
    if (it != cache_.end() && it->second.status != WorkflowStatus::kNotStarted) return it->second;
  }
  std::lock_guard<std::mutex> l(db_mu_);
  auto view = ViewForAppendLocked(workflow_id);
  if (!view.ok()) return view.status();
  if (view->status == WorkflowStatus::kNotStarted) return Status::UnknownWorkflow(workflow_id);
  return view;
}

StatusOr<std::vector<std::string>> JournalWriter::WorkflowIds(WorkflowStatus status) {
  std::lock_guard<std::mutex> l(db_mu_);
  try {
    return journal_sql::WorkflowIdsWithStatus(*db_, status);
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "list workflows", false);
  }
}

StatusOr<std::vector<WorkflowSummary>> JournalWriter::Unfinished() {
  std::lock_guard<std::mutex> l(db_mu_);
  try {
    return journal_sql::UnfinishedWorkflows(*db_);
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "list unfinished workflows", false);
  }
}

StatusOr<std::vector<std::string>> JournalWriter::UpdatedSince(int64_t since_ms) {
  std::lock_guard<std::mutex> l(db_mu_);
  try {
    return journal_sql::WorkflowIdsUpdatedSince(*db_, since_ms);
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "list recently updated workflows", false);
  }
}

StatusOr<std::vector<KindRequest>> JournalWriter::PendingKindRequests(int64_t since_ms) {
  std::lock_guard<std::mutex> l(db_mu_);
  try {
    return journal_sql::PendingKindRequests(*db_, since_ms);
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "list kind requests", false);
  }
}

StatusOr<int> JournalWriter::PruneEndedWithoutEffect(int64_t ended_before_ms, int max_workflows, int64_t epoch) {
  std::lock_guard<std::mutex> l(db_mu_);
  KINEMA_RETURN_IF_ERROR(FenceCheck(epoch, "prune"));
  std::vector<std::string> ids;
  try {
    statements_->Exec("BEGIN IMMEDIATE");
    try {
      ids = journal_sql::PrunableWorkflows(*db_, ended_before_ms, max_workflows);
      if (!ids.empty()) {
        db_->exec("UPDATE prune_guard SET active = 1 WHERE id = 1");
        const int64_t now = NowMs();
        for (const auto& id : ids) journal_sql::PruneWorkflow(*db_, id, now);
        db_->exec("UPDATE prune_guard SET active = 0 WHERE id = 1");
      }
      statements_->Exec("COMMIT");
    } catch (...) {
      RollbackQuietly(*statements_);
      throw;
    }
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "journal " + path_ + ": prune", true);
  }
  std::lock_guard<std::mutex> v(view_mu_);
  for (const auto& id : ids) cache_.erase(id);
  return static_cast<int>(ids.size());
}

int64_t JournalWriter::FenceEpoch() {
  std::lock_guard<std::mutex> v(view_mu_);
  return fence_epoch_;
}

Status JournalWriter::RebuildDerived() {
  std::lock_guard<std::mutex> l(db_mu_);
  {
    std::lock_guard<std::mutex> v(view_mu_);
    cache_.clear();
  }
  try {
    statements_->Exec("BEGIN IMMEDIATE");
    try {
      db_->exec("DELETE FROM timers");
      db_->exec("DELETE FROM steps");
      db_->exec("DELETE FROM workflows");
      std::vector<std::string> ids;
      {
        SQLite::Statement q(*db_, "SELECT DISTINCT workflow_id FROM events ORDER BY workflow_id");
        while (q.executeStep()) ids.push_back(q.getColumn(0).getString());
      }
      for (const auto& id : ids) {
        Status fold_error;
        auto v = journal_sql::FoldWorkflow(*db_, id, &fold_error);
        if (v) journal_sql::WriteDerived(*statements_, *v, nullptr);
      }
      statements_->Exec("COMMIT");
    } catch (...) {
      RollbackQuietly(*statements_);
      throw;
    }
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "rebuild derived tables", true);
  }
  return Status::OK();
}

}  // namespace kinema
