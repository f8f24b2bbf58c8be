// End to end, spot rescheduling (issue 16): the real controller with
// `--once --kind spot-rescheduling` against kinema-sim's living mixed
// cluster (spot and on-demand nodes, spot-tolerant pods stranded on
// on-demand nodes as after a preemption) and a real Prometheus. Checks the
// journal (kinemactl) and the simulator's own account (/sim/v1/report).
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "tests/e2e/e2e_cluster.h"

namespace kinema::e2e {
namespace {

using nlohmann::json;
using testing::RunProcess;

// 8 nodes: gke-shop-pool-05..07 spot, 00 and 01 host only spot-tolerant
// pods, 02..04 host pods that do not tolerate spot.
E2eOptions MixedCluster(const std::string& spot_config) {
  E2eOptions o;
  o.nodes = 8;
  o.scale = 1;
  o.scenario_args = {"--spot-nodes", "3", "--spot-tolerant", "0.5", "--spot-refugee-nodes", "2"};
  o.extra_config = "spot:\n" + spot_config;
  return o;
}

bool IsSpot(const json& node) {
  const json& l = node["metadata"].value("labels", json::object());
  return l.value("cloud.google.com/gke-spot", "") == "true";
}

bool Tolerates(const json& pod) {
  for (const auto& t : pod["spec"].value("tolerations", json::array())) {
    if (t.value("key", "") == "kinema.io/spot") return true;
  }
  return false;
}

bool HasTaint(const json& node, const std::string& key) {
  for (const auto& t : node.value("spec", json::object()).value("taints", json::array())) {
    if (t.value("key", "") == key) return true;
  }
  return false;
}

std::map<std::string, json> NodesByName(const E2eCluster& c) {
  std::map<std::string, json> out;
  for (const auto& n : c.KubectlJson({"get", "nodes"}).value("items", json::array())) {
    out[n["metadata"]["name"].get<std::string>()] = n;
  }
  return out;
}

// Non-DaemonSet pods per node.
std::map<std::string, std::vector<json>> PodsByNode(const E2eCluster& c) {
  std::map<std::string, std::vector<json>> out;
  for (const auto& p : c.KubectlJson({"get", "pods", "-A"}).value("items", json::array())) {
    bool ds = false;
    for (const auto& o : p["metadata"].value("ownerReferences", json::array())) ds = ds || o.value("kind", "") == "DaemonSet";
    if (!ds) out[p["spec"].value("nodeName", "")].push_back(p);
  }
  return out;
}

json OnlyWorkflow(const E2eCluster& c) {
  json list = c.Kinemactl({"list", "--type", "spot-rescheduling"});
  if (!list.is_array() || list.size() != 1) return json();
  return list[0];
}

const json* ExplainedNode(const json& explain, const std::string& name) {
  if (!explain.is_object() || !explain.contains("nodes") || !explain["nodes"].is_array()) return nullptr;
  for (const auto& n : explain["nodes"]) {
    if (n.is_object() && n.value("name", "") == name) return &n;
  }
  return nullptr;
}

TEST(SpotEndToEnd, EmptiesEveryOnDemandNodeWhosePodsAllFitOnSpotAndDeletesIt) {
  E2eCluster c(MixedCluster("  maxNodesPerCycle: 5\n  afterDrain: delete\n  drainTimeout: 2m\n"));
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  json before = c.Report();
  ASSERT_TRUE(before.is_object());
  auto nodes_before = NodesByName(c);
  ASSERT_EQ(nodes_before.size(), 8u);

  auto run = c.RunKinemaOnce({"--kind", "spot-rescheduling"});
  ASSERT_EQ(run.exit_code, 0) << run.err.substr(run.err.size() > 6000 ? run.err.size() - 6000 : 0) << c.Logs();
  json wf = OnlyWorkflow(c);
  ASSERT_TRUE(wf.is_object()) << c.Kinemactl({"list"}).dump();
  EXPECT_EQ(wf["status"], "completed") << wf.dump();

  // The refugee nodes are gone (drained, Node and instance deleted); the
  // on-demand nodes with intolerant pods stay, PreferNoSchedule-tainted.
  auto nodes = NodesByName(c);
  for (const char* gone : {"gke-shop-pool-00", "gke-shop-pool-01"}) EXPECT_EQ(nodes.count(gone), 0u) << gone;
  for (const char* kept : {"gke-shop-pool-02", "gke-shop-pool-03", "gke-shop-pool-04"}) {
    ASSERT_EQ(nodes.count(kept), 1u) << kept;
    EXPECT_TRUE(HasTaint(nodes[kept], "kinema.io/on-demand")) << nodes[kept].dump();
    EXPECT_FALSE(HasTaint(nodes[kept], "kinema.io/retire"));
  }
  for (const auto& [name, n] : nodes) {
    if (IsSpot(n)) {
      EXPECT_FALSE(HasTaint(n, "kinema.io/on-demand")) << name;
    }
  }

  // Pods that do not tolerate spot never went to spot; nothing is Pending.
  auto pods = PodsByNode(c);
  EXPECT_EQ(pods.count(""), 0u) << "pending pods after the cycle";
  for (const auto& [node, list] : pods) {
    if (!nodes.count(node) || !IsSpot(nodes[node])) continue;
    for (const auto& p : list) EXPECT_TRUE(Tolerates(p)) << p["metadata"]["name"] << " on spot node " << node;
  }

  json after = c.Report();
  ASSERT_TRUE(after.is_object());
  EXPECT_EQ(after["pdbViolations"], 0) << after.dump();
  EXPECT_EQ(after["availability"]["secondsBelowMinAvailable"].get<double>(), 0.0) << after.dump();
  EXPECT_EQ(after["cloud"]["instancesDeleted"], 2) << after.dump();
  EXPECT_LT(after["costPerHour"].get<double>(), before["costPerHour"].get<double>())
      << "before " << before["costPerHour"] << " after " << after["costPerHour"];

  // Every eviction is in the journal (the rollout's and the drain's); the
  // simulator counted the same.
  json show = c.Kinemactl({"show", wf["id"]});
  int evicted = 0, rolled = 0, planned_moves = 0;
  for (const auto& s : show.value("steps", json::array())) {
    const json& r = s.value("result", json::object());
    if (s.value("name", "") == "drain-and-delete") {
      for (const auto& n : r["nodes"]) evicted += n.value("evicted", 0);
    } else if (s.value("name", "") == "deployment-patch") {
      evicted += static_cast<int>(r.value("evicted", json::array()).size());
      rolled = static_cast<int>(r.value("deployments", json::array()).size());
    } else if (s.value("name", "") == "spot-plan") {
      for (const auto& n : r["plan"]["nodes"]) {
        if (n.value("action", "") == "drain") planned_moves += static_cast<int>(n.value("placements", json::array()).size());
      }
    }
  }
  EXPECT_EQ(after["evictions"]["accepted"], evicted) << show.dump().substr(0, 4000);
  EXPECT_GT(rolled, 0) << "Deployments move by rollouts within their own guarantee";
  EXPECT_GT(planned_moves, 0);
  json explain = c.Kinemactl({"explain", wf["id"]});
  ASSERT_TRUE(explain.is_object()) << explain;
  for (const char* gone : {"gke-shop-pool-00", "gke-shop-pool-01"}) {
    const json* n = ExplainedNode(explain, gone);
    ASSERT_NE(n, nullptr) << explain.dump();
    EXPECT_EQ((*n)["action"], "deleted") << n->dump();
  }
  for (const char* kept : {"gke-shop-pool-02", "gke-shop-pool-03", "gke-shop-pool-04"}) {
    const json* n = ExplainedNode(explain, kept);
    ASSERT_NE(n, nullptr) << explain.dump();
    EXPECT_EQ((*n)["action"], "skip") << n->dump();
    EXPECT_NE((*n)["reason"].get<std::string>().find("kinema.io/spot"), std::string::npos)
        << "the intolerant pod is named with the taint: " << n->dump();
  }
  EXPECT_EQ(static_cast<int>(explain["moves"].size()), planned_moves) << explain.dump();
  EXPECT_EQ(explain["spot"]["nodesDrained"], 2) << explain.dump();
  EXPECT_EQ(RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "verify"}).exit_code, 0);

  // The next cycle has nothing to drain and no taint to change: it ends at
  // its plan (journal only, so retention can prune it).
  auto again = c.RunKinemaOnce({"--kind", "spot-rescheduling"});
  ASSERT_EQ(again.exit_code, 0) << Tail(again.err, 3000);
  json list = c.Kinemactl({"list", "--type", "spot-rescheduling"});
  ASSERT_EQ(list.size(), 2u) << list.dump();
  json second = list[0]["id"] == wf["id"] ? list[1] : list[0];
  EXPECT_EQ(second.value("outcome", ""), "no_action") << second.dump();
  json second_show = c.Kinemactl({"show", second["id"]});
  for (const auto& s : second_show.value("steps", json::array())) {
    if (s.value("name", "") != "spot-plan") {
      EXPECT_NE(s.value("status", ""), "succeeded") << s.dump().substr(0, 500);
    }
  }
}

TEST(SpotEndToEnd, WithTheSeedsDefaultsOneNodeIsEmptiedAndLeftSchedulable) {
  // maxNodesPerCycle 1, afterDrain keep: the emptiest on-demand node is
  // emptied into spot and stays, schedulable, for an autoscaler to remove.
  E2eCluster c(MixedCluster("  drainTimeout: 2m\n"));
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  auto run = c.RunKinemaOnce({"--kind", "spot-rescheduling"});
  ASSERT_EQ(run.exit_code, 0) << Tail(run.err, 4000);
  json wf = OnlyWorkflow(c);
  ASSERT_TRUE(wf.is_object());
  EXPECT_EQ(wf["status"], "completed") << wf.dump();
  auto nodes = NodesByName(c);
  ASSERT_EQ(nodes.size(), 8u) << "keep: no node is deleted";
  const json& drained = nodes["gke-shop-pool-00"];
  EXPECT_FALSE(HasTaint(drained, "kinema.io/retire")) << drained.dump();
  EXPECT_FALSE(drained["metadata"]["labels"].contains("kinema.io/retire"));
  EXPECT_FALSE(drained["spec"].value("unschedulable", false));
  EXPECT_TRUE(HasTaint(drained, "kinema.io/on-demand")) << "new pods still prefer spot";
  auto pods = PodsByNode(c);
  EXPECT_EQ(pods["gke-shop-pool-00"].size(), 0u) << "emptied";
  // One node per cycle: gke-shop-pool-01 is not drained (its pods may still
  // have moved to spot: the rollouts replace every replica of a Deployment).
  ASSERT_EQ(nodes.count("gke-shop-pool-01"), 1u);
  EXPECT_FALSE(HasTaint(nodes["gke-shop-pool-01"], "kinema.io/retire"));
  json report = c.Report();
  EXPECT_EQ(report["pdbViolations"], 0) << report.dump();
  EXPECT_EQ(report["availability"]["secondsBelowMinAvailable"].get<double>(), 0.0) << report.dump();
  json explain = c.Kinemactl({"explain", wf["id"]});
  const json* n = ExplainedNode(explain, "gke-shop-pool-00");
  ASSERT_NE(n, nullptr) << explain.dump();
  EXPECT_EQ((*n)["action"], "drained") << n->dump();
  EXPECT_EQ(explain["spot"]["released"], json::array({"gke-shop-pool-00"})) << explain.dump();
  const json* next = ExplainedNode(explain, "gke-shop-pool-01");
  ASSERT_NE(next, nullptr);
  EXPECT_NE((*next)["reason"].get<std::string>().find("maxNodesPerCycle"), std::string::npos) << next->dump();
}

TEST(SpotEndToEnd, DryRunPlansAndTouchesNothing) {
  E2eCluster c(MixedCluster("  afterDrain: delete\n"));
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  auto run = c.RunKinemaOnce({"--kind", "spot-rescheduling", "--dry-run"});
  ASSERT_EQ(run.exit_code, 0) << Tail(run.err, 4000);
  json wf = OnlyWorkflow(c);
  ASSERT_TRUE(wf.is_object());
  EXPECT_EQ(wf["status"], "completed") << wf.dump();
  EXPECT_EQ(wf.value("outcome", ""), "dry_run") << wf.dump();
  for (const auto& [name, n] : NodesByName(c)) {
    EXPECT_FALSE(HasTaint(n, "kinema.io/on-demand")) << name;
    EXPECT_FALSE(HasTaint(n, "kinema.io/retire")) << name;
  }
  json report = c.Report();
  EXPECT_EQ(report["evictions"]["accepted"], 0) << report.dump();
  EXPECT_EQ(report["cloud"]["instancesDeleted"], 0) << report.dump();
  json explain = c.Kinemactl({"explain", wf["id"]});
  const json* n = ExplainedNode(explain, "gke-shop-pool-00");
  ASSERT_NE(n, nullptr) << explain.dump();
  EXPECT_EQ((*n)["action"], "drain") << "what it would do: " << n->dump();
}

TEST(SpotEndToEnd, APreemptionDuringTheCycleStopsTheDrainCleanly) {
  // afterDrain keep (the seed's default); the workflow is held for a few
  // seconds once gke-shop-pool-00 is marked (KINEMA_TEST_DELAY at the
  // spot-recheck intent) while every spot node is preempted (the cloud's
  // node controller removes their Nodes).
  E2eCluster c(MixedCluster("  pendingTimeout: 20s\n  drainTimeout: 2m\n"));
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  pid_t kinema = testing::StartProcess({"/usr/bin/env", "KINEMA_TEST_DELAY=after_intent:5:6000",
                                        testing::BinPath("kinema"), "--config", c.config(), "--once", "--kind",
                                        "spot-rescheduling"},
                                       c.File("kinema-once"));
  std::string id = c.WaitForCurrentStep("spot-recheck", 60000);
  ASSERT_NE(id, "") << c.Logs();
  auto marked = NodesByName(c);
  ASSERT_EQ(marked.count("gke-shop-pool-00"), 1u);
  EXPECT_TRUE(HasTaint(marked["gke-shop-pool-00"], "kinema.io/retire")) << "marked before the re-check";
  std::set<std::string> spot;
  for (const auto& [name, n] : marked) {
    if (IsSpot(n)) spot.insert(name);
  }
  ASSERT_EQ(spot.size(), 3u);
  for (const auto& s : spot) {
    auto del = c.Kubectl({"delete", "node", s, "--wait=false"});
    EXPECT_EQ(del.exit_code, 0) << del.err;
  }
  EXPECT_EQ(testing::WaitProcess(kinema), 0) << c.Logs();

  json wf = OnlyWorkflow(c);
  ASSERT_TRUE(wf.is_object());
  EXPECT_EQ(wf["status"], "completed") << wf.dump();
  json show = c.Kinemactl({"show", id});
  json recheck;
  for (const auto& s : show.value("steps", json::array())) {
    if (s.value("name", "") == "spot-recheck") recheck = s["result"];
    if (s.value("name", "") == "deployment-patch" || s.value("name", "") == "drain-and-delete") {
      EXPECT_NE(s.value("status", ""), "succeeded") << "nothing moved once spot was gone: " << s.dump();
    }
  }
  ASSERT_TRUE(recheck.is_object()) << show.dump().substr(0, 4000);
  EXPECT_TRUE(recheck["proceed"].empty()) << recheck.dump();
  ASSERT_EQ(recheck["kept"].size(), 1u) << recheck.dump();
  EXPECT_EQ(recheck["kept"][0]["node"], "gke-shop-pool-00");
  EXPECT_EQ(c.Report()["evictions"]["accepted"], 0) << "no pod was evicted";
  // Kept cleanly: still there, no retire mark left behind.
  auto nodes = NodesByName(c);
  ASSERT_EQ(nodes.count("gke-shop-pool-00"), 1u);
  EXPECT_FALSE(HasTaint(nodes["gke-shop-pool-00"], "kinema.io/retire")) << nodes["gke-shop-pool-00"].dump();
  EXPECT_FALSE(nodes["gke-shop-pool-00"]["metadata"]["labels"].contains("kinema.io/retire"));
  json explain = c.Kinemactl({"explain", id});
  const json* n = ExplainedNode(explain, "gke-shop-pool-00");
  ASSERT_NE(n, nullptr) << explain.dump();
  EXPECT_EQ((*n)["action"], "kept") << n->dump();
}

}  // namespace
}  // namespace kinema::e2e
