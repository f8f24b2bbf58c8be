// journal_bench: what durability costs, measured in one run on one disk.
//
//   1. raw SQLite: one INSERT per BEGIN IMMEDIATE/COMMIT, WAL + synchronous=FULL
//      (the limit of this machine's fsync path);
//   2. the engine: workflows of no-op steps through WorkflowEngine, each step an
//      intent commit and a result commit (synchronous=FULL);
//   3. their ratio (journal commits/s ÷ raw commits/s; target ≥ 0.5), for one
//      worker and for --workers workers running workflows at once (the
//      scheduler's pool: concurrent appends share transactions — group
//      commit — so journaled steps/s can exceed fsyncs/s);
//   4. restart-to-resumed: a journal with 10,000 finished and 100 in-flight
//      workflows (each with an intent and no result) is reopened; time until
//      every in-flight workflow has reconciled its open step (target < 1 s).
// Prints numbers; asserts nothing. Usage: journal_bench [--dir DIR] [--commits N]
#include <SQLiteCpp/SQLiteCpp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "engine/common/flags.h"
#include "engine/workflow/static_epoch_provider.h"
#include "engine/workflow/workflow_engine.h"
#include "storage/sqlite_env.h"

using namespace kinema;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

double RawInsertsPerSecond(const std::string& path, int n) {
  auto db = OpenWriterConnection(path, 5000);
  if (!db.ok()) {
    std::fprintf(stderr, "%s\n", db.status().ToString().c_str());
    std::exit(1);
  }
  (*db)->exec("CREATE TABLE t(seq INTEGER PRIMARY KEY AUTOINCREMENT, wf TEXT, at INTEGER, kind TEXT, detail TEXT)");
  SQLite::Statement ins(**db, "INSERT INTO t(wf, at, kind, detail) VALUES (?, ?, ?, ?)");
  std::string detail = R"({"idempotencyKey":"bench-000001/3/step-3","reconcile":false,"input":{"x":1}})";
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    (*db)->exec("BEGIN IMMEDIATE");
    ins.reset();
    ins.bind(1, "bench-000001");
    ins.bind(2, static_cast<int64_t>(i));
    ins.bind(3, "step_intent");
    ins.bind(4, detail);
    ins.exec();
    (*db)->exec("COMMIT");
  }
  return n / Seconds(t0, Clock::now());
}

WorkflowType NoOpType(int steps) {
  WorkflowType t{"bench", {}};
  for (int i = 0; i < steps; ++i) {
    StepDefinition s;
    s.name = "step-" + std::to_string(i);
    s.run = [](StepContext&) -> StatusOr<nlohmann::json> { return nlohmann::json{{"ok", true}}; };
    s.reconcile = ReconcileByRerunning(s.run);
    t.steps.push_back(s);
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  FlagSet f;
  f.AddString("dir", "", "directory for the benchmark files (default: a new temp dir)");
  f.AddString("commits", "3000", "commits per throughput measurement");
  f.AddString("finished", "10000", "finished workflows in the restart journal");
  f.AddString("inflight", "100", "in-flight workflows in the restart journal");
  f.AddString("workers", "4", "concurrent workers for the group-commit measurement");
  f.AddBool("help", "show this help");
  Status ps = f.Parse(std::vector<std::string>(argv + 1, argv + argc), 0);
  if (!ps.ok()) {
    std::fprintf(stderr, "journal_bench: %s\n", ps.message().c_str());
    return 2;
  }
  if (f.GetBool("help")) {
    std::printf("Usage: journal_bench [flags]\n%s", f.Usage().c_str());
    return 0;
  }
  spdlog::set_level(spdlog::level::warn);
  std::string dir = f.Get("dir");
  bool own_dir = dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/kinema-journal-bench-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  int commits = std::atoi(f.Get("commits").c_str());

  // 1. Raw SQLite.
  double raw = RawInsertsPerSecond(dir + "/raw.db", commits);

  // 2. The engine.
  WorkflowRegistry reg;
  const int kSteps = 10;
  (void)reg.Register(NoOpType(kSteps));
  StaticEpochProvider epochs(1);
  double journal_commits = 0, steps_per_s = 0;
  {
    auto j = JournalWriter::Open(dir + "/engine.db", {});
    if (!j.ok()) {
      std::fprintf(stderr, "%s\n", j.status().ToString().c_str());
      return 1;
    }
    WorkflowEngine engine(j->get(), &reg, &epochs, {});
    int workflows = std::max(1, commits / (2 * kSteps));
    auto t0 = Clock::now();
    for (int w = 0; w < workflows; ++w) {
      std::string id = "bench-" + std::to_string(w);
      (void)engine.Start("bench", id, {});
      (void)engine.Run(id);
    }
    double s = Seconds(t0, Clock::now());
    // Per workflow: 1 start + 2 per step + 1 completed.
    journal_commits = workflows * (2.0 * kSteps + 2) / s;
    steps_per_s = workflows * static_cast<double>(kSteps) / s;
  }

  // 3b. The engine with several workers at once (group commit).
  const int workers = std::max(1, std::atoi(f.Get("workers").c_str()));
  double group_commits = 0, group_txn = 0;
  {
    auto j = JournalWriter::Open(dir + "/engine-workers.db", {});
    if (!j.ok()) {
      std::fprintf(stderr, "%s\n", j.status().ToString().c_str());
      return 1;
    }
    WorkflowEngine engine(j->get(), &reg, &epochs, {});
    int per_worker = std::max(1, commits / (2 * kSteps) / workers);
    auto t0 = Clock::now();
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w) {
      pool.emplace_back([&, w] {
        for (int i = 0; i < per_worker; ++i) {
          std::string id = "bench-" + std::to_string(w) + "-" + std::to_string(i);
          (void)engine.Start("bench", id, {});
          (void)engine.Run(id);
        }
      });
    }
    for (auto& t : pool) t.join();
    double s = Seconds(t0, Clock::now());
    group_commits = workers * per_worker * (2.0 * kSteps + 2) / s;
    group_txn = (*j)->commit_stats().commits / s;
  }

  // 4. Restart-to-resumed.
  int finished = std::atoi(f.Get("finished").c_str());
  int inflight = std::atoi(f.Get("inflight").c_str());
  std::string rpath = dir + "/restart.db";
  WorkflowRegistry reg4;
  (void)reg4.Register(NoOpType(4));
  auto build0 = Clock::now();
  {
    auto j = JournalWriter::Open(rpath, {});
    auto mk = [](const char* kind, int step, int attempt, nlohmann::json d) {
      Event e;
      e.kind = kind;
      e.step_index = step;
      e.step_name = step >= 0 ? "step-" + std::to_string(step) : "";
      e.attempt = attempt;
      e.detail = std::move(d);
      return e;
    };
    std::vector<std::pair<std::string, std::vector<Event>>> batch;
    for (int w = 0; w < finished + inflight; ++w) {
      std::string id = "wf-" + std::to_string(w);
      bool done = w < finished;
      std::vector<Event> ev;
      ev.push_back(mk(event_kind::kWorkflowStarted, -1, 0,
                      {{"type", "bench"}, {"input", nlohmann::json::object()},
                       {"steps", {"step-0", "step-1", "step-2", "step-3"}}}));
      int last = done ? 4 : 2;
      for (int s = 0; s < last; ++s) {
        ev.push_back(mk(event_kind::kStepIntent, s, 1, {{"idempotencyKey", id + "/" + std::to_string(s)}}));
        ev.push_back(mk(event_kind::kStepResult, s, 1, {{"result", {{"ok", true}}}}));
      }
      if (done) {
        ev.push_back(mk(event_kind::kCompleted, -1, 0, nlohmann::json::object()));
      } else {
        ev.push_back(mk(event_kind::kStepIntent, 2, 1, {{"idempotencyKey", id + "/2"}}));
      }
      batch.emplace_back(id, std::move(ev));
      if (batch.size() == 500 || w + 1 == finished + inflight) {
        Status r = (*j)->AppendMany(std::move(batch), 1);  // group commit
        batch.clear();
        if (!r.ok()) {
          std::fprintf(stderr, "%s\n", r.ToString().c_str());
          return 1;
        }
      }
    }
  }
  double build_s = Seconds(build0, Clock::now());
  auto db_size = std::filesystem::file_size(rpath);

  auto t0 = Clock::now();
  auto j = JournalWriter::Open(rpath, {});
  auto t_open = Clock::now();
  WorkflowEngine engine(j->get(), &reg4, &epochs, {});
  auto ids = (*j)->WorkflowIds(WorkflowStatus::kRunning);
  int open_intents = 0;
  for (const auto& id : *ids) {
    auto v = (*j)->View(id);  // the state the engine resumes from
    if (v.ok() && v->CurrentStepIndex() >= 0 && v->steps[v->CurrentStepIndex()].has_open_intent) ++open_intents;
  }
  auto t_recovered = Clock::now();
  Clock::time_point t_first;
  int resumed = 0;
  for (const auto& id : *ids) {
    auto v = engine.Run(id);
    if (resumed == 0) t_first = Clock::now();
    if (v.ok() && v->status == WorkflowStatus::kCompleted) ++resumed;
  }
  auto t_done = Clock::now();

  std::printf("journal_bench (dir %s)\n", dir.c_str());
  std::printf("  raw SQLite commits/s (WAL, synchronous=FULL, 1 insert/commit): %10.0f\n", raw);
  std::printf("  journal commits/s through the engine (intent/result/start/end): %9.0f\n", journal_commits);
  std::printf("  durable steps/s (intent + result = 2 commits each):             %9.0f\n", steps_per_s);
  std::printf("  ratio journal commits/s : raw commits/s:                         %9.2f  (target >= 0.5)\n",
              journal_commits / raw);
  std::printf("  with %d workers: journaled appends/s %9.0f in %9.0f transactions/s (group commit), ratio %.2f\n",
              workers, group_commits, group_txn, group_commits / raw);
  std::printf("  restart journal: %d finished + %d in-flight workflows, %.1f MB (built in %.1f s)\n", finished,
              inflight, static_cast<double>(db_size) / 1e6, build_s);
  std::printf("  restart: open + quick_check + migrations check:                 %9.3f s\n", Seconds(t0, t_open));
  std::printf("  restart-to-resumed: open, find and load %zu in-flight (%d open intents): %6.3f s  (target < 1 s)\n",
              ids->size(), open_intents, Seconds(t0, t_recovered));
  std::printf("  first in-flight workflow reconciled and finished after:          %9.3f s\n", Seconds(t0, t_first));
  std::printf("  all %d in-flight finished (5 commits each, fsync-bound):         %9.3f s\n", resumed,
              Seconds(t0, t_done));
  j->reset();
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
