// Integration: the built kinema-sim binary (with its scheduler part) and
// kubectl 1.32. A Pending pod created with kubectl gets bound; one that fits
// nowhere shows the scheduler's reason in `kubectl get events`.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/sim/sim_process.h"

namespace kinema::simtest {
namespace {

std::string WaitForNodeName(const SimProcess& sim, const std::string& pod) {
  for (int i = 0; i < 100; ++i) {
    auto r = RunCommand(sim.Kubectl() + " get pod -n shop " + pod + " -o jsonpath={.spec.nodeName}");
    if (r.exit_code == 0 && !r.out.empty()) return r.out;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return "";
}

TEST(SchedulerWithKubectl, PendingPodCreatedWithKubectlGetsBound) {
  SimProcess sim({"--time-scale", "60"});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  std::string manifest = sim.dir() + "/pods.yaml";
  std::ofstream(manifest) << R"(apiVersion: v1
kind: Pod
metadata: {name: fresh, namespace: shop}
spec:
  containers:
  - {name: app, image: nginx, resources: {requests: {cpu: 500m, memory: 256Mi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: enormous, namespace: shop}
spec:
  containers:
  - {name: app, image: nginx, resources: {requests: {cpu: "64"}}}
)";
  auto r = RunCommand(sim.Kubectl() + " apply -f " + manifest);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string node = WaitForNodeName(sim, "fresh");
  EXPECT_TRUE(node == "node-a" || node == "node-b" || node == "node-c") << "nodeName=" << node << "\n" << sim.Log();
  // The snapshot's own Pending pod names another scheduler ("manual"): left alone.
  auto other = RunCommand(sim.Kubectl() + " get pod -n shop batch-pending -o jsonpath={.spec.nodeName}");
  EXPECT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(other.out, "") << "a pod of another scheduler was bound";

  std::string events;
  for (int i = 0; i < 50 && events.find("FailedScheduling") == std::string::npos; ++i) {
    events = RunCommand(sim.Kubectl() + " get events -n shop --field-selector involvedObject.name=enormous").out;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(events.find("0/3 nodes are available: 3 Insufficient cpu."), std::string::npos) << events;
  r = RunCommand(sim.Kubectl() +
                 " get pod -n shop enormous -o jsonpath='{.status.conditions[?(@.type==\"PodScheduled\")].reason}'");
  EXPECT_EQ(r.out, "Unschedulable");
}

TEST(SchedulerWithKubectl, CordonedNodesAreAvoidedAndUncordonRetries) {
  SimProcess sim({"--time-scale", "60"});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  for (const char* node : {"node-a", "node-b", "node-c"}) {
    auto r = RunCommand(sim.Kubectl() + " cordon " + node);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  auto r = RunCommand(sim.Kubectl() + " run waiting -n shop --image=nginx --restart=Never");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string reason;
  for (int i = 0; i < 50 && reason.empty(); ++i) {
    reason = RunCommand(sim.Kubectl() +
                        " get pod -n shop waiting -o jsonpath='{.status.conditions[?(@.type==\"PodScheduled\")].message}'")
                 .out;
    if (reason.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(reason.find("0/3 nodes are available: 3 node(s) were unschedulable."), std::string::npos) << reason;
  r = RunCommand(sim.Kubectl() + " uncordon node-b");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(WaitForNodeName(sim, "waiting"), "node-b");
}

TEST(SchedulerWithKubectl, ScenarioCanDisableTheScheduler) {
  char tmpl[] = "/tmp/kinema-sched-scenario-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string scenario = dir + "/scenario.json";
  std::ofstream(scenario) << R"({"scheduler": {"enabled": false}})";
  SimProcess sim({"--scenario", scenario});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto r = RunCommand(sim.Kubectl() + " get pod -n shop batch-pending -o jsonpath={.spec.nodeName}");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kinema::simtest
