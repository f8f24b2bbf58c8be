// Behaviour of the simulated control plane (cluster/): ReplicaSet and
// Deployment controllers, kubelet, PDB controller, PodGC, scale events and
// the report accounting, driven through an in-process SimServer.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <set>

#include "tests/sim_cluster/cluster_harness.h"
#include "tools/kinema-sim/cluster/kinds.h"
#include "tools/kinema-sim/cluster/workload.h"
#include "tools/kinema-sim/subresources.h"

namespace kinema::sim::clustertest {
namespace {

using cluster::DeploymentsType;
using cluster::IsPodReady;
using cluster::IsTerminating;
using cluster::NodesType;
using cluster::PdbsType;
using cluster::PodsType;
using cluster::ReplicaSetsType;

std::vector<Json> TwoNodes() { return {NodeItem("node-a"), NodeItem("node-b")}; }

std::vector<Json> Concat(std::vector<Json> a, const std::vector<Json>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

int CountReady(const std::vector<ObjectPtr>& pods) {
  int n = 0;
  for (const auto& p : pods) n += (!IsTerminating(p->body) && IsPodReady(p->body)) ? 1 : 0;
  return n;
}

int CountActive(const std::vector<ObjectPtr>& pods) {
  int n = 0;
  for (const auto& p : pods) n += IsTerminating(p->body) ? 0 : 1;
  return n;
}

Json DeploymentStatus(Harness& h, const std::string& ns, const std::string& name) {
  auto d = h.Get(DeploymentsType(), ns, name);
  return d ? d->body.value("status", Json::object()) : Json::object();
}

std::string ConditionReason(const Json& status, const std::string& type) {
  const Json* c = cluster::FindCondition(status, type);
  return c ? c->value("reason", "") : "";
}

TEST(ClusterControllers, AdoptsConvergedSnapshotWithoutRestartingPods) {
  Harness h(Concat(TwoNodes(), ConvergedDeployment("shop", "cart", 4, {"node-a", "node-b"})), {});
  ASSERT_TRUE(h.ok()) << h.error();
  std::map<std::string, std::string> before;
  for (const auto& p : h.Pods("shop")) before[p->name] = cluster::Uid(p->body);
  ASSERT_EQ(before.size(), 4u);
  ASSERT_TRUE(h.WaitFor(
      [&] {
        Json st = DeploymentStatus(h, "shop", "cart");
        return ConditionReason(st, "Available") == "MinimumReplicasAvailable" &&
               st.value("availableReplicas", 0) == 4 && st.value("updatedReplicas", 0) == 4;
      },
      30));
  h.Sleep(10);
  std::map<std::string, std::string> after;
  for (const auto& p : h.Pods("shop")) after[p->name] = cluster::Uid(p->body);
  EXPECT_EQ(before, after);
  WatchFilter f;
  f.resource = &ReplicaSetsType();
  auto rses = h.store().List(f).items;
  ASSERT_EQ(rses.size(), 1u);
  EXPECT_EQ(rses[0]->name, "cart-6b7f9c5d4d");
  auto d = h.Get(DeploymentsType(), "shop", "cart");
  EXPECT_EQ(d->body["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1");
  EXPECT_EQ(d->body["status"]["observedGeneration"], d->body["metadata"]["generation"]);
  Json report = h.Report();
  EXPECT_EQ(report["availability"]["deploymentsBelowMinAvailable"], 0);
  EXPECT_EQ(report["availability"]["secondsBelowMinAvailable"], 0.0);
}

TEST(ClusterControllers, DeletedPodIsReplaced) {
  Harness h(Concat(TwoNodes(), ConvergedDeployment("shop", "cart", 3, {"node-a", "node-b"})), {});
  ASSERT_TRUE(h.ok()) << h.error();
  auto pods = h.Pods("shop");
  ASSERT_EQ(pods.size(), 3u);
  std::string victim = pods[0]->name;
  ASSERT_TRUE(h.registry().Delete(PodsType(), "shop", victim, DeleteOptions{}).ok());
  // The kubelet finishes termination after min(grace 30s, terminationDelay 1s).
  ASSERT_TRUE(h.WaitFor([&] { return h.Get(PodsType(), "shop", victim) == nullptr; }, 20));
  ASSERT_TRUE(h.WaitFor(
      [&] {
        auto now = h.Pods("shop");
        return now.size() == 3 && CountReady(now) == 3;
      },
      60));
  for (const auto& p : h.Pods("shop")) {
    if (p->name.rfind("cart-6b7f9c5d4d-p", 0) == 0) continue;
    // The replacement: made from the RS template, bound, started by the kubelet.
    EXPECT_EQ(p->body["metadata"]["generateName"], "cart-6b7f9c5d4d-");
    EXPECT_EQ(p->body["metadata"]["labels"]["pod-template-hash"], "6b7f9c5d4d");
    EXPECT_EQ(p->body["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
    EXPECT_EQ(p->body["status"]["phase"], "Running");
    EXPECT_FALSE(p->body["status"].value("podIP", "").empty());
    EXPECT_EQ(p->body["status"]["containerStatuses"][0]["ready"], true);
    EXPECT_TRUE(p->body["status"]["containerStatuses"][0]["state"].contains("running"));
    for (const char* c : {"Initialized", "Ready", "ContainersReady", "PodScheduled"}) {
      EXPECT_NE(cluster::FindCondition(p->body["status"], c), nullptr) << c;
    }
  }
}

TEST(ClusterControllers, RelabelledPodIsReleasedAndReplaced) {
  Harness h(Concat(TwoNodes(), ConvergedDeployment("shop", "cart", 2, {"node-a", "node-b"})), {});
  ASSERT_TRUE(h.ok()) << h.error();
  const std::string pulled = h.Pods("shop")[0]->name;
  // Take a pod out of service by relabelling it (a common debugging move).
  ASSERT_TRUE(h.registry()
                  .Patch(PodsType(), "shop", pulled, PatchType::kMerge, R"({"metadata":{"labels":{"app":"debug"}}})", "")
                  .ok());
  ASSERT_TRUE(h.WaitFor([&] { return cluster::ControllerRef(h.Get(PodsType(), "shop", pulled)->body) == nullptr; }, 10))
      << h.Get(PodsType(), "shop", pulled)->body.dump();
  ASSERT_TRUE(h.WaitFor([&] { return CountReady(h.Pods("shop", "app=cart")) == 2; }, 30));
  EXPECT_FALSE(IsTerminating(h.Get(PodsType(), "shop", pulled)->body)) << "released, not deleted";
  // Labelled back, it matches again: adopted, and the surplus pod goes.
  ASSERT_TRUE(h.registry()
                  .Patch(PodsType(), "shop", pulled, PatchType::kMerge, R"({"metadata":{"labels":{"app":"cart"}}})", "")
                  .ok());
  ASSERT_TRUE(h.WaitFor([&] { return CountActive(h.Pods("shop", "app=cart")) == 2; }, 30));
  EXPECT_NE(cluster::ControllerRef(h.Get(PodsType(), "shop", pulled)->body), nullptr);
}

TEST(ClusterControllers, SurplusPodsAreDeletedUnscheduledFirst) {
  Harness::Options o;
  o.binder = false;
  Harness h(Concat(TwoNodes(), ConvergedDeployment("shop", "cart", 3, {"node-a", "node-b"})), o);
  ASSERT_TRUE(h.ok()) << h.error();
  // Scale up to 5: two new pods stay unscheduled (no scheduler) ...
  ASSERT_TRUE(h.registry().Patch(DeploymentsType(), "shop", "cart", PatchType::kMerge, R"({"spec":{"replicas":5}})", "").ok());
  ASSERT_TRUE(h.WaitFor([&] { return h.Pods("shop").size() == 5; }, 20));
  // ... and scaling back to 3 removes exactly those.
  ASSERT_TRUE(h.registry().Patch(DeploymentsType(), "shop", "cart", PatchType::kMerge, R"({"spec":{"replicas":3}})", "").ok());
  ASSERT_TRUE(h.WaitFor([&] { return h.Pods("shop").size() == 3; }, 20));
  for (const auto& p : h.Pods("shop")) EXPECT_EQ(p->name.rfind("cart-6b7f9c5d4d-p", 0), 0u) << p->name;
}

// Watches every pod event of the deployment and checks the rollout's
// guarantees at each one.
TEST(ClusterControllers, RollingUpdateNeverDropsBelowMaxUnavailable) {
  Json strategy = {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", 1}, {"maxUnavailable", 1}}}};
  Harness h(Concat(TwoNodes(), ConvergedDeployment("shop", "cart", 4, {"node-a", "node-b"}, strategy)), {});
  ASSERT_TRUE(h.ok()) << h.error();
  std::mutex mu;
  std::map<std::string, ObjectPtr> pods;
  for (const auto& p : h.Pods("shop")) pods[p->name] = p;
  int min_ready = 4, max_active = 4;
  WatchFilter f;
  f.resource = &PodsType();
  f.ns = "shop";
  std::shared_ptr<Watcher> w;
  auto observe = [&] {
    std::lock_guard<std::mutex> l(mu);
    for (const auto& item : w->Take()) {
      if (item.type == "DELETED") pods.erase(item.object->name);
      else pods[item.object->name] = item.object;
      std::vector<ObjectPtr> all;
      for (const auto& [n, p] : pods) all.push_back(p);
      min_ready = std::min(min_ready, CountReady(all));
      if (CountActive(all) > max_active && std::getenv("SIMTEST_DEBUG")) {
        for (const auto& p : all) {
          fprintf(stderr, "  %s term=%d ready=%d phase=%s rv=%llu\n", p->name.c_str(), IsTerminating(p->body), IsPodReady(p->body),
                  cluster::PodPhase(p->body).c_str(), (unsigned long long)p->rv);
        }
        fprintf(stderr, "--- event %s %s\n", item.type.c_str(), item.object->name.c_str());
      }
      max_active = std::max(max_active, CountActive(all));
    }
  };
  w = h.store().Subscribe(f, nullptr);
  ASSERT_TRUE(h.registry().Patch(DeploymentsType(), "shop", "cart", PatchType::kStrategic,
                                 R"({"spec":{"template":{"spec":{"containers":[{"name":"app","image":"shop/cart:2.0"}]}}}})", "")
                  .ok());
  bool done = h.WaitFor(
      [&] {
        observe();
        Json st = DeploymentStatus(h, "shop", "cart");
        auto d = h.Get(DeploymentsType(), "shop", "cart");
        if (st.value("observedGeneration", 0) != d->body["metadata"].value("generation", 0)) return false;
        if (st.value("updatedReplicas", 0) != 4 || st.value("availableReplicas", 0) != 4 || st.value("replicas", 0) != 4) {
          return false;
        }
        auto now = h.Pods("shop");
        if (now.size() != 4) return false;
        for (const auto& p : now) {
          if (p->body["spec"]["containers"][0]["image"] != "shop/cart:2.0") return false;
        }
        return ConditionReason(st, "Progressing") == "NewReplicaSetAvailable";
      },
      300);
  observe();
  ASSERT_TRUE(done) << DeploymentStatus(h, "shop", "cart").dump();
  EXPECT_GE(min_ready, 3);   // replicas - maxUnavailable
  EXPECT_LE(max_active, 5);  // replicas + maxSurge
  auto d = h.Get(DeploymentsType(), "shop", "cart");
  EXPECT_EQ(d->body["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "2");
  WatchFilter rf;
  rf.resource = &ReplicaSetsType();
  auto rses = h.store().List(rf).items;
  ASSERT_EQ(rses.size(), 2u);
  for (const auto& rs : rses) {
    if (rs->name == "cart-6b7f9c5d4d") {
      EXPECT_EQ(rs->body["spec"]["replicas"], 0);
    } else {
      EXPECT_EQ(rs->body["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "2");
      std::string hash = rs->body["metadata"]["labels"]["pod-template-hash"];
      EXPECT_EQ(rs->name, "cart-" + hash);
      EXPECT_EQ(rs->body["spec"]["selector"]["matchLabels"]["pod-template-hash"], hash);
    }
  }
  EXPECT_EQ(h.Report()["availability"]["secondsBelowMinAvailable"], 0.0);
  w->Stop();
}

TEST(ClusterControllers, RecreateStopsOldPodsBeforeStartingNewOnes) {
  Json strategy = {{"type", "Recreate"}};
  Harness h(Concat(TwoNodes(), ConvergedDeployment("shop", "cart", 2, {"node-a", "node-b"}, strategy)), {});
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_TRUE(h.registry().Patch(DeploymentsType(), "shop", "cart", PatchType::kMerge,
                                 R"({"spec":{"template":{"metadata":{"labels":{"app":"cart","v":"2"}}}}})", "")
                  .ok());
  bool mixed = false;
  bool done = h.WaitFor(
      [&] {
        auto pods = h.Pods("shop");
        int old_active = 0, fresh = 0;
        for (const auto& p : pods) {
          bool is_new = p->body["metadata"]["labels"].value("v", "") == "2";
          if (is_new) fresh++;
          else if (!IsTerminating(p->body)) old_active++;
        }
        if (old_active > 0 && fresh > 0) mixed = true;
        return fresh == 2 && pods.size() == 2 && CountReady(pods) == 2;
      },
      120);
  EXPECT_TRUE(done);
  EXPECT_FALSE(mixed);
}

TEST(ClusterControllers, ProgressDeadlineExceededWhenPodsNeverStart) {
  Harness::Options o;
  o.binder = false;  // nothing schedules the new pods
  auto items = TwoNodes();
  auto dep = ConvergedDeployment("shop", "cart", 2, {"node-a", "node-b"});
  dep[0]["spec"]["progressDeadlineSeconds"] = 30;
  Harness h(Concat(items, dep), o);
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_TRUE(h.registry().Patch(DeploymentsType(), "shop", "cart", PatchType::kStrategic,
                                 R"({"spec":{"template":{"spec":{"containers":[{"name":"app","image":"x:2"}]}}}})", "")
                  .ok());
  ASSERT_TRUE(h.WaitFor(
      [&] {
        Json st = DeploymentStatus(h, "shop", "cart");
        const Json* c = cluster::FindCondition(st, "Progressing");
        return c && c->value("reason", "") == "ProgressDeadlineExceeded" && c->value("status", "") == "False";
      },
      120))
      << DeploymentStatus(h, "shop", "cart").dump();
}

TEST(ClusterControllers, KubeletStartsBoundPodsAfterDelayAndFinishesTermination) {
  Harness::Options o;
  o.binder = false;
  o.scenario = {{"kubelet", {{"podStartDelay", "20s"}, {"terminationDelay", "5s"}}}};
  Harness h(TwoNodes(), o);
  ASSERT_TRUE(h.ok()) << h.error();
  Json pod = {{"metadata", {{"name", "solo"}}},
              {"spec", {{"nodeName", "node-a"}, {"containers", Json::array({{{"name", "c"}, {"image", "i"}}})}}}};
  auto created = h.registry().Create(PodsType(), "default", pod);
  ASSERT_TRUE(created.ok());
  h.Sleep(10);
  EXPECT_EQ(h.Get(PodsType(), "default", "solo")->body["status"]["phase"], "Pending");
  ASSERT_TRUE(h.WaitFor([&] { return h.Get(PodsType(), "default", "solo")->body["status"]["phase"] == "Running"; }, 60));
  auto running = h.Get(PodsType(), "default", "solo");
  EXPECT_TRUE(IsPodReady(running->body));
  EXPECT_EQ(running->body["status"]["hostIP"], "10.0.0.9");
  EXPECT_FALSE(running->body["status"].value("startTime", "").empty());
  ASSERT_TRUE(h.registry().Delete(PodsType(), "default", "solo", DeleteOptions{}).ok());
  h.Sleep(2);
  ASSERT_NE(h.Get(PodsType(), "default", "solo"), nullptr);  // grace 30s, terminationDelay 5s
  EXPECT_TRUE(h.WaitFor([&] { return h.Get(PodsType(), "default", "solo") == nullptr; }, 30));
}

// A pod with spec.activeDeadlineSeconds is failed by its kubelet that long
// after it started (the active-deadline handler): phase Failed, reason
// DeadlineExceeded, containers terminated; a pod without one keeps running.
TEST(ClusterKubelet, ActiveDeadlineFailsThePodThatLongAfterItStarted) {
  Harness::Options o;
  o.binder = false;
  o.scenario = {{"kubelet", {{"podStartDelay", "1s"}}}};
  Harness h(TwoNodes(), o);
  ASSERT_TRUE(h.ok()) << h.error();
  auto pod = [](const std::string& name, std::optional<int> deadline) {
    Json p = {{"metadata", {{"name", name}}},
              {"spec", {{"nodeName", "node-a"}, {"containers", Json::array({{{"name", "c"}, {"image", "i"}}})}}}};
    if (deadline) p["spec"]["activeDeadlineSeconds"] = *deadline;
    return p;
  };
  ASSERT_TRUE(h.registry().Create(PodsType(), "default", pod("held", 30)).ok());
  ASSERT_TRUE(h.registry().Create(PodsType(), "default", pod("free", std::nullopt)).ok());
  auto phase = [&](const std::string& n) { return h.Get(PodsType(), "default", n)->body["status"].value("phase", ""); };
  ASSERT_TRUE(h.WaitFor([&] { return phase("held") == "Running"; }, 10));
  h.Sleep(20);
  EXPECT_EQ(phase("held"), "Running") << "not before its deadline";
  ASSERT_TRUE(h.WaitFor([&] { return phase("held") == "Failed"; }, 30));
  const Json st = h.Get(PodsType(), "default", "held")->body["status"];
  EXPECT_EQ(st["reason"], "DeadlineExceeded");
  EXPECT_FALSE(IsPodReady(h.Get(PodsType(), "default", "held")->body));
  EXPECT_TRUE(st["containerStatuses"][0]["state"].contains("terminated")) << st.dump();
  EXPECT_EQ(phase("free"), "Running");
}

// The kubelet's admission: a pod bound straight to a node (spec.nodeName,
// no scheduler) that does not fit beside the pods the node runs is rejected
// as the real kubelet rejects it (phase Failed, OutOfcpu / OutOfmemory, the
// kubelet's message with requested, used and capacity); the first of two
// that race for the same room runs, and the room a rejected pod asked for
// stays free for the next one.
TEST(ClusterKubelet, APodBoundWhereItDoesNotFitIsRejectedOutOfCpuOrMemory) {
  Harness::Options o;
  o.binder = false;
  o.scenario = {{"kubelet", {{"podStartDelay", "1s"}}}};
  Harness h(TwoNodes(), o);  // node-a: 3920m cpu, 13Gi allocatable
  ASSERT_TRUE(h.ok()) << h.error();
  auto pod = [](const std::string& name, const std::string& cpu, const std::string& memory) {
    return Json{{"metadata", {{"name", name}}},
                {"spec",
                 {{"nodeName", "node-a"},
                  {"containers", Json::array({{{"name", "c"},
                                               {"image", "i"},
                                               {"resources", {{"requests", {{"cpu", cpu}, {"memory", memory}}}}}}})}}}};
  };
  auto phase = [&](const std::string& n) { return h.Get(PodsType(), "default", n)->body["status"].value("phase", ""); };
  ASSERT_TRUE(h.registry().Create(PodsType(), "default", pod("first", "3", "4Gi")).ok());
  ASSERT_TRUE(h.WaitFor([&] { return phase("first") == "Running"; }, 10));
  ASSERT_TRUE(h.registry().Create(PodsType(), "default", pod("too-much-cpu", "1", "1Gi")).ok());
  ASSERT_TRUE(h.registry().Create(PodsType(), "default", pod("too-much-memory", "100m", "10Gi")).ok());
  ASSERT_TRUE(h.WaitFor([&] { return phase("too-much-cpu") == "Failed" && phase("too-much-memory") == "Failed"; }, 10));
  const Json cpu = h.Get(PodsType(), "default", "too-much-cpu")->body["status"];
  EXPECT_EQ(cpu["reason"], "OutOfcpu");
  EXPECT_EQ(cpu["message"],
            "Pod was rejected: Node didn't have enough resource: cpu, requested: 1000, used: 3000, capacity: 3920");
  const Json mem = h.Get(PodsType(), "default", "too-much-memory")->body["status"];
  EXPECT_EQ(mem["reason"], "OutOfmemory");
  EXPECT_NE(mem["message"].get<std::string>().find("memory, requested: 10737418240, used: 4294967296"),
            std::string::npos)
      << mem.dump();
  EXPECT_FALSE(IsPodReady(h.Get(PodsType(), "default", "too-much-cpu")->body));
  // What the rejected pods asked for was never taken: a pod that fits beside
  // `first` still runs.
  ASSERT_TRUE(h.registry().Create(PodsType(), "default", pod("fits", "900m", "8Gi")).ok());
  EXPECT_TRUE(h.WaitFor([&] { return phase("fits") == "Running"; }, 10));
  EXPECT_EQ(phase("first"), "Running");
}

// Snapshot pods are not restarted: their status is completed once (the
// conditions and container statuses a running pod has; status_bringup.h),
// keeping what the snapshot said, and then left alone.
TEST(ClusterControllers, SnapshotRunningPodsAreCompletedOnceNotRestarted) {
  Harness h(Concat(TwoNodes(), ConvergedDeployment("shop", "cart", 2, {"node-a", "node-b"})), {});
  ASSERT_TRUE(h.ok()) << h.error();
  std::map<std::string, std::string> uids;
  for (const auto& p : h.Pods("shop")) uids[p->name] = cluster::Uid(p->body);
  ASSERT_TRUE(h.WaitFor([&] {
    for (const auto& p : h.Pods("shop")) {
      if (!p->body["status"].contains("containerStatuses")) return false;
    }
    return true;
  }, 10));
  std::map<std::string, uint64_t> rvs;
  for (const auto& p : h.Pods("shop")) {
    rvs[p->name] = p->rv;
    EXPECT_EQ(cluster::Uid(p->body), uids[p->name]);
    EXPECT_EQ(cluster::PodPhase(p->body), "Running");
    const Json* ready = cluster::FindCondition(p->body["status"], "Ready");
    ASSERT_NE(ready, nullptr);
    EXPECT_EQ(ready->value("lastTransitionTime", ""), "2026-01-01T00:00:05Z") << "the snapshot's condition is kept";
    EXPECT_EQ(p->body["status"]["containerStatuses"][0].value("restartCount", -1), 0);
    EXPECT_EQ(p->body["status"]["containerStatuses"][0]["resources"],
              p->body["spec"]["containers"][0]["resources"]);
  }
  h.Sleep(20);
  for (const auto& p : h.Pods("shop")) EXPECT_EQ(rvs[p->name], p->rv) << p->name;
}

// Sets the node's only condition to Ready=`status` (as a node lifecycle
// controller or a kubelet would).
ApiResult<ObjectPtr> SetNodeReady(Harness& h, const std::string& node, const char* status) {
  return h.registry().Modify(
      NodesType(), "", node,
      [&](Json& n) -> std::optional<ApiError> {
        n["status"]["conditions"] = Json::array({{{"type", "Ready"}, {"status", status}}});
        return std::nullopt;
      },
      "status");
}

TEST(ClusterControllers, PodsOfNotReadyNodeStopBeingReady) {
  Harness h(Concat(TwoNodes(), ConvergedDeployment("shop", "cart", 2, {"node-a", "node-b"})), {});
  ASSERT_TRUE(h.ok()) << h.error();
  auto set_ready = [&](const char* v) { return SetNodeReady(h, "node-a", v); };
  ASSERT_TRUE(set_ready("False").ok());
  auto on_a = [&] {
    for (const auto& p : h.Pods("shop")) {
      if (p->body["spec"]["nodeName"] == "node-a") return p;
    }
    return ObjectPtr();
  };
  ASSERT_TRUE(h.WaitFor([&] { return !IsPodReady(on_a()->body); }, 20));
  EXPECT_EQ(h.Report()["pdbViolations"], 0);
  ASSERT_TRUE(set_ready("True").ok());
  EXPECT_TRUE(h.WaitFor([&] { return IsPodReady(on_a()->body); }, 20));
}

TEST(ClusterControllers, PodGcRemovesPodsOfDeletedNode) {
  Harness h(Concat(TwoNodes(), ConvergedDeployment("shop", "cart", 2, {"node-a", "node-b"})), {});
  ASSERT_TRUE(h.ok()) << h.error();
  std::string victim;
  for (const auto& p : h.Pods("shop")) {
    if (p->body["spec"]["nodeName"] == "node-a") victim = p->name;
  }
  ASSERT_FALSE(victim.empty());
  ASSERT_TRUE(h.registry().Delete(NodesType(), "", "node-a", DeleteOptions{}).ok());
  // Not Ready at once, still there during the 40 s quarantine ...
  ASSERT_TRUE(h.WaitFor([&] { return !IsPodReady(h.Get(PodsType(), "shop", victim)->body); }, 10));
  h.Sleep(20);
  ASSERT_NE(h.Get(PodsType(), "shop", victim), nullptr);
  // ... then deleted, and the ReplicaSet replaces it on the remaining node.
  ASSERT_TRUE(h.WaitFor([&] { return h.Get(PodsType(), "shop", victim) == nullptr; }, 60));
  ASSERT_TRUE(h.WaitFor(
      [&] {
        auto pods = h.Pods("shop");
        if (pods.size() != 2 || CountReady(pods) != 2) return false;
        for (const auto& p : pods) {
          if (p->body["spec"]["nodeName"] != "node-b") return false;
        }
        return true;
      },
      60));
}

std::vector<Json> WithPdb(std::vector<Json> items, const Json& spec) {
  items.push_back({{"apiVersion", "policy/v1"},
                   {"kind", "PodDisruptionBudget"},
                   {"metadata", {{"name", "cart-pdb"}, {"namespace", "shop"}, {"generation", 1}}},
                   {"spec", spec}});
  return items;
}

TEST(ClusterControllers, PdbStatusFollowsEvictionsAndCountsViolations) {
  auto items = WithPdb(Concat(TwoNodes(), ConvergedDeployment("shop", "cart", 3, {"node-a", "node-b"})),
                       {{"minAvailable", 2}, {"selector", {{"matchLabels", {{"app", "cart"}}}}}});
  Harness h(items, {});
  ASSERT_TRUE(h.ok()) << h.error();
  auto pdb_status = [&] { return h.Get(PdbsType(), "shop", "cart-pdb")->body.value("status", Json::object()); };
  ASSERT_TRUE(h.WaitFor([&] { return pdb_status().value("disruptionsAllowed", -1) == 1; }, 20));
  Json st = pdb_status();
  EXPECT_EQ(st["currentHealthy"], 3);
  EXPECT_EQ(st["desiredHealthy"], 2);
  EXPECT_EQ(st["expectedPods"], 3);
  EXPECT_EQ(st["observedGeneration"], 1);
  EXPECT_EQ(ConditionReason(st, "DisruptionAllowed"), "SufficientPods");
  // One eviction is allowed, the next one is refused until the replacement is Ready.
  auto pods = h.Pods("shop");
  ASSERT_TRUE(EvictPod(&h.registry(), &h.server().stats(), "shop", pods[0]->name,
                       Json{{"metadata", {{"name", pods[0]->name}}}}.dump())
                  .ok());
  auto second = EvictPod(&h.registry(), &h.server().stats(), "shop", pods[1]->name,
                         Json{{"metadata", {{"name", pods[1]->name}}}}.dump());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, 429);
  ASSERT_TRUE(h.WaitFor(
      [&] {
        Json s = pdb_status();
        return s.value("currentHealthy", 0) == 3 && s.value("disruptionsAllowed", 0) == 1 && !s.contains("disruptedPods");
      },
      60))
      << pdb_status().dump();
  EXPECT_EQ(h.Report()["pdbViolations"], 0);
  // Deleting two pods directly breaks the budget: a violation.
  pods = h.Pods("shop");
  ASSERT_TRUE(h.registry().Delete(PodsType(), "shop", pods[0]->name, DeleteOptions{}).ok());
  ASSERT_TRUE(h.registry().Delete(PodsType(), "shop", pods[1]->name, DeleteOptions{}).ok());
  EXPECT_TRUE(h.WaitFor([&] { return h.Report()["pdbViolations"].get<int>() >= 1; }, 20));
}

TEST(ClusterControllers, PdbMaxUnavailableUsesDeploymentScale) {
  auto items = WithPdb(Concat(TwoNodes(), ConvergedDeployment("shop", "cart", 4, {"node-a", "node-b"})),
                       {{"maxUnavailable", "25%"}, {"selector", {{"matchLabels", {{"app", "cart"}}}}}});
  Harness h(items, {});
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_TRUE(h.WaitFor(
      [&] {
        Json s = h.Get(PdbsType(), "shop", "cart-pdb")->body.value("status", Json::object());
        return s.value("expectedPods", 0) == 4 && s.value("desiredHealthy", 0) == 3 && s.value("disruptionsAllowed", 0) == 1;
      },
      20));
}

TEST(ClusterControllers, NodeFailureIsNotAPdbViolation) {
  auto items = WithPdb(Concat(TwoNodes(), ConvergedDeployment("shop", "cart", 2, {"node-a", "node-b"})),
                       {{"minAvailable", 2}, {"selector", {{"matchLabels", {{"app", "cart"}}}}}});
  Harness h(items, {});
  ASSERT_TRUE(h.ok()) << h.error();
  std::string victim;
  for (const auto& p : h.Pods("shop")) {
    if (p->body["spec"]["nodeName"] == "node-a") victim = p->name;
  }
  ASSERT_TRUE(h.registry().Delete(NodesType(), "", "node-a", DeleteOptions{}).ok());
  // The pod turns not Ready (budget broken by the simulator), PodGC deletes
  // it after 40 s, the replacement comes up on node-b.
  ASSERT_TRUE(h.WaitFor([&] { return h.Get(PodsType(), "shop", victim) == nullptr; }, 120));
  ASSERT_TRUE(h.WaitFor([&] { return CountReady(h.Pods("shop")) == 2 && h.Pods("shop").size() == 2; }, 120));
  EXPECT_EQ(h.Report()["pdbViolations"], 0);
  // The same loss caused by a client deleting the pod is a violation.
  ASSERT_TRUE(h.registry().Delete(PodsType(), "shop", h.Pods("shop")[0]->name, DeleteOptions{}).ok());
  EXPECT_TRUE(h.WaitFor([&] { return h.Report()["pdbViolations"] == 1; }, 20));
}

TEST(ClusterControllers, ScaleEventScalesDeployment) {
  Harness::Options o;
  o.scenario = {{"events", Json::array({{{"at", "30s"}, {"kind", "scale"}, {"deployment", "shop/cart"}, {"replicas", 5}},
                                        {{"at", "1s"}, {"kind", "loadSurge"}, {"deployment", "shop/cart"}}})}};
  Harness h(Concat(TwoNodes(), ConvergedDeployment("shop", "cart", 2, {"node-a", "node-b"})), o);
  ASSERT_TRUE(h.ok()) << h.error();
  h.Sleep(10);
  EXPECT_EQ(h.Get(DeploymentsType(), "shop", "cart")->body["spec"]["replicas"], 2);
  ASSERT_TRUE(h.WaitFor([&] { return CountReady(h.Pods("shop")) == 5; }, 120));
  EXPECT_EQ(h.Get(DeploymentsType(), "shop", "cart")->body["spec"]["replicas"], 5);
}

TEST(ClusterControllers, MalformedScaleEventIsRejectedNamingTheKey) {
  Harness::Options o;
  o.scenario = {{"events", Json::array({{{"at", "soon"}, {"kind", "scale"}, {"deployment", "shop/cart"}, {"replicas", 5}}})}};
  Harness h(TwoNodes(), o);
  EXPECT_FALSE(h.ok());
  EXPECT_NE(h.error().find("events[0].at"), std::string::npos) << h.error();
}

TEST(ClusterControllers, DeploymentBelowMinimumIsAccountedInTheReport) {
  Harness::Options o;
  o.binder = false;
  auto items = TwoNodes();
  Json d = {{"apiVersion", "apps/v1"},
            {"kind", "Deployment"},
            {"metadata", {{"name", "api"}, {"namespace", "shop"}}},
            {"spec", {{"replicas", 2}, {"selector", {{"matchLabels", {{"app", "api"}}}}}, {"template", PodTemplate("api", "api:1")}}}};
  items.push_back(d);
  Harness h(items, o);
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_TRUE(h.WaitFor([&] { return h.Report()["availability"]["deploymentsBelowMinAvailable"] == 1; }, 20));
  h.Sleep(10);
  double secs = h.Report()["availability"]["secondsBelowMinAvailable"].get<double>();
  EXPECT_GT(secs, 5.0);
  EXPECT_EQ(h.Pods("shop").size(), 2u);  // created, never scheduled (no scheduler here)
}

TEST(ClusterControllers, DeletingADeploymentRemovesItsReplicaSetsAndPods) {
  Harness h(Concat(TwoNodes(), ConvergedDeployment("shop", "cart", 2, {"node-a", "node-b"})), {});
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_TRUE(h.registry().Delete(DeploymentsType(), "shop", "cart", DeleteOptions{}).ok());
  EXPECT_TRUE(h.WaitFor([&] { return h.Pods("shop").empty(); }, 30));
  EXPECT_EQ(h.Get(ReplicaSetsType(), "shop", "cart-6b7f9c5d4d"), nullptr);
  EXPECT_EQ(h.Report()["availability"]["deploymentsBelowMinAvailable"], 0);
}

}  // namespace
}  // namespace kinema::sim::clustertest

namespace kinema::sim::clustertest {
namespace {

Json ResizablePod(const std::string& name, const std::string& cpu) {
  return {{"metadata", {{"name", name}}},
          {"spec",
           {{"nodeName", "node-a"},
            {"containers",
             Json::array({{{"name", "c"},
                           {"image", "i"},
                           {"resources", {{"requests", {{"cpu", cpu}, {"memory", "64Mi"}}},
                                          {"limits", {{"cpu", "4"}, {"memory", "128Mi"}}}}}}})}}}};
}

std::string PendingReason(const ObjectPtr& pod) {
  const Json* c = cluster::FindCondition(pod->body["status"], "PodResizePending");
  return c ? c->value("reason", "") : "";
}

TEST(ClusterKubelet, InPlaceResizeIsActuatedDeferredOrInfeasible) {
  Harness::Options o;
  o.binder = false;
  Harness h(TwoNodes(), o);  // node-a: 3920m allocatable
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_TRUE(h.registry().Create(PodsType(), "default", ResizablePod("a", "100m")).ok());
  ASSERT_TRUE(h.registry().Create(PodsType(), "default", ResizablePod("b", "1")).ok());
  auto running = [&](const char* n) { return cluster::PodPhase(h.Get(PodsType(), "default", n)->body) == "Running"; };
  ASSERT_TRUE(h.WaitFor([&] { return running("a") && running("b"); }, 30));
  auto resize = [&](const std::string& cpu) {
    return h.registry().Patch(PodsType(), "default", "a", PatchType::kStrategic,
                              R"({"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":")" + cpu + R"("}}}]}})",
                              "resize");
  };
  // Fits: allocated at once, actuated after the resize delay.
  ASSERT_TRUE(resize("500m").ok());
  ASSERT_TRUE(h.WaitFor(
      [&] {
        auto p = h.Get(PodsType(), "default", "a");
        const Json& cs = p->body["status"]["containerStatuses"][0];
        return cs["resources"]["requests"]["cpu"] == "500m" && cs["allocatedResources"]["cpu"] == "500m" &&
               cluster::FindCondition(p->body["status"], "PodResizeInProgress") == nullptr;
      },
      30))
      << h.Get(PodsType(), "default", "a")->body.dump();
  // Needs more than the node minus pod b: Deferred.
  ASSERT_TRUE(resize("3500m").ok());
  ASSERT_TRUE(h.WaitFor([&] { return PendingReason(h.Get(PodsType(), "default", "a")) == "Deferred"; }, 30));
  EXPECT_EQ(h.Get(PodsType(), "default", "a")->body["status"]["containerStatuses"][0]["resources"]["requests"]["cpu"], "500m");
  // Room appears (pod b goes): the deferred resize is retried and actuated.
  ASSERT_TRUE(h.registry().Delete(PodsType(), "default", "b", DeleteOptions{}).ok());
  ASSERT_TRUE(h.WaitFor(
      [&] {
        auto p = h.Get(PodsType(), "default", "a");
        return p->body["status"]["containerStatuses"][0]["resources"]["requests"]["cpu"] == "3500m" && PendingReason(p).empty();
      },
      60));
  // More than the node has at all: Infeasible.
  ASSERT_TRUE(resize("3950m").ok());  // limit is 4; allocatable 3920m
  EXPECT_TRUE(h.WaitFor([&] { return PendingReason(h.Get(PodsType(), "default", "a")) == "Infeasible"; }, 30));
}

ObjectPtr NodeLease(Harness& h, const std::string& node) {
  return h.Get(cluster::LeasesType(), "kube-node-lease", node);
}

std::string RenewTime(Harness& h, const std::string& node) {
  ObjectPtr l = NodeLease(h, node);
  return l ? l->body["spec"].value("renewTime", "") : "";
}

TEST(ClusterKubelet, ReadyNodesRenewTheirLeaseAndReportStatus) {
  Harness::Options o;
  o.binder = false;
  o.scenario = {{"kubelet", {{"leaseRenewInterval", "10s"}, {"nodeStatusReportFrequency", "1m"}}}};
  Harness h(TwoNodes(), o);
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_TRUE(h.WaitFor([&] { return NodeLease(h, "node-a") && NodeLease(h, "node-b"); }, 15));
  ObjectPtr lease = NodeLease(h, "node-a");
  EXPECT_EQ(lease->body["spec"]["holderIdentity"], "node-a");
  EXPECT_EQ(lease->body["spec"]["leaseDurationSeconds"], 40);
  const Json& owner = lease->body["metadata"]["ownerReferences"][0];
  EXPECT_EQ(owner["kind"], "Node");
  EXPECT_EQ(owner["uid"], cluster::Uid(h.Get(NodesType(), "", "node-a")->body));
  // Renewed every 10 s (MicroTime: microseconds, so each renewal differs).
  const std::string first = RenewTime(h, "node-a");
  ASSERT_TRUE(h.WaitFor([&] { return RenewTime(h, "node-a") > first; }, 15));
  // The Node's conditions carry the kubelet's heartbeat.
  const Json* ready = cluster::FindCondition(h.Get(NodesType(), "", "node-a")->body["status"], "Ready");
  ASSERT_NE(ready, nullptr);
  const std::string beat = ready->value("lastHeartbeatTime", "");
  EXPECT_FALSE(beat.empty());
  ASSERT_TRUE(h.WaitFor(
      [&] {
        const Json* c = cluster::FindCondition(h.Get(NodesType(), "", "node-a")->body["status"], "Ready");
        return c && c->value("lastHeartbeatTime", "") > beat;
      },
      75));
}

TEST(ClusterKubelet, HeartbeatsStopWhileANodeIsNotReadyAndItsLeaseGoesWithIt) {
  Harness::Options o;
  o.binder = false;
  o.scenario = {{"kubelet", {{"leaseRenewInterval", "5s"}}}};
  Harness h(TwoNodes(), o);
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_TRUE(h.WaitFor([&] { return NodeLease(h, "node-a") != nullptr; }, 10));
  auto set_ready = [&](const char* v) { return SetNodeReady(h, "node-a", v); };
  ASSERT_TRUE(set_ready("Unknown").ok());
  h.Sleep(6);  // a renewal already under way may still land
  const std::string stale = RenewTime(h, "node-a");
  h.Sleep(20);
  EXPECT_EQ(RenewTime(h, "node-a"), stale) << "a NotReady node's kubelet is gone";
  EXPECT_GT(RenewTime(h, "node-b"), stale) << "the other node keeps beating";
  ASSERT_TRUE(set_ready("True").ok());
  EXPECT_TRUE(h.WaitFor([&] { return RenewTime(h, "node-a") > stale; }, 10)) << "heartbeats resume when Ready again";
  ASSERT_TRUE(h.registry().Delete(NodesType(), "", "node-a", DeleteOptions{}).ok());
  EXPECT_TRUE(h.WaitFor([&] { return NodeLease(h, "node-a") == nullptr; }, 10));
  EXPECT_NE(NodeLease(h, "node-b"), nullptr);
}

TEST(ClusterKubelet, LeaseRenewalMustBeShorterThanTheLease) {
  Harness::Options o;
  o.scenario = {{"kubelet", {{"leaseRenewInterval", "40s"}, {"leaseDuration", "40s"}}}};
  Harness h(TwoNodes(), o);
  EXPECT_FALSE(h.ok());
  EXPECT_NE(h.error().find("kubelet.leaseRenewInterval"), std::string::npos) << h.error();
}

}  // namespace
}  // namespace kinema::sim::clustertest
