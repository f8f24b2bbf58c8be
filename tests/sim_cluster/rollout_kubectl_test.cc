// Integration: the real kinema-sim binary (with the cluster parts) driven
// by kubectl 1.32 — `kubectl rollout status` must follow a rolling update
// to completion. Until a scheduler is part of the binary, this test binds
// Pending pods itself through the pods/binding REST subresource.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <thread>

#include "tests/sim/sim_process.h"

namespace kinema::simtest {
namespace {

using Json = nlohmann::json;

// Test-only stand-in for the scheduler: binds unscheduled Pending pods to
// node-a via POST .../pods/NAME/binding.
class RestBinder {
 public:
  explicit RestBinder(const SimProcess& sim) : sim_(sim), thread_([this] { Run(); }) {}
  ~RestBinder() {
    stop_ = true;
    thread_.join();
  }

 private:
  void Run() {
    while (!stop_) {
      auto r = RunCommand(sim_.Curl() + " '" + sim_.Url() + "/api/v1/pods?fieldSelector=spec.nodeName%3D'");
      Json list = Json::parse(r.out, nullptr, false);
      if (!list.is_discarded() && list.contains("items")) {
        for (const auto& p : list["items"]) {
          if (p["status"].value("phase", "") != "Pending" || p["metadata"].contains("deletionTimestamp")) continue;
          std::string ns = p["metadata"]["namespace"], name = p["metadata"]["name"];
          Json binding = {{"apiVersion", "v1"}, {"kind", "Binding"}, {"metadata", {{"name", name}}},
                          {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", "node-a"}}}};
          RunCommand(sim_.Curl() + " -X POST -H 'Content-Type: application/json' -d '" + binding.dump() + "' '" +
                     sim_.Url() + "/api/v1/namespaces/" + ns + "/pods/" + name + "/binding'");
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  const SimProcess& sim_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(ClusterKubectl, RolloutStatusSucceedsWithKubectl) {
  SimProcess sim({"--time-scale", "10"});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  RestBinder binder(sim);
  std::string k = sim.Kubectl() + " -n shop ";
  // The snapshot's Deployment is converged: adopted, nothing to roll.
  auto r = RunCommand(k + "rollout status deployment/web --timeout=60s");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << sim.Log();
  EXPECT_NE(r.out.find("successfully rolled out"), std::string::npos) << r.out;
  auto before = RunCommand(k + "get pods -l app=web -o jsonpath='{.items[*].metadata.name}'");
  // A template change starts a rolling update that rollout status follows to the end.
  r = RunCommand(k + "patch deployment web --type=strategic -p "
                     "'{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"nginx:1.28\"}]}}}}'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunCommand(k + "rollout status deployment/web --timeout=60s");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << sim.Log();
  EXPECT_NE(r.out.find("deployment \"web\" successfully rolled out"), std::string::npos) << r.out;
  r = RunCommand(k + "get pods -l app=web -o json");
  Json pods = Json::parse(r.out);
  int running = 0;
  for (const auto& p : pods["items"]) {
    if (p["metadata"].contains("deletionTimestamp")) continue;
    EXPECT_EQ(p["spec"]["containers"][0]["image"], "nginx:1.28");
    EXPECT_EQ(before.out.find(p["metadata"]["name"].get<std::string>()), std::string::npos);
    running += p["status"].value("phase", "") == "Running" ? 1 : 0;
  }
  EXPECT_EQ(running, 3);
  r = RunCommand(k + "get rs -o json");
  Json rses = Json::parse(r.out);
  EXPECT_EQ(rses["items"].size(), 2u);
  r = RunCommand(k + "rollout history deployment/web");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // The rollout kept the Deployment's guarantee and the PDB (minAvailable 2).
  r = RunCommand(sim.Curl() + " " + sim.Url() + "/sim/v1/report");
  Json report = Json::parse(r.out);
  EXPECT_EQ(report["availability"]["secondsBelowMinAvailable"], 0.0) << report.dump();
  EXPECT_EQ(report["pdbViolations"], 0) << report.dump();
  // Rolling back with kubectl (client-side: copies revision 1's template back).
  r = RunCommand(k + "rollout undo deployment/web");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = RunCommand(k + "rollout status deployment/web --timeout=60s");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = RunCommand(k + "get deployment web -o jsonpath='{.spec.template.spec.containers[0].image} {.metadata.annotations.deployment\\.kubernetes\\.io/revision}'");
  EXPECT_EQ(r.out, "nginx:1.27 3");
}

TEST(ClusterKubectl, RolloutStatusReportsProgressDeadlineExceeded) {
  SimProcess sim({"--time-scale", "20"});
  ASSERT_TRUE(sim.ok()) << sim.Log();
  // The new template selects no node: its pods are never scheduled.
  std::string k = sim.Kubectl() + " -n shop ";
  auto r = RunCommand(k + "patch deployment web --type=merge -p "
                          "'{\"spec\":{\"progressDeadlineSeconds\":30,\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\",\"v\":\"2\"}},"
                          "\"spec\":{\"nodeSelector\":{\"kinema.io/no-such-node\":\"x\"}}}}}'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunCommand(k + "rollout status deployment/web --timeout=60s");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("exceeded its progress deadline"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace kinema::simtest
