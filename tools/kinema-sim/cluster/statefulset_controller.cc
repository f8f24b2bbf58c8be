#include "tools/kinema-sim/cluster/statefulset_controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "tools/kinema-sim/cluster/controller_ref.h"
#include "tools/kinema-sim/cluster/kinds.h"
#include "tools/kinema-sim/cluster/statefulset_claims.h"
#include "tools/kinema-sim/selectors.h"

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

// The workqueue's per-item exponential backoff
// (workqueue.DefaultControllerRateLimiter): 5 ms * 2^failures, at most 1000 s.
double BackoffSeconds(int failures) { return std::min(0.005 * std::ldexp(1.0, std::min(failures, 30)), 1000.0); }

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
    sets_by_ns_[key.first].erase(key);
    sync_failures_.erase(key);
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
  sets_by_ns_[key.first].insert(key);
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
  // Orphans (no controller of any kind): the sets whose selector matches
  // may adopt them. Like the real addPod/updatePod, only a new orphan or a
  // change of its labels or controller wakes them; an orphan's deletion
  // wakes no one.
  if (!cur || ControllerRef(cur->body)) {
    auto it = orphans_by_ns_.find(key.first);
    if (it != orphans_by_ns_.end()) it->second.erase(key);
    return;
  }
  orphans_by_ns_[key.first].insert(key);
  bool changed = !prev || LabelsOf(prev->body) != LabelsOf(cur->body) || ControllerRef(prev->body) != nullptr;
  auto ns_it = sets_by_ns_.find(key.first);
  if (!changed || ns_it == sets_by_ns_.end()) return;
  for (const Key& sk : ns_it->second) {
    ObjectPtr set = sets_->Get(sk.first, sk.second);
    if (!set) continue;
    auto sel = LabelSelector::FromJson(set->body["spec"].value("selector", Json::object()));
    if (sel.ok() && !sel.value().Empty() && sel.value().Matches(LabelsOf(cur->body))) dirty_.insert(sk);
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

std::optional<ApiError> StatefulSetController::CreatePod(const StoredObject& set, int ordinal,
                                                         const std::string& revision) {
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
  // issue 20: the member's PersistentVolumeClaims first (statefulset_claims.h).
  if (auto claim_error = EnsureMemberClaims(server().registry(), set, ordinal)) return claim_error;
  AddClaimVolumes(set.body, ordinal, pod);
  auto r = server().registry().Create(PodsType(), set.ns, pod);
  if (!r.ok()) {
    spdlog::warn("statefulset {}/{}: create pod {}: {} {} ({})", set.ns, set.name, name, r.error().code,
                 r.error().reason, r.error().message);
    return r.error();
  }
  spdlog::info("statefulset {}/{}: created pod {} (revision {})", set.ns, set.name, name, revision);
  return std::nullopt;
}

bool StatefulSetController::ClaimPods(const StoredObject& set) {
  auto sel = LabelSelector::FromJson(set.body["spec"].value("selector", Json::object()));
  if (!sel.ok()) {
    // A non-transient error: the real controller does not sync (nor retry) such a set.
    spdlog::warn("statefulset {}/{}: invalid selector: {}", set.ns, set.name, sel.error().message);
    return false;
  }
  // The apiserver rejects sets without a selector; a snapshot may still
  // hold one. Claiming with it would release every pod, so such a set just
  // keeps the pods that name it as their controller.
  if (sel.value().Empty()) return true;
  const LabelSelector& selector = sel.value();
  auto matches = [&](const ObjectPtr& p) {
    return selector.Matches(LabelsOf(p->body)) && OrdinalOf(set.name, p->name) >= 0;  // isMemberOf
  };
  Registry& reg = server().registry();
  const std::string uid = Uid(set.body);
  bool wrote = false;
  // Owned pods that no longer match are released.
  auto owned = pods_by_owner_.find(uid);
  if (owned != pods_by_owner_.end()) {
    for (const Key& k : std::vector<Key>(owned->second.begin(), owned->second.end())) {
      ObjectPtr p = pods_->Get(k.first, k.second);
      if (!p || DecideClaim(set.body, p->body, matches(p)) != ClaimAction::kRelease) continue;
      auto r = ReleaseObject(reg, PodsType(), k.first, k.second, Uid(p->body), uid);
      if (!r.ok()) {
        spdlog::warn("statefulset {}/{}: release pod {}: {} ({})", set.ns, set.name, k.second, r.error().code,
                     r.error().message);
      } else if (r.value()) {
        wrote = true;
        spdlog::info("statefulset {}/{}: released pod {} ({})", set.ns, set.name, k.second,
                     OrdinalOf(set.name, k.second) < 0 ? "its name is not a member of the set"
                                                       : "its labels no longer match the selector");
      }
    }
  }
  // Matching orphans are adopted, once a fresh read of the set (the real
  // controller's uncached quorum read, RecheckDeletionTimestamp) shows it is
  // still the same set and not being deleted.
  auto orphans = orphans_by_ns_.find(set.ns);
  if (orphans != orphans_by_ns_.end()) {
    bool checked = false;
    for (const Key& k : std::vector<Key>(orphans->second.begin(), orphans->second.end())) {
      ObjectPtr p = pods_->Get(k.first, k.second);
      if (!p || DecideClaim(set.body, p->body, matches(p)) != ClaimAction::kAdopt) continue;
      if (!checked) {
        ObjectPtr fresh = server().store().Get(StatefulSetsType(), set.ns, set.name);
        if (!fresh || Uid(fresh->body) != uid) {
          spdlog::info("statefulset {}/{}: not adopting pod {}: the set is gone (uid {})", set.ns, set.name, k.second,
                       uid);
          return false;
        }
        if (IsTerminating(fresh->body)) {
          spdlog::info("statefulset {}/{}: not adopting pod {}: the set is being deleted", set.ns, set.name,
                       k.second);
          return false;
        }
        checked = true;
      }
      auto r = AdoptObject(reg, PodsType(), k.first, k.second, Uid(p->body), set.body, "StatefulSet");
      if (!r.ok()) {
        if (r.error().code != 404) {
          spdlog::warn("statefulset {}/{}: adopt pod {}: {} ({})", set.ns, set.name, k.second, r.error().code,
                       r.error().message);
        }
        continue;
      }
      wrote = true;
      spdlog::info("statefulset {}/{}: adopted pod {}", set.ns, set.name, k.second);
    }
  }
  if (wrote) DrainAll();
  return true;
}

void StatefulSetController::RetryLater(const Key& key) {
  int failures = sync_failures_[key]++;
  if (!retry_pending_.insert(key).second) return;
  double delay = BackoffSeconds(failures);
  spdlog::debug("statefulset {}/{}: sync failed ({} in a row), retrying in {}s", key.first, key.second, failures + 1,
                delay);
  After(delay, [this, key] {
    retry_pending_.erase(key);
    dirty_.insert(key);
    Pump();
  });
}

void StatefulSetController::Sync(const Key& key) {
  ObjectPtr sp = sets_->Get(key.first, key.second);
  if (!sp || IsTerminating(sp->body)) return;
  const StoredObject& set = *sp;
  if (!ClaimPods(set)) return;
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
    // Owned members (non-members were released by ClaimPods; one whose
    // release failed is not counted either).
    std::map<int, ObjectPtr> by_ordinal;
    auto it = pods_by_owner_.find(Uid(set.body));
    if (it != pods_by_owner_.end()) {
      for (const Key& k : it->second) {
        ObjectPtr p = pods_->Get(k.first, k.second);
        if (!p) continue;
        int ord = OrdinalOf(set.name, p->name);
        if (ord >= 0) by_ordinal[ord] = p;
      }
    }
    return by_ordinal;
  };
  std::map<int, ObjectPtr> pods = collect();
  bool acted = false;
  bool failed = false;  // a create failed: the sync is retried with backoff
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
        if (CreatePod(set, ord, rev)) failed = true;
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
  pods = collect();
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
  if (failed) {
    RetryLater(key);
  } else {
    sync_failures_.erase(key);
  }
}

}  // namespace kinema::sim::cluster
