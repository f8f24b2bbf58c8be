// Fuzz target: journal rows as kinemactl reads them. Each input is a small
// journal, one row per line, fields separated by '|':
//   E|kind|step_index|step_name|epoch|attempt|at_ms|detail        (events)
//   W|status|input|last_error|pause_reason|outcome|created|updated (workflows)
//   S|step_index|name|status|attempts|error|result                  (steps)
// (all for workflow "w"; any byte may appear, including invalid UTF-8). The
// rows are written into a real journal file (the append-only triggers and
// CHECK constraints dropped, as a damaged or hostile file would be), which is
// then read with the same code kinemactl runs: JournalReader (List, Get,
// Events, Verify) and the JSON and text renderings of `list`, `show`,
// `events`, `verify`.
#include <SQLiteCpp/SQLiteCpp.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/safe_json.h"
#include "storage/journal_reader.h"
#include "storage/journal_writer.h"
#include "tools/kinemactl/output.h"

using namespace kinema;

namespace {

struct Journal {
  std::string dir, path;
  std::unique_ptr<SQLite::Database> db;
  Journal() {
    // tmpfs when there is one: the target exercises parsing, not the disk.
    const std::filesystem::path base =
        std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    dir = (base / ("kinema-fuzz-journal-" + std::to_string(::getpid()))).string();
    std::filesystem::create_directories(dir);
    path = dir + "/j.db";
    {
      auto w = JournalWriter::Open(path, {});
      if (!w.ok()) std::abort();
    }
    db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE);
    db->exec("DROP TRIGGER IF EXISTS events_no_update");
    db->exec("DROP TRIGGER IF EXISTS events_no_delete");
    db->exec("PRAGMA foreign_keys=OFF");
    // Nor its CHECK constraints: status words no Kinema wrote reach the reader.
    db->exec("PRAGMA ignore_check_constraints=ON");
    db->exec("PRAGMA synchronous=OFF");
  }
  ~Journal() {
    db.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

int64_t Int(std::string_view s) {
  // Saturating decimal: any text is some integer.
  bool neg = !s.empty() && s[0] == '-';
  int64_t v = 0;
  for (char c : s.substr(neg ? 1 : 0)) {
    if (c < '0' || c > '9') break;
    if (v > (INT64_MAX - 9) / 10) return neg ? INT64_MIN : INT64_MAX;
    v = v * 10 + (c - '0');
  }
  return neg ? -v : v;
}

std::string Field(const std::vector<std::string_view>& f, size_t i) { return i < f.size() ? std::string(f[i]) : ""; }

void Load(SQLite::Database& db, std::string_view input) {
  db.exec("BEGIN");
  db.exec("DELETE FROM events; DELETE FROM steps; DELETE FROM timers; DELETE FROM workflows;");
  int lines = 0;
  for (std::string_view line : Split(input, '\n')) {
    if (++lines > 64 || line.size() < 2) continue;
    auto f = Split(line, '|');
    if (f[0] == "E") {
      SQLite::Statement q(db, "INSERT INTO events(workflow_id, at_ms, kind, step_index, step_name, epoch, attempt, detail)"
                              " VALUES ('w', ?, ?, ?, ?, ?, ?, ?)");
      q.bind(1, static_cast<int64_t>(Int(Field(f, 6))));
      q.bind(2, Field(f, 1));
      if (Field(f, 2).empty()) q.bind(3); else q.bind(3, static_cast<int64_t>(Int(Field(f, 2))));
      q.bind(4, Field(f, 3));
      q.bind(5, static_cast<int64_t>(Int(Field(f, 4))));
      q.bind(6, static_cast<int64_t>(Int(Field(f, 5))));
      q.bind(7, Field(f, 7));
      q.exec();
    } else if (f[0] == "W") {
      SQLite::Statement q(db, "INSERT OR REPLACE INTO workflows(id, type, status, created_ms, updated_ms, input, last_error,"
                              " pause_reason, abort_requested, terminated, last_seq, outcome)"
                              " VALUES ('w', 't', ?, ?, ?, ?, ?, ?, 0, 0, 0, ?)");
      q.bind(1, Field(f, 1));
      q.bind(2, static_cast<int64_t>(Int(Field(f, 6))));
      q.bind(3, static_cast<int64_t>(Int(Field(f, 7))));
      q.bind(4, Field(f, 2));
      q.bind(5, Field(f, 3));
      q.bind(6, Field(f, 4));
      q.bind(7, Field(f, 5));
      q.exec();
    } else if (f[0] == "S") {
      SQLite::Statement q(db, "INSERT OR REPLACE INTO steps(workflow_id, step_index, name, status, attempts, error, result)"
                              " VALUES ('w', ?, ?, ?, ?, ?, ?)");
      q.bind(1, static_cast<int64_t>(Int(Field(f, 1))));
      q.bind(2, Field(f, 2));
      q.bind(3, Field(f, 3));
      q.bind(4, static_cast<int64_t>(Int(Field(f, 4))));
      q.bind(5, Field(f, 5));
      if (Field(f, 6).empty()) q.bind(6); else q.bind(6, Field(f, 6));
      q.exec();
    }
  }
  db.exec("COMMIT");
}

void MustDump(const nlohmann::json& j) {
  if (safe_json::Parse(safe_json::Dump(j, 2)).is_discarded()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Journal journal;
  try {
    Load(*journal.db, std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const SQLite::Exception&) {
    try {
      journal.db->exec("ROLLBACK");
    } catch (...) {
    }
    return 0;  // a row the schema refuses (constraints): not a journal kinemactl can be given
  }
  auto r = JournalReader::Open(journal.path);
  if (!r.ok()) return 0;
  auto list = (*r)->List({});
  if (list.ok()) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& s : *list) a.push_back(ctl::SummaryJson(s));
    MustDump(a);
  }
  auto v = (*r)->Get("w");
  auto ev = (*r)->Events("w");
  if (v.ok() && ev.ok()) {
    MustDump(ctl::ShowJson(*v, *ev));
    (void)ctl::ShowText(*v, *ev, false, 1700000000000);
    nlohmann::json a = nlohmann::json::array();
    for (const auto& e : *ev) a.push_back(ctl::EventJson(e));
    MustDump(a);
  }
  auto checks = (*r)->Verify();
  if (checks.ok()) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& c : *checks) a.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
    MustDump(a);
  }
  return 0;
}
