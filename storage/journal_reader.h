// JournalReader: read-only access for kinemactl and tests.
//
// Contract:
//   - Opens the file with SQLITE_OPEN_READONLY: never creates, migrates or
//     writes it, and never blocks the writer (WAL readers take no write
//     locks). Each call reads one consistent snapshot (one read transaction).
//   - Open() refuses a file that is not a Kinema journal (InvalidArgument),
//     a missing file (NotFound) and a newer schema (FailedPrecondition).
// Thread-safety: one thread at a time.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "storage/event.h"
#include "storage/workflow_view.h"

namespace SQLite {
class Database;
}

namespace kinema {

struct ListFilter {
  std::optional<WorkflowStatus> status;  // nullopt: any
  std::string type;    // empty: any
};

struct VerifyCheck {
  std::string name;
  bool ok = true;
  std::string detail;
};

class JournalReader {
 public:
  static StatusOr<std::unique_ptr<JournalReader>> Open(const std::string& path);
  ~JournalReader();

  StatusOr<std::vector<WorkflowSummary>> List(const ListFilter& filter);
  // Derived view of one workflow (NotFound if unknown).
  StatusOr<WorkflowView> Get(const std::string& workflow_id);
  StatusOr<std::vector<Event>> Events(const std::string& workflow_id);
  // The full fold of one workflow's events (intent inputs, holds, requests
  // included — what the engine sees), for explanations.
  StatusOr<WorkflowView> Fold(const std::string& workflow_id);
  // Integrity + journal invariants (see verify.cc for the list).
  StatusOr<std::vector<VerifyCheck>> Verify();
  // A consistent, compacted copy of the whole journal at `target` (SQLite
  // VACUUM INTO, from this read-only connection: safe while the controller
  // writes). Refuses an existing target (AlreadyExists).
  Status BackupTo(const std::string& target);

 private:
  JournalReader() = default;
  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
};

}  // namespace kinema
