#include "tools/kinema-sim/cluster/daemonset_controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "tools/kinema-sim/cluster/kinds.h"
#include "tools/kinema-sim/cluster/node_eligibility.h"

namespace kinema::sim::cluster {

namespace {

std::string OwnerUid(const ObjectPtr& pod) {
  if (!pod) return "";
  const Json* ref = ControllerRef(pod->body);
  return ref && ref->value("kind", "") == "DaemonSet" ? ref->value("uid", "") : "";
}

bool NodeRelevantChange(const ObjectPtr& prev, const ObjectPtr& cur) {
  if (!prev || !cur) return true;
  return prev->body["metadata"].value("labels", Json()) != cur->body["metadata"].value("labels", Json()) ||
         prev->body.value("spec", Json()) != cur->body.value("spec", Json()) ||
         IsTerminating(prev->body) != IsTerminating(cur->body);
}

}  // namespace

Status DaemonSetController::Setup(SimServer& server) {
  sets_ = std::make_unique<Informer>(&DaemonSetsType(), [this](const ObjectPtr& p, const ObjectPtr& c) { OnSet(p, c); });
  nodes_ = std::make_unique<Informer>(&NodesType(), [this](const ObjectPtr& p, const ObjectPtr& c) { OnNode(p, c); });
  pods_ = std::make_unique<Informer>(&PodsType(), [this](const ObjectPtr& p, const ObjectPtr& c) { OnPod(p, c); });
  sets_->Start(&server.store(), Notifier());
  nodes_->Start(&server.store(), Notifier());
  pods_->Start(&server.store(), Notifier());
  return Status::OK();
}

void DaemonSetController::Teardown() {
  sets_->Stop();
  nodes_->Stop();
  pods_->Stop();
}

void DaemonSetController::DrainAll() {
  sets_->Drain();
  nodes_->Drain();
  pods_->Drain();
}

void DaemonSetController::OnSet(const ObjectPtr& prev, const ObjectPtr& cur) {
  const ObjectPtr& any = cur ? cur : prev;
  Key key{any->ns, any->name};
  if (!cur) {
    std::string uid = Uid(prev->body);
    set_by_uid_.erase(uid);
    revisions_.Forget(uid);
    eligible_cache_.erase(uid);
    auto it = pods_by_owner_.find(uid);
    if (it != pods_by_owner_.end()) {
      for (const Key& k : std::vector<Key>(it->second.begin(), it->second.end())) {
        server().registry().Delete(PodsType(), k.first, k.second, DeleteOptions{});
      }
    }
    return;
  }
  set_by_uid_[Uid(cur->body)] = key;
  if (!prev || prev->body.value("spec", Json()) != cur->body.value("spec", Json())) dirty_.insert(key);
}

void DaemonSetController::OnNode(const ObjectPtr& prev, const ObjectPtr& cur) {
  if (!NodeRelevantChange(prev, cur)) return;
  nodes_version_++;
  for (const auto& [uid, key] : set_by_uid_) dirty_.insert(key);
}

void DaemonSetController::OnPod(const ObjectPtr& prev, const ObjectPtr& cur) {
  const ObjectPtr& any = cur ? cur : prev;
  Key key{any->ns, any->name};
  std::string before = OwnerUid(prev), after = OwnerUid(cur);
  if (!before.empty()) {
    pods_by_owner_[before].erase(key);
    auto s = set_by_uid_.find(before);
    if (s != set_by_uid_.end()) dirty_.insert(s->second);
  }
  if (!after.empty()) {
    pods_by_owner_[after].insert(key);
    auto s = set_by_uid_.find(after);
    if (s != set_by_uid_.end()) dirty_.insert(s->second);
  }
}

void DaemonSetController::Pump() {
  DrainAll();
  while (!dirty_.empty()) {
    Key key = *dirty_.begin();
    dirty_.erase(dirty_.begin());
    Sync(key);
    DrainAll();
  }
}

void DaemonSetController::CreatePod(const StoredObject& ds, const std::string& node, const std::string& revision) {
  Json tmpl = ds.body["spec"].value("template", Json::object());
  Json labels = tmpl.value("metadata", Json::object()).value("labels", Json::object());
  labels[kControllerRevisionHashLabel] = revision;
  Json spec = tmpl.value("spec", Json::object());
  spec["nodeName"] = node;
  spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = {
      {"nodeSelectorTerms",
       Json::array({{{"matchFields",
                      Json::array({{{"key", "metadata.name"}, {"operator", "In"}, {"values", Json::array({node})}}})}}})}};
  Json tolerations = spec.value("tolerations", Json::array());
  if (!tolerations.is_array()) tolerations = Json::array();
  for (const auto& t : DaemonTolerations()) {
    if (std::find(tolerations.begin(), tolerations.end(), t) == tolerations.end()) tolerations.push_back(t);
  }
  spec["tolerations"] = tolerations;
  Json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata",
               {{"generateName", ds.name + "-"}, {"labels", labels},
                {"ownerReferences", Json::array({OwnerReference(ds.body, "DaemonSet")})}}},
              {"spec", spec}};
  if (tmpl.contains("metadata") && tmpl["metadata"].contains("annotations")) {
    pod["metadata"]["annotations"] = tmpl["metadata"]["annotations"];
  }
  auto r = server().registry().Create(PodsType(), ds.ns, pod);
  if (!r.ok()) {
    spdlog::warn("daemonset {}/{}: create pod on {}: {}", ds.ns, ds.name, node, r.error().message);
    return;
  }
  spdlog::info("daemonset {}/{}: created pod {} on node {}", ds.ns, ds.name, r.value()->name, node);
}

void DaemonSetController::Sync(const Key& key) {
  ObjectPtr dp = sets_->Get(key.first, key.second);
  if (!dp || IsTerminating(dp->body)) return;
  const StoredObject& ds = *dp;
  const Json& spec = ds.body["spec"];
  const Json tmpl_spec = spec.value("template", Json::object()).value("spec", Json::object());
  Registry& reg = server().registry();
  auto group = [&]() {
    std::map<std::string, std::vector<ObjectPtr>> by_node;
    auto it = pods_by_owner_.find(Uid(ds.body));
    if (it != pods_by_owner_.end()) {
      for (const Key& k : it->second) {
        if (ObjectPtr p = pods_->Get(k.first, k.second)) by_node[p->body["spec"].value("nodeName", "")].push_back(p);
      }
    }
    return by_node;
  };
  auto by_node = group();
  std::string snapshot_rev;
  for (const auto& [n, ps] : by_node) {
    for (const auto& p : ps) {
      const Json& l = p->body["metadata"].value("labels", Json::object());
      if (l.contains(kControllerRevisionHashLabel)) snapshot_rev = l[kControllerRevisionHashLabel];
    }
  }
  std::string rev = revisions_.RevisionOf(ds.body, snapshot_rev);
  Eligibility& cache = eligible_cache_[Uid(ds.body)];
  long long generation = ds.body["metadata"].value("generation", 0LL);
  if (cache.generation != generation || cache.nodes_version != nodes_version_) {
    cache.nodes.clear();
    for (const auto& [k, node] : nodes_->items()) {
      if (!IsTerminating(node->body) && DaemonPodFitsNode(tmpl_spec, node->body)) cache.nodes.insert(k.second);
    }
    cache.generation = generation;
    cache.nodes_version = nodes_version_;
  }
  const std::set<std::string> eligible = cache.nodes;
  // Create, deduplicate, remove misscheduled and failed pods.
  for (const auto& [k, node] : nodes_->items()) {
    const std::string& name = k.second;
    std::vector<ObjectPtr> active;
    for (const auto& p : by_node[name]) {
      std::string phase = PodPhase(p->body);
      if (IsTerminating(p->body)) continue;
      if (phase == "Failed" || phase == "Succeeded") {
        reg.Delete(PodsType(), p->ns, p->name, DeleteOptions{});
        continue;
      }
      active.push_back(p);
    }
    if (!eligible.count(name)) {
      for (const auto& p : active) {
        reg.Delete(PodsType(), p->ns, p->name, DeleteOptions{});
        spdlog::info("daemonset {}/{}: node {} no longer eligible; deleted pod {}", ds.ns, ds.name, name, p->name);
      }
      continue;
    }
    bool any_pod = !active.empty();
    for (const auto& p : by_node[name]) any_pod = any_pod || IsTerminating(p->body);
    if (!any_pod) {
      CreatePod(ds, name, rev);
    } else if (active.size() > 1) {
      std::sort(active.begin(), active.end(), [](const ObjectPtr& a, const ObjectPtr& b) {
        return a->body["metadata"].value("creationTimestamp", "") < b->body["metadata"].value("creationTimestamp", "");
      });
      for (size_t i = 1; i < active.size(); ++i) reg.Delete(PodsType(), active[i]->ns, active[i]->name, DeleteOptions{});
    }
  }
  DrainAll();
  by_node = group();
  long long min_ready = SpecInt(ds.body, "minReadySeconds", 0);
  auto now = Now();
  Json strategy = spec.value("updateStrategy", Json::object());
  if (strategy.value("type", "RollingUpdate") == "RollingUpdate") {
    Json ru = strategy.value("rollingUpdate", Json::object());
    int max_unavailable = ResolveIntOrPercent(ru.value("maxUnavailable", Json(1)), static_cast<int>(eligible.size()), true);
    if (max_unavailable < 1) max_unavailable = 1;
    int unavailable = 0;
    std::vector<ObjectPtr> old_available, old_unavailable;
    for (const auto& name : eligible) {
      ObjectPtr live;
      for (const auto& p : by_node[name]) {
        if (!IsTerminating(p->body)) live = p;
      }
      if (!live || !IsPodAvailable(live->body, min_ready, now)) unavailable++;
      if (live && revisions_.PodRevision(ds.body, live->body) != rev) {
        (IsPodAvailable(live->body, min_ready, now) ? old_available : old_unavailable).push_back(live);
      }
    }
    for (const auto& p : old_unavailable) reg.Delete(PodsType(), p->ns, p->name, DeleteOptions{});
    for (const auto& p : old_available) {
      if (unavailable >= max_unavailable) break;
      reg.Delete(PodsType(), p->ns, p->name, DeleteOptions{});
      spdlog::info("daemonset {}/{}: rolling pod {} to revision {}", ds.ns, ds.name, p->name, rev);
      unavailable++;
    }
    DrainAll();
    by_node = group();
  }
  long long scheduled = 0, misscheduled = 0, ready = 0, available = 0, updated = 0;
  for (const auto& [node, ps] : by_node) {
    ObjectPtr live;
    for (const auto& p : ps) {
      if (!IsTerminating(p->body)) live = p;
    }
    if (!live) continue;
    if (!eligible.count(node)) {
      misscheduled++;
      continue;
    }
    scheduled++;
    if (IsPodReady(live->body)) ready++;
    if (IsPodAvailable(live->body, min_ready, now)) available++;
    if (revisions_.PodRevision(ds.body, live->body) == rev) updated++;
  }
  Json status = ds.body.value("status", Json::object());
  if (!status.is_object()) status = Json::object();
  const Json old_status = status;
  long long desired = static_cast<long long>(eligible.size());
  status["desiredNumberScheduled"] = desired;
  status["currentNumberScheduled"] = scheduled;
  status["numberMisscheduled"] = misscheduled;
  status["numberReady"] = ready;
  status["numberAvailable"] = available;
  status["numberUnavailable"] = std::max(0LL, desired - available);
  status["updatedNumberScheduled"] = updated;
  status["observedGeneration"] = ds.body["metadata"].value("generation", 0LL);
  if (status != old_status) {
    auto r = reg.Modify(
        DaemonSetsType(), ds.ns, ds.name,
        [&](Json& obj) -> std::optional<ApiError> {
          obj["status"] = status;
          return std::nullopt;
        },
        "status");
    if (!r.ok() && r.error().code != 404) spdlog::warn("daemonset {}/{}: status update: {}", ds.ns, ds.name, r.error().message);
  }
}

}  // namespace kinema::sim::cluster
