#include "tools/kinema-sim/cluster/deployment_controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "tools/kinema-sim/cluster/kinds.h"
#include "tools/kinema-sim/selectors.h"

namespace kinema::sim::cluster {

namespace {

constexpr const char* kDesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas";
constexpr const char* kMaxReplicasAnnotation = "deployment.kubernetes.io/max-replicas";

long long Revision(const Json& obj) {
  const Json& md = obj["metadata"];
  if (!md.contains("annotations") || !md["annotations"].is_object()) return 0;
  std::string v = md["annotations"].value(kRevisionAnnotation, "");
  try {
    return v.empty() ? 0 : std::stoll(v);
  } catch (const std::exception&) {
    return 0;
  }
}

int SpecReplicas(const ObjectPtr& rs) { return rs ? static_cast<int>(SpecInt(rs->body, "replicas", 1)) : 0; }
// availableReplicas; a status written without it (older clients, hand-made
// snapshots) is read as readyReplicas, which it equals without minReadySeconds.
long long AvailableOf(const Json& rs) {
  auto st = rs.find("status");
  if (st != rs.end() && st->is_object() && !st->contains("availableReplicas") &&
      SpecInt(rs, "minReadySeconds", 0) == 0) {
    return StatusInt(rs, "readyReplicas");
  }
  return StatusInt(rs, "availableReplicas");
}
int Avail(const ObjectPtr& rs) { return rs ? static_cast<int>(AvailableOf(rs->body)) : 0; }

bool OlderFirst(const ObjectPtr& a, const ObjectPtr& b) {
  std::string ta = a->body["metadata"].value("creationTimestamp", "");
  std::string tb = b->body["metadata"].value("creationTimestamp", "");
  if (ta != tb) return ta < tb;
  return a->name < b->name;
}

bool IsRollingUpdate(const Json& d) {
  return d["spec"].value("strategy", Json::object()).value("type", "RollingUpdate") != "Recreate";
}

}  // namespace

DeploymentController::Fenceposts DeploymentController::ResolveFenceposts(const Json& d) {
  int replicas = static_cast<int>(SpecInt(d, "replicas", 1));
  Json ru = d["spec"].value("strategy", Json::object()).value("rollingUpdate", Json::object());
  Fenceposts f;
  f.max_surge = ResolveIntOrPercent(ru.value("maxSurge", Json("25%")), replicas, /*round_up=*/true);
  f.max_unavailable = ResolveIntOrPercent(ru.value("maxUnavailable", Json("25%")), replicas, /*round_up=*/false);
  if (f.max_surge == 0 && f.max_unavailable == 0) f.max_unavailable = 1;  // validation forbids both 0
  return f;
}

int DeploymentController::MaxUnavailable(const Json& d) {
  int replicas = static_cast<int>(SpecInt(d, "replicas", 1));
  if (!IsRollingUpdate(d) || replicas == 0) return 0;
  return std::min(ResolveFenceposts(d).max_unavailable, replicas);
}

Status DeploymentController::Setup(SimServer& server) {
  meter_ = std::make_unique<AvailabilityMeter>(&server.stats());
  deployments_ = std::make_unique<Informer>(&DeploymentsType(),
                                            [this](const ObjectPtr& p, const ObjectPtr& c) { OnDeployment(p, c); });
  rs_ = std::make_unique<Informer>(&ReplicaSetsType(),
                                   [this](const ObjectPtr& p, const ObjectPtr& c) { OnReplicaSet(p, c); });
  deployments_->Start(&server.store(), Notifier());
  rs_->Start(&server.store(), Notifier());
  After(1.0, [this] { Tick(); });
  return Status::OK();
}

void DeploymentController::Teardown() {
  deployments_->Stop();
  rs_->Stop();
}

void DeploymentController::Tick() {
  meter_->Advance(Now());
  After(1.0, [this] { Tick(); });
}

void DeploymentController::DrainAll() {
  deployments_->Drain();
  rs_->Drain();
}

void DeploymentController::OnDeployment(const ObjectPtr& prev, const ObjectPtr& cur) {
  const ObjectPtr& any = cur ? cur : prev;
  Key key{any->ns, any->name};
  if (!cur) {
    deploy_by_uid_.erase(Uid(prev->body));
    deploy_by_ns_[key.first].erase(key);
    meter_->Remove(key, Now());
    // Garbage collection (background propagation): the ReplicaSets go, and
    // with them (ReplicaSet controller) their pods.
    auto it = rs_by_owner_.find(Uid(prev->body));
    if (it != rs_by_owner_.end()) {
      for (const Key& k : std::vector<Key>(it->second.begin(), it->second.end())) {
        server().registry().Delete(ReplicaSetsType(), k.first, k.second, DeleteOptions{});
      }
    }
    return;
  }
  deploy_by_uid_[Uid(cur->body)] = key;
  deploy_by_ns_[key.first].insert(key);
  auto meta = [](const ObjectPtr& o) {
    Json m = o->body["metadata"];
    m.erase("resourceVersion");
    m.erase("managedFields");
    return m;
  };
  if (!prev || prev->body.value("spec", Json()) != cur->body.value("spec", Json()) || meta(prev) != meta(cur)) {
    dirty_.insert(key);
  }
}

void DeploymentController::OnReplicaSet(const ObjectPtr& prev, const ObjectPtr& cur) {
  const ObjectPtr& any = cur ? cur : prev;
  Key key{any->ns, any->name};
  auto owner_of = [](const ObjectPtr& rs) -> std::string {
    if (!rs) return "";
    const Json* ref = ControllerRef(rs->body);
    return ref && ref->value("kind", "") == "Deployment" ? ref->value("uid", "") : "";
  };
  std::string before = owner_of(prev), after = owner_of(cur);
  if (!before.empty()) {
    rs_by_owner_[before].erase(key);
    auto d = deploy_by_uid_.find(before);
    if (d != deploy_by_uid_.end()) dirty_.insert(d->second);
  }
  if (!after.empty()) {
    rs_by_owner_[after].insert(key);
    auto d = deploy_by_uid_.find(after);
    if (d != deploy_by_uid_.end()) dirty_.insert(d->second);
  }
  if (cur && !ControllerRef(cur->body)) {
    orphan_rs_by_ns_[key.first].insert(key);
    for (const Key& dk : deploy_by_ns_[key.first]) dirty_.insert(dk);
  } else {
    orphan_rs_by_ns_[key.first].erase(key);
  }
}

void DeploymentController::Pump() {
  DrainAll();
  while (!dirty_.empty()) {
    Key key = *dirty_.begin();
    dirty_.erase(dirty_.begin());
    Sync(key);
    DrainAll();
  }
}

std::vector<ObjectPtr> DeploymentController::OwnedReplicaSets(const StoredObject& d) {
  std::string uid = Uid(d.body);
  // Adopt orphans matching the selector (ControllerRefManager.ClaimReplicaSets).
  auto orphans = orphan_rs_by_ns_.find(d.ns);
  if (orphans != orphan_rs_by_ns_.end() && !orphans->second.empty()) {
    auto sel = LabelSelector::FromJson(d.body["spec"].value("selector", Json::object()));
    if (sel.ok() && !sel.value().Empty()) {
      for (const Key& k : std::vector<Key>(orphans->second.begin(), orphans->second.end())) {
        ObjectPtr rs = rs_->Get(k.first, k.second);
        if (!rs || IsTerminating(rs->body) || ControllerRef(rs->body)) continue;
        if (!sel.value().Matches(rs->body["metadata"].value("labels", Json()))) continue;
        auto r = server().registry().Modify(
            ReplicaSetsType(), k.first, k.second,
            [&](Json& obj) -> std::optional<ApiError> {
              if (ControllerRef(obj)) return ApiError::Conflict(ReplicaSetsType(), k.second, "already owned");
              Json& refs = obj["metadata"]["ownerReferences"];
              if (!refs.is_array()) refs = Json::array();
              refs.push_back(OwnerReference(d.body, "Deployment"));
              return std::nullopt;
            },
            "");
        if (r.ok()) spdlog::info("deployment {}/{} adopted replicaset {}", d.ns, d.name, k.second);
      }
      DrainAll();
    }
  }
  std::vector<ObjectPtr> out;
  auto it = rs_by_owner_.find(uid);
  if (it == rs_by_owner_.end()) return out;
  for (const Key& k : it->second) {
    ObjectPtr rs = rs_->Get(k.first, k.second);
    if (rs && !IsTerminating(rs->body)) out.push_back(rs);
  }
  std::sort(out.begin(), out.end(), OlderFirst);
  return out;
}

ObjectPtr DeploymentController::CreateNewReplicaSet(const StoredObject& d, int replicas, long long revision,
                                                    Json* status) {
  long long collisions = status->value("collisionCount", 0LL);
  const Json& spec = d.body["spec"];
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::string hash = TemplateHash(spec["template"], collisions);
    std::string name = d.name + "-" + hash;
    Json tmpl = spec["template"];
    tmpl["metadata"]["labels"][kPodTemplateHashLabel] = hash;
    Json selector = spec.value("selector", Json::object());
    selector["matchLabels"][kPodTemplateHashLabel] = hash;
    Json labels = tmpl["metadata"]["labels"];
    Json ann = {{kRevisionAnnotation, std::to_string(revision)},
                {kDesiredReplicasAnnotation, std::to_string(SpecInt(d.body, "replicas", 1))},
                {kMaxReplicasAnnotation,
                 std::to_string(SpecInt(d.body, "replicas", 1) + (IsRollingUpdate(d.body) ? ResolveFenceposts(d.body).max_surge : 0))}};
    Json rs = {{"apiVersion", "apps/v1"},
               {"kind", "ReplicaSet"},
               {"metadata",
                {{"name", name}, {"labels", labels}, {"annotations", ann},
                 {"ownerReferences", Json::array({OwnerReference(d.body, "Deployment")})}}},
               {"spec",
                {{"replicas", replicas},
                 {"minReadySeconds", SpecInt(d.body, "minReadySeconds", 0)},
                 {"selector", selector},
                 {"template", tmpl}}}};
    auto r = server().registry().Create(ReplicaSetsType(), d.ns, rs);
    if (r.ok()) {
      spdlog::info("deployment {}/{}: created replicaset {} (revision {}, {} replicas)", d.ns, d.name, name, revision,
                   replicas);
      SetCondition(*status, "Progressing", "True", "NewReplicaSetCreated", "Created new replica set \"" + name + "\"",
                   Now(), true);
      return r.value();
    }
    if (r.error().code != 409) {
      spdlog::warn("deployment {}/{}: create replicaset {}: {}", d.ns, d.name, name, r.error().message);
      return nullptr;
    }
    // Name taken: ours with the same template (a race) or a hash collision.
    ObjectPtr existing = server().store().Get(ReplicaSetsType(), d.ns, name);
    if (existing) {
      const Json* ref = ControllerRef(existing->body);
      if (ref && ref->value("uid", "") == Uid(d.body) &&
          EqualIgnoreHash(existing->body["spec"]["template"], spec["template"])) {
        return existing;
      }
    }
    collisions++;
    (*status)["collisionCount"] = collisions;
  }
  return nullptr;
}

bool DeploymentController::ScaleReplicaSet(const ObjectPtr& rs, int replicas, const StoredObject& d) {
  if (SpecReplicas(rs) == replicas) return false;
  std::string desired = std::to_string(SpecInt(d.body, "replicas", 1));
  std::string max = std::to_string(SpecInt(d.body, "replicas", 1) +
                                   (IsRollingUpdate(d.body) ? ResolveFenceposts(d.body).max_surge : 0));
  auto r = server().registry().Modify(
      ReplicaSetsType(), rs->ns, rs->name,
      [&](Json& obj) -> std::optional<ApiError> {
        obj["spec"]["replicas"] = replicas;
        obj["metadata"]["annotations"][kDesiredReplicasAnnotation] = desired;
        obj["metadata"]["annotations"][kMaxReplicasAnnotation] = max;
        return std::nullopt;
      },
      "");
  if (!r.ok()) {
    spdlog::warn("deployment {}/{}: scale replicaset {}: {}", d.ns, d.name, rs->name, r.error().message);
    return false;
  }
  spdlog::info("deployment {}/{}: scaled replicaset {} from {} to {}", d.ns, d.name, rs->name, SpecReplicas(rs),
               replicas);
  return true;
}

int DeploymentController::RollingUpdate(const StoredObject& d, const ObjectPtr& new_rs,
                                        const std::vector<ObjectPtr>& old_rses) {
  int replicas = static_cast<int>(SpecInt(d.body, "replicas", 1));
  Fenceposts f = ResolveFenceposts(d.body);
  int scaled = 0;
  // reconcileNewReplicaSet
  int new_replicas = SpecReplicas(new_rs);
  int all_replicas = new_replicas;
  for (const auto& rs : old_rses) all_replicas += SpecReplicas(rs);
  if (new_replicas > replicas) {
    scaled += ScaleReplicaSet(new_rs, replicas, d);
    return scaled;
  }
  if (new_replicas < replicas) {
    int max_total = replicas + f.max_surge;
    if (all_replicas < max_total) {
      int up = std::min(max_total - all_replicas, replicas - new_replicas);
      if (up > 0 && ScaleReplicaSet(new_rs, new_replicas + up, d)) return 1;
    }
  }
  // reconcileOldReplicaSets
  int old_count = 0;
  for (const auto& rs : old_rses) old_count += SpecReplicas(rs);
  if (old_count == 0) return scaled;
  int min_available = replicas - std::min(f.max_unavailable, replicas);
  int new_unavailable = SpecReplicas(new_rs) - Avail(new_rs);
  int max_scaled_down = all_replicas - min_available - new_unavailable;
  if (max_scaled_down <= 0) return scaled;
  // Unhealthy old replicas first (cleanupUnhealthyReplicas).
  int cleaned = 0;
  std::vector<ObjectPtr> olds = old_rses;
  std::sort(olds.begin(), olds.end(), OlderFirst);
  std::map<std::string, int> target;
  for (const auto& rs : olds) target[rs->name] = SpecReplicas(rs);
  for (const auto& rs : olds) {
    if (cleaned >= max_scaled_down) break;
    int spec = target[rs->name];
    int unhealthy = spec - Avail(rs);
    if (spec == 0 || unhealthy <= 0) continue;
    int down = std::min(max_scaled_down - cleaned, unhealthy);
    target[rs->name] = spec - down;
    cleaned += down;
  }
  // Then available ones, keeping minAvailable (scaleDownOldReplicaSetsForRollingUpdate).
  int available = Avail(new_rs);
  for (const auto& rs : olds) available += std::min(Avail(rs), target[rs->name]);
  if (available > min_available) {
    int total_down = std::min(available - min_available, max_scaled_down - cleaned);
    for (const auto& rs : olds) {
      if (total_down <= 0) break;
      int spec = target[rs->name];
      if (spec == 0) continue;
      int down = std::min(spec, total_down);
      target[rs->name] = spec - down;
      total_down -= down;
    }
  }
  for (const auto& rs : olds) scaled += ScaleReplicaSet(rs, target[rs->name], d);
  return scaled;
}

void DeploymentController::Cleanup(const StoredObject& d, const std::vector<ObjectPtr>& old_rses) {
  long long limit = SpecInt(d.body, "revisionHistoryLimit", 10);
  std::vector<ObjectPtr> cleanable;
  for (const auto& rs : old_rses) {
    if (SpecReplicas(rs) == 0 && StatusInt(rs->body, "replicas") == 0 &&
        StatusInt(rs->body, "observedGeneration") >= rs->body["metadata"].value("generation", 0LL)) {
      cleanable.push_back(rs);
    }
  }
  if (static_cast<long long>(cleanable.size()) <= limit) return;
  std::sort(cleanable.begin(), cleanable.end(), [](const ObjectPtr& a, const ObjectPtr& b) {
    long long ra = Revision(a->body), rb = Revision(b->body);
    if (ra != rb) return ra < rb;
    return OlderFirst(a, b);
  });
  size_t n = cleanable.size() - static_cast<size_t>(limit);
  for (size_t i = 0; i < n; ++i) {
    server().registry().Delete(ReplicaSetsType(), cleanable[i]->ns, cleanable[i]->name, DeleteOptions{});
    spdlog::info("deployment {}/{}: deleted old replicaset {} (revisionHistoryLimit {})", d.ns, d.name,
                 cleanable[i]->name, limit);
  }
}

void DeploymentController::Sync(const Key& key) {
  ObjectPtr dp = deployments_->Get(key.first, key.second);
  if (!dp || IsTerminating(dp->body)) return;
  const StoredObject& d = *dp;
  const Json& spec = d.body["spec"];
  auto sel = LabelSelector::FromJson(spec.value("selector", Json::object()));
  if (!sel.ok() || sel.value().Empty()) {
    spdlog::warn("deployment {}/{}: empty or invalid selector; not managed", d.ns, d.name);
    return;
  }
  Json status = d.body.value("status", Json::object());
  if (!status.is_object()) status = Json::object();
  const Json old_status = status;
  auto now = Now();
  int replicas = static_cast<int>(SpecInt(d.body, "replicas", 1));
  bool paused = spec.value("paused", false);

  std::vector<ObjectPtr> all = OwnedReplicaSets(d);
  ObjectPtr new_rs;
  std::vector<ObjectPtr> old_rses;
  for (const auto& rs : all) {
    if (!new_rs && EqualIgnoreHash(rs->body["spec"].value("template", Json::object()), spec["template"])) new_rs = rs;
    else old_rses.push_back(rs);
  }
  long long max_old_revision = 0;
  for (const auto& rs : old_rses) max_old_revision = std::max(max_old_revision, Revision(rs->body));
  long long new_revision = max_old_revision + 1;

  if (new_rs) {
    // Sync revision, minReadySeconds and the desired-replicas annotations of the existing new RS.
    long long rev = Revision(new_rs->body);
    long long want_rev = std::max(rev, new_revision);
    long long min_ready = SpecInt(d.body, "minReadySeconds", 0);
    if (rev != want_rev || SpecInt(new_rs->body, "minReadySeconds", 0) != min_ready) {
      auto r = server().registry().Modify(
          ReplicaSetsType(), new_rs->ns, new_rs->name,
          [&](Json& obj) -> std::optional<ApiError> {
            obj["metadata"]["annotations"][kRevisionAnnotation] = std::to_string(want_rev);
            obj["spec"]["minReadySeconds"] = min_ready;
            return std::nullopt;
          },
          "");
      if (r.ok()) new_rs = r.value();
    }
    if (!FindCondition(status, "Progressing")) {
      SetCondition(status, "Progressing", "True", "FoundNewReplicaSet",
                   "Found new replica set \"" + new_rs->name + "\"", now, true);
    }
  }

  bool rolling = IsRollingUpdate(d.body);
  if (!paused) {
    if (rolling) {
      if (!new_rs) {
        Fenceposts f = ResolveFenceposts(d.body);
        int current = 0;
        for (const auto& rs : old_rses) current += SpecReplicas(rs);
        int initial = old_rses.empty() ? replicas
                                       : std::max(0, std::min(replicas, replicas + f.max_surge - current));
        new_rs = CreateNewReplicaSet(d, initial, new_revision, &status);
      } else {
        RollingUpdate(d, new_rs, old_rses);
      }
    } else {
      // Recreate: old ReplicaSets to zero, wait for their pods, then the new one.
      bool old_running = false;
      for (const auto& rs : old_rses) {
        ScaleReplicaSet(rs, 0, d);
        if (StatusInt(rs->body, "replicas") > 0) old_running = true;
      }
      if (!old_running) {
        if (!new_rs) new_rs = CreateNewReplicaSet(d, replicas, new_revision, &status);
        else ScaleReplicaSet(new_rs, replicas, d);
      }
    }
    DrainAll();
  }
  // Re-read what the writes above produced.
  all = OwnedReplicaSets(d);
  ObjectPtr fresh_new;
  old_rses.clear();
  for (const auto& rs : all) {
    if (!fresh_new && EqualIgnoreHash(rs->body["spec"].value("template", Json::object()), spec["template"])) fresh_new = rs;
    else old_rses.push_back(rs);
  }
  new_rs = fresh_new;

  // Revision annotation on the Deployment.
  if (new_rs) {
    std::string rev = std::to_string(Revision(new_rs->body));
    const Json& ann = d.body["metadata"].value("annotations", Json::object());
    if (ann.value(kRevisionAnnotation, "") != rev) {
      server().registry().Modify(
          DeploymentsType(), d.ns, d.name,
          [&](Json& obj) -> std::optional<ApiError> {
            obj["metadata"]["annotations"][kRevisionAnnotation] = rev;
            return std::nullopt;
          },
          "");
    }
  }

  // Status.
  long long total_spec = 0, actual = 0, ready = 0, available = 0;
  for (const auto& rs : all) {
    total_spec += SpecReplicas(rs);
    actual += StatusInt(rs->body, "replicas");
    ready += StatusInt(rs->body, "readyReplicas");
    available += AvailableOf(rs->body);
  }
  long long updated = new_rs ? StatusInt(new_rs->body, "replicas") : 0;
  long long generation = d.body["metadata"].value("generation", 0LL);
  status["observedGeneration"] = generation;
  status["replicas"] = actual;
  status["updatedReplicas"] = updated;
  status["readyReplicas"] = ready;
  status["availableReplicas"] = available;
  status["unavailableReplicas"] = std::max(0LL, total_spec - available);
  int max_unavailable = MaxUnavailable(d.body);
  bool has_min = available >= replicas - max_unavailable;
  if (has_min) {
    SetCondition(status, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", now,
                 true);
  } else {
    SetCondition(status, "Available", "False", "MinimumReplicasUnavailable",
                 "Deployment does not have minimum availability.", now, true);
  }
  meter_->Update(key, available < replicas - max_unavailable, now);

  long long deadline = SpecInt(d.body, "progressDeadlineSeconds", 600);
  std::string rs_name = new_rs ? new_rs->name : "";
  if (paused) {
    SetCondition(status, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now, true);
  } else {
    const Json* cond = FindCondition(status, "Progressing");
    bool complete_already = cond && cond->value("reason", "") == "NewReplicaSetAvailable" && actual == updated;
    bool complete = updated == replicas && actual == replicas && available == replicas;
    if (!complete_already) {
      long long old_old = old_status.value("replicas", 0LL) - old_status.value("updatedReplicas", 0LL);
      long long new_old = actual - updated;
      bool progressing = updated > old_status.value("updatedReplicas", 0LL) || new_old < old_old ||
                         ready > old_status.value("readyReplicas", 0LL) ||
                         available > old_status.value("availableReplicas", 0LL);
      if (complete && new_rs) {
        SetCondition(status, "Progressing", "True", "NewReplicaSetAvailable",
                     "ReplicaSet \"" + rs_name + "\" has successfully progressed.", now, true);
      } else if (progressing && new_rs) {
        SetCondition(status, "Progressing", "True", "ReplicaSetUpdated",
                     "ReplicaSet \"" + rs_name + "\" is progressing.", now, true);
        for (auto& c : status["conditions"]) {
          if (c.value("type", "") == "Progressing") c["lastUpdateTime"] = SimClock::FormatTime(now);
        }
      } else if (cond) {
        SimClock::TimePoint last;
        std::string reason = cond->value("reason", "");
        if (reason != "ProgressDeadlineExceeded" &&
            SimClock::ParseTime(cond->value("lastUpdateTime", cond->value("lastTransitionTime", "")), &last) &&
            last + std::chrono::seconds(deadline) < now) {
          SetCondition(status, "Progressing", "False", "ProgressDeadlineExceeded",
                       "ReplicaSet \"" + rs_name + "\" has timed out progressing.", now, true);
          spdlog::warn("deployment {}/{}: progress deadline ({}s) exceeded", d.ns, d.name, deadline);
        }
      }
      // Re-check when the deadline could pass.
      const Json* c2 = FindCondition(status, "Progressing");
      SimClock::TimePoint last;
      if (!complete && c2 && c2->value("reason", "") != "ProgressDeadlineExceeded" &&
          SimClock::ParseTime(c2->value("lastUpdateTime", ""), &last)) {
        auto at = last + std::chrono::seconds(deadline + 1);
        auto& scheduled = deadline_checks_[key];
        if (scheduled != at) {
          scheduled = at;
          At(at, [this, key, at] {
            auto it = deadline_checks_.find(key);
            if (it != deadline_checks_.end() && it->second == at) deadline_checks_.erase(it);
            dirty_.insert(key);
            Pump();
          });
        }
      }
    }
  }
  if (status != old_status) {
    auto r = server().registry().Modify(
        DeploymentsType(), d.ns, d.name,
        [&](Json& obj) -> std::optional<ApiError> {
          if (Uid(obj) != Uid(d.body)) return ApiError::Conflict(DeploymentsType(), d.name, "uid changed");
          obj["status"] = status;
          return std::nullopt;
        },
        "status");
    if (!r.ok() && r.error().code != 404) {
      spdlog::warn("deployment {}/{}: status update: {}", d.ns, d.name, r.error().message);
    }
  }
  bool complete = new_rs && updated == replicas && actual == replicas && available == replicas;
  if (complete && !paused) Cleanup(d, old_rses);
}

}  // namespace kinema::sim::cluster
