// Schema migrations: numbered .sql files from migrations/, embedded at build
// time, applied in order, each in its own BEGIN IMMEDIATE transaction and
// recorded in `schema_migrations` (and PRAGMA user_version).
//
// Invariants:
//   - Versions are strictly increasing and never edited once released.
//   - A journal whose version is newer than the newest migration this binary
//     knows is refused (FailedPrecondition with a clear message); the file is
//     left untouched.
//   - A file that is not empty and is not a Kinema journal (wrong
//     application_id) is refused with InvalidArgument.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <string>
#include <vector>

#include "engine/common/status.h"

namespace kinema {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// All migrations compiled into this binary, ascending by version.
const std::vector<Migration>& BuiltinMigrations();
int LatestSchemaVersion();

// The schema version recorded in the file (0 for an empty database).
StatusOr<int> ReadSchemaVersion(SQLite::Database& db);

// Checks that `db` is a Kinema journal this binary can read: application_id
// matches and the version is not newer than `known_latest`.
Status CheckJournalIdentity(SQLite::Database& db, const std::string& path, int known_latest);

// Applies every migration in `migrations` newer than the file's version.
// Used with BuiltinMigrations() in production and with prefixes of it in the
// upgrade tests.
Status ApplyMigrations(SQLite::Database& db, const std::string& path, const std::vector<Migration>& migrations);

}  // namespace kinema
