#include "storage/migrations.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "storage/sqlite_env.h"

namespace kinema {

int LatestSchemaVersion() {
  const auto& all = BuiltinMigrations();
  return all.empty() ? 0 : all.back().version;
}

StatusOr<int> ReadSchemaVersion(SQLite::Database& db) {
  try {
    return db.execAndGet("PRAGMA user_version").getInt();
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "read schema version", false);
  }
}

Status CheckJournalIdentity(SQLite::Database& db, const std::string& path, int known_latest) {
  try {
    int app_id = db.execAndGet("PRAGMA application_id").getInt();
    int tables = db.execAndGet("SELECT count(*) FROM sqlite_master").getInt();
    if (app_id != kJournalApplicationId) {
      if (app_id == 0 && tables == 0) {
        return Status::NotFound(path + " is an empty database, not a Kinema journal");
      }
      return Status::InvalidArgument(path + " is not a Kinema journal (application_id " + std::to_string(app_id) + ")");
    }
    int version = db.execAndGet("PRAGMA user_version").getInt();
    if (version > known_latest) {
      return Status::FailedPrecondition("journal " + path + " has schema version " + std::to_string(version) +
                                        ", newer than this binary supports (" + std::to_string(known_latest) +
                                        "); upgrade kinema/kinemactl");
    }
    return Status::OK();
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "inspect " + path, false);
  }
}

Status ApplyMigrations(SQLite::Database& db, const std::string& path, const std::vector<Migration>& migrations) {
  int known_latest = migrations.empty() ? 0 : migrations.back().version;
  try {
    int app_id = db.execAndGet("PRAGMA application_id").getInt();
    int tables = db.execAndGet("SELECT count(*) FROM sqlite_master").getInt();
    if (app_id != kJournalApplicationId && !(app_id == 0 && tables == 0)) {
      return Status::InvalidArgument(path + " is not a Kinema journal (application_id " + std::to_string(app_id) +
                                     ", " + std::to_string(tables) + " schema objects); refusing to touch it");
    }
    int current = db.execAndGet("PRAGMA user_version").getInt();
    if (current > known_latest) {
      return Status::FailedPrecondition("journal " + path + " has schema version " + std::to_string(current) +
                                        ", newer than this binary supports (" + std::to_string(known_latest) +
                                        "); upgrade kinema/kinemactl");
    }
    for (const Migration& m : migrations) {
      if (m.version <= current) continue;
      db.exec("BEGIN IMMEDIATE");
      try {
        if (current == 0) {
          db.exec("PRAGMA application_id=" + std::to_string(kJournalApplicationId));
          db.exec(
              "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
              "applied_ms INTEGER NOT NULL)");
        }
        db.exec(m.sql);
        SQLite::Statement ins(db, "INSERT INTO schema_migrations(version, name, applied_ms) VALUES (?, ?, ?)");
        ins.bind(1, m.version);
        ins.bind(2, m.name);
        ins.bind(3, static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count()));
        ins.exec();
        db.exec("PRAGMA user_version=" + std::to_string(m.version));
        db.exec("COMMIT");
      } catch (...) {
        try {
          db.exec("ROLLBACK");
        } catch (...) {
        }
        throw;
      }
      spdlog::info("journal {}: applied migration {} ({})", path, m.version, m.name);
      current = m.version;
    }
    return Status::OK();
  } catch (const std::exception& e) {
    return StatusFromSqlite(e, "migrate journal " + path, true);
  }
}

}  // namespace kinema
