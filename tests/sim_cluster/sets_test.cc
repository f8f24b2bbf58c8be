// StatefulSet and DaemonSet controllers (cluster/), in-process.
#include <gtest/gtest.h>

#include <mutex>

#include "tests/sim_cluster/cluster_harness.h"
#include "tools/kinema-sim/cluster/controller_ref.h"
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

// --- StatefulSet pod ownership (ControllerRefManager.ClaimPods + isMemberOf) ---

Json ShopNamespace() { return {{"kind", "Namespace"}, {"apiVersion", "v1"}, {"metadata", {{"name", "shop"}}}}; }

// A pod nobody controls, in namespace shop.
Json OrphanPod(const std::string& name, const Json& labels) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", "shop"}, {"labels", labels}}},
          {"spec", PodTemplate("db", "db:1")["spec"]}};
}

DeleteOptions Immediately() {
  DeleteOptions o;
  o.grace_period_seconds = 0;
  return o;
}

const Json* ControllerOf(const ObjectPtr& pod) { return pod ? cluster::ControllerRef(pod->body) : nullptr; }

long long StatusOf(Harness& h, const std::string& set, const char* field) {
  ObjectPtr s = h.Get(StatefulSetsType(), "shop", set);
  return s ? s->body.value("status", Json::object()).value(field, -1LL) : -1;
}

TEST(ClusterSets, StatefulSetAdoptsAnOrphanPodWithAMemberName) {
  Harness h({NodeItem("node-a"), ShopNamespace()}, {});
  ASSERT_TRUE(h.ok()) << h.error();
  Json orphan = OrphanPod("db-0", {{"app", "db"}});
  // A non-controller owner and an annotation someone else set: adoption
  // only adds the controller reference.
  orphan["metadata"]["ownerReferences"] = Json::array(
      {{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"name", "cfg"}, {"uid", "uid-cfg"}}});
  orphan["metadata"]["annotations"] = {{"team", "storage"}};
  auto created = h.registry().Create(PodsType(), "shop", orphan);
  ASSERT_TRUE(created.ok()) << created.error().message;
  std::string orphan_uid = cluster::Uid(created.value()->body);
  WatchFilter f;
  f.resource = &PodsType();
  EventLog log{h.store().Subscribe(f, nullptr), {}};
  auto set = h.registry().Create(StatefulSetsType(), "shop", StatefulSet("db", 2));
  ASSERT_TRUE(set.ok());
  std::string set_uid = cluster::Uid(set.value()->body);

  ASSERT_TRUE(h.WaitFor([&] { return ReadyCount(h, "app=db") == 2 && StatusOf(h, "db", "readyReplicas") == 2; }, 120))
      << h.Get(StatefulSetsType(), "shop", "db")->body.dump();
  ObjectPtr pod = h.Get(PodsType(), "shop", "db-0");
  ASSERT_TRUE(pod);
  EXPECT_EQ(cluster::Uid(pod->body), orphan_uid) << "db-0 was replaced instead of adopted";
  const Json* ref = ControllerOf(pod);
  ASSERT_NE(ref, nullptr) << pod->body.dump();
  EXPECT_EQ(*ref, (Json{{"apiVersion", "apps/v1"}, {"kind", "StatefulSet"}, {"name", "db"}, {"uid", set_uid},
                        {"controller", true}, {"blockOwnerDeletion", true}}));
  ASSERT_EQ(pod->body["metadata"]["ownerReferences"].size(), 2u);
  EXPECT_EQ(pod->body["metadata"]["ownerReferences"][0]["uid"], "uid-cfg");
  EXPECT_EQ(pod->body["metadata"]["annotations"]["team"], "storage");
  EXPECT_EQ(StatusOf(h, "db", "replicas"), 2);
  log.Poll();
  std::vector<std::string> added;
  for (const auto& item : log.items) {
    if (item.type == "ADDED") added.push_back(item.object->name);
  }
  EXPECT_EQ(added, (std::vector<std::string>{"db-1"})) << "the set created a pod for the adopted ordinal";
  log.w->Stop();
}

TEST(ClusterSets, StatefulSetDoesNotAdoptAPodWhoseNameIsNotAMember) {
  Harness h({NodeItem("node-a"), ShopNamespace()}, {});
  ASSERT_TRUE(h.ok()) << h.error();
  // Matching labels, but not "db-<ordinal>".
  for (const char* name : {"db-extra", "dbx-0", "db-0-copy", "cache-1"}) {
    ASSERT_TRUE(h.registry().Create(PodsType(), "shop", OrphanPod(name, {{"app", "db"}})).ok()) << name;
  }
  // A member name whose labels do not match the selector.
  ASSERT_TRUE(h.registry().Create(PodsType(), "shop", OrphanPod("db-1", {{"app", "other"}})).ok());
  ASSERT_TRUE(h.registry().Create(StatefulSetsType(), "shop", StatefulSet("db", 1)).ok());
  ASSERT_TRUE(h.WaitFor([&] { return StatusOf(h, "db", "readyReplicas") == 1; }, 120));
  h.Sleep(10);
  for (const char* name : {"db-extra", "dbx-0", "db-0-copy", "cache-1", "db-1"}) {
    ObjectPtr p = h.Get(PodsType(), "shop", name);
    ASSERT_TRUE(p) << name << " was deleted";
    EXPECT_EQ(ControllerOf(p), nullptr) << name << " was adopted: " << p->body["metadata"].dump();
  }
  ObjectPtr db0 = h.Get(PodsType(), "shop", "db-0");
  ASSERT_TRUE(db0);
  ASSERT_NE(ControllerOf(db0), nullptr);
  EXPECT_EQ(StatusOf(h, "db", "replicas"), 1);
}

TEST(ClusterSets, StatefulSetReleasesAPodWhoseLabelsNoLongerMatch) {
  Harness h({NodeItem("node-a"), StatefulSet("db", 2)}, {});
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_TRUE(h.WaitFor([&] { return StatusOf(h, "db", "readyReplicas") == 2; }, 120));
  std::string released_uid = cluster::Uid(h.Get(PodsType(), "shop", "db-1")->body);
  ASSERT_TRUE(h.registry()
                  .Patch(PodsType(), "shop", "db-1", PatchType::kMerge, R"({"metadata":{"labels":{"app":"debug"}}})", "")
                  .ok());
  ASSERT_TRUE(h.WaitFor([&] { return ControllerOf(h.Get(PodsType(), "shop", "db-1")) == nullptr; }, 30))
      << h.Get(PodsType(), "shop", "db-1")->body["metadata"].dump();
  ObjectPtr released = h.Get(PodsType(), "shop", "db-1");
  EXPECT_EQ(cluster::Uid(released->body), released_uid);
  EXPECT_FALSE(IsTerminating(released->body)) << "a released pod is not deleted";
  EXPECT_EQ(released->body["metadata"].value("ownerReferences", Json::array()).size(), 0u);
  ASSERT_TRUE(h.WaitFor([&] { return StatusOf(h, "db", "replicas") == 1; }, 30));
  // The released pod still holds the name "db-1": creating the ordinal
  // fails with AlreadyExists and the set stays one short (as in Kubernetes).
  h.Sleep(20);
  released = h.Get(PodsType(), "shop", "db-1");
  ASSERT_TRUE(released);
  EXPECT_EQ(cluster::Uid(released->body), released_uid);
  EXPECT_EQ(ControllerOf(released), nullptr);
  EXPECT_EQ(StatusOf(h, "db", "replicas"), 1);
  // Once it is gone, the set's retries (backoff) recreate the ordinal.
  ASSERT_TRUE(h.registry().Delete(PodsType(), "shop", "db-1", Immediately()).ok());
  ASSERT_TRUE(h.WaitFor(
      [&] {
        ObjectPtr p = h.Get(PodsType(), "shop", "db-1");
        return p && cluster::Uid(p->body) != released_uid && ControllerOf(p) && StatusOf(h, "db", "readyReplicas") == 2;
      },
      90))
      << h.Get(StatefulSetsType(), "shop", "db")->body["status"].dump();
}

TEST(ClusterSets, StatefulSetDoesNotAdoptWhileTheSetIsBeingDeleted) {
  Json set = StatefulSet("db", 1);
  set["metadata"]["finalizers"] = Json::array({"example.com/hold"});
  Harness h({NodeItem("node-a"), ShopNamespace()}, {});
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_TRUE(h.registry().Create(StatefulSetsType(), "shop", set).ok());
  ASSERT_TRUE(h.WaitFor([&] { return StatusOf(h, "db", "readyReplicas") == 1; }, 120));
  ASSERT_TRUE(h.registry().Delete(StatefulSetsType(), "shop", "db", DeleteOptions{}).ok());
  ASSERT_TRUE(IsTerminating(h.Get(StatefulSetsType(), "shop", "db")->body));
  // A member-named matching orphan appears while the set is being deleted.
  auto orphan = h.registry().Create(PodsType(), "shop", OrphanPod("db-1", {{"app", "db"}}));
  ASSERT_TRUE(orphan.ok());
  h.Sleep(10);
  // Neither adopted nor (as an adopted surplus ordinal would be) deleted.
  ObjectPtr p = h.Get(PodsType(), "shop", "db-1");
  ASSERT_TRUE(p) << "db-1 was adopted and scaled down";
  EXPECT_EQ(cluster::Uid(p->body), cluster::Uid(orphan.value()->body));
  EXPECT_FALSE(IsTerminating(p->body));
  EXPECT_EQ(ControllerOf(p), nullptr) << p->body["metadata"].dump();
}

TEST(ClusterSets, StatefulSetDoesNotAdoptAPodBeingDeletedAndRecreatesItsOrdinalOnceGone) {
  Harness h({NodeItem("node-a"), ShopNamespace()}, {});
  ASSERT_TRUE(h.ok()) << h.error();
  Json orphan = OrphanPod("db-0", {{"app", "db"}});
  orphan["metadata"]["finalizers"] = Json::array({"example.com/hold"});
  auto created = h.registry().Create(PodsType(), "shop", orphan);
  ASSERT_TRUE(created.ok());
  std::string orphan_uid = cluster::Uid(created.value()->body);
  ASSERT_TRUE(h.registry().Delete(PodsType(), "shop", "db-0", Immediately()).ok());
  ASSERT_TRUE(IsTerminating(h.Get(PodsType(), "shop", "db-0")->body));
  ASSERT_TRUE(h.registry().Create(StatefulSetsType(), "shop", StatefulSet("db", 1)).ok());
  ASSERT_TRUE(h.WaitFor([&] { return StatusOf(h, "db", "replicas") == 0; }, 30));
  h.Sleep(15);
  ObjectPtr p = h.Get(PodsType(), "shop", "db-0");
  ASSERT_TRUE(p);
  EXPECT_EQ(cluster::Uid(p->body), orphan_uid);
  EXPECT_EQ(ControllerOf(p), nullptr) << "a terminating pod was adopted";
  EXPECT_EQ(StatusOf(h, "db", "replicas"), 0);
  // Removing the finalizer lets it go; the set's retry creates db-0.
  ASSERT_TRUE(h.registry()
                  .Patch(PodsType(), "shop", "db-0", PatchType::kMerge, R"({"metadata":{"finalizers":null}})", "")
                  .ok());
  ASSERT_TRUE(h.WaitFor(
      [&] {
        ObjectPtr q = h.Get(PodsType(), "shop", "db-0");
        return q && cluster::Uid(q->body) != orphan_uid && ControllerOf(q) && StatusOf(h, "db", "readyReplicas") == 1;
      },
      90));
}

TEST(ClusterSets, ClaimDecisionFollowsControllerRefManager) {
  using cluster::ClaimAction;
  using cluster::DecideClaim;
  Json set = {{"metadata", {{"name", "db"}, {"namespace", "shop"}, {"uid", "u-set"}}}};
  Json deleting = set;
  deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  auto pod = [](const std::string& owner_uid, bool terminating, const std::string& ns = "shop") {
    Json p = {{"metadata", {{"name", "db-0"}, {"namespace", ns}, {"uid", "u-pod"}}}};
    if (!owner_uid.empty()) {
      p["metadata"]["ownerReferences"] =
          Json::array({{{"kind", "StatefulSet"}, {"uid", owner_uid}, {"controller", true}}});
    }
    if (terminating) p["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
    return p;
  };
  EXPECT_EQ(DecideClaim(set, pod("", false), true), ClaimAction::kAdopt);
  EXPECT_EQ(DecideClaim(set, pod("", false), false), ClaimAction::kIgnore);
  EXPECT_EQ(DecideClaim(set, pod("", true), true), ClaimAction::kIgnore);
  EXPECT_EQ(DecideClaim(set, pod("", false, "other"), true), ClaimAction::kIgnore);
  EXPECT_EQ(DecideClaim(deleting, pod("", false), true), ClaimAction::kIgnore);
  EXPECT_EQ(DecideClaim(set, pod("u-set", false), true), ClaimAction::kKeep);
  EXPECT_EQ(DecideClaim(set, pod("u-set", false), false), ClaimAction::kRelease);
  EXPECT_EQ(DecideClaim(set, pod("u-set", true), false), ClaimAction::kRelease);
  EXPECT_EQ(DecideClaim(deleting, pod("u-set", false), false), ClaimAction::kIgnore);
  EXPECT_EQ(DecideClaim(set, pod("u-other", false), true), ClaimAction::kIgnore);
  EXPECT_EQ(DecideClaim(set, pod("u-other", false), false), ClaimAction::kIgnore);
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
