// Journal behaviour: migrations, identity checks, append-only events,
// derived tables, fencing and verification.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "engine/common/logging.h"
#include "storage/journal_reader.h"
#include "storage/journal_writer.h"
#include "storage/migrations.h"
#include "storage/sqlite_env.h"
#include "tests/storage/faulty_vfs.h"
#include "tests/support/test_support.h"

namespace kinema {
namespace {

using kinema::testing::TempDir;

Event Ev(const char* kind, int step = -1, const std::string& name = "", int attempt = 0,
         nlohmann::json detail = nlohmann::json::object()) {
  Event e;
  e.kind = kind;
  e.step_index = step;
  e.step_name = name;
  e.attempt = attempt;
  e.detail = std::move(detail);
  return e;
}

void StartTwoStepWorkflow(JournalWriter* w, const std::string& id, int64_t epoch = 1) {
  auto v = w->Append(id, {Ev(event_kind::kWorkflowStarted, -1, "", 0,
                             {{"type", "t"}, {"input", {{"x", 1}}}, {"steps", {"a", "b"}}})},
                     epoch);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
}

TEST(Journal, AllMigrationsApplyToAnEmptyFile) {
  TempDir d;
  auto w = JournalWriter::Open(d.File("j.db"), {});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  w->reset();
  SQLite::Database db(d.File("j.db"));
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), LatestSchemaVersion());
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM schema_migrations").getInt(),
            static_cast<int>(BuiltinMigrations().size()));
  EXPECT_EQ(db.execAndGet("PRAGMA application_id").getInt(), kJournalApplicationId);
  EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "wal");
}

TEST(Journal, UpgradesAJournalMadeByAnEarlierBinary) {
  TempDir d;
  std::vector<Migration> first(BuiltinMigrations().begin(), BuiltinMigrations().begin() + 1);
  {
    // What a binary that knew only migration 1 left behind: its schema, its
    // events and its derived rows (no outcome column, no fence, no timers).
    SQLite::Database db(d.File("j.db"), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ASSERT_TRUE(ApplyMigrations(db, d.File("j.db"), first).ok());
    db.exec(R"(INSERT INTO events(workflow_id, at_ms, kind, step_index, step_name, epoch, attempt, detail) VALUES
      ('old-1', 1000, 'workflow_started', NULL, NULL, 0, 0, '{"type":"t","input":{},"steps":["a","b"]}'),
      ('old-1', 1001, 'step_intent', 0, 'a', 0, 1, '{"idempotencyKey":"old-1/0/a"}'),
      ('old-2', 1002, 'workflow_started', NULL, NULL, 0, 0, '{"type":"t","input":{},"steps":["a"]}'),
      ('old-2', 1003, 'step_intent', 0, 'a', 0, 1, '{"idempotencyKey":"old-2/0/a"}'),
      ('old-2', 1004, 'step_result', 0, 'a', 0, 1, '{"result":1}'),
      ('old-2', 1005, 'completed', NULL, NULL, 0, 0, '{}'))");
    db.exec(R"(INSERT INTO workflows(id, type, status, created_ms, updated_ms, current_step, current_step_index,
      input, abort_requested, terminated, last_seq) VALUES
      ('old-1', 't', 'running', 1000, 1001, 'a', 0, '{}', 0, 0, 2),
      ('old-2', 't', 'completed', 1002, 1005, NULL, NULL, '{}', 0, 0, 6))");
    EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), 1);
  }
  auto w = JournalWriter::Open(d.File("j.db"), {});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  auto v = (*w)->View("old-1");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->steps[0].status, StepStatus::kRunning);
  EXPECT_TRUE(v->steps[0].has_open_intent);
  auto after = (*w)->Append("old-1", {Ev(event_kind::kStepResult, 0, "a", 1, {{"result", 7}})}, 1);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  w->reset();
  {
    SQLite::Database db(d.File("j.db"));
    EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), LatestSchemaVersion());
    EXPECT_EQ(db.execAndGet("SELECT count(*) FROM steps").getInt(), 3) << "derived rows rebuilt from events";
  }
  auto r = JournalReader::Open(d.File("j.db"));
  ASSERT_TRUE(r.ok());
  auto checks = (*r)->Verify();
  ASSERT_TRUE(checks.ok());
  for (const auto& c : *checks) EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
}

TEST(Journal, RefusesAJournalWithANewerSchemaAndLeavesItUntouched) {
  TempDir d;
  { ASSERT_TRUE(JournalWriter::Open(d.File("j.db"), {}).ok()); }
  {
    SQLite::Database db(d.File("j.db"), SQLite::OPEN_READWRITE);
    db.exec("PRAGMA user_version=99");
  }
  std::string before = kinema::testing::ReadFile(d.File("j.db"));
  auto w = JournalWriter::Open(d.File("j.db"), {});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(w.status().message().find("newer than this binary supports"), std::string::npos) << w.status().message();
  auto r = JournalReader::Open(d.File("j.db"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(kinema::testing::ReadFile(d.File("j.db")), before);
}

TEST(Journal, RefusesAFileThatIsNotAKinemaJournal) {
  TempDir d;
  {
    SQLite::Database db(d.File("other.db"), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE customers(id INTEGER)");
  }
  auto w = JournalWriter::Open(d.File("other.db"), {});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Status::Code::kInvalidArgument);
  SQLite::Database db(d.File("other.db"));
  EXPECT_FALSE(db.tableExists("events"));
}

TEST(Journal, OnlyOneWriterAtATime) {
  TempDir d;
  auto w1 = JournalWriter::Open(d.File("j.db"), {});
  ASSERT_TRUE(w1.ok());
  auto w2 = JournalWriter::Open(d.File("j.db"), {});
  ASSERT_FALSE(w2.ok());
  EXPECT_EQ(w2.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(w2.status().message().find("held by another writer"), std::string::npos);
  w1->reset();
  EXPECT_TRUE(JournalWriter::Open(d.File("j.db"), {}).ok());
}

TEST(Journal, EventsAreAppendOnly) {
  TempDir d;
  {
    auto w = JournalWriter::Open(d.File("j.db"), {});
    ASSERT_TRUE(w.ok());
    StartTwoStepWorkflow(w->get(), "wf");
  }
  SQLite::Database db(d.File("j.db"), SQLite::OPEN_READWRITE);
  EXPECT_THROW(db.exec("UPDATE events SET kind='completed'"), SQLite::Exception);
  EXPECT_THROW(db.exec("DELETE FROM events"), SQLite::Exception);
}

TEST(Journal, IllegalEventSequencesAreRefusedAndNothingIsWritten) {
  TempDir d;
  auto w = JournalWriter::Open(d.File("j.db"), {});
  ASSERT_TRUE(w.ok());
  StartTwoStepWorkflow(w->get(), "wf");
  auto r = (*w)->Append("wf", {Ev(event_kind::kStepResult, 0, "a", 1, {{"result", 1}})}, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kFailedPrecondition);
  auto v = (*w)->View("wf");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->last_seq, 1);
  auto bad = (*w)->Append("never-started", {Ev(event_kind::kCompleted)}, 1);
  EXPECT_FALSE(bad.ok());
}

TEST(Journal, DerivedTablesFollowEventsInTheSameTransaction) {
  TempDir d;
  auto w = JournalWriter::Open(d.File("j.db"), {});
  ASSERT_TRUE(w.ok());
  StartTwoStepWorkflow(w->get(), "wf");
  ASSERT_TRUE((*w)->Append("wf", {Ev(event_kind::kStepIntent, 0, "a", 1, {{"idempotencyKey", "wf/0/a"}})}, 1).ok());
  ASSERT_TRUE((*w)->Append("wf", {Ev(event_kind::kStepResult, 0, "a", 1, {{"result", {{"n", 3}}}})}, 1).ok());
  auto r = JournalReader::Open(d.File("j.db"));
  ASSERT_TRUE(r.ok());
  auto v = (*r)->Get("wf");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, WorkflowStatus::kRunning);
  ASSERT_EQ(v->steps.size(), 2u);
  EXPECT_EQ(v->steps[0].status, StepStatus::kSucceeded);
  EXPECT_EQ(v->steps[0].result["n"], 3);
  EXPECT_EQ(v->steps[1].status, StepStatus::kPending);
  EXPECT_EQ(v->CurrentStepName(), "b");
  auto list = (*r)->List({WorkflowStatus::kRunning, ""});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].current_step, "b");
}

TEST(Statuses, JournalTextMapsToOneEnumEachWayAndUnknownTextIsAnError) {
  for (WorkflowStatus st : {WorkflowStatus::kRunning, WorkflowStatus::kPaused, WorkflowStatus::kCompleted,
                            WorkflowStatus::kAborted, WorkflowStatus::kFailed}) {
    auto back = ParseWorkflowStatus(WorkflowStatusName(st));
    ASSERT_TRUE(back.ok()) << WorkflowStatusName(st);
    EXPECT_EQ(*back, st);
  }
  for (StepStatus st : {StepStatus::kPending, StepStatus::kRunning, StepStatus::kSucceeded, StepStatus::kFailed,
                        StepStatus::kCompensated, StepStatus::kSkipped}) {
    auto back = ParseStepStatus(StepStatusName(st));
    ASSERT_TRUE(back.ok()) << StepStatusName(st);
    EXPECT_EQ(*back, st);
  }
  EXPECT_EQ(std::string(WorkflowStatusName(WorkflowStatus::kCompleted)), "completed");
  EXPECT_EQ(nlohmann::json(StepStatus::kSucceeded), "succeeded") << "JSON carries the text, not a number";
  for (const char* bad : {"", "Running", "not started", "succeeded", "running\n", "\xff\xfe"}) {
    auto w = ParseWorkflowStatus(bad);
    EXPECT_EQ(w.status().code(), Status::Code::kInvalidArgument) << bad;
  }
  auto s = ParseStepStatus("done");
  EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.status().message().find("'done'"), std::string::npos) << s.status().message();
}

// A hostile or damaged file without the schema's CHECK constraints may hold a
// status word no Kinema ever wrote: kinemactl gets Corruption naming the row,
// and verify reports it, instead of a crash or a made-up status.
TEST(Journal, UnknownStatusInADerivedRowIsCorruptionNamingTheRow) {
  TempDir d;
  {
    auto w = JournalWriter::Open(d.File("j.db"), {});
    ASSERT_TRUE(w.ok());
    StartTwoStepWorkflow(w->get(), "wf");
  }
  {
    SQLite::Database db(d.File("j.db"), SQLite::OPEN_READWRITE);
    db.exec("PRAGMA ignore_check_constraints=ON");
    db.exec("UPDATE steps SET status='exploded' WHERE workflow_id='wf' AND step_index=1");
  }
  auto r = JournalReader::Open(d.File("j.db"));
  ASSERT_TRUE(r.ok());
  auto v = (*r)->Get("wf");
  ASSERT_EQ(v.status().code(), Status::Code::kCorruption) << v.status().ToString();
  EXPECT_NE(v.status().message().find("steps row wf/1"), std::string::npos) << v.status().message();
  EXPECT_NE(v.status().message().find("'exploded'"), std::string::npos) << v.status().message();
  auto checks = (*r)->Verify();
  ASSERT_TRUE(checks.ok()) << checks.status().ToString();
  bool derived_failed = false;
  for (const auto& c : *checks) {
    if (c.name == "derived_tables") derived_failed = !c.ok && c.detail.find("exploded") != std::string::npos;
  }
  EXPECT_TRUE(derived_failed);
  {
    SQLite::Database db(d.File("j.db"), SQLite::OPEN_READWRITE);
    db.exec("PRAGMA ignore_check_constraints=ON");
    db.exec("UPDATE workflows SET status='zombie' WHERE id='wf'");
  }
  auto list = (*r)->List({});
  ASSERT_EQ(list.status().code(), Status::Code::kCorruption) << list.status().ToString();
  EXPECT_NE(list.status().message().find("workflows row wf"), std::string::npos) << list.status().message();
}

TEST(Journal, VerifyDetectsDerivedRowsThatDisagreeWithEvents) {
  TempDir d;
  {
    auto w = JournalWriter::Open(d.File("j.db"), {});
    ASSERT_TRUE(w.ok());
    StartTwoStepWorkflow(w->get(), "wf");
  }
  {
    SQLite::Database db(d.File("j.db"), SQLite::OPEN_READWRITE);
    db.exec("UPDATE workflows SET status='completed' WHERE id='wf'");
  }
  {
    auto r = JournalReader::Open(d.File("j.db"));
    ASSERT_TRUE(r.ok());
    auto checks = (*r)->Verify();
    ASSERT_TRUE(checks.ok());
    bool derived_failed = false;
    for (const auto& c : *checks) {
      if (c.name == "derived_tables") {
        derived_failed = !c.ok;
        EXPECT_NE(c.detail.find("status"), std::string::npos) << c.detail;
      }
    }
    EXPECT_TRUE(derived_failed);
  }
  // The derived tables can be rebuilt from the events alone.
  auto w = JournalWriter::Open(d.File("j.db"), {});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->RebuildDerived().ok());
  w->reset();
  auto r = JournalReader::Open(d.File("j.db"));
  auto checks = (*r)->Verify();
  for (const auto& c : *checks) EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
}

TEST(Journal, AWriterWithAnOlderEpochIsFencedOut) {
  TempDir d;
  auto w = JournalWriter::Open(d.File("j.db"), {});
  ASSERT_TRUE(w.ok());
  StartTwoStepWorkflow(w->get(), "wf", 5);
  auto stale = (*w)->Append("wf", {Ev(event_kind::kStepIntent, 0, "a", 1, {{"idempotencyKey", "k"}})}, 4);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), Status::Code::kPermissionDenied);
  EXPECT_EQ((*w)->FenceEpoch(), 5);
  w->reset();
  auto again = JournalWriter::Open(d.File("j.db"), {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->FenceEpoch(), 5);  // the fence is durable
}

TEST(Journal, JournalWalLockAndBackupFilesAreOwnerOnly) {
  TempDir d;
  const mode_t old_mask = ::umask(0022);  // what a container usually runs with
  {
    // A journal left 0644 by an older binary is narrowed on open.
    { SQLite::Database pre(d.File("old.db"), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE); }
    ::chmod(d.File("old.db").c_str(), 0644);
    auto old = JournalWriter::Open(d.File("old.db"), {});
    ASSERT_TRUE(old.ok()) << old.status().ToString();
  }
  auto w = JournalWriter::Open(d.File("j.db"), {});
  ::umask(old_mask);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  StartTwoStepWorkflow(w->get(), "wf");
  auto mode = [&](const std::string& f) {
    struct stat st {};
    EXPECT_EQ(::stat(d.File(f).c_str(), &st), 0) << f;
    return st.st_mode & 0777;
  };
  EXPECT_EQ(mode("j.db"), 0600u);
  EXPECT_EQ(mode("j.db-wal"), 0600u);
  EXPECT_EQ(mode("j.db-shm"), 0600u);
  EXPECT_EQ(mode("j.db.lock"), 0600u);
  EXPECT_EQ(mode("old.db"), 0600u);
  auto r = JournalReader::Open(d.File("j.db"));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE((*r)->BackupTo(d.File("backup.db")).ok());
  EXPECT_EQ(mode("backup.db"), 0600u);
}

TEST(Journal, AStepIndexReadFromTheFileIsBoundedNotAllocated) {
  // A damaged or hostile row naming step 2e9 used to grow the view to two
  // billion steps; it is refused as an illegal event.
  WorkflowView v;
  Event start = Ev(event_kind::kWorkflowStarted, -1, "", 0, {{"type", "t"}, {"steps", {"a"}}});
  ASSERT_TRUE(ApplyEvent(&v, start).ok());
  for (int index : {2000000000, kMaxWorkflowSteps, -7}) {
    Status s = ApplyEvent(&v, Ev(event_kind::kStepIntent, index, "x", 1));
    if (index < 0) continue;  // a negative index is "no step": also refused
    EXPECT_FALSE(s.ok()) << index;
    EXPECT_NE(s.message().find("bad step index"), std::string::npos) << s.message();
  }
  EXPECT_EQ(v.steps.size(), 1u);
  // Details of the wrong JSON type never throw.
  EXPECT_TRUE(ApplyEvent(&v, Ev(event_kind::kTimerSet, 0, "a", 1, nlohmann::json::array({1, 2}))).ok());
  EXPECT_TRUE(ApplyEvent(&v, Ev(event_kind::kStepIntent, 0, "a", 1, {{"input", 1}, {"idempotencyKey", 5}})).ok());
  EXPECT_TRUE(ApplyEvent(&v, Ev(event_kind::kStepFailed, 0, "a", 1, {{"retryAtMs", "soon"}, {"error", {}}})).ok());
  WorkflowView w;
  Event many = Ev(event_kind::kWorkflowStarted, -1, "", 0,
                  {{"type", "t"}, {"steps", nlohmann::json::array()}, {"input", "not an object"}});
  for (int i = 0; i < kMaxWorkflowSteps + 1; ++i) many.detail["steps"].push_back("s");
  EXPECT_FALSE(ApplyEvent(&w, many).ok());
}

TEST(Journal, ReadOnlyOpenNeverCreatesAFile) {
  TempDir d;
  auto r = JournalReader::Open(d.File("missing.db"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(kinema::testing::WaitForFile(d.File("missing.db"), 0));
}

}  // namespace
}  // namespace kinema

namespace kinema {
namespace {

class StorageFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::testing::FLAGS_gtest_death_test_style = "fast";  // fork: the child shares the TempDir
    kinema::testing::RegisterFaultyVfs();
  }
};

void AppendUntilDeath(const std::string& path, std::atomic<bool>* fault) {
  SetupLogging("text", "info");  // to stderr, where the death test looks
  JournalWriterOptions o;
  o.vfs = kinema::testing::kFaultyVfsName;
  auto w = JournalWriter::Open(path, o);
  if (!w.ok()) std::_Exit(3);
  StartTwoStepWorkflow(w->get(), "wf");
  *fault = true;
  auto r = (*w)->Append("wf", {Ev(event_kind::kStepIntent, 0, "a", 1, {{"idempotencyKey", "wf/0/a"}})}, 1);
  // Reaching this line means the failure was swallowed or retried.
  std::_Exit(r.ok() ? 10 : 11);
}

TEST_F(StorageFailureTest, AFailedFsyncStopsTheProcessInsteadOfRetrying) {
  TempDir d;
  EXPECT_EXIT(AppendUntilDeath(d.File("j.db"), &kinema::testing::g_fail_sync), ::testing::ExitedWithCode(74),
              "journal storage failure");
  // Nothing was acknowledged, and the journal is intact for the next writer.
  kinema::testing::g_fail_sync = false;
  auto r = JournalReader::Open(d.File("j.db"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto checks = (*r)->Verify();
  ASSERT_TRUE(checks.ok());
  for (const auto& c : *checks) EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
}

TEST_F(StorageFailureTest, AWriteErrorStopsTheProcess) {
  TempDir d;
  EXPECT_EXIT(AppendUntilDeath(d.File("j.db"), &kinema::testing::g_fail_write), ::testing::ExitedWithCode(74),
              "journal storage failure");
}

}  // namespace
}  // namespace kinema
