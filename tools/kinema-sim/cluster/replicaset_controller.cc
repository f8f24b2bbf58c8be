#include "tools/kinema-sim/cluster/replicaset_controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "tools/kinema-sim/cluster/controller_ref.h"
#include "tools/kinema-sim/cluster/kinds.h"
#include "tools/kinema-sim/selectors.h"

namespace kinema::sim::cluster {

namespace {

constexpr int kMaxCreatesPerSync = 500;  // like the real controller's burst (slow start aside)

std::string OwnerUid(const ObjectPtr& pod, const char* kind) {
  if (!pod) return "";
  const Json* ref = ControllerRef(pod->body);
  if (!ref || ref->value("kind", "") != kind) return "";
  return ref->value("uid", "");
}

bool SpecOrMetaChanged(const ObjectPtr& prev, const ObjectPtr& cur) {
  if (!prev || !cur) return true;
  const Json& a = prev->body;
  const Json& b = cur->body;
  return a.value("spec", Json()) != b.value("spec", Json()) || IsTerminating(a) != IsTerminating(b) ||
         a["metadata"].value("ownerReferences", Json()) != b["metadata"].value("ownerReferences", Json()) ||
         a["metadata"].value("labels", Json()) != b["metadata"].value("labels", Json());
}

int PhaseRank(const std::string& phase) {
  if (phase == "Pending") return 0;
  if (phase == "Running") return 2;
  return 1;  // Unknown / other
}

}  // namespace

Status ReplicaSetController::Setup(SimServer& server) {
  rs_ = std::make_unique<Informer>(&ReplicaSetsType(),
                                   [this](const ObjectPtr& p, const ObjectPtr& c) { OnReplicaSet(p, c); });
  pods_ = std::make_unique<Informer>(&PodsType(), [this](const ObjectPtr& p, const ObjectPtr& c) { OnPod(p, c); });
  rs_->Start(&server.store(), Notifier());
  pods_->Start(&server.store(), Notifier());
  return Status::OK();
}

void ReplicaSetController::Teardown() {
  rs_->Stop();
  pods_->Stop();
}

void ReplicaSetController::DrainAll() {
  rs_->Drain();
  pods_->Drain();
}

void ReplicaSetController::OnReplicaSet(const ObjectPtr& prev, const ObjectPtr& cur) {
  const ObjectPtr& any = cur ? cur : prev;
  Key key{any->ns, any->name};
  if (!cur) {
    std::string uid = Uid(prev->body);
    rs_by_uid_.erase(uid);
    rs_by_ns_[key.first].erase(key);
    if (pods_by_owner_.count(uid)) garbage_owners_.insert(uid);
    return;
  }
  if (prev && Uid(prev->body) != Uid(cur->body)) rs_by_uid_.erase(Uid(prev->body));
  rs_by_uid_[Uid(cur->body)] = key;
  rs_by_ns_[key.first].insert(key);
  if (SpecOrMetaChanged(prev, cur)) dirty_.insert(key);
}

void ReplicaSetController::OnPod(const ObjectPtr& prev, const ObjectPtr& cur) {
  const ObjectPtr& any = cur ? cur : prev;
  Key key{any->ns, any->name};
  std::string before = OwnerUid(prev, "ReplicaSet");
  std::string after = OwnerUid(cur, "ReplicaSet");
  if (!before.empty()) {
    auto it = pods_by_owner_.find(before);
    if (it != pods_by_owner_.end()) {
      it->second.erase(key);
      if (it->second.empty()) pods_by_owner_.erase(it);
    }
    auto rs = rs_by_uid_.find(before);
    if (rs != rs_by_uid_.end()) dirty_.insert(rs->second);
  }
  if (!after.empty()) {
    pods_by_owner_[after][key] = cur;
    auto rs = rs_by_uid_.find(after);
    if (rs != rs_by_uid_.end()) dirty_.insert(rs->second);
  }
  bool orphan = cur && ControllerRef(cur->body) == nullptr;
  if (orphan) {
    orphans_by_ns_[key.first].insert(key);
    // An orphan may be adopted by a ReplicaSet of its namespace.
    auto ns_it = rs_by_ns_.find(key.first);
    if (ns_it != rs_by_ns_.end() && IsActivePod(cur->body)) {
      for (const Key& rk : ns_it->second) {
        ObjectPtr rs = rs_->Get(rk.first, rk.second);
        if (!rs) continue;
        auto sel = LabelSelector::FromJson(rs->body["spec"].value("selector", Json::object()));
        if (sel.ok() && !sel.value().Empty() && sel.value().Matches(LabelsOf(cur->body))) {
          dirty_.insert(rk);
        }
      }
    }
  } else {
    auto it = orphans_by_ns_.find(key.first);
    if (it != orphans_by_ns_.end()) it->second.erase(key);
  }
}

void ReplicaSetController::Pump() {
  DrainAll();
  while (true) {
    if (!garbage_owners_.empty()) {
      auto owners = std::move(garbage_owners_);
      garbage_owners_.clear();
      for (const auto& uid : owners) CollectGarbage(uid);
      DrainAll();
      continue;
    }
    if (dirty_.empty()) break;
    // Scale-downs before scale-ups, so that a rollout's surge bound (which
    // the Deployment controller keeps on spec.replicas) also holds for
    // live pods.
    std::vector<Key> shrinking, others;
    for (const Key& k : dirty_) (NeedsScaleDown(k) ? shrinking : others).push_back(k);
    dirty_.clear();
    for (const auto* batch : {&shrinking, &others}) {
      for (const Key& k : *batch) {
        Sync(k);
        DrainAll();
      }
    }
  }
}

bool ReplicaSetController::NeedsScaleDown(const Key& key) const {
  ObjectPtr rs = rs_->Get(key.first, key.second);
  if (!rs) return false;
  auto it = pods_by_owner_.find(Uid(rs->body));
  if (it == pods_by_owner_.end()) return false;
  long long replicas = SpecInt(rs->body, "replicas", 1);
  long long active = 0;
  for (const auto& [k, p] : it->second) {
    if (IsActivePod(p->body) && ++active > replicas) return true;
  }
  return false;
}

void ReplicaSetController::CollectGarbage(const std::string& owner_uid) {
  if (rs_by_uid_.count(owner_uid)) return;
  auto it = pods_by_owner_.find(owner_uid);
  if (it == pods_by_owner_.end()) return;
  std::vector<Key> keys;
  for (const auto& [k, p] : it->second) keys.push_back(k);
  for (const Key& k : keys) {
    ObjectPtr pod = pods_->Get(k.first, k.second);
    if (!pod || IsTerminating(pod->body)) continue;
    auto r = server().registry().Delete(PodsType(), k.first, k.second, DeleteOptions{});
    if (r.ok()) spdlog::info("garbage collector: deleted pod {}/{} (its ReplicaSet is gone)", k.first, k.second);
  }
}

void ReplicaSetController::ClaimPods(const StoredObject& rs, const LabelSelector& selector) {
  Registry& reg = server().registry();
  // Release owned pods whose labels no longer match (e.g. relabelled out of
  // service): they live on as orphans and the ReplicaSet replaces them.
  auto owned_it = pods_by_owner_.find(Uid(rs.body));
  if (owned_it != pods_by_owner_.end()) {
    std::vector<ObjectPtr> owned;
    for (const auto& [k, p] : owned_it->second) owned.push_back(p);
    for (const ObjectPtr& pod : owned) {
      bool matches = selector.Matches(LabelsOf(pod->body));
      if (DecideClaim(rs.body, pod->body, matches) != ClaimAction::kRelease) continue;
      auto r = ReleaseObject(reg, PodsType(), pod->ns, pod->name, Uid(pod->body), Uid(rs.body));
      if (r.ok() && r.value()) {
        spdlog::info("replicaset {}/{} released pod {} (its labels no longer match the selector)", rs.ns, rs.name,
                     pod->name);
      }
    }
  }
  auto it = orphans_by_ns_.find(rs.ns);
  if (it == orphans_by_ns_.end() || it->second.empty()) return;
  std::vector<Key> candidates(it->second.begin(), it->second.end());
  for (const Key& k : candidates) {
    ObjectPtr pod = pods_->Get(k.first, k.second);
    if (!pod || !IsActivePod(pod->body)) continue;
    bool matches = selector.Matches(LabelsOf(pod->body));
    if (DecideClaim(rs.body, pod->body, matches) != ClaimAction::kAdopt) continue;
    auto r = AdoptObject(reg, PodsType(), k.first, k.second, Uid(pod->body), rs.body, "ReplicaSet");
    if (r.ok()) spdlog::info("replicaset {}/{} adopted pod {}", rs.ns, rs.name, k.second);
  }
}

void ReplicaSetController::ManageReplicas(const StoredObject& rs, int diff, const std::vector<ObjectPtr>& active) {
  Registry& reg = server().registry();
  if (diff < 0) {
    const Json tmpl = rs.body["spec"].value("template", Json::object());
    Json md = tmpl.value("metadata", Json::object());
    Json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", Json::object()},
                {"spec", tmpl.value("spec", Json::object())}};
    if (md.contains("labels")) pod["metadata"]["labels"] = md["labels"];
    if (md.contains("annotations")) pod["metadata"]["annotations"] = md["annotations"];
    pod["metadata"]["generateName"] = rs.name + "-";
    pod["metadata"]["ownerReferences"] = Json::array({OwnerReference(rs.body, "ReplicaSet")});
    int n = std::min(-diff, kMaxCreatesPerSync);
    for (int i = 0; i < n; ++i) {
      auto r = reg.Create(PodsType(), rs.ns, pod);
      if (!r.ok()) {
        spdlog::warn("replicaset {}/{}: create pod: {} {}", rs.ns, rs.name, r.error().code, r.error().message);
        return;
      }
    }
    if (n < -diff) dirty_.insert({rs.ns, rs.name});
    spdlog::debug("replicaset {}/{}: created {} pod(s)", rs.ns, rs.name, n);
    return;
  }
  // Rank: the pods to delete first sort first (controller.ActivePodsWithRanks).
  std::map<std::string, int> per_node;
  for (const auto& p : active) per_node[p->body["spec"].value("nodeName", "")]++;
  auto now = Now();
  std::vector<ObjectPtr> ranked = active;
  std::sort(ranked.begin(), ranked.end(), [&](const ObjectPtr& a, const ObjectPtr& b) {
    const Json& x = a->body;
    const Json& y = b->body;
    std::string nx = x["spec"].value("nodeName", ""), ny = y["spec"].value("nodeName", "");
    if (nx.empty() != ny.empty()) return nx.empty();
    int px = PhaseRank(PodPhase(x)), py = PhaseRank(PodPhase(y));
    if (px != py) return px < py;
    bool rx = IsPodReady(x), ry = IsPodReady(y);
    if (rx != ry) return !rx;
    int cx = nx.empty() ? 0 : per_node[nx], cy = ny.empty() ? 0 : per_node[ny];
    if (cx != cy) return cx > cy;
    if (rx && ry) {
      auto sx = ReadySince(x).value_or(now), sy = ReadySince(y).value_or(now);
      if (sx != sy) return sx > sy;
    }
    auto restarts = [](const Json& p) {
      long long n = 0;
      if (p.contains("status") && p["status"].contains("containerStatuses")) {
        for (const auto& c : p["status"]["containerStatuses"]) n += c.value("restartCount", 0LL);
      }
      return n;
    };
    long long kx = restarts(x), ky = restarts(y);
    if (kx != ky) return kx > ky;
    std::string tx = x["metadata"].value("creationTimestamp", ""), ty = y["metadata"].value("creationTimestamp", "");
    if (tx != ty) return tx > ty;
    return a->name > b->name;
  });
  for (int i = 0; i < diff && i < static_cast<int>(ranked.size()); ++i) {
    auto r = reg.Delete(PodsType(), ranked[i]->ns, ranked[i]->name, DeleteOptions{});
    if (!r.ok() && r.error().code != 404) {
      spdlog::warn("replicaset {}/{}: delete pod {}: {}", rs.ns, rs.name, ranked[i]->name, r.error().message);
    }
  }
  spdlog::debug("replicaset {}/{}: deleted {} surplus pod(s)", rs.ns, rs.name, diff);
}

void ReplicaSetController::Sync(const Key& key) {
  ObjectPtr rs = rs_->Get(key.first, key.second);
  if (!rs || IsTerminating(rs->body)) return;
  const Json& spec = rs->body.value("spec", Json::object());
  auto selector = LabelSelector::FromJson(spec.value("selector", Json::object()));
  if (selector.ok() && !selector.value().Empty()) {  // the API rejects both; a snapshot might not
    ClaimPods(*rs, selector.value());
    DrainAll();
  }
  auto collect = [&]() {
    std::vector<ObjectPtr> active;
    auto it = pods_by_owner_.find(Uid(rs->body));
    if (it == pods_by_owner_.end()) return active;
    for (const auto& [k, p] : it->second) {
      if (IsActivePod(p->body)) active.push_back(p);
    }
    return active;
  };
  std::vector<ObjectPtr> active = collect();
  int replicas = static_cast<int>(SpecInt(rs->body, "replicas", 1));
  int diff = static_cast<int>(active.size()) - replicas;
  if (diff != 0) {
    ManageReplicas(*rs, diff, active);
    DrainAll();
    active = collect();
  }
  // Status.
  long long min_ready = SpecInt(rs->body, "minReadySeconds", 0);
  auto now = Now();
  Json tmpl_labels = spec.value("template", Json::object()).value("metadata", Json::object()).value("labels", Json::object());
  long long fully = 0, ready = 0, available = 0;
  std::optional<SimClock::TimePoint> next_check;
  for (const auto& p : active) {
    const Json& labels = LabelsOf(p->body);
    bool all = true;
    for (auto it = tmpl_labels.begin(); it != tmpl_labels.end(); ++it) {
      if (!labels.is_object() || !labels.contains(it.key()) || labels[it.key()] != it.value()) {
        all = false;
        break;
      }
    }
    if (all) fully++;
    if (!IsPodReady(p->body)) continue;
    ready++;
    if (IsPodAvailable(p->body, min_ready, now)) {
      available++;
    } else if (auto since = ReadySince(p->body)) {
      auto at = *since + std::chrono::seconds(min_ready);
      if (!next_check || at < *next_check) next_check = at;
    }
  }
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
  long long generation = rs->body["metadata"].value("generation", 0LL);
  auto r = server().registry().Modify(
      ReplicaSetsType(), key.first, key.second,
      [&](Json& obj) -> std::optional<ApiError> {
        if (Uid(obj) != Uid(rs->body)) return ApiError::Conflict(ReplicaSetsType(), key.second, "uid changed");
        Json& st = obj["status"];
        if (!st.is_object()) st = Json::object();
        st["replicas"] = static_cast<long long>(active.size());
        st["fullyLabeledReplicas"] = fully;
        st["readyReplicas"] = ready;
        st["availableReplicas"] = available;
        st["observedGeneration"] = generation;
        return std::nullopt;
      },
      "status");
  if (!r.ok() && r.error().code != 404) {
    spdlog::warn("replicaset {}/{}: status update: {}", key.first, key.second, r.error().message);
  }
}

}  // namespace kinema::sim::cluster
