// End to end, spot rescheduling (issue 16): the real controller with
// `--once --kind spot-rescheduling` against kinema-sim's living mixed
// cluster (spot and on-demand nodes, spot-tolerant pods stranded on
// on-demand nodes as after a preemption) and a real Prometheus. Checks the
// journal (kinemactl) and the simulator's own account (/sim/v1/report).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
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

// Polls `done` every 200 ms for at most `timeout_ms`.
bool WaitUntil(const std::function<bool()>& done, int timeout_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return done();
}

// Preempts a spot node's instance the way GCE lets you test it:
// instances.simulateMaintenanceEvent (the sim preempts a spot instance at
// once; its Node goes NotReady, then is removed).
bool Preempt(const E2eCluster& c, const json& node) {
  std::string zone = node["metadata"]["labels"].value("topology.kubernetes.io/zone", "");
  std::string url = c.plain_server() + "/compute/v1/projects/shop-project/zones/" + zone + "/instances/" +
                    node["metadata"]["name"].get<std::string>() + "/simulateMaintenanceEvent";
  return RunProcess({"/usr/bin/curl", "-sf", "-X", "POST", url}).exit_code == 0;
}

// A copy of the result of the workflow's step `name` (null when absent).
json ResultCopy(const json& show, const std::string& name) {
  const json* r = StepResult(show, name);
  return r != nullptr ? *r : json();
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

TEST(SpotEndToEnd, WithBootSpotAPreemptionThatLeftNoSpotRoomIsAnsweredByBootingSpotAndDraining) {
  // Every spot node is preempted at the start (the scenario's events): their
  // pods fall back to on-demand nodes and no spot room is left. With
  // spot.bootSpot, one cycle boots the catalog's cheapest spot type that
  // holds an on-demand node's pods (through the cloud provider) and drains
  // that node into it.
  E2eOptions o = MixedCluster("  bootSpot: true\n  bootTimeout: 3m\n  afterDrain: delete\n  drainTimeout: 2m\n");
  for (const char* n : {"gke-shop-pool-05", "gke-shop-pool-06", "gke-shop-pool-07"}) {
    o.scenario_args.insert(o.scenario_args.end(), {"--spot-preemption", std::string("1s:") + n});
  }
  E2eCluster c(o);
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  // The preemptions play out: spot Nodes removed, their pods Running on
  // on-demand nodes again.
  bool settled = WaitUntil(
      [&] {
        for (const auto& [name, n] : NodesByName(c)) {
          if (IsSpot(n)) return false;
        }
        for (const auto& p : c.KubectlJson({"get", "pods", "-A"}).value("items", json::array())) {
          if (p["spec"].value("nodeName", "").empty() || p["status"].value("phase", "") != "Running") return false;
        }
        json r = c.Report();
        return r.is_object() && r["availability"]["deploymentsBelowMinAvailable"] == 0;
      },
      90000);
  ASSERT_TRUE(settled) << "the preemptions did not settle: " << c.Logs();
  json before = c.Report();
  ASSERT_TRUE(before.is_object());
  ASSERT_EQ(before["cloud"]["instancesPreempted"], 3) << before.dump();
  ASSERT_EQ(NodesByName(c).size(), 5u);

  auto run = c.RunKinemaOnce({"--kind", "spot-rescheduling"});
  ASSERT_EQ(run.exit_code, 0) << Tail(run.err, 6000) << c.Logs();
  json wf = OnlyWorkflow(c);
  ASSERT_TRUE(wf.is_object()) << c.Kinemactl({"list"}).dump();
  EXPECT_EQ(wf["status"], "completed") << wf.dump();
  json show = c.Kinemactl({"show", wf["id"]});

  // The plan chose the node and the spot type; node-boot booted it as spot.
  json plan = ResultCopy(show, "spot-plan");
  ASSERT_TRUE(plan.is_object()) << show.dump().substr(0, 4000);
  ASSERT_TRUE(plan["plan"].contains("boot")) << plan.dump().substr(0, 4000);
  const json& boot = plan["plan"]["boot"];
  const std::string emptied = boot["node"];
  json booted = ResultCopy(show, "node-boot");
  ASSERT_TRUE(booted.is_object()) << show.dump().substr(0, 4000);
  ASSERT_EQ(booted["booted"].size(), 1u) << booted.dump();
  EXPECT_EQ(booted["booted"][0]["capacityType"], "spot") << booted.dump();
  EXPECT_EQ(booted["booted"][0]["machineType"], boot["machineType"]) << booted.dump();
  const std::string spot_node = booted["booted"][0]["node"];

  auto nodes = NodesByName(c);
  ASSERT_EQ(nodes.count(spot_node), 1u) << spot_node;
  EXPECT_TRUE(IsSpot(nodes[spot_node])) << nodes[spot_node].dump();
  EXPECT_EQ(nodes[spot_node]["metadata"]["labels"].value("node.kubernetes.io/instance-type", ""), boot["machineType"]);
  EXPECT_EQ(nodes.count(emptied), 0u) << emptied << " drained and deleted (afterDrain: delete)";
  auto pods = PodsByNode(c);
  EXPECT_EQ(pods.count(""), 0u) << "pending pods after the cycle";
  EXPECT_GT(pods[spot_node].size(), 0u) << "pods moved onto the booted spot node";
  for (const auto& [node, list] : pods) {
    if (!nodes.count(node) || !IsSpot(nodes[node])) continue;
    for (const auto& p : list) EXPECT_TRUE(Tolerates(p)) << p["metadata"]["name"] << " on spot node " << node;
  }

  json after = c.Report();
  ASSERT_TRUE(after.is_object());
  EXPECT_EQ(after["cloud"]["instancesCreated"], 1) << after.dump();
  EXPECT_EQ(after["cloud"]["instancesDeleted"].get<int>(), before["cloud"]["instancesDeleted"].get<int>() + 1)
      << after.dump();
  EXPECT_EQ(after["pdbViolations"], before["pdbViolations"]) << after.dump();
  EXPECT_EQ(after["availability"]["secondsBelowMinAvailable"].get<double>(),
            before["availability"]["secondsBelowMinAvailable"].get<double>())
      << "the boot and drain cost no availability: " << after.dump();
  EXPECT_LT(after["costPerHour"].get<double>(), before["costPerHour"].get<double>())
      << "before " << before["costPerHour"] << " after " << after["costPerHour"];
  std::printf("bootSpot: emptied %s into a new spot %s (%s); cost %.4f -> %.4f $/h\n", emptied.c_str(),
              boot["machineType"].get<std::string>().c_str(), spot_node.c_str(), before["costPerHour"].get<double>(),
              after["costPerHour"].get<double>());

  json explain = c.Kinemactl({"explain", wf["id"]});
  ASSERT_TRUE(explain.is_object()) << explain;
  const json* b = ExplainedNode(explain, spot_node);
  ASSERT_NE(b, nullptr) << explain.dump();
  EXPECT_EQ((*b)["action"], "booted") << b->dump();
  const json* e = ExplainedNode(explain, emptied);
  ASSERT_NE(e, nullptr) << explain.dump();
  EXPECT_EQ((*e)["action"], "deleted") << e->dump();
  EXPECT_NE((*e)["reason"].get<std::string>().find("spot.bootSpot"), std::string::npos) << e->dump();
  EXPECT_EQ(explain["spot"]["boot"]["bootedNode"], spot_node) << explain.dump();
  for (const auto& m : explain["moves"]) EXPECT_EQ(m["to"], spot_node) << m.dump();
  EXPECT_EQ(RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "verify"}).exit_code, 0);
}

TEST(SpotEndToEnd, ASpotPreemptionDuringTheDrainStopsItBeforeTheNextEviction) {
  // A StatefulSet's two spot-tolerant pods sit on gke-shop-pool-00: the
  // rollouts do not move them, the drain evicts them one by one. The drain
  // is held after its first eviction (KINEMA_TEST_DELAY at the
  // drain_evicted hook of drain-and-delete, step 7) while every spot node is
  // preempted; the re-check before the second eviction finds no spot room
  // and stops the drain: the node is kept, its marks removed, the journal
  // says why, and no pod is evicted into nowhere.
  E2eOptions o = MixedCluster("  maxNodesPerCycle: 2\n  pendingTimeout: 30s\n  drainTimeout: 2m\n");
  o.scenario_json = R"({"cloud": {"nodeNotReadyDelay": "5s", "nodeRemoveDelay": "2s"}})";
  E2eCluster c(o);
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  json ss = json::parse(R"({
    "apiVersion": "apps/v1", "kind": "StatefulSet",
    "metadata": {"name": "ledger", "namespace": "shop"},
    "spec": {"replicas": 2, "serviceName": "ledger", "podManagementPolicy": "Parallel",
      "selector": {"matchLabels": {"app": "ledger"}},
      "template": {"metadata": {"labels": {"app": "ledger"}},
        "spec": {
          "tolerations": [{"key": "kinema.io/spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
          "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100,
            "preference": {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
                                                 "values": ["gke-shop-pool-00"]}]}}]}},
          "containers": [{"name": "ledger", "image": "shop/ledger:1.0",
                          "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}})");
  std::ofstream(c.File("ledger.json")) << ss.dump();
  auto applied = c.Kubectl({"apply", "-f", c.File("ledger.json")});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  auto ledger_on = [&](const std::string& node) {  // Running, not being deleted
    int n = 0;
    auto pods = PodsByNode(c);
    for (const auto& p : pods[node]) {
      n += p["metadata"]["name"].get<std::string>().rfind("ledger-", 0) == 0 &&
           !p["metadata"].contains("deletionTimestamp") && p["status"].value("phase", "") == "Running";
    }
    return n;
  };
  ASSERT_TRUE(WaitUntil([&] { return ledger_on("gke-shop-pool-00") == 2; }, 30000))
      << c.KubectlJson({"get", "pods", "-n", "shop"}).dump().substr(0, 3000);

  pid_t kinema = testing::StartProcess({"/usr/bin/env", "KINEMA_TEST_DELAY=drain_evicted:7:12000",
                                        testing::BinPath("kinema"), "--config", c.config(), "--once", "--kind",
                                        "spot-rescheduling"},
                                       c.File("kinema-once"));
  ASSERT_TRUE(WaitUntil([&] { return ledger_on("gke-shop-pool-00") < 2; }, 120000)) << c.Logs();
  // The drain's first eviction happened; now spot capacity vanishes.
  int preempted = 0;
  for (const auto& [name, n] : NodesByName(c)) {
    if (IsSpot(n)) preempted += Preempt(c, n);
  }
  EXPECT_EQ(preempted, 3);
  EXPECT_EQ(testing::WaitProcess(kinema), 0) << c.Logs();

  json wf = OnlyWorkflow(c);
  ASSERT_TRUE(wf.is_object());
  EXPECT_EQ(wf["status"], "completed") << wf.dump();
  json show = c.Kinemactl({"show", wf["id"]});
  json drain = ResultCopy(show, "drain-and-delete");
  ASSERT_TRUE(drain.is_object()) << show.dump().substr(0, 4000);
  json kept;
  for (const auto& n : drain["nodes"]) {
    if (n["node"] == "gke-shop-pool-00") kept = n;
  }
  ASSERT_TRUE(kept.is_object()) << drain.dump();
  EXPECT_EQ(kept["outcome"], "kept") << kept.dump();
  EXPECT_EQ(kept["evicted"], 1) << kept.dump();
  EXPECT_NE(kept.value("why", "").find("spot capacity changed"), std::string::npos)
      << "the journal says why: " << kept.dump();

  json report = c.Report();
  json moved = ResultCopy(show, "deployment-patch");
  EXPECT_EQ(report["evictions"]["accepted"].get<size_t>(), 1 + moved.value("evicted", json::array()).size())
      << "no eviction but the journal's, none once spot was gone: " << report.dump();
  EXPECT_EQ(report["cloud"]["instancesPreempted"], 3) << report.dump();
  // Kept cleanly: the other ledger pod still there, no retire mark left,
  // nothing Pending (the evicted pod runs elsewhere).
  auto nodes = NodesByName(c);
  ASSERT_EQ(nodes.count("gke-shop-pool-00"), 1u);
  EXPECT_FALSE(HasTaint(nodes["gke-shop-pool-00"], "kinema.io/retire")) << nodes["gke-shop-pool-00"].dump();
  EXPECT_FALSE(nodes["gke-shop-pool-00"]["metadata"]["labels"].contains("kinema.io/retire"));
  EXPECT_EQ(ledger_on("gke-shop-pool-00"), 1);
  EXPECT_TRUE(WaitUntil([&] { return PodsByNode(c).count("") == 0; }, 20000)) << "a pod left Pending";
  json explain = c.Kinemactl({"explain", wf["id"]});
  const json* n = ExplainedNode(explain, "gke-shop-pool-00");
  ASSERT_NE(n, nullptr) << explain.dump();
  EXPECT_EQ((*n)["action"], "kept") << n->dump();
  EXPECT_NE((*n)["reason"].get<std::string>().find("after 1 eviction"), std::string::npos) << n->dump();
  EXPECT_EQ(RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "verify"}).exit_code, 0);
}

TEST(SpotEndToEnd, RunsBesideTheReschedulingKindNeverAtTheSameTime) {
  // Both node-retiring kinds in one `kinema --once`: the kind scheduler runs
  // at most one node-retiring workflow at a time, so the two never overlap,
  // and together they keep every guarantee.
  E2eCluster c(MixedCluster("  maxNodesPerCycle: 5\n  afterDrain: delete\n  drainTimeout: 2m\n"));
  std::string err = c.Start();
  ASSERT_EQ(err, "") << err;
  auto run = c.RunKinemaOnce({"--kind", "kinema-rescheduling", "--kind", "spot-rescheduling"});
  ASSERT_EQ(run.exit_code, 0) << Tail(run.err, 6000) << c.Logs();
  json list = c.Kinemactl({"list"});
  ASSERT_TRUE(list.is_array()) << list;
  std::map<std::string, std::pair<std::string, std::string>> span;  // type -> [first start, last finish]
  for (const auto& w : list) {
    EXPECT_EQ(w["status"], "completed") << w.dump();
    json show = c.Kinemactl({"show", w["id"]});
    std::string first = "9", last;
    for (const auto& s : show.value("steps", json::array())) {
      if (s["startedAt"].is_string()) first = std::min(first, s["startedAt"].get<std::string>());
      if (s["finishedAt"].is_string()) last = std::max(last, s["finishedAt"].get<std::string>());
    }
    span[w.value("type", "")] = {first, last};
  }
  ASSERT_EQ(span.count("kinema-rescheduling"), 1u) << list.dump();
  ASSERT_EQ(span.count("spot-rescheduling"), 1u) << list.dump();
  const auto& r = span["kinema-rescheduling"];
  const auto& sp = span["spot-rescheduling"];
  EXPECT_TRUE(sp.first >= r.second || r.first >= sp.second)
      << "rescheduling " << r.first << ".." << r.second << ", spot " << sp.first << ".." << sp.second;
  json report = c.Report();
  EXPECT_EQ(report["pdbViolations"], 0) << report.dump();
  EXPECT_EQ(report["availability"]["secondsBelowMinAvailable"].get<double>(), 0.0) << report.dump();
  EXPECT_EQ(report["pendingPods"], 0) << report.dump();
  EXPECT_TRUE(NodesWithKinemaMarks(c).empty());
  EXPECT_EQ(RunProcess({testing::BinPath("kinemactl"), "--db", c.journal(), "verify"}).exit_code, 0);
}

}  // namespace
}  // namespace kinema::e2e
