// A cluster dumped without statuses (make_scenario.py --strip-status: what
// `kubectl get ... -o json` minus `.status` gives) comes to life in the real
// kinema-sim binary: nodes Ready, pods Running and Ready with the usual
// conditions and KEP-1287 container resources, workload statuses recomputed
// from the pods — so Kinema's stability gate (EvaluateStability) opens.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "steps/rescheduling/stability.h"
#include "tests/sim/sim_process.h"

namespace kinema::simtest {
namespace {

using Json = nlohmann::json;

Json KubectlJson(const SimProcess& sim, const std::string& what) {
  auto r = RunCommand(sim.Kubectl() + " get " + what + " -A -o json");
  if (r.exit_code != 0) return Json();
  try {
    return Json::parse(r.out);
  } catch (...) {
    return Json();
  }
}

bool ConditionTrue(const Json& obj, const std::string& type) {
  if (!obj.contains("status") || !obj["status"].contains("conditions")) return false;
  for (const auto& c : obj["status"]["conditions"]) {
    if (c.value("type", "") == type) return c.value("status", "") == "True";
  }
  return false;
}

TEST(SnapshotBringUp, StrippedClusterBecomesStableForTheStabilityGate) {
  const std::string dir = testing::TempDir() + "/bringup";
  auto gen = RunCommand("rm -rf " + dir + " && python3 " + SourceDir() +
                        "/tools/scenarios/make_scenario.py --out " + dir + " --nodes 4 --scale 1 --strip-status");
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  SimProcess sim({"--snapshot", dir + "/snapshot.json", "--catalog", dir + "/catalog.json", "--time-scale", "20"});
  ASSERT_TRUE(sim.ok()) << sim.Log();

  const std::string kinds = "nodes,pods,deployments,replicasets,statefulsets,daemonsets,pdb,hpa";
  rescheduling::StabilityReport report;
  Json list;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    list = KubectlJson(sim, kinds);
    if (list.contains("items")) {
      std::vector<Json> objects(list["items"].begin(), list["items"].end());
      report = rescheduling::EvaluateStability(objects, {});
      if (report.stable) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_TRUE(report.stable) << "still unstable: " << (report.reasons.empty() ? "" : report.reasons[0]) << "\n"
                             << sim.Log();

  int nodes = 0, pods = 0, deployments = 0, pdbs = 0, daemonsets = 0;
  for (const auto& o : list["items"]) {
    const std::string kind = o.value("kind", "");
    const std::string name = o["metadata"].value("name", "");
    if (kind == "Node") {
      ++nodes;
      EXPECT_TRUE(ConditionTrue(o, "Ready")) << name;
      EXPECT_EQ(o["status"]["allocatable"].value("cpu", ""), "7910m") << name << ": capacity from the catalog";
    } else if (kind == "Pod") {
      ++pods;
      EXPECT_EQ(o["status"].value("phase", ""), "Running") << name;
      for (const char* c : {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"}) {
        EXPECT_TRUE(ConditionTrue(o, c)) << name << " " << c;
      }
      ASSERT_TRUE(o["status"].contains("containerStatuses")) << name;
      for (const auto& cs : o["status"]["containerStatuses"]) {
        EXPECT_TRUE(cs.value("ready", false)) << name;
        EXPECT_EQ(cs["resources"], o["spec"]["containers"][0]["resources"]) << name;
        EXPECT_EQ(cs.value("restartCount", -1), 0) << name << ": brought to life, not restarted";
      }
      EXPECT_FALSE(o["status"].value("qosClass", "").empty()) << name;
    } else if (kind == "Deployment") {
      ++deployments;
      EXPECT_EQ(o["status"].value("readyReplicas", -1), o["spec"].value("replicas", -2)) << name;
      EXPECT_EQ(o["status"].value("observedGeneration", 0), o["metadata"].value("generation", -1)) << name;
    } else if (kind == "PodDisruptionBudget") {
      ++pdbs;
      EXPECT_EQ(o["status"].value("disruptionsAllowed", -1), 1) << name;
    } else if (kind == "DaemonSet") {
      ++daemonsets;
      EXPECT_EQ(o["status"].value("numberReady", -1), 4) << name;
    }
  }
  EXPECT_EQ(nodes, 4);
  EXPECT_GT(pods, 40);
  EXPECT_EQ(deployments, 12);
  EXPECT_GT(pdbs, 0);
  EXPECT_EQ(daemonsets, 1);
  // The snapshot's pods were brought to life in place: none was replaced.
  auto snapshot = Json::parse(RunCommand("cat " + dir + "/snapshot.json").out);
  int snapshot_pods = 0;
  for (const auto& o : snapshot["items"]) snapshot_pods += o.value("kind", "") == "Pod";
  EXPECT_EQ(pods, snapshot_pods);
}

}  // namespace
}  // namespace kinema::simtest
