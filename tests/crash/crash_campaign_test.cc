// The kill -9 campaign: runs kinema-sample (the real engine, journal and
// admin socket) as a child process, SIGKILLs it at every journal boundary
// and at random instants, restarts it, and checks after each scenario:
//   - every workflow ends completed, aborted (when an operator aborted it)
//     or paused with a reason;
//   - no side effect is missing and none is applied twice (the ledger);
//   - `kinemactl verify` passes.
// KINEMA_CRASH_KILLS sets the number of kills (default 240; the long mode
// in tools/test.sh --long uses 2000).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "tests/support/test_support.h"
#include "tools/sample/ledger_workflow.h"

namespace kinema {
namespace {

using kinema::testing::BinPath;
using kinema::testing::RunProcess;
using kinema::testing::StartProcess;
using kinema::testing::TempDir;
using kinema::testing::WaitProcess;

const char* kPoints[] = {"before_intent", "after_intent", "after_effect", "after_result", "before_compensation",
                         "after_compensation"};
const std::vector<std::string> kEffectSteps = {"0/reserve", "2/apply", "3/publish"};

struct Totals {
  int kills = 0;
  int resumed = 0;
};
Totals g_totals;

int KillTarget() {
  const char* env = std::getenv("KINEMA_CRASH_KILLS");
  int n = env ? std::atoi(env) : 0;
  return n > 0 ? n : 240;
}

class Scenario {
 public:
  Scenario(int workflows, uint64_t seed) : workflows_(workflows), rng_(seed) {}

  std::vector<std::string> WorkerArgs(const std::string& crash_at) const {
    std::vector<std::string> a = {BinPath("kinema-sample"), "--db", dir_.File("j.db"), "--ledger",
                                  dir_.File("ledger"), "--workflows", std::to_string(workflows_), "--flaky",
                                  "--settle-ms", "15", "--log-level", "warn"};
    if (!crash_at.empty()) {
      a.push_back("--crash-at");
      a.push_back(crash_at);
    }
    return a;
  }

  // One process run. Returns true when the worker exited 0 by itself.
  bool RunOnce(const std::string& crash_at, int random_kill_after_ms) {
    pid_t pid = StartProcess(WorkerArgs(crash_at), dir_.File("worker"));
    if (random_kill_after_ms >= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(random_kill_after_ms));
      ::kill(pid, SIGKILL);
    }
    int rc = WaitProcess(pid);
    if (rc == -SIGKILL) {
      ++kills_;
      ++g_totals.kills;
      return false;
    }
    EXPECT_EQ(rc, 0) << "worker failed; stderr:\n" << kinema::testing::ReadFile(dir_.File("worker.err"));
    return true;
  }

  // Kills at boundaries and random instants until the worker finishes by
  // itself. Returns the number of runs that resumed after a kill.
  void RunToCompletionUnderKills(int max_kills, const std::function<void(int)>& after_kill = {}) {
    std::uniform_int_distribution<int> point(0, 5), nth(1, 3), when(0, 25), coin(0, 3);
    bool done = false;
    int runs = 0;
    while (!done) {
      ASSERT_LT(runs, 10000) << "no progress";
      bool kill_allowed = kills_ < max_kills;
      if (runs > 0 && !done) {
        ++g_totals.resumed;
      }
      ++runs;
      if (!kill_allowed) {
        done = RunOnce("", -1);
        continue;
      }
      if (coin(rng_) == 0) {
        done = RunOnce("", when(rng_));  // a random instant
      } else {
        done = RunOnce(std::string(kPoints[point(rng_)]) + ":" + std::to_string(nth(rng_)), -1);
      }
      if (!done && after_kill) after_kill(kills_);
    }
    // The last run (no kill) counted as a resume only if it followed a kill.
  }

  nlohmann::json Workflows() {
    auto r = RunProcess({BinPath("kinemactl"), "--db", dir_.File("j.db"), "--json", "list"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out);
  }

  void ExpectVerifyPasses() {
    auto r = RunProcess({BinPath("kinemactl"), "--db", dir_.File("j.db"), "--json", "verify"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  int Ledger(const std::string& verb, const std::string& key) {
    return sample::CountLedgerLines(dir_.File("ledger"), verb, key);
  }

  const TempDir& dir() const { return dir_; }
  int kills() const { return kills_; }
  int workflows() const { return workflows_; }

 private:
  TempDir dir_;
  int workflows_;
  std::mt19937_64 rng_;
  int kills_ = 0;
};

std::string Id(int i) {
  char b[32];
  std::snprintf(b, sizeof(b), "sample-%04d", i);
  return b;
}

TEST(CrashCampaign, EveryWorkflowCompletesWithEachSideEffectExactlyOnce) {
  int target = KillTarget() * 3 / 4;
  int scenario = 0;
  int kills = 0;
  while (kills < target) {
    Scenario s(3, 1000 + scenario++);
    s.RunToCompletionUnderKills(std::min(30, target - kills));
    kills += s.kills();
    auto list = s.Workflows();
    ASSERT_EQ(list.size(), 3u);
    for (const auto& w : list) EXPECT_EQ(w["status"], "completed") << w.dump();
    for (int i = 1; i <= 3; ++i) {
      for (const auto& step : kEffectSteps) {
        EXPECT_EQ(s.Ledger("do", Id(i) + "/" + step), 1) << "scenario " << scenario << " " << Id(i) << "/" << step;
      }
    }
    s.ExpectVerifyPasses();
    if (::testing::Test::HasFailure()) break;
  }
}

TEST(CrashCampaign, AbortsAppliedWhileNoControllerRunsCompensateExactlyOnceUnderKills) {
  int target = KillTarget() / 4;
  int scenario = 0;
  int kills = 0;
  while (kills < target) {
    Scenario s(2, 5000 + scenario++);
    bool abort_sent = false;
    s.RunToCompletionUnderKills(std::min(20, target - kills), [&](int) {
      if (abort_sent) return;
      // A kill can land before the journal or the workflow exists; abort once
      // the workflow is there.
      auto exists = RunProcess({BinPath("kinemactl"), "--db", s.dir().File("j.db"), "show", Id(1)});
      if (exists.exit_code != 0) return;
      abort_sent = true;
      auto r = RunProcess({BinPath("kinemactl"), "--db", s.dir().File("j.db"), "--json", "abort", Id(1), "--reason",
                           "crash campaign", "--identity", "tester"});
      // Refused (exit 1) only if the workflow already completed.
      EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.out << r.err;
    });
    kills += s.kills();
    auto list = s.Workflows();
    ASSERT_EQ(list.size(), 2u);
    for (const auto& w : list) {
      std::string id = w["id"];
      std::string status = w["status"];
      if (id == Id(1)) {
        EXPECT_TRUE(status == "aborted" || status == "completed") << w.dump();
      } else {
        EXPECT_EQ(status, "completed") << w.dump();
      }
      for (const auto& step : kEffectSteps) {
        std::string key = id + "/" + step;
        int done = s.Ledger("do", key), undone = s.Ledger("undo", key);
        if (status == "completed") {
          EXPECT_EQ(done, 1) << key;
          EXPECT_EQ(undone, 0) << key;
        } else {
          EXPECT_LE(done, 1) << key << ": applied twice";
          EXPECT_EQ(undone, done) << key << ": every applied effect is compensated exactly once";
        }
      }
    }
    s.ExpectVerifyPasses();
    if (::testing::Test::HasFailure()) break;
  }
}

class PrintTotals : public ::testing::Environment {
 public:
  void TearDown() override { std::printf("%d kills, %d resumed\n", g_totals.kills, g_totals.resumed); }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new PrintTotals);

}  // namespace
}  // namespace kinema
