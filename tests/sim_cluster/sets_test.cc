// StatefulSet and DaemonSet controllers (cluster/), in-process.
#include <gtest/gtest.h>

#include <mutex>

#include "tests/sim_cluster/cluster_harness.h"
#include "tools/kinema-sim/cluster/kinds.h"
#include "tools/kinema-sim/cluster/workload.h"

namespace kinema::sim::clustertest {
namespace {

using cluster::DaemonSetsType;
using cluster::IsPodReady;
using cluster::IsTerminating;
using cluster::NodesType;
using cluster::PodsType;
using cluster::StatefulSetsType;

Json StatefulSet(const std::string& name, int replicas) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "StatefulSet"},
          {"metadata", {{"name", name}, {"namespace", "shop"}}},
          {"spec",
           {{"replicas", replicas},
            {"serviceName", name},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template", PodTemplate(name, name + ":1")}}}};
}

int ReadyCount(Harness& h, const std::string& selector) {
  int n = 0;
  for (const auto& p : h.Pods("", selector)) n += (!IsTerminating(p->body) && IsPodReady(p->body)) ? 1 : 0;
  return n;
}

// Records pod events of a namespace in order.
struct EventLog {
  std::shared_ptr<Watcher> w;
  std::vector<WatchItem> items;
  void Poll() {
    for (auto& i : w->Take()) items.push_back(std::move(i));
  }
};

TEST(ClusterSets, StatefulSetCreatesPodsInOrdinalOrderWhenPredecessorsAreReady) {
  Harness h({NodeItem("node-a"), {{"kind", "Namespace"}, {"apiVersion", "v1"}, {"metadata", {{"name", "shop"}}}}}, {});
  ASSERT_TRUE(h.ok()) << h.error();
  WatchFilter f;
  f.resource = &PodsType();
  EventLog log{h.store().Subscribe(f, nullptr), {}};
  ASSERT_TRUE(h.registry().Create(StatefulSetsType(), "shop", StatefulSet("db", 3)).ok());
  ASSERT_TRUE(h.WaitFor([&] { return ReadyCount(h, "app=db") == 3; }, 120));
  log.Poll();
  // Each pod is created only once all lower ordinals are Running and Ready.
  std::map<std::string, ObjectPtr> state;
  std::vector<std::string> created;
  for (const auto& item : log.items) {
    if (item.type == "ADDED") {
      int ord = std::stoi(item.object->name.substr(3));
      for (int lower = 0; lower < ord; ++lower) {
        auto it = state.find("db-" + std::to_string(lower));
        ASSERT_NE(it, state.end()) << item.object->name << " created before db-" << lower;
        EXPECT_TRUE(IsPodReady(it->second->body)) << item.object->name << " created before db-" << lower << " was ready";
      }
      created.push_back(item.object->name);
    }
    state[item.object->name] = item.object;
  }
  EXPECT_EQ(created, (std::vector<std::string>{"db-0", "db-1", "db-2"}));
  auto pod = h.Get(PodsType(), "shop", "db-1");
  EXPECT_EQ(pod->body["spec"]["hostname"], "db-1");
  EXPECT_EQ(pod->body["spec"]["subdomain"], "db");
  EXPECT_EQ(pod->body["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"], "db-1");
  ASSERT_TRUE(h.WaitFor(
      [&] {
        Json st = h.Get(StatefulSetsType(), "shop", "db")->body["status"];
        return st.value("readyReplicas", 0) == 3 && st.value("currentRevision", "") == st.value("updateRevision", "x");
      },
      20));
  log.w->Stop();
}

TEST(ClusterSets, StatefulSetRollingUpdateGoesInReverseOrdinalOrder) {
  Harness h({NodeItem("node-a"), StatefulSet("db", 3)}, {});
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_TRUE(h.WaitFor([&] { return ReadyCount(h, "app=db") == 3; }, 120));
  std::string old_rev = h.Get(StatefulSetsType(), "shop", "db")->body["status"]["updateRevision"];
  WatchFilter f;
  f.resource = &PodsType();
  EventLog log{h.store().Subscribe(f, nullptr), {}};
  ASSERT_TRUE(h.registry().Patch(StatefulSetsType(), "shop", "db", PatchType::kStrategic,
                                 R"({"spec":{"template":{"spec":{"containers":[{"name":"app","image":"db:2"}]}}}})", "")
                  .ok());
  ASSERT_TRUE(h.WaitFor(
      [&] {
        Json st = h.Get(StatefulSetsType(), "shop", "db")->body["status"];
        return st.value("updatedReplicas", 0) == 3 && st.value("readyReplicas", 0) == 3 &&
               st.value("currentRevision", "") == st.value("updateRevision", "x") &&
               st.value("updateRevision", "") != old_rev;
      },
      200))
      << h.Get(StatefulSetsType(), "shop", "db")->body["status"].dump();
  log.Poll();
  std::vector<std::string> terminated;
  std::set<std::string> seen_uid;
  for (const auto& item : log.items) {
    if (item.type == "MODIFIED" && IsTerminating(item.object->body) &&
        seen_uid.insert(cluster::Uid(item.object->body)).second) {
      terminated.push_back(item.object->name);
    }
  }
  EXPECT_EQ(terminated, (std::vector<std::string>{"db-2", "db-1", "db-0"}));
  for (const auto& p : h.Pods("shop")) EXPECT_EQ(p->body["spec"]["containers"][0]["image"], "db:2");
  log.w->Stop();
}

TEST(ClusterSets, StatefulSetScalesDownFromTheHighestOrdinal) {
  Harness h({NodeItem("node-a"), StatefulSet("db", 3)}, {});
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_TRUE(h.WaitFor([&] { return ReadyCount(h, "app=db") == 3; }, 120));
  ASSERT_TRUE(h.registry().Patch(StatefulSetsType(), "shop", "db", PatchType::kMerge, R"({"spec":{"replicas":1}})", "").ok());
  ASSERT_TRUE(h.WaitFor([&] { return h.Pods("shop").size() == 1; }, 60));
  EXPECT_EQ(h.Pods("shop")[0]->name, "db-0");
}

Json DaemonSet(const Json& node_selector) {
  Json tmpl = PodTemplate("agent", "agent:1");
  if (!node_selector.is_null()) tmpl["spec"]["nodeSelector"] = node_selector;
  return {{"apiVersion", "apps/v1"},
          {"kind", "DaemonSet"},
          {"metadata", {{"name", "agent"}, {"namespace", "kube-system"}}},
          {"spec", {{"selector", {{"matchLabels", {{"app", "agent"}}}}}, {"template", tmpl}}}};
}

Json LabeledNode(const std::string& name, const Json& labels, const Json& taints = Json::array()) {
  Json n = NodeItem(name);
  for (auto it = labels.begin(); it != labels.end(); ++it) n["metadata"]["labels"][it.key()] = it.value();
  n["spec"]["taints"] = taints;
  return n;
}

std::set<std::string> DaemonNodes(Harness& h) {
  std::set<std::string> out;
  for (const auto& p : h.Pods("kube-system", "app=agent")) {
    if (!IsTerminating(p->body)) out.insert(p->body["spec"].value("nodeName", ""));
  }
  return out;
}

TEST(ClusterSets, DaemonSetRunsOnEveryEligibleNodeIncludingLaterOnes) {
  Json worker = {{"role", "worker"}};
  Harness::Options o;
  o.binder = false;  // daemon pods are bound by the controller itself
  Harness h({LabeledNode("a", worker),
             LabeledNode("b", worker, Json::array({{{"key", "dedicated"}, {"value", "gpu"}, {"effect", "NoSchedule"}}})),
             LabeledNode("c", Json::object()),
             LabeledNode("d", worker, Json::array({{{"key", "node.kubernetes.io/unschedulable"}, {"effect", "NoSchedule"}}})),
             DaemonSet(worker)},
            o);
  ASSERT_TRUE(h.ok()) << h.error();
  // a: eligible; b: untolerated taint; c: selector mismatch; d: cordoned (daemon pods tolerate it).
  ASSERT_TRUE(h.WaitFor([&] { return DaemonNodes(h) == std::set<std::string>{"a", "d"}; }, 20));
  ASSERT_TRUE(h.WaitFor([&] { return ReadyCount(h, "app=agent") == 2; }, 20));
  // A node that joins later gets its pod.
  ASSERT_TRUE(h.registry().Create(NodesType(), "", LabeledNode("e", worker)).ok());
  ASSERT_TRUE(h.WaitFor([&] { return DaemonNodes(h) == std::set<std::string>{"a", "d", "e"}; }, 20));
  // A node that stops matching loses it.
  ASSERT_TRUE(h.registry().Patch(NodesType(), "", "a", PatchType::kMerge, R"({"metadata":{"labels":{"role":null}}})", "").ok());
  ASSERT_TRUE(h.WaitFor([&] { return DaemonNodes(h) == std::set<std::string>{"d", "e"}; }, 20));
  ASSERT_TRUE(h.WaitFor(
      [&] {
        Json st = h.Get(DaemonSetsType(), "kube-system", "agent")->body["status"];
        return st.value("desiredNumberScheduled", 0) == 2 && st.value("numberReady", 0) == 2 &&
               st.value("numberMisscheduled", -1) == 0;
      },
      20));
}

TEST(ClusterSets, DaemonSetKeepsSnapshotPodsAndRollsOnTemplateChange) {
  std::vector<Json> items = {NodeItem("a"), NodeItem("b"), DaemonSet(Json())};
  items.back()["metadata"]["uid"] = "ds-uid";
  for (const char* n : {"a", "b"}) {
    Json spec = PodTemplate("agent", "agent:1")["spec"];
    spec["nodeName"] = n;
    items.push_back({{"apiVersion", "v1"},
                     {"kind", "Pod"},
                     {"metadata",
                      {{"name", std::string("agent-") + n}, {"namespace", "kube-system"}, {"labels", {{"app", "agent"}}},
                       {"ownerReferences",
                        Json::array({{{"apiVersion", "apps/v1"}, {"kind", "DaemonSet"}, {"name", "agent"},
                                      {"uid", "ds-uid"}, {"controller", true}}})}}},
                     {"spec", spec},
                     {"status", {{"phase", "Running"}, {"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})}}}});
  }
  Harness::Options o;
  o.binder = false;
  Harness h(items, o);
  ASSERT_TRUE(h.ok()) << h.error();
  h.Sleep(10);
  auto pods = h.Pods("kube-system");
  ASSERT_EQ(pods.size(), 2u);
  EXPECT_EQ(pods[0]->name, "agent-a");
  EXPECT_EQ(pods[1]->name, "agent-b");
  ASSERT_TRUE(h.registry().Patch(DaemonSetsType(), "kube-system", "agent", PatchType::kStrategic,
                                 R"({"spec":{"template":{"spec":{"containers":[{"name":"app","image":"agent:2"}]}}}})", "")
                  .ok());
  ASSERT_TRUE(h.WaitFor(
      [&] {
        auto now = h.Pods("kube-system");
        if (now.size() != 2) return false;
        for (const auto& p : now) {
          if (p->body["spec"]["containers"][0]["image"] != "agent:2" || !IsPodReady(p->body)) return false;
        }
        return true;
      },
      120));
  Json st = h.Get(DaemonSetsType(), "kube-system", "agent")->body["status"];
  EXPECT_EQ(st["updatedNumberScheduled"], 2);
}

}  // namespace
}  // namespace kinema::sim::clustertest
