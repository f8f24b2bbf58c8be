// Journal retention: workflows that ended without any effect are pruned
// after journal.retention; every workflow with an effect is kept; verify
// still passes; concurrent appends share transactions (group commit).
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "storage/journal_reader.h"
#include "storage/journal_writer.h"
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

// A one-step workflow that completes at `at_ms`; its step is journal-only
// or not, and it may claim a disruption.
void Completed(JournalWriter* w, const std::string& id, int64_t at_ms, bool journal_only, bool claim = false) {
  std::vector<Event> ev;
  ev.push_back(Ev(event_kind::kWorkflowStarted, -1, "", 0, {{"type", "t"}, {"input", nlohmann::json::object()}, {"steps", {"a"}}}));
  nlohmann::json intent = {{"idempotencyKey", id + "/0/a"}};
  if (journal_only) intent["journalOnly"] = true;
  ev.push_back(Ev(event_kind::kStepIntent, 0, "a", 1, intent));
  if (claim) {
    ev.push_back(Ev(event_kind::kDisruptionClaimed, 0, "a", 1, {{"reason", "spot"}, {"pods", {{{"pod", "s/p"}, {"node", "n"}}}}}));
  }
  ev.push_back(Ev(event_kind::kStepResult, 0, "a", 1, {{"result", {{"ok", true}}}}));
  ev.push_back(Ev(event_kind::kCompleted));
  for (auto& e : ev) e.at_ms = at_ms;
  ASSERT_TRUE(w->Append(id, std::move(ev), 1).ok());
}

TEST(Retention, OnlyWorkflowsThatEndedWithoutEffectArePrunedAfterTheRetention) {
  TempDir d;
  auto w = JournalWriter::Open(d.File("j.db"), {});
  ASSERT_TRUE(w.ok());
  const int64_t day = 24LL * 3600 * 1000, now = 1'800'000'000'000;
  Completed(w->get(), "old-noop", now - 8 * day, true);
  Completed(w->get(), "old-effect", now - 8 * day, false);
  Completed(w->get(), "old-claim", now - 8 * day, true, true);
  Completed(w->get(), "recent-noop", now - 1 * day, true);
  // An unfinished journal-only workflow is never pruned.
  ASSERT_TRUE((*w)->Append("running", {Ev(event_kind::kWorkflowStarted, -1, "", 0, {{"type", "t"}, {"input", nlohmann::json::object()}, {"steps", {"a"}}})}, 1).ok());
  auto pruned = (*w)->PruneEndedWithoutEffect(now - 7 * day, 100, 1);
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  EXPECT_EQ(*pruned, 1);
  EXPECT_EQ((*w)->View("old-noop").status().subcode(), Status::SubCode::kUnknownWorkflow);
  for (const char* kept : {"old-effect", "old-claim", "recent-noop", "running"}) EXPECT_TRUE((*w)->View(kept).ok()) << kept;
  EXPECT_FALSE((*w)->PruneEndedWithoutEffect(now, 100, 0).ok()) << "a deposed leader's epoch is fenced out";
  w->reset();
  auto r = JournalReader::Open(d.File("j.db"));
  ASSERT_TRUE(r.ok());
  auto checks = (*r)->Verify();
  ASSERT_TRUE(checks.ok());
  for (const auto& c : *checks) EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
  SQLite::Database db(d.File("j.db"), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM pruned WHERE id = 'old-noop'").getInt(), 1) << "a pruned workflow leaves a row";
  SQLite::Database rw(d.File("j.db"), SQLite::OPEN_READWRITE);
  EXPECT_THROW(rw.exec("DELETE FROM events"), SQLite::Exception) << "outside a prune, events stay append-only";
}

TEST(Retention, TheJournalStaysBoundedOverASimulatedWeekOfShortCycles) {
  // A resize cycle every 30 s for a week, 1 in 100 with an effect, pruned
  // hourly with a 1-day retention: the file reaches a plateau.
  TempDir d;
  auto w = JournalWriter::Open(d.File("j.db"), {});
  ASSERT_TRUE(w.ok());
  const int64_t start = 1'800'000'000'000, cycle = 30'000, day = 24LL * 3600 * 1000;
  const int per_day = static_cast<int>(day / cycle);
  std::vector<int64_t> sizes;
  for (int i = 0; i < 7 * per_day; ++i) {
    int64_t at = start + i * cycle;
    Completed(w->get(), "resize-" + std::to_string(i), at, i % 100 != 0);
    if (i % 120 == 119) {
      ASSERT_TRUE((*w)->PruneEndedWithoutEffect(at - day, 1000, 1).ok());
    }
    if (i % per_day == per_day - 1) {
      SQLite::Database db(d.File("j.db"), SQLite::OPEN_READONLY);
      sizes.push_back(db.execAndGet("SELECT COUNT(*) FROM events").getInt64());
    }
  }
  ASSERT_EQ(sizes.size(), 7u);
  // After the first day the event count is flat but for the kept 1%.
  EXPECT_LT(sizes[6], sizes[1] * 2) << "events: day 2 " << sizes[1] << ", day 7 " << sizes[6];
  std::printf("events after each day of a simulated week: %lld %lld %lld %lld %lld %lld %lld\n",
              static_cast<long long>(sizes[0]), static_cast<long long>(sizes[1]), static_cast<long long>(sizes[2]),
              static_cast<long long>(sizes[3]), static_cast<long long>(sizes[4]), static_cast<long long>(sizes[5]),
              static_cast<long long>(sizes[6]));
}

TEST(GroupCommit, ConcurrentAppendsShareTransactionsAndEachOutcomeIsItsOwn) {
  TempDir d;
  auto w = JournalWriter::Open(d.File("j.db"), {});
  ASSERT_TRUE(w.ok());
  const int threads = 4, per_thread = 50;
  std::vector<std::thread> pool;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        std::string id = "wf-" + std::to_string(t) + "-" + std::to_string(i);
        auto v = (*w)->Append(id, {Ev(event_kind::kWorkflowStarted, -1, "", 0, {{"type", "t"}, {"input", nlohmann::json::object()}, {"steps", {"a"}}})}, 1);
        if (!v.ok()) ++failures;
        // An illegal batch fails alone even when it shares a group.
        auto bad = (*w)->Append(id, {Ev(event_kind::kStepResult, 0, "a", 1, {{"result", 1}})}, 1);
        if (bad.ok()) ++failures;
      }
    });
  }
  for (auto& t : pool) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto running = (*w)->WorkflowIds(WorkflowStatus::kRunning);
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(running->size(), static_cast<size_t>(threads * per_thread));
  EXPECT_LE((*w)->commit_stats().commits, static_cast<uint64_t>(threads * per_thread)) << "every good append committed";
}

// Durability under group commit: on a disk whose every flush takes 5 ms,
// four threads' appends share fsyncs (far fewer transactions than appends),
// and no Append returns before a sync that began after it was called has
// finished (its rows were written before that sync).
TEST(GroupCommit, ConcurrentAppendsShareOneFsyncAndEachReturnsOnlyWhenDurable) {
  kinema::testing::RegisterFaultyVfs();
  TempDir d;
  JournalWriterOptions o;
  o.vfs = kinema::testing::kFaultyVfsName;
  auto w = JournalWriter::Open(d.File("j.db"), o);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  kinema::testing::g_sync_delay_us = 5000;
  const auto commits_before = (*w)->commit_stats().commits;
  const int threads = 4, per_thread = 30;
  std::atomic<int> failures{0}, early{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        std::string id = "wf-" + std::to_string(t) + "-" + std::to_string(i);
        const int64_t begun = kinema::testing::g_syncs_begun.load();
        auto v = (*w)->Append(id, {Ev(event_kind::kWorkflowStarted, -1, "", 0, {{"type", "t"}, {"input", nlohmann::json::object()}, {"steps", {"a"}}})}, 1);
        if (!v.ok() || v->status != WorkflowStatus::kRunning) ++failures;
        if (kinema::testing::g_syncs_done.load() <= begun) ++early;
      }
    });
  }
  for (auto& t : pool) t.join();
  kinema::testing::g_sync_delay_us = 0;
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(early.load(), 0) << "an Append returned before any sync after it finished";
  const auto commits = (*w)->commit_stats().commits - commits_before;
  EXPECT_LE(commits, static_cast<uint64_t>(threads * per_thread) * 2 / 3)
      << commits << " transactions for " << threads * per_thread << " appends: the group commit did not batch";
  auto running = (*w)->WorkflowIds(WorkflowStatus::kRunning);
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(running->size(), static_cast<size_t>(threads * per_thread));
}

}  // namespace
}  // namespace kinema
