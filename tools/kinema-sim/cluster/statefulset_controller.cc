#include "tools/kinema-sim/cluster/statefulset_controller.h"

#include <spdlog/spdlog.h>

#include "tools/kinema-sim/cluster/kinds.h"

namespace kinema::sim::cluster {

namespace {

std::string OwnerUid(const ObjectPtr& pod) {
  if (!pod) return "";
  const Json* ref = ControllerRef(pod->body);
  return ref && ref->value("kind", "") == "StatefulSet" ? ref->value("uid", "") : "";
}

// Ordinal of "<set>-<n>", or -1.
int OrdinalOf(const std::string& set, const std::string& pod) {
  if (pod.size() <= set.size() + 1 || pod.compare(0, set.size(), set) != 0 || pod[set.size()] != '-') return -1;
  std::string tail = pod.substr(set.size() + 1);
  if (tail.empty() || tail.size() > 9 || tail.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoi(tail);
}

bool RunningAndReady(const Json& pod) { return PodPhase(pod) == "Running" && IsPodReady(pod) && !IsTerminating(pod); }

}  // namespace

Status StatefulSetController::Setup(SimServer& server) {
  sets_ = std::make_unique<Informer>(&StatefulSetsType(), [this](const ObjectPtr& p, const ObjectPtr& c) { OnSet(p, c); });
  pods_ = std::make_unique<Informer>(&PodsType(), [this](const ObjectPtr& p, const ObjectPtr& c) { OnPod(p, c); });
  sets_->Start(&server.store(), Notifier());
  pods_->Start(&server.store(), Notifier());
  return Status::OK();
}

void StatefulSetController::Teardown() {
  sets_->Stop();
  pods_->Stop();
}

void StatefulSetController::DrainAll() {
  sets_->Drain();
  pods_->Drain();
}

void StatefulSetController::OnSet(const ObjectPtr& prev, const ObjectPtr& cur) {
  const ObjectPtr& any = cur ? cur : prev;
  Key key{any->ns, any->name};
  if (!cur) {
    std::string uid = Uid(prev->body);
    set_by_uid_.erase(uid);
    revisions_.Forget(uid);
    // Garbage collection of the set's pods (background propagation).
    auto it = pods_by_owner_.find(uid);
    if (it != pods_by_owner_.end()) {
      for (const Key& k : std::vector<Key>(it->second.begin(), it->second.end())) {
        server().registry().Delete(PodsType(), k.first, k.second, DeleteOptions{});
      }
    }
    return;
  }
  set_by_uid_[Uid(cur->body)] = key;
  if (!prev || prev->body.value("spec", Json()) != cur->body.value("spec", Json()) || IsTerminating(cur->body)) {
    dirty_.insert(key);
  }
}

void StatefulSetController::OnPod(const ObjectPtr& prev, const ObjectPtr& cur) {
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

void StatefulSetController::Pump() {
  DrainAll();
  while (!dirty_.empty()) {
    Key key = *dirty_.begin();
    dirty_.erase(dirty_.begin());
    Sync(key);
    DrainAll();
  }
}

bool StatefulSetController::CreatePod(const StoredObject& set, int ordinal, const std::string& revision) {
  const Json& spec = set.body["spec"];
  Json tmpl = spec.value("template", Json::object());
  std::string name = set.name + "-" + std::to_string(ordinal);
  Json labels = tmpl.value("metadata", Json::object()).value("labels", Json::object());
  labels[kControllerRevisionHashLabel] = revision;
  labels["statefulset.kubernetes.io/pod-name"] = name;
  labels["apps.kubernetes.io/pod-index"] = std::to_string(ordinal);
  Json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata",
               {{"name", name}, {"labels", labels},
                {"ownerReferences", Json::array({OwnerReference(set.body, "StatefulSet")})}}},
              {"spec", tmpl.value("spec", Json::object())}};
  if (tmpl.contains("metadata") && tmpl["metadata"].contains("annotations")) {
    pod["metadata"]["annotations"] = tmpl["metadata"]["annotations"];
  }
  pod["spec"]["hostname"] = name;
  if (spec.contains("serviceName") && spec["serviceName"].is_string() && !spec["serviceName"].get<std::string>().empty()) {
    pod["spec"]["subdomain"] = spec["serviceName"];
  }
  auto r = server().registry().Create(PodsType(), set.ns, pod);
  if (!r.ok()) {
    if (r.error().code != 409) spdlog::warn("statefulset {}/{}: create pod {}: {}", set.ns, set.name, name, r.error().message);
    return false;
  }
  spdlog::info("statefulset {}/{}: created pod {} (revision {})", set.ns, set.name, name, revision);
  return true;
}

void StatefulSetController::Sync(const Key& key) {
  ObjectPtr sp = sets_->Get(key.first, key.second);
  if (!sp || IsTerminating(sp->body)) return;
  const StoredObject& set = *sp;
  const Json& spec = set.body["spec"];
  Json status = set.body.value("status", Json::object());
  if (!status.is_object()) status = Json::object();
  const Json old_status = status;
  std::string snapshot_rev = status.value("updateRevision", status.value("currentRevision", ""));
  std::string update_rev = revisions_.RevisionOf(set.body, snapshot_rev);
  std::string current_rev = status.value("currentRevision", "");
  if (current_rev.empty()) current_rev = update_rev;
  int replicas = static_cast<int>(SpecInt(set.body, "replicas", 1));
  bool parallel = spec.value("podManagementPolicy", "OrderedReady") == "Parallel";
  Json strategy = spec.value("updateStrategy", Json::object());
  bool rolling = strategy.value("type", "RollingUpdate") == "RollingUpdate";
  int partition = 0;
  if (strategy.contains("rollingUpdate") && strategy["rollingUpdate"].is_object()) {
    partition = static_cast<int>(strategy["rollingUpdate"].value("partition", 0LL));
  }
  Registry& reg = server().registry();

  auto collect = [&]() {
    std::map<int, ObjectPtr> by_ordinal;
    std::vector<ObjectPtr> strays;
    auto it = pods_by_owner_.find(Uid(set.body));
    if (it != pods_by_owner_.end()) {
      for (const Key& k : it->second) {
        ObjectPtr p = pods_->Get(k.first, k.second);
        if (!p) continue;
        int ord = OrdinalOf(set.name, p->name);
        if (ord < 0) strays.push_back(p);
        else by_ordinal[ord] = p;
      }
    }
    return std::make_pair(by_ordinal, strays);
  };
  auto [pods, strays] = collect();
  for (const auto& p : strays) {
    if (!IsTerminating(p->body)) reg.Delete(PodsType(), p->ns, p->name, DeleteOptions{});
  }
  bool acted = false;
  // Failed pods are deleted and recreated.
  for (const auto& [ord, p] : pods) {
    std::string phase = PodPhase(p->body);
    if ((phase == "Failed" || phase == "Succeeded") && !IsTerminating(p->body)) {
      reg.Delete(PodsType(), p->ns, p->name, DeleteOptions{});
      acted = true;
    }
  }
  if (!acted) {
    // Create missing ordinals below replicas.
    bool all_ready_so_far = true;
    for (int ord = 0; ord < replicas; ++ord) {
      auto it = pods.find(ord);
      if (it == pods.end()) {
        if (!parallel && !all_ready_so_far) break;
        std::string rev = (rolling && ord < partition) ? current_rev : update_rev;
        CreatePod(set, ord, rev);
        acted = true;
        if (!parallel) break;
        continue;
      }
      if (!RunningAndReady(it->second->body)) {
        all_ready_so_far = false;
        if (!parallel) break;
      }
    }
  }
  if (!acted) {
    // Scale down from the highest ordinal.
    bool others_ready = true;
    for (const auto& [ord, p] : pods) {
      if (ord < replicas && !RunningAndReady(p->body)) others_ready = false;
    }
    for (auto it = pods.rbegin(); it != pods.rend(); ++it) {
      if (it->first < replicas) break;
      if (IsTerminating(it->second->body)) {
        if (!parallel) {
          acted = true;
          break;  // wait for it to go
        }
        continue;
      }
      if (!parallel && !others_ready) break;
      reg.Delete(PodsType(), it->second->ns, it->second->name, DeleteOptions{});
      spdlog::info("statefulset {}/{}: scaled down pod {}", set.ns, set.name, it->second->name);
      acted = true;
      if (!parallel) break;
    }
  }
  if (!acted && rolling) {
    // Rolling update, highest ordinal first, one at a time, only when all are Ready.
    bool all_ready = static_cast<int>(pods.size()) >= replicas;
    for (const auto& [ord, p] : pods) {
      if (ord < replicas && !RunningAndReady(p->body)) all_ready = false;
    }
    if (all_ready) {
      for (auto it = pods.rbegin(); it != pods.rend(); ++it) {
        if (it->first >= replicas || it->first < partition) continue;
        if (revisions_.PodRevision(set.body, it->second->body) == update_rev) continue;
        reg.Delete(PodsType(), it->second->ns, it->second->name, DeleteOptions{});
        spdlog::info("statefulset {}/{}: rolling pod {} to revision {}", set.ns, set.name, it->second->name, update_rev);
        break;
      }
    }
  }
  DrainAll();
  auto fresh = collect();
  pods = fresh.first;
  long long count = 0, ready = 0, available = 0, current = 0, updated = 0;
  long long min_ready = SpecInt(set.body, "minReadySeconds", 0);
  auto now = Now();
  std::optional<SimClock::TimePoint> next_check;
  for (const auto& [ord, p] : pods) {
    if (IsTerminating(p->body)) continue;
    count++;
    std::string rev = revisions_.PodRevision(set.body, p->body);
    if (rev == current_rev) current++;
    if (rev == update_rev) updated++;
    if (!IsPodReady(p->body)) continue;
    ready++;
    if (IsPodAvailable(p->body, min_ready, now)) {
      available++;
    } else if (auto since = ReadySince(p->body)) {
      auto at = *since + std::chrono::seconds(min_ready);
      if (!next_check || at < *next_check) next_check = at;
    }
  }
  if (updated == replicas && ready == replicas && count == replicas) {
    current_rev = update_rev;
    current = updated;
  }
  status["observedGeneration"] = set.body["metadata"].value("generation", 0LL);
  status["replicas"] = count;
  status["readyReplicas"] = ready;
  status["availableReplicas"] = available;
  status["currentReplicas"] = current;
  status["updatedReplicas"] = updated;
  status["currentRevision"] = current_rev;
  status["updateRevision"] = update_rev;
  if (!status.contains("collisionCount")) status["collisionCount"] = 0;
  if (next_check) {
    auto& scheduled = availability_checks_[key];
    if (scheduled <= now || *next_check < scheduled) {
      scheduled = *next_check;
      At(*next_check + std::chrono::milliseconds(1), [this, key] {
        availability_checks_.erase(key);
        dirty_.insert(key);
        Pump();
      });
    }
  }
  if (status != old_status) {
    auto r = reg.Modify(
        StatefulSetsType(), set.ns, set.name,
        [&](Json& obj) -> std::optional<ApiError> {
          obj["status"] = status;
          return std::nullopt;
        },
        "status");
    if (!r.ok() && r.error().code != 404) spdlog::warn("statefulset {}/{}: status update: {}", set.ns, set.name, r.error().message);
  }
}

}  // namespace kinema::sim::cluster
