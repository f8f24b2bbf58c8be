// SQLite connection setup and error policy for the journal.
//
// Contract:
//   - OpenWriterConnection: WAL, synchronous=FULL, foreign_keys=ON,
//     busy_timeout, journal_size_limit; creates the file if absent.
//   - OpenReadOnlyConnection: SQLITE_OPEN_READONLY; never creates or writes
//     the file (WAL readers do not block the writer).
//   - Storage failures are fatal: an I/O error, a full disk, a failed fsync
//     or corruption seen while *writing* terminates the process
//     (FatalStorageFailure) — never retried, because after a failed fsync
//     Linux may have dropped the dirty pages and a retry would "succeed"
//     without the data (see research/durable.md §4).
// Thread-safety: a connection is used by one thread at a time (callers hold
// their own mutex).
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "engine/common/status.h"

namespace kinema {

// 'KNMA': marks a file as a Kinema journal (PRAGMA application_id).
constexpr int kJournalApplicationId = 0x4B4E4D41;

// `vfs`: SQLite VFS name, empty for the default (tests inject faults with a
// wrapping VFS).
StatusOr<std::unique_ptr<SQLite::Database>> OpenWriterConnection(const std::string& path, int busy_timeout_ms,
                                                                 const std::string& vfs = "");
StatusOr<std::unique_ptr<SQLite::Database>> OpenReadOnlyConnection(const std::string& path, int busy_timeout_ms);

// True for SQLite result codes that mean the storage itself failed.
bool IsFatalStorageError(int sqlite_extended_code);

// Logs at critical level and terminates the process with exit code 74
// (EX_IOERR). Never returns.
[[noreturn]] void FatalStorageFailure(const std::string& what);

// Thrown by the journal's row readers for a row SQLite accepted but the
// journal cannot mean (a status word no version ever wrote): the file is
// damaged or hostile. StatusFromSqlite turns it into Corruption.
class CorruptRow : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Converts an exception thrown by SQLiteCpp into a Status with context. When
// `writing` is true and the error is a storage failure, it does not return:
// the process stops (see contract above).
Status StatusFromSqlite(const std::exception& e, const std::string& context, bool writing);

// Runs PRAGMA quick_check; Corruption unless it answers "ok".
Status QuickCheck(SQLite::Database& db);

}  // namespace kinema
