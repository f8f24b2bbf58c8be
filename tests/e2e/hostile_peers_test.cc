// End to end through hostile peers: kinema-sim's --faults hostile-peer mode
// spoils answers of the Kubernetes API, the Compute API and the Prometheus
// stand-in (wrong JSON types, truncated bodies, invalid UTF-8, huge and
// gzip-bombed bodies, slow bodies) while the real controller runs a whole
// iteration. The controller never exits on its own; every failure is a
// journaled step error that the operator resumes (as the test does, through
// kinemactl and the admin socket); the iteration completes and leaves
// nothing half-done (each planned node booted once, no orphan, no marks).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <map>
#include <thread>

#include "tests/e2e/e2e_cluster.h"

namespace kinema::e2e {
namespace {

using nlohmann::json;
using testing::RunProcess;

// Rules: every hostile kind on every API. Leases are left alone (a lost
// lease stops a controller by design: the pod restarts); so are watches.
constexpr char kHostileRules[] = R"({"rules": [
  {"verb": "create", "resource": "events", "wrongTypeRate": 0.2, "truncateRate": 0.2, "invalidUtf8Rate": 0.2,
   "hugeBodyRate": 0.2, "hugeBodyBytes": 70000000, "gzipBombRate": 0.3, "gzipBombBytes": 134217728,
   "slowBodyRate": 1.0, "slowBodyMs": 300},
  {"verb": "list", "resource": "pods", "wrongTypeRate": 0.01, "truncateRate": 0.01, "invalidUtf8Rate": 0.01,
   "gzipBombRate": 0.01, "gzipBombBytes": 134217728},
  {"verb": "get", "resource": "nodes", "wrongTypeRate": 0.03, "truncateRate": 0.03, "invalidUtf8Rate": 0.03,
   "slowBodyRate": 0.05, "slowBodyMs": 500},
  {"verb": "get", "resource": "deployments", "truncateRate": 0.03, "invalidUtf8Rate": 0.03},
  {"resource": "compute.operations", "wrongTypeRate": 0.08, "truncateRate": 0.08, "invalidUtf8Rate": 0.08,
   "gzipBombRate": 0.05, "gzipBombBytes": 134217728, "slowBodyRate": 0.08, "slowBodyMs": 800},
  {"verb": "list", "resource": "compute.instances", "truncateRate": 0.1, "hugeBodyRate": 0.05,
   "hugeBodyBytes": 20000000},
  {"verb": "get", "resource": "compute.instances", "wrongTypeRate": 0.05, "truncateRate": 0.05,
   "invalidUtf8Rate": 0.05},
  {"resource": "metrics.k8s.io", "wrongTypeRate": 0.2, "truncateRate": 0.2, "invalidUtf8Rate": 0.2},
  {"resource": "prometheus", "wrongTypeRate": 0.25, "truncateRate": 0.25, "invalidUtf8Rate": 0.25,
   "hugeBodyRate": 0.25, "hugeBodyBytes": 20000000, "gzipBombRate": 0.3, "gzipBombBytes": 134217728,
   "slowBodyRate": 1.0, "slowBodyMs": 3000}]})";

bool Alive(pid_t pid, int* status) { return ::waitpid(pid, status, WNOHANG) == 0; }

TEST(HostilePeersTest, AWholeIterationThroughHostileApisNeverStopsTheController) {
  E2eOptions o;
  o.prometheus = false;
  o.prometheus_standin = true;
  o.prometheus_timeout = "2s";  // the stand-in's slow bodies (3 s) time out
  o.faults_json = kHostileRules;
  E2eCluster c(o);
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  const auto started = std::chrono::steady_clock::now();
  pid_t kinema = c.StartKinema({}, "kinema");
  ASSERT_GT(kinema, 0);

  int resumes = 0;
  std::string id, status;
  int wstatus = 0;
  bool alive = true;
  while (std::chrono::steady_clock::now() - started < std::chrono::seconds(150)) {
    if (!(alive = Alive(kinema, &wstatus))) break;
    json list = c.Kinemactl({"list"});
    if (list.is_array() && !list.empty()) {
      id = list[0].value("id", "");
      status = list[0].value("status", "");
      if (status == "completed") break;
      if (status == "paused" || status == "failed") {
        // What an operator does after reading the error: resume. Through the
        // admin socket of the running controller.
        json r = c.Kinemactl({"resume", id, "--reason", "hostile-peer e2e: retry after a spoiled answer"});
        resumes += r.value("accepted", false) ? 1 : 0;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_TRUE(alive) << "the controller exited on its own (status " << wstatus << ")" << c.Logs();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_EQ(status, "completed") << "after " << took << " s, " << resumes << " resumes" << c.Logs();

  // SIGTERM: a clean stop at a safe point.
  ::kill(kinema, SIGTERM);
  EXPECT_EQ(testing::WaitProcess(kinema), 0) << c.Logs();

  // Nothing half-done, nothing harmed.
  json show = c.Kinemactl({"show", id});
  ASSERT_EQ(show["steps"].size(), 8u) << show.dump().substr(0, 2000);
  for (const auto& s : show["steps"]) EXPECT_EQ(s["status"], "succeeded") << s.dump().substr(0, 500);
  const json& plan = show["steps"][2]["result"]["plan"];
  json report = c.Report();
  ExpectNoHarm(report);
  const PlanActions planned = CountPlanActions(plan);
  EXPECT_EQ(report["cloud"]["instancesCreated"], planned.boot) << "each planned node booted exactly once";
  EXPECT_EQ(report["cloud"]["instancesDeleted"], planned.retire);
  EXPECT_TRUE(NodesWithKinemaMarks(c).empty()) << "no retire label or taint left behind";
  EXPECT_EQ(RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "verify"}).exit_code, 0);

  // Every failure is in the journal, as a step error.
  int step_failures = 0;
  for (const auto& e : show["events"]) {
    if (e.value("kind", "") != "step_failed") continue;
    ++step_failures;
    const json& d = e["detail"];
    std::printf("  journaled: step %s attempt %d: %s %s\n", e.value("step", "?").c_str(), e.value("attempt", 0),
                d.value("code", "").c_str(), d.value("error", "").substr(0, 220).c_str());
  }
  // The hostile answers really happened, on each API.
  std::string sim_log = testing::ReadFile(c.File("sim.err")) + testing::ReadFile(c.File("sim.out"));
  std::map<std::string, int> by_api, by_kind;
  for (size_t at = sim_log.find("fault: hostile answer ("); at != std::string::npos;
       at = sim_log.find("fault: hostile answer (", at + 1)) {
    size_t close = sim_log.find(')', at);
    size_t eol = sim_log.find('\n', at);
    by_kind[sim_log.substr(at + 23, close - at - 23)]++;
    std::string target = sim_log.substr(close + 5, eol - close - 5);  // "<verb> <resource>"
    std::string resource = target.substr(target.find(' ') + 1);
    by_api[resource.rfind("compute.", 0) == 0 ? "compute" : resource == "prometheus" ? "prometheus" : "kubernetes"]++;
  }
  std::string kinema_log = testing::ReadFile(c.File("kinema.err"));
  std::printf("hostile peers: %.0f s, %d resumes, %d step failures journaled; hostile answers:", took, resumes,
              step_failures);
  for (const auto& [k, n] : by_kind) std::printf(" %s=%d", k.c_str(), n);
  for (const auto& [k, n] : by_api) std::printf(" [%s %d]", k.c_str(), n);
  std::printf("\n");
  EXPECT_GT(by_api["kubernetes"], 0);
  EXPECT_GT(by_api["compute"], 0);
  EXPECT_GT(by_api["prometheus"], 0);
  for (const char* kind : {"wrong JSON type", "truncated body", "invalid UTF-8", "huge body", "gzip bomb", "slow body"}) {
    EXPECT_GT(by_kind[kind], 0) << kind;
  }
  EXPECT_EQ(kinema_log.find("terminate called"), std::string::npos);
  // The prediction fell back to requests as they are when Prometheus answered badly, and said why.
  EXPECT_TRUE(show["steps"][1]["result"].is_object());
}

}  // namespace
}  // namespace kinema::e2e
