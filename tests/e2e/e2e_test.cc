// End to end: the real kinema controller against kinema-sim's living cluster
// (controllers, scheduler, kubelet, fake GCE) with a real Prometheus. Each
// test checks the controller's journal (kinemactl) AND the simulator's own
// account (/sim/v1/report), which the controller cannot write to.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <set>
#include <thread>

#include "engine/kube/permissions.h"
#include "tests/e2e/e2e_cluster.h"
#include "tests/support/declared_permissions.h"

namespace kinema::e2e {
namespace {

using nlohmann::json;
using testing::RunProcess;
using testing::WaitProcess;

int PatchedDeployments(const E2eCluster& c) {
  int n = 0;
  json ds = c.KubectlJson({"get", "deployments", "-n", "shop"});
  for (const auto& d : ds.value("items", json::array())) {
    const json& ann = d["spec"]["template"]["metadata"].value("annotations", json::object());
    if (ann.is_object() && ann.contains("kinema.io/iteration")) ++n;
  }
  return n;
}

// Every request the controller sent (the simulator's audit log, by
// User-Agent) must be allowed by the permissions deploy/ grants
// (engine/kube/permissions.h; tests/deploy checks the manifests equal them).
void ExpectEveryRequestIsGrantedByRbac(const E2eCluster& c) {
  auto perms = testing_support::DeclaredPermissions("kinema");
  std::ifstream in(c.File("audit.jsonl"));
  std::string line;
  int checked = 0;
  std::set<std::string> seen;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || j.value("userAgent", "").rfind("kinema/", 0) != 0) continue;
    kube::RequestAttributes a{j.value("verb", ""), j.value("group", ""), j.value("resource", ""),
                              j.value("namespace", ""), j.value("name", "")};
    Status st = kube::CheckRequest(perms, a, "kube-system");
    EXPECT_TRUE(st.ok()) << st.ToString() << " for " << line;
    seen.insert(a.verb + " " + (a.api_group.empty() ? "" : a.api_group + "/") + a.resource);
    ++checked;
  }
  EXPECT_GT(checked, 50) << "the audit log holds the controller's requests";
  EXPECT_TRUE(seen.count("update nodes")) << "labeling writes nodes";
  EXPECT_TRUE(seen.count("delete nodes")) << "drain-and-delete deletes nodes";
  EXPECT_TRUE(seen.count("update apps/deployments")) << "deployment-patch updates deployments";
}

// Runs `kinema --once` to completion and returns `kinemactl show` of the
// one iteration it must leave, completed with eight steps (null after a
// failed expectation).
json RunOneCompletedIteration(const E2eCluster& c) {
  auto run = c.RunKinemaOnce();
  EXPECT_EQ(run.exit_code, 0) << Tail(run.err, 4000) << c.Logs();
  json list = c.Kinemactl({"list"});
  EXPECT_EQ(list.size(), 1u) << list.dump();
  if (run.exit_code != 0 || list.size() != 1) return json();
  EXPECT_EQ(list[0]["status"], "completed") << list.dump();
  json show = c.Kinemactl({"show", list[0]["id"]});
  EXPECT_EQ(show["steps"].size(), 8u);
  return show["steps"].size() == 8 ? show : json();
}

TEST(EndToEndTest, FullIterationRunsAllEightStepsAndLowersCostWithoutHarm) {
  E2eCluster c({});
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  json before = c.Report();
  ASSERT_TRUE(before.is_object());

  json show = RunOneCompletedIteration(c);
  ASSERT_FALSE(show.is_null());
  for (const auto& s : show["steps"]) EXPECT_EQ(s["status"], "succeeded") << s.dump().substr(0, 2000);

  const json& plan = show["steps"][2]["result"]["plan"];
  json after = c.Report();
  ExpectNoHarm(after);
  EXPECT_LT(after["costPerHour"].get<double>(), before["costPerHour"].get<double>() * 0.9)
      << "before " << before.dump() << "\nafter " << after.dump();
  EXPECT_NEAR(after["costPerHour"].get<double>(), plan["costPerHourAfter"].get<double>(), 1e-3)
      << "the cluster ends where the plan said";
  EXPECT_EQ(after["pendingPods"], 0) << after.dump();
  const PlanActions planned = CountPlanActions(plan);
  EXPECT_EQ(after["cloud"]["instancesCreated"], planned.boot);
  EXPECT_EQ(after["cloud"]["instancesDeleted"], planned.retire);
  EXPECT_TRUE(NodesWithKinemaMarks(c).empty()) << "retiring nodes are gone, nothing else is marked";
  EXPECT_EQ(RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "verify"}).exit_code, 0);
  ExpectEveryRequestIsGrantedByRbac(c);
  // The prediction came from the real Prometheus when it is installed.
  if (c.has_prometheus()) {
    EXPECT_EQ(show["steps"][1]["result"]["source"], "prometheus") << show["steps"][1].dump().substr(0, 1500);
  }
}

TEST(EndToEndTest, IterationCompletesThroughAnUnreliableCloudAndApiServer) {
  E2eOptions o;
  // GCE: a third of the calls are carried out but their answer is lost, a
  // tenth fail with 500; Kubernetes: writes sometimes fail with 500 or 429.
  o.faults_json = R"({"rules": [
      {"resource": "compute.*", "lostResponseRate": 0.3, "error500Rate": 0.1},
      {"verb": "update", "resource": "*", "error500Rate": 0.05},
      {"verb": "patch", "resource": "*", "error429Rate": 0.05, "retryAfterSeconds": 1},
      {"verb": "create", "resource": "pods/eviction", "error500Rate": 0.05}]})";
  E2eCluster c(o);
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  json show = RunOneCompletedIteration(c);
  ASSERT_FALSE(show.is_null());
  const json& plan = show["steps"][2]["result"]["plan"];
  json report = c.Report();
  ExpectNoHarm(report);  // includes: no duplicate create, no orphan instance
  EXPECT_NEAR(report["costPerHour"].get<double>(), plan["costPerHourAfter"].get<double>(), 1e-3) << report.dump();
  const PlanActions planned = CountPlanActions(plan);
  EXPECT_EQ(report["cloud"]["instancesCreated"], planned.boot) << "each planned node booted exactly once";
  EXPECT_EQ(report["cloud"]["instancesDeleted"], planned.retire);
  // The faults really happened (the simulator logs each one).
  std::string sim_log = testing::ReadFile(c.File("sim.err")) + testing::ReadFile(c.File("sim.out"));
  auto count = [&](const std::string& what) {
    int n = 0;
    for (size_t at = sim_log.find(what); at != std::string::npos; at = sim_log.find(what, at + 1)) ++n;
    return n;
  };
  std::printf("unreliable world: %d faults injected, %d of them lost GCE responses\n", count("fault: "),
              count("response lost"));
  EXPECT_GT(count("response lost"), 0) << "no lost GCE response was injected";
  EXPECT_EQ(RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "verify"}).exit_code, 0);
}

TEST(EndToEndTest, PlanIsDiscardedWhenTheClusterChangesMidPlan) {
  E2eOptions o;
  o.max_change = 0.02;
  E2eCluster c(o);
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  // Hold the iteration for 4 s right after the optimization step's result
  // (step 2), scale a Deployment meanwhile: the decision's re-snapshot sees it.
  pid_t k = testing::StartProcess({"/usr/bin/env", "KINEMA_TEST_DELAY=after_result:2:4000", testing::BinPath("kinema"),
                             "--config", c.config(), "--once"},
                            c.File("kinema"));
  std::string id = c.WaitForCurrentStep("decision", 60000);
  ASSERT_NE(id, "") << c.Logs();
  ASSERT_EQ(c.Kubectl({"-n", "shop", "scale", "deployment/frontend", "--replicas=40"}).exit_code, 0);
  ASSERT_EQ(WaitProcess(k), 0) << c.Logs();
  json list = c.Kinemactl({"list"});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["status"], "completed");
  EXPECT_EQ(list[0]["outcome"], "discarded") << list.dump();
  json show = c.Kinemactl({"show", id});
  EXPECT_EQ(show["steps"][3]["result"]["verdict"], "discard");
  EXPECT_EQ(show["steps"][4]["status"], "skipped");
  EXPECT_EQ(c.Report()["cloud"]["instancesCreated"], 0);
}

TEST(EndToEndTest, SavingsBelowTheMinimumCompleteAsNoActionAndTouchNothing) {
  E2eOptions o;
  o.min_savings = 0.95;
  E2eCluster c(o);
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  auto run = c.RunKinemaOnce();
  ASSERT_EQ(run.exit_code, 0) << c.Logs();
  json list = c.Kinemactl({"list"});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["outcome"], "no_action") << list.dump();
  json report = c.Report();
  EXPECT_EQ(report["cloud"]["instancesCreated"], 0);
  EXPECT_EQ(report["evictions"]["accepted"], 0);
  EXPECT_EQ(PatchedDeployments(c), 0);
  // The rejection is an Event with the numbers.
  auto events = c.Kubectl({"get", "events", "-n", "kube-system", "--field-selector", "reason=KinemaPlanRejected"});
  EXPECT_NE(events.out.find("KinemaPlanRejected"), std::string::npos) << events.out << events.err;
}

TEST(EndToEndTest, AbortMidRolloutRestoresDeploymentsLabelsAndDeletesEmptyBootedNodes) {
  E2eCluster c({});
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  json before_deploys = c.KubectlJson({"get", "deployments", "-n", "shop"});
  // Sleep 3 s after each Deployment patch (step 6): time to abort mid-rollout.
  pid_t k = testing::StartProcess({"/usr/bin/env", "KINEMA_TEST_DELAY=deployment_patched:6:3000",
                                   testing::BinPath("kinema"), "--config", c.config(), "--once"},
                                  c.File("kinema"));
  std::string id = c.WaitForCurrentStep("deployment-patch", 120000);
  ASSERT_NE(id, "") << c.Logs();
  for (int i = 0; i < 100 && PatchedDeployments(c) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_GT(PatchedDeployments(c), 0) << c.Logs();
  auto abort = RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "--json", "abort", id, "--reason",
                           "e2e: abort mid-rollout"});
  ASSERT_EQ(abort.exit_code, 0) << abort.out << abort.err;
  ASSERT_EQ(WaitProcess(k), 0) << c.Logs();

  json show = c.Kinemactl({"show", id});
  EXPECT_EQ(show["status"], "aborted") << show.dump().substr(0, 3000);
  for (int i : {4, 5, 6}) EXPECT_EQ(show["steps"][i]["status"], "compensated") << show["steps"][i].dump();
  EXPECT_EQ(PatchedDeployments(c), 0) << "every patched Deployment is restored";
  json after_deploys = c.KubectlJson({"get", "deployments", "-n", "shop"});
  for (size_t i = 0; i < before_deploys["items"].size(); ++i) {
    EXPECT_EQ(after_deploys["items"][i]["spec"]["template"]["spec"].value("affinity", json()),
              before_deploys["items"][i]["spec"]["template"]["spec"].value("affinity", json()));
  }
  EXPECT_TRUE(NodesWithKinemaMarks(c).empty());
  json nodes = c.KubectlJson({"get", "nodes", "-l", "kinema.io/iteration"});
  EXPECT_TRUE(nodes["items"].empty()) << "iteration labels removed";
  // Booted nodes that ended up hosting pods are kept; the others are gone.
  json report = c.Report();
  ExpectNoHarm(report);
  EXPECT_EQ(report["pendingPods"], 0) << report.dump();
}

}  // namespace
}  // namespace kinema::e2e
