// kinemactl as a real process against real journals written by a real
// controller process (kinema-sample).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>

#include "storage/file_lock.h"
#include "tests/support/test_support.h"

namespace kinema {
namespace {

using kinema::testing::BinPath;
using kinema::testing::ProcessResult;
using kinema::testing::ReadFile;
using kinema::testing::RunProcess;
using kinema::testing::StartProcess;
using kinema::testing::TempDir;
using kinema::testing::WaitForFile;
using kinema::testing::WaitProcess;

class KinemactlTest : public ::testing::Test {
 protected:
  std::string Db() const { return dir_.File("j.db"); }
  ProcessResult Ctl(std::vector<std::string> args) {
    std::vector<std::string> a = {BinPath("kinemactl"), "--db", Db()};
    a.insert(a.end(), args.begin(), args.end());
    return RunProcess(a);
  }
  void RunSample(int workflows, std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {BinPath("kinema-sample"), "--db", Db(), "--ledger", dir_.File("ledger"),
                                  "--workflows", std::to_string(workflows), "--settle-ms", "1", "--log-level", "warn"};
    a.insert(a.end(), extra.begin(), extra.end());
    auto r = RunProcess(a);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  nlohmann::json Json(const ProcessResult& r) {
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }
  TempDir dir_;
};

const std::regex kRfc3339(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z)");

TEST_F(KinemactlTest, ListJsonHasTheContractFields) {
  RunSample(2);
  auto r = Ctl({"--json", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = Json(r);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  for (const auto& w : j) {
    for (const char* k : {"id", "type", "status", "createdAt", "updatedAt", "currentStep"}) {
      EXPECT_TRUE(w.contains(k)) << k;
    }
    EXPECT_EQ(w["status"], "completed");
    EXPECT_TRUE(std::regex_match(w["createdAt"].get<std::string>(), kRfc3339));
  }
  auto filtered = Json(Ctl({"--json", "list", "--status", "paused"}));
  EXPECT_TRUE(filtered.empty());
  auto by_type = Json(Ctl({"list", "--json", "--type", "ledger-demo"}));
  EXPECT_EQ(by_type.size(), 2u);
}

TEST_F(KinemactlTest, BackupIsAConsistentJournalThatVerifiesAndListsTheSame) {
  RunSample(3);
  auto b = Ctl({"backup", dir_.File("backup.db")});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  auto orig = Json(Ctl({"--json", "list"}));
  auto copy = Json(RunProcess({BinPath("kinemactl"), "--db", dir_.File("backup.db"), "--json", "list"}));
  EXPECT_EQ(orig, copy);
  EXPECT_EQ(RunProcess({BinPath("kinemactl"), "--db", dir_.File("backup.db"), "verify"}).exit_code, 0);
  auto again = Ctl({"backup", dir_.File("backup.db")});
  EXPECT_EQ(again.exit_code, 1) << "an existing target is refused";
  EXPECT_NE(again.err.find("exists"), std::string::npos) << again.err;
}

TEST_F(KinemactlTest, ShowJsonHasStepsAndEvents) {
  RunSample(1, {"--flaky"});
  auto r = Ctl({"--json", "show", "sample-0001"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = Json(r);
  EXPECT_EQ(j["id"], "sample-0001");
  EXPECT_EQ(j["type"], "ledger-demo");
  EXPECT_EQ(j["status"], "completed");
  ASSERT_EQ(j["steps"].size(), 4u);
  const auto& apply = j["steps"][2];
  EXPECT_EQ(apply["name"], "apply");
  EXPECT_EQ(apply["status"], "succeeded");
  EXPECT_EQ(apply["attempts"], 2);
  EXPECT_TRUE(std::regex_match(apply["startedAt"].get<std::string>(), kRfc3339));
  EXPECT_TRUE(apply.contains("error"));
  ASSERT_GT(j["events"].size(), 8u);
  const auto& e = j["events"][0];
  for (const char* k : {"seq", "at", "kind", "step", "detail"}) EXPECT_TRUE(e.contains(k)) << k;
  EXPECT_EQ(e["kind"], "workflow_started");
  bool saw_failure = false;
  for (const auto& ev : j["events"]) saw_failure |= ev["kind"] == "step_failed";
  EXPECT_TRUE(saw_failure);
}

// A damaged or hostile journal file: invalid UTF-8 in text columns, a
// detail that is JSON but not an object, a step index of two billion, times
// at INT64_MIN. Every read command answers (valid JSON with --json) and
// verify reports the damage; none aborts.
TEST_F(KinemactlTest, DamagedJournalRowsGiveOutputAndAVerdictNeverACrash) {
  RunSample(1, {"--flaky"});
  {
    SQLite::Database db(Db(), SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER events_no_update");
    db.exec("UPDATE events SET step_name = CAST(X'6170FF6C79' AS TEXT) WHERE kind = 'step_failed'");
    db.exec("UPDATE steps SET error = CAST(X'62616420C3' AS TEXT), step_index = step_index + 1000 WHERE step_index = 2");
    db.exec("UPDATE workflows SET last_error = CAST(X'E282' AS TEXT), pause_reason = CAST(X'FFFE' AS TEXT)");
    db.exec("UPDATE events SET detail = '[1, 2]' WHERE kind = 'workflow_started'");
    db.exec("UPDATE events SET step_index = 2000000000 WHERE seq = (SELECT max(seq) FROM events WHERE kind = 'step_intent')");
    db.exec("UPDATE events SET at_ms = -9223372036854775808 WHERE seq = 2");
    db.exec("UPDATE events SET detail = '{\"retryAtMs\": \"soon\", \"deadlineMs\": 1e300, \"error\": 5}' WHERE kind = 'step_failed'");
    // Found by fuzz_journal_rows: JSON columns of the derived tables that do
    // not parse were printed as "<discarded>", i.e. invalid JSON.
    db.exec("UPDATE steps SET result = '{\"ok:true}' WHERE step_index = 0");
    db.exec("UPDATE workflows SET input = '{\"x\":'");
  }
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--json", "list"}, {"--json", "show", "sample-0001"}, {"--json", "events", "sample-0001"},
        {"--json", "verify"}}) {
    auto r = Ctl(args);
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << args.back() << ": exit " << r.exit_code << " signal "
                                                       << r.signal << "\n" << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << args.back() << ": " << r.out.substr(0, 2000);
  }
  auto verify = Json(Ctl({"--json", "verify"}));
  EXPECT_EQ(verify["ok"], false) << verify.dump();
  auto exported = Ctl({"export", "sample-0001"});
  EXPECT_EQ(exported.exit_code, 0) << exported.err;
  for (const std::vector<std::string>& args : {std::vector<std::string>{"show", "sample-0001"}, {"list"}, {"verify"},
                                               {"events", "sample-0001"}}) {
    auto r = Ctl(args);
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << args[0] << ": exit " << r.exit_code << "\n" << r.err;
  }
}

TEST_F(KinemactlTest, HumanOutputIsAlignedAndUncolouredWhenNotATerminal) {
  RunSample(2);
  auto r = Ctl({"list"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.find("\033["), std::string::npos);
  auto header_status = r.out.find("STATUS");
  auto line2 = r.out.find('\n') + 1;
  EXPECT_EQ(r.out.substr(line2 + header_status, 9), "completed");
  EXPECT_NE(r.out.find("ago"), std::string::npos);
  auto show = Ctl({"show", "sample-0001"});
  EXPECT_NE(show.out.find("Steps:"), std::string::npos);
  EXPECT_NE(show.out.find("Events:"), std::string::npos);
}

TEST_F(KinemactlTest, ExportWritesOneJsonEventPerLine) {
  RunSample(1);
  auto r = Ctl({"export", "sample-0001"});
  ASSERT_EQ(r.exit_code, 0);
  int lines = 0;
  std::stringstream ss(r.out);
  std::string line;
  int64_t prev = 0;
  while (std::getline(ss, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_GT(j["seq"].get<int64_t>(), prev);
    prev = j["seq"];
    ++lines;
  }
  EXPECT_GT(lines, 8);
}

TEST_F(KinemactlTest, BadInputGetsOneLineAndTheDocumentedExitCode) {
  RunSample(1);
  std::string before = ReadFile(Db());
  auto unknown = Ctl({"show", "no-such-workflow"});
  EXPECT_EQ(unknown.exit_code, 4);
  EXPECT_EQ(std::count(unknown.err.begin(), unknown.err.end(), '\n'), 1) << unknown.err;
  EXPECT_EQ(Ctl({"--no-such-flag", "list"}).exit_code, 2);
  EXPECT_EQ(Ctl({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Ctl({"show"}).exit_code, 2);
  EXPECT_EQ(Ctl({"list", "--status", "sleeping"}).exit_code, 2);
  EXPECT_EQ(Ctl({"abort", "sample-0001"}).exit_code, 2) << "--reason is required";
  EXPECT_EQ(Ctl({"abort", "nope", "--reason", "x"}).exit_code, 4);
  auto refused = Ctl({"--json", "resume", "sample-0001", "--reason", "again"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("completed"), std::string::npos);
  EXPECT_EQ(RunProcess({BinPath("kinemactl"), "--help"}).exit_code, 0);
  EXPECT_EQ(ReadFile(Db()), before) << "refused and bad commands leave the journal untouched";

  // A file that is not a Kinema journal.
  std::string other = dir_.File("notes.txt");
  {
    FILE* f = std::fopen(other.c_str(), "w");
    std::fputs("hello\n", f);
    std::fclose(f);
  }
  auto r = RunProcess({BinPath("kinemactl"), "--db", other, "list"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(ReadFile(other), "hello\n");
  auto missing = RunProcess({BinPath("kinemactl"), "--db", dir_.File("absent.db"), "list"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_FALSE(WaitForFile(dir_.File("absent.db"), 0));
}

TEST_F(KinemactlTest, CommandsApplyDirectlyWhenNoControllerRuns) {
  RunSample(1, {"--flaky"});
  // Make a paused workflow: a new one whose apply step keeps failing is
  // awkward to build from outside, so pause-resume a fresh started one.
  auto start = RunProcess({BinPath("kinema-sample"), "--db", Db(), "--ledger", dir_.File("ledger"), "--workflows",
                           "2", "--crash-at", "after_intent:1", "--log-level", "warn"});
  ASSERT_EQ(start.signal, SIGKILL);
  auto p = Ctl({"--json", "pause", "sample-0002", "--reason", "investigating", "--identity", "alice"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  auto pj = Json(p);
  EXPECT_EQ(pj["accepted"], true);
  EXPECT_EQ(pj["status"], "paused");
  EXPECT_EQ(pj["via"], "direct");
  auto r = Ctl({"--json", "resume", "sample-0002", "--reason", "fixed", "--identity", "alice"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json(r)["status"], "running");
  auto show = Json(Ctl({"--json", "show", "sample-0002"}));
  bool audited = false;
  for (const auto& e : show["events"]) {
    if (e["kind"] == "operator_command" && e["detail"]["command"] == "resume") {
      audited = e["detail"]["identity"] == "alice" && e["detail"]["reason"] == "fixed" && e["detail"]["via"] == "direct";
    }
  }
  EXPECT_TRUE(audited) << show.dump(2);
  RunSample(2);
  EXPECT_EQ(Json(Ctl({"--json", "show", "sample-0002"}))["status"], "completed");
}

TEST_F(KinemactlTest, RefusesToWriteWhenAnotherProcessHoldsTheJournalButNoSocketAnswers) {
  RunSample(1);
  auto p = RunProcess({BinPath("kinema-sample"), "--db", Db(), "--ledger", dir_.File("ledger"), "--workflows", "2",
                       "--crash-at", "after_intent:1", "--log-level", "warn"});
  ASSERT_EQ(p.signal, SIGKILL);
  auto lock = FileLock::TryAcquire(LockPathFor(Db()));  // a writer whose socket is gone
  ASSERT_TRUE(lock.ok());
  std::string before = ReadFile(Db());
  auto r = Ctl({"abort", "sample-0002", "--reason", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("held by another writer"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(Db()), before);
}

TEST_F(KinemactlTest, AbortReachesARunningControllerThroughItsAdminSocketAndSigtermExitsCleanly) {
  pid_t pid = StartProcess({BinPath("kinema-sample"), "--db", Db(), "--ledger", dir_.File("ledger"), "--workflows",
                            "1", "--slow-publish", "--serve", "--log-level", "info"},
                           dir_.File("controller"));
  ASSERT_TRUE(WaitForFile(Db() + ".sock", 5000));
  // Wait until the slow step runs.
  bool publishing = false;
  for (int i = 0; i < 200 && !publishing; ++i) {
    auto j = nlohmann::json::parse(Ctl({"--json", "list"}).out, nullptr, false);
    publishing = j.is_array() && !j.empty() && j[0]["currentStep"] == "publish";
    if (!publishing) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(publishing);
  auto r = Ctl({"--json", "abort", "sample-0001", "--reason", "bad rollout", "--identity", "bob"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = Json(r);
  EXPECT_EQ(j["accepted"], true);
  EXPECT_EQ(j["via"], "admin-socket");
  std::string status;
  for (int i = 0; i < 200 && status != "aborted"; ++i) {
    status = Json(Ctl({"--json", "show", "sample-0001"}))["status"];
    if (status != "aborted") std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(status, "aborted");
  // The audit event records who asked: the claimed identity and the uid/pid
  // the kernel reports for the socket's peer (which the client cannot forge).
  bool audited = false;
  for (const auto& e : Json(Ctl({"--json", "events", "sample-0001"}))) {
    if (e["kind"] != "operator_command") continue;
    audited = true;
    EXPECT_EQ(e["detail"]["identity"], "bob");
    EXPECT_EQ(e["detail"]["peerUid"], static_cast<int64_t>(::geteuid())) << e.dump();
    EXPECT_TRUE(e["detail"].contains("peerPid")) << e.dump();
  }
  EXPECT_TRUE(audited);
  // The controller keeps serving; SIGTERM stops it at a safe point, exit 0.
  auto t0 = std::chrono::steady_clock::now();
  ::kill(pid, SIGTERM);
  EXPECT_EQ(WaitProcess(pid), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_FALSE(WaitForFile(Db() + ".sock", 0)) << "the socket is removed on exit";
  auto v = Ctl({"verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out;
}

TEST_F(KinemactlTest, ConcurrentReadersNeverSeeDatabaseIsLocked) {
  pid_t pid = StartProcess({BinPath("kinema-sample"), "--db", Db(), "--ledger", dir_.File("ledger"), "--workflows",
                            "150", "--settle-ms", "0", "--log-level", "warn"},
                           dir_.File("writer"));
  ASSERT_TRUE(WaitForFile(Db(), 5000));
  // The file exists a moment before its schema does (kinemactl then says "an
  // empty database, not a Kinema journal", rightly): start reading once the
  // journal is one (a loaded machine widened that moment past a fixed 50 ms).
  auto ready_by = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Ctl({"--json", "list"}).exit_code != 0 && std::chrono::steady_clock::now() < ready_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::atomic<bool> writer_done{false};
  std::atomic<int> reads{0}, failures{0};
  std::string first_error;
  std::mutex mu;
  auto reader = [&](int which) {
    while (!writer_done) {
      ProcessResult r = which == 0 ? Ctl({"--json", "list"}) : Ctl({"--json", "show", "sample-0001"});
      if (which == 1 && r.exit_code == 4) continue;  // not started yet
      ++reads;
      if (r.exit_code != 0 || r.err.find("locked") != std::string::npos) {
        ++failures;
        std::lock_guard<std::mutex> l(mu);
        if (first_error.empty()) first_error = r.err;
      }
    }
  };
  std::thread r1(reader, 0), r2(reader, 1);
  EXPECT_EQ(WaitProcess(pid), 0);
  writer_done = true;
  r1.join();
  r2.join();
  EXPECT_GT(reads.load(), 10);
  EXPECT_EQ(failures.load(), 0) << first_error;
  EXPECT_EQ(Ctl({"verify"}).exit_code, 0);
}

}  // namespace
}  // namespace kinema
