#include "storage/journal_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <SQLiteCpp/SQLiteCpp.h>

#include "storage/journal_queries.h"
#include "storage/migrations.h"
#include "storage/sqlite_env.h"

namespace kinema {

namespace {
// A read transaction gives every call one consistent snapshot of the WAL.
class ReadTxn {
 public:
  explicit ReadTxn(SQLite::Database& db) : db_(db) { db_.exec("BEGIN DEFERRED"); }
  ~ReadTxn() {
    try {
      db_.exec("COMMIT");
    } catch (...) {
    }
  }

 private:
  SQLite::Database& db_;
};
}  // namespace

Status JournalReader::BackupTo(const std::string& target) {
  // Created empty and owner-only first (VACUUM INTO fills an empty file), so
  // the copy is never readable by others, even for an instant.
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::AlreadyExists("backup target " + target + " exists; choose a new file");
    return Status::IOError("backup target " + target + ": " + std::strerror(errno));
  }
  ::close(fd);
  try {
    SQLite::Statement st(*db_, "VACUUM INTO ?");
    st.bind(1, target);
    st.exec();
  } catch (const std::exception& e) {
    ::unlink(target.c_str());
    return StatusFromSqlite(e, "journal " + path_ + ": backup to " + target, false);
  }
  return Status::OK();
}

StatusOr<std::unique_ptr<JournalReader>> JournalReader::Open(const std::string& path) {
  auto db = OpenReadOnlyConnection(path, 10000);
  if (!db.ok()) return db.status();
  KINEMA_RETURN_IF_ERROR(CheckJournalIdentity(**db, path, LatestSchemaVersion()));
  std::unique_ptr<JournalReader> r(new JournalReader());
  r->path_ = path;
  r->db_ = std::move(*db);
  return r;
}

JournalReader::~JournalReader() = default;

StatusOr<std::vector<WorkflowSummary>> JournalReader::List(const ListFilter& filter) {
  try {
    ReadTxn txn(*db_);
    std::string sql =
        "SELECT id, type, status, created_ms, updated_ms, current_step, last_error, pause_reason, abort_requested, "
        "outcome "
        "FROM workflows WHERE (?1 = '' OR status = ?1) AND (?2 = '' OR type = ?2) ORDER BY created_ms, id";
    SQLite::Statement q(*db_, sql);
    q.bind(1, filter.status);
    q.bind(2, filter.type);
    std::vector<WorkflowSummary> out;
    while (q.executeStep()) {
      WorkflowSummary s;
      s.id = q.getColumn(0).getString();
      s.type = q.getColumn(1).getString();
      s.status = q.getColumn(2).getString();
      s.created_ms = q.getColumn(3).getInt64();
      s.updated_ms = q.getColumn(4).getInt64();
      s.current_step = q.getColumn(5).isNull() ? "" : q.getColumn(5).getString();
      s.last_error = q.getColumn(6).isNull() ? "" : q.getColumn(6).getString();
      s.pause_reason = q.getColumn(7).isNull() ? "" : q.getColumn(7).getString();
      s.abort_requested = q.getColumn(8).getInt() != 0;
      s.outcome = q.getColumn(9).isNull() ? "" : q.getColumn(9).getString();
      out.push_back(std::move(s));
    }
    return out;
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "list workflows in " + path_, false);
  }
}

StatusOr<WorkflowView> JournalReader::Get(const std::string& workflow_id) {
  try {
    ReadTxn txn(*db_);
    auto v = journal_sql::ReadDerived(*db_, workflow_id);
    if (!v) return Status::NotFound("unknown workflow " + workflow_id);
    return *v;
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "read workflow " + workflow_id, false);
  }
}

StatusOr<std::vector<Event>> JournalReader::Events(const std::string& workflow_id) {
  try {
    ReadTxn txn(*db_);
    auto events = journal_sql::EventsOf(*db_, workflow_id);
    if (events.empty()) return Status::NotFound("unknown workflow " + workflow_id);
    return events;
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "read events of " + workflow_id, false);
  }
}

}  // namespace kinema
