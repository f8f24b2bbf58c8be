// JournalReader::Verify: SQLite integrity plus the journal's own invariants.
//
// Checks (each reported by name):
//   integrity        PRAGMA integrity_check answers "ok"
//   foreign_keys     PRAGMA foreign_key_check finds nothing
//   schema           schema_migrations matches user_version and the binary
//   event_sequence   every workflow's events fold legally (no result without
//                    an intent, nothing before workflow_started, no change
//                    to a terminal workflow)
//   derived_tables   workflows/steps/timers equal the fold of the events
//   epochs           epochs never decrease along seq, and the fence is at
//                    least the highest epoch journaled
#include <SQLiteCpp/SQLiteCpp.h>

#include <set>

#include "engine/common/safe_json.h"
#include "storage/journal_queries.h"
#include "storage/journal_reader.h"
#include "storage/migrations.h"
#include "storage/sqlite_env.h"

namespace kinema {

namespace {

std::string CompareViews(const WorkflowView& folded, const WorkflowView& stored) {
  auto diff = [](const std::string& what, const std::string& a, const std::string& b) {
    return what + ": events say '" + a + "', table says '" + b + "'";
  };
  if (folded.status != stored.status) {
    return diff("status", WorkflowStatusName(folded.status), WorkflowStatusName(stored.status));
  }
  if (folded.type != stored.type) return diff("type", folded.type, stored.type);
  if (folded.last_seq != stored.last_seq)
    return diff("last_seq", std::to_string(folded.last_seq), std::to_string(stored.last_seq));
  if (folded.abort_requested != stored.abort_requested) return "abort_requested differs";
  if (folded.terminated != stored.terminated) return "terminated differs";
  if (folded.outcome != stored.outcome) return diff("outcome", folded.outcome, stored.outcome);
  if (folded.last_error != stored.last_error) return diff("last_error", folded.last_error, stored.last_error);
  if (folded.steps.size() != stored.steps.size())
    return diff("step count", std::to_string(folded.steps.size()), std::to_string(stored.steps.size()));
  for (size_t i = 0; i < folded.steps.size(); ++i) {
    const StepView& a = folded.steps[i];
    const StepView& b = stored.steps[i];
    std::string at = "step " + std::to_string(i) + " ";
    if (a.name != b.name) return diff(at + "name", a.name, b.name);
    if (a.status != b.status) return diff(at + "status", StepStatusName(a.status), StepStatusName(b.status));
    if (a.attempts != b.attempts) return diff(at + "attempts", std::to_string(a.attempts), std::to_string(b.attempts));
    if (b.index != static_cast<int>(i)) return diff(at + "index", std::to_string(i), std::to_string(b.index));
    if (a.result != b.result) return diff(at + "result", safe_json::Dump(a.result), safe_json::Dump(b.result));
    if (a.idempotency_key != b.idempotency_key) return diff(at + "idempotency key", a.idempotency_key, b.idempotency_key);
  }
  if (folded.timers != stored.timers) return "timers differ";
  return "";
}

}  // namespace

StatusOr<std::vector<VerifyCheck>> JournalReader::Verify() {
  std::vector<VerifyCheck> checks;
  try {
    db_->exec("BEGIN DEFERRED");
    struct Commit {
      SQLite::Database& db;
      ~Commit() {
        try {
          db.exec("COMMIT");
        } catch (...) {
        }
      }
    } commit{*db_};

    {
      VerifyCheck c{"integrity", true, ""};
      SQLite::Statement q(*db_, "PRAGMA integrity_check");
      std::string all;
      while (q.executeStep()) {
        if (!all.empty()) all += "; ";
        all += q.getColumn(0).getString();
      }
      c.ok = (all == "ok");
      c.detail = all;
      checks.push_back(c);
    }
    {
      VerifyCheck c{"foreign_keys", true, "no violations"};
      SQLite::Statement q(*db_, "PRAGMA foreign_key_check");
      int n = 0;
      while (q.executeStep()) ++n;
      if (n > 0) {
        c.ok = false;
        c.detail = std::to_string(n) + " foreign key violations";
      }
      checks.push_back(c);
    }
    {
      VerifyCheck c{"schema", true, ""};
      int uv = db_->execAndGet("PRAGMA user_version").getInt();
      int recorded = db_->execAndGet("SELECT coalesce(max(version), 0) FROM schema_migrations").getInt();
      c.detail = "version " + std::to_string(uv) + " (binary knows " + std::to_string(LatestSchemaVersion()) + ")";
      if (uv != recorded) {
        c.ok = false;
        c.detail += "; schema_migrations records " + std::to_string(recorded);
      }
      checks.push_back(c);
    }

    std::vector<std::string> ids;
    {
      SQLite::Statement q(*db_, "SELECT DISTINCT workflow_id FROM events ORDER BY workflow_id");
      while (q.executeStep()) ids.push_back(q.getColumn(0).getString());
    }
    VerifyCheck seq_check{"event_sequence", true, ""};
    VerifyCheck derived_check{"derived_tables", true, ""};
    int bad_seq = 0, bad_derived = 0;
    for (const auto& id : ids) {
      std::vector<Event> events = journal_sql::EventsOf(*db_, id);
      WorkflowView folded;
      bool terminal_seen = false;
      for (const Event& e : events) {
        if (terminal_seen && e.kind != event_kind::kOperatorCommand) {
          if (bad_seq++ == 0) seq_check.detail = "workflow " + id + ": event seq " + std::to_string(e.seq) + " (" + e.kind + ") after a terminal state";
        }
        Status s = ApplyEvent(&folded, e);
        if (!s.ok() && bad_seq++ == 0) seq_check.detail = "workflow " + id + ": " + s.message();
        terminal_seen = folded.IsTerminal();
      }
      std::string d;
      try {
        auto stored = journal_sql::ReadDerived(*db_, id);
        d = stored ? CompareViews(folded, *stored) : "no row in workflows";
      } catch (const CorruptRow& e) {
        d = e.what();
      }
      if (!d.empty() && bad_derived++ == 0) derived_check.detail = "workflow " + id + ": " + d;
    }
    {
      // Rows in derived tables without any event.
      SQLite::Statement q(*db_, "SELECT count(*) FROM workflows WHERE id NOT IN (SELECT workflow_id FROM events)");
      q.executeStep();
      int orphans = q.getColumn(0).getInt();
      if (orphans > 0 && bad_derived++ == 0) derived_check.detail = std::to_string(orphans) + " workflow rows without events";
    }
    seq_check.ok = bad_seq == 0;
    derived_check.ok = bad_derived == 0;
    if (seq_check.ok) seq_check.detail = std::to_string(ids.size()) + " workflows fold legally";
    else seq_check.detail = std::to_string(bad_seq) + " problems; first: " + seq_check.detail;
    if (derived_check.ok) derived_check.detail = "workflows, steps and timers match the events";
    else derived_check.detail = std::to_string(bad_derived) + " workflows differ; first: " + derived_check.detail;
    checks.push_back(seq_check);
    checks.push_back(derived_check);

    {
      VerifyCheck c{"epochs", true, ""};
      SQLite::Statement q(*db_, "SELECT seq, epoch FROM events ORDER BY seq");
      int64_t prev = 0, max_epoch = 0;
      while (q.executeStep()) {
        int64_t ep = q.getColumn(1).getInt64();
        if (ep < prev && c.ok) {
          c.ok = false;
          c.detail = "epoch decreases at seq " + std::to_string(q.getColumn(0).getInt64()) + " (" +
                     std::to_string(prev) + " -> " + std::to_string(ep) + ")";
        }
        prev = std::max(prev, ep);
        max_epoch = std::max(max_epoch, ep);
      }
      int64_t fence = 0;
      bool has_fence = db_->tableExists("fence");
      if (has_fence) fence = db_->execAndGet("SELECT max_epoch FROM fence WHERE id = 1").getInt64();
      if (has_fence && fence < max_epoch && c.ok) {
        c.ok = false;
        c.detail = "fence " + std::to_string(fence) + " below journaled epoch " + std::to_string(max_epoch);
      }
      if (c.ok) c.detail = "highest epoch " + std::to_string(max_epoch) + ", fence " + std::to_string(fence);
      checks.push_back(c);
    }
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "verify " + path_, false);
  }
  return checks;
}

}  // namespace kinema
