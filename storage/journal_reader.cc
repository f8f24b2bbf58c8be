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
    auto out = journal_sql::ListWorkflows(*db_, filter.status, filter.type);
    return out;
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "list workflows in " + path_, false);
  }
}

StatusOr<WorkflowView> JournalReader::Get(const std::string& workflow_id) {
  try {
    ReadTxn txn(*db_);
    auto v = journal_sql::ReadDerived(*db_, workflow_id);
    if (!v) return Status::UnknownWorkflow(workflow_id);
    return *v;
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "read workflow " + workflow_id, false);
  }
}

StatusOr<WorkflowView> JournalReader::Fold(const std::string& workflow_id) {
  try {
    ReadTxn txn(*db_);
    Status fold_error;
    auto v = journal_sql::FoldWorkflow(*db_, workflow_id, &fold_error);
    if (!fold_error.ok()) return fold_error.WithContext("journal " + path_ + ": workflow " + workflow_id);
    if (!v || v->status == WorkflowStatus::kNotStarted) return Status::UnknownWorkflow(workflow_id);
    return *v;
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "fold workflow " + workflow_id, false);
  }
}

StatusOr<std::vector<Event>> JournalReader::Events(const std::string& workflow_id) {
  try {
    ReadTxn txn(*db_);
    auto events = journal_sql::EventsOf(*db_, workflow_id);
    if (events.empty()) return Status::UnknownWorkflow(workflow_id);
    return events;
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "read events of " + workflow_id, false);
  }
}

}  // namespace kinema
