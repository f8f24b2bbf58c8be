#include "storage/sqlite_env.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

namespace kinema {

namespace {
void ApplyCommonPragmas(SQLite::Database& db, int busy_timeout_ms) {
  db.setBusyTimeout(busy_timeout_ms);
  db.exec("PRAGMA foreign_keys=ON");
}
}  // namespace

namespace {
// The journal holds every decision and operator identity: owner-only. The
// file is created 0600 before SQLite opens it (SQLite gives its -wal and
// -shm files the main file's mode), and files left 0644 by an older binary
// are narrowed.
void RestrictJournalFiles(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) {
    (void)::fchmod(fd, 0600);
    ::close(fd);
  }
  for (const char* suffix : {"-wal", "-shm"}) (void)::chmod((path + suffix).c_str(), 0600);
}
}  // namespace

StatusOr<std::unique_ptr<SQLite::Database>> OpenWriterConnection(const std::string& path, int busy_timeout_ms,
                                                                 const std::string& vfs) {
  if (vfs.empty()) RestrictJournalFiles(path);
  try {
    auto db = std::make_unique<SQLite::Database>(path.c_str(),
                                                 SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX,
                                                 0, vfs.empty() ? nullptr : vfs.c_str());
    ApplyCommonPragmas(*db, busy_timeout_ms);
    std::string mode = db->execAndGet("PRAGMA journal_mode=WAL").getString();
    if (mode != "wal") {
      return Status::FailedPrecondition("open journal " + path + ": cannot enable WAL (journal_mode=" + mode + ")");
    }
    db->exec("PRAGMA synchronous=FULL");
    db->exec("PRAGMA journal_size_limit=67108864");  // keep the WAL below 64 MiB after checkpoints
    return db;
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "open journal " + path + " for writing", false);
  }
}

StatusOr<std::unique_ptr<SQLite::Database>> OpenReadOnlyConnection(const std::string& path, int busy_timeout_ms) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::NotFound("no journal at " + path);
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument(path + " is not a regular file");
  }
  try {
    auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READONLY | SQLite::OPEN_FULLMUTEX);
    ApplyCommonPragmas(*db, busy_timeout_ms);
    return db;
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "open journal " + path + " read-only", false);
  }
}

bool IsFatalStorageError(int code) {
  int primary = code & 0xff;
  return primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CORRUPT ||
         primary == SQLITE_NOTADB;
}

void FatalStorageFailure(const std::string& what) {
  spdlog::critical("journal storage failure, stopping the process (never retried): {}", what);
  spdlog::default_logger()->flush();
  std::_Exit(74);
}

Status StatusFromSqlite(const std::exception& e, const std::string& context, bool writing) {
  if (dynamic_cast<const CorruptRow*>(&e) != nullptr) return Status::Corruption(context + ": " + e.what());
  const auto* se = dynamic_cast<const SQLite::Exception*>(&e);
  if (se == nullptr) return Status::Internal(context + ": " + e.what());
  int ext = se->getExtendedErrorCode();
  int primary = se->getErrorCode() & 0xff;
  std::string msg = context + ": " + se->what();
  if (writing && IsFatalStorageError(ext)) FatalStorageFailure(msg);
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(msg);
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return Status::Corruption(msg);
    case SQLITE_IOERR:
    case SQLITE_FULL:
      return Status::IOError(msg);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return Status::PermissionDenied(msg);
    case SQLITE_CONSTRAINT:
      return Status::FailedPrecondition(msg);
    default:
      return Status::Internal(msg);
  }
}

Status QuickCheck(SQLite::Database& db) {
  try {
    SQLite::Statement q(db, "PRAGMA quick_check");
    std::string first;
    std::string all;
    while (q.executeStep()) {
      std::string line = q.getColumn(0).getString();
      if (first.empty()) first = line;
      if (!all.empty()) all += "; ";
      all += line;
    }
    if (first != "ok") return Status::Corruption("quick_check failed: " + all);
    return Status::OK();
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "quick_check", false);
  }
}

}  // namespace kinema
