#include "tools/kinema-sim/cluster/pdb_controller.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "tools/kinema-sim/cluster/kinds.h"

namespace kinema::sim::cluster {

namespace {

constexpr int kDeletionTimeoutSeconds = 120;  // disruption.DeletionTimeout

bool Healthy(const ObjectPtr& pod) { return pod && !IsTerminating(pod->body) && IsPodReady(pod->body); }

std::string NodeOf(const ObjectPtr& pod) {
  if (!pod) return "";
  auto s = pod->body.find("spec");
  return s != pod->body.end() && s->is_object() ? s->value("nodeName", "") : "";
}

}  // namespace

Status PdbController::Setup(SimServer& server) {
  nodes_ = std::make_unique<Informer>(&NodesType(), [this](const ObjectPtr& p, const ObjectPtr& c) { OnNode(p, c); });
  pdbs_ = std::make_unique<Informer>(&PdbsType(), [this](const ObjectPtr& p, const ObjectPtr& c) { OnPdb(p, c); });
  pods_ = std::make_unique<Informer>(&PodsType(), [this](const ObjectPtr& p, const ObjectPtr& c) { OnPod(p, c); });
  nodes_->Start(&server.store(), Notifier());
  pdbs_->Start(&server.store(), Notifier());
  pods_->Start(&server.store(), Notifier());
  // The snapshot's own state is not a violation caused by anyone.
  for (auto& [k, b] : budgets_) b.non_sim_loss = false;
  return Status::OK();
}

void PdbController::Teardown() {
  nodes_->Stop();
  pdbs_->Stop();
  pods_->Stop();
}

void PdbController::DrainAll() {
  nodes_->Drain();
  pdbs_->Drain();
  pods_->Drain();
}

bool PdbController::NodeReady(const std::string& node) const {
  auto it = node_ready_.find(node);
  return it != node_ready_.end() && it->second;
}

bool PdbController::Matches(const Budget& b, const ObjectPtr& pod) const {
  return pod && b.has_selector && b.selector.Matches(LabelsOf(pod->body));
}

void PdbController::AddMember(Budget& b, const ObjectPtr& pod, int sign) {
  if (Healthy(pod)) b.healthy += sign;
  const Json* ref = ControllerRef(pod->body);
  std::string kind = ref ? ref->value("kind", "") : "";
  if (kind != "ReplicaSet" && kind != "StatefulSet") {
    b.uncontrolled += sign;  // no scale: the pod itself
    return;
  }
  std::string uid = ref->value("uid", "");
  auto& entry = b.owners[uid];
  if (entry.second == 0) entry.first = *ref;
  entry.second += sign;
  if (entry.second <= 0) b.owners.erase(uid);
}

void PdbController::OnNode(const ObjectPtr& prev, const ObjectPtr& cur) {
  if (!cur) {
    node_ready_.erase(prev->name);
    return;
  }
  node_ready_[cur->name] = HasTrueCondition(cur->body, "Ready");
}

void PdbController::OnPdb(const ObjectPtr& prev, const ObjectPtr& cur) {
  const ObjectPtr& any = cur ? cur : prev;
  Key key{any->ns, any->name};
  if (!cur) {
    budgets_.erase(key);
    pdbs_by_ns_[key.first].erase(key);
    rechecks_.erase(key);
    return;
  }
  pdbs_by_ns_[key.first].insert(key);
  Budget& b = budgets_[key];
  Json sel = cur->body.value("spec", Json::object()).value("selector", Json());
  bool selector_changed = !prev || prev->body.value("spec", Json::object()).value("selector", Json()) != sel;
  if (selector_changed) {
    b.has_selector = false;
    b.members.clear();
    b.healthy = 0;
    b.uncontrolled = 0;
    b.owners.clear();
    if (sel.is_object() && !sel.empty()) {
      auto ls = LabelSelector::FromJson(sel);
      if (ls.ok() && !ls.value().Empty()) {
        b.selector = ls.value();
        b.has_selector = true;
      }
    }
    if (b.has_selector) {
      for (const Key& pk : pods_by_ns_[key.first]) {
        ObjectPtr pod = pods_->Get(pk.first, pk.second);
        if (Matches(b, pod)) {
          b.members.insert(pk);
          AddMember(b, pod, +1);
        }
      }
    }
    if (prev) b.non_sim_loss = true;  // a new selector may break the budget: not the simulator's doing
  }
  bool spec_changed = !prev || prev->body.value("spec", Json()) != cur->body.value("spec", Json()) ||
                      prev->body["metadata"].value("generation", 0LL) != cur->body["metadata"].value("generation", 0LL);
  // Status written by the eviction subresource (disruptionsAllowed
  // decrement, disruptedPods) also needs a recount.
  bool status_by_other = prev && prev->body.value("status", Json()) != cur->body.value("status", Json());
  if (spec_changed || status_by_other) dirty_.insert(key);
}

void PdbController::OnPod(const ObjectPtr& prev, const ObjectPtr& cur) {
  const ObjectPtr& any = cur ? cur : prev;
  Key key{any->ns, any->name};
  if (cur) pods_by_ns_[key.first].insert(key);
  else pods_by_ns_[key.first].erase(key);
  auto ns_it = pdbs_by_ns_.find(key.first);
  if (ns_it == pdbs_by_ns_.end()) return;
  for (const Key& pk : ns_it->second) {
    auto bit = budgets_.find(pk);
    if (bit == budgets_.end()) continue;
    Budget& b = bit->second;
    bool was = b.members.count(key) > 0;
    bool is = Matches(b, cur);
    if (!was && !is) continue;
    if (was) AddMember(b, prev, -1);
    if (is) {
      b.members.insert(key);
      AddMember(b, cur, +1);
    } else {
      b.members.erase(key);
    }
    dirty_.insert(pk);
    bool lost = was && Healthy(prev) && !(is && Healthy(cur));
    if (!lost) continue;
    // Who took the pod away? The simulator fails pods by making them
    // not-Ready or by losing their node; anything else is a disruption.
    std::string node = NodeOf(prev);
    bool node_failed = !node.empty() && !NodeReady(node);
    bool sim_failure = node_failed || (cur && is && !IsTerminating(cur->body) && !IsPodReady(cur->body));
    if (!sim_failure) b.non_sim_loss = true;
  }
}

void PdbController::Pump() {
  DrainAll();
  while (!dirty_.empty()) {
    Key key = *dirty_.begin();
    dirty_.erase(dirty_.begin());
    Sync(key);
    DrainAll();
  }
}

int PdbController::ExpectedScale(const Budget& b, const std::string& ns) {
  std::set<std::string> seen;
  int expected = b.uncontrolled;
  ObjectStore& store = server().store();
  for (const auto& [uid, entry] : b.owners) {
    const Json& ref = entry.first;
    std::string kind = ref.value("kind", ""), name = ref.value("name", "");
    ObjectPtr owner;
    if (kind == "ReplicaSet") {
      ObjectPtr rs = store.Get(ReplicaSetsType(), ns, name);
      if (!rs || Uid(rs->body) != uid) continue;
      const Json* dref = ControllerRef(rs->body);
      if (dref && dref->value("kind", "") == "Deployment") {
        ObjectPtr d = store.Get(DeploymentsType(), ns, dref->value("name", ""));
        if (d && Uid(d->body) == dref->value("uid", "")) owner = d;
      }
      if (!owner) owner = rs;
    } else {
      owner = store.Get(StatefulSetsType(), ns, name);
      if (owner && Uid(owner->body) != uid) owner = nullptr;
    }
    if (!owner || !seen.insert(Uid(owner->body)).second) continue;
    expected += static_cast<int>(SpecInt(owner->body, "replicas", 1));
  }
  return expected;
}

void PdbController::Sync(const Key& key) {
  ObjectPtr pdb = pdbs_->Get(key.first, key.second);
  auto bit = budgets_.find(key);
  if (!pdb || bit == budgets_.end()) return;
  Budget& b = bit->second;
  auto now = Now();
  const Json spec = pdb->body.value("spec", Json::object());
  const Json old_status = pdb->body.value("status", Json::object());
  // disruptedPods: keep entries of pods still present, not terminating, younger than the timeout.
  Json disrupted = Json::object();
  std::optional<SimClock::TimePoint> next_expiry;
  int disrupted_healthy = 0;
  if (old_status.contains("disruptedPods") && old_status["disruptedPods"].is_object()) {
    for (auto it = old_status["disruptedPods"].begin(); it != old_status["disruptedPods"].end(); ++it) {
      ObjectPtr p = b.members.count({key.first, it.key()}) ? pods_->Get(key.first, it.key()) : nullptr;
      if (!p || IsTerminating(p->body)) continue;
      SimClock::TimePoint t;
      if (!it->is_string() || !SimClock::ParseTime(it->get<std::string>(), &t)) continue;
      auto expiry = t + std::chrono::seconds(kDeletionTimeoutSeconds);
      if (expiry <= now) {
        spdlog::info("pdb {}/{}: pod {} was evicted {}s ago and still exists", key.first, key.second, p->name,
                     kDeletionTimeoutSeconds);
        continue;
      }
      disrupted[p->name] = it.value();
      if (Healthy(p)) disrupted_healthy++;
      if (!next_expiry || expiry < *next_expiry) next_expiry = expiry;
    }
  }
  int ready_not_terminating = b.healthy;
  int healthy = b.healthy - disrupted_healthy;
  int expected = 0, desired = 0;
  if (spec.contains("maxUnavailable") && !spec["maxUnavailable"].is_null()) {
    expected = ExpectedScale(b, key.first);
    int max_unavailable = ResolveIntOrPercent(spec["maxUnavailable"], expected, true);
    desired = std::max(0, expected - max_unavailable);
  } else if (spec.contains("minAvailable") && !spec["minAvailable"].is_null()) {
    if (spec["minAvailable"].is_number_integer()) {
      desired = spec["minAvailable"].get<int>();
      expected = static_cast<int>(b.members.size());
    } else {
      expected = ExpectedScale(b, key.first);
      desired = ResolveIntOrPercent(spec["minAvailable"], expected, true);
    }
  }
  int allowed = healthy - desired;
  if (expected <= 0 || allowed <= 0) allowed = 0;
  Json status = old_status.is_object() ? old_status : Json::object();
  status["currentHealthy"] = healthy;
  status["desiredHealthy"] = desired;
  status["expectedPods"] = expected;
  status["disruptionsAllowed"] = allowed;
  status["observedGeneration"] = pdb->body["metadata"].value("generation", 0LL);
  if (disrupted.empty()) status.erase("disruptedPods");
  else status["disruptedPods"] = disrupted;
  if (allowed > 0) SetCondition(status, "DisruptionAllowed", "True", "SufficientPods", "", now);
  else SetCondition(status, "DisruptionAllowed", "False", "InsufficientPods", "", now);
  if (status != old_status) {
    auto r = server().registry().Modify(
        PdbsType(), key.first, key.second,
        [&](Json& obj) -> std::optional<ApiError> {
          obj["status"] = status;
          return std::nullopt;
        },
        "status");
    if (!r.ok() && r.error().code != 404) spdlog::warn("pdb {}/{}: status update: {}", key.first, key.second, r.error().message);
  }
  bool broken = expected > 0 && ready_not_terminating < desired;
  if (broken && b.non_sim_loss) {
    server().stats().pdb_violations++;
    spdlog::warn("pdb {}/{} violated: {} healthy pods, {} required", key.first, key.second, ready_not_terminating,
                 desired);
  }
  b.non_sim_loss = false;
  if (next_expiry) {
    auto& scheduled = rechecks_[key];
    if (scheduled <= now || *next_expiry < scheduled) {
      scheduled = *next_expiry;
      At(*next_expiry + std::chrono::milliseconds(1), [this, key] {
        rechecks_.erase(key);
        dirty_.insert(key);
        Pump();
      });
    }
  }
}

}  // namespace kinema::sim::cluster
