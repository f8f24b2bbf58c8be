// Workload move: the typed values and the pure decisions.
#include "steps/execute/workload_move.h"

#include <algorithm>
#include <map>
#include <set>

#include "engine/kube/object.h"
#include "engine/workflow/typed_result.h"
#include "steps/execute/marks.h"

namespace kinema::execute {

using nlohmann::json;

json MoveResult::ToJson() const {
  json d = json::array();
  for (const auto& m : deployments) d.push_back({{"deployment", m.deployment}, {"outcome", m.outcome}});
  json breaks = json::array();
  for (const auto& b : stall_breaks) {
    breaks.push_back({{"deployment", b.deployment}, {"pendingPod", b.pending_pod}, {"action", b.action},
                      {"pod", b.pod}, {"pods", b.pods}, {"node", b.node}, {"why", b.why}});
  }
  json holds = json::array();
  for (const auto& h : room_holds) {
    holds.push_back({{"deployment", h.deployment}, {"node", h.node}, {"pods", h.pods}, {"outcome", h.outcome},
                     {"why", h.why}});
  }
  return {{"iteration", iteration}, {"deployments", d}, {"evicted", evicted}, {"order", order},
          {"stallBreaks", breaks}, {"roomHolds", holds}};
}

StatusOr<MoveResult> MoveResult::FromJson(const json& j) {
  return DecodeJson<MoveResult>("deployment-patch result", [&]() -> StatusOr<MoveResult> {
    MoveResult r;
    r.iteration = j.value("iteration", std::string());
    for (const auto& d : j.value("deployments", json::array())) {
      r.deployments.push_back({d.at("deployment").get<std::string>(), d.value("outcome", std::string())});
    }
    for (const auto& e : j.value("evicted", json::array())) r.evicted.push_back(e.get<std::string>());
    for (const auto& o : j.value("order", json::array())) r.order.push_back(o.get<std::string>());
    for (const auto& b : j.value("stallBreaks", json::array())) {
      StallBreak x{b.at("deployment").get<std::string>(), b.value("pendingPod", std::string()),
                   b.at("action").get<std::string>(), b.value("pod", std::string()), {},
                   b.value("node", std::string()), b.value("why", std::string())};
      for (const auto& p : b.value("pods", json::array())) x.pods.push_back(p.get<std::string>());
      if (x.pods.empty() && !x.pod.empty()) x.pods.push_back(x.pod);  // results journaled before "pods"
      r.stall_breaks.push_back(std::move(x));
    }
    for (const auto& h : j.value("roomHolds", json::array())) {  // absent in results journaled before holds
      r.room_holds.push_back({h.at("deployment").get<std::string>(), h.at("node").get<std::string>(),
                              h.value("pods", 0), h.at("outcome").get<std::string>(), h.value("why", std::string())});
    }
    return r;
  });
}

json RolloutStrategyWithinBudgets(const json& strategy, int64_t replicas, const std::vector<json>& pdbs) {
  if (strategy.is_object() && strategy.value("type", "RollingUpdate") == "Recreate") return strategy;
  json ru = strategy.is_object() ? strategy.value("rollingUpdate", json::object()) : json::object();
  if (!ru.is_object()) ru = json::object();
  json surge = ru.contains("maxSurge") ? ru["maxSurge"] : json("25%");
  int64_t unavailable = kube::intstr::Scaled(ru.contains("maxUnavailable") ? ru["maxUnavailable"] : json("25%"),
                                             replicas, /*round_up=*/false, 0);
  for (const auto& pdb : pdbs) {
    const json& spec = pdb.value("spec", json::object());
    int64_t allowed = unavailable;
    if (spec.contains("maxUnavailable")) {
      allowed = kube::intstr::Scaled(spec["maxUnavailable"], replicas, /*round_up=*/true, 0);
    } else if (spec.contains("minAvailable")) {
      allowed = replicas - kube::intstr::Scaled(spec["minAvailable"], replicas, /*round_up=*/true, replicas);
    }
    unavailable = std::min(unavailable, std::max<int64_t>(0, allowed));
  }
  unavailable = std::max<int64_t>(0, unavailable);
  // Replace-in-place when any unavailability is allowed: no surge pod needs
  // room the plan did not reserve; each old pod's place is freed first.
  if (unavailable >= 1) surge = 0;
  else if (kube::intstr::Scaled(surge, replicas, /*round_up=*/true, 1) < 1) surge = 1;
  return {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", surge}, {"maxUnavailable", unavailable}}}};
}

bool DeploymentRolledOut(const json& d, std::string* why, bool* failed) {
  *failed = false;
  const json& conditions = d.contains("status") && d["status"].is_object()
                               ? d["status"].value("conditions", json::array())
                               : json::array();
  for (const auto& c : conditions) {
    if (!c.is_object()) continue;
    if (kube::obj::StringAt(c, "type") == "Progressing" &&
        kube::obj::StringAt(c, "reason") == "ProgressDeadlineExceeded") {
      *failed = true;
      *why = "progress deadline exceeded: " + kube::obj::StringAt(c, "message");
      return false;
    }
  }
  int64_t gen = kube::obj::Generation(d);
  int64_t observed = kube::obj::IntAt(d, "status.observedGeneration");
  int64_t want = d.contains("spec") && d["spec"].is_object() && d["spec"].contains("replicas")
                     ? kube::obj::IntAt(d, "spec.replicas")
                     : 1;
  if (observed < gen) {
    *why = "controller has not observed generation " + std::to_string(gen) + " yet";
    return false;
  }
  int64_t updated = kube::obj::IntAt(d, "status.updatedReplicas");
  int64_t ready = kube::obj::IntAt(d, "status.readyReplicas");
  int64_t available = kube::obj::IntAt(d, "status.availableReplicas");
  int64_t total = kube::obj::IntAt(d, "status.replicas");
  if (updated < want || ready < want || available < want || total > want) {
    *why = std::to_string(updated) + "/" + std::to_string(want) + " updated, " + std::to_string(available) +
           " available, " + std::to_string(total) + " total";
    return false;
  }
  why->clear();
  return true;
}

std::vector<std::string> LargestFirst(const std::map<std::string, Resources>& pod_size) {
  int64_t max_cpu = 0, max_mem = 0;
  for (const auto& [name, r] : pod_size) {
    max_cpu = std::max(max_cpu, r.cpu_milli);
    max_mem = std::max(max_mem, r.memory_bytes);
  }
  auto share = [&](const Resources& r) {
    double c = max_cpu > 0 ? static_cast<double>(r.cpu_milli) / static_cast<double>(max_cpu) : 0;
    double m = max_mem > 0 ? static_cast<double>(r.memory_bytes) / static_cast<double>(max_mem) : 0;
    return std::max(c, m);
  };
  auto sum = [&](const Resources& r) {
    return (max_cpu > 0 ? static_cast<double>(r.cpu_milli) / static_cast<double>(max_cpu) : 0) +
           (max_mem > 0 ? static_cast<double>(r.memory_bytes) / static_cast<double>(max_mem) : 0);
  };
  struct Ranked {
    double dominant, total;
    std::string name;
  };
  std::vector<Ranked> ranked;
  for (const auto& [name, r] : pod_size) ranked.push_back({share(r), sum(r), name});
  std::sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    if (a.dominant != b.dominant) return a.dominant > b.dominant;
    if (a.total != b.total) return a.total > b.total;
    return a.name < b.name;
  });
  std::vector<std::string> out;
  for (const auto& r : ranked) out.push_back(r.name);
  return out;
}

json AffinitySteering(const json& affinity, const std::string& iteration, const std::vector<std::string>& nodes) {
  json a = AffinityPreferringIteration(affinity, iteration);
  if (nodes.empty()) return a;
  json& terms = a["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"];
  terms.back()["weight"] = 10;  // the iteration term: second choice
  terms.push_back({{"weight", 100},
                   {"preference",
                    {{"matchExpressions",
                      json::array({{{"key", "kubernetes.io/hostname"}, {"operator", "In"}, {"values", nodes}},
                                   {{"key", kRetireLabel}, {"operator", "DoesNotExist"}}})}}}});
  return a;
}

namespace {
bool FitsIn(const Resources& need, const Resources& free) {
  return need.cpu_milli <= free.cpu_milli && need.memory_bytes <= free.memory_bytes;
}
Resources Plus(Resources a, const Resources& b) {
  a.cpu_milli += b.cpu_milli;
  a.memory_bytes += b.memory_bytes;
  return a;
}
}  // namespace

namespace {
Resources Minus(Resources a, const Resources& b) {
  a.cpu_milli -= b.cpu_milli;
  a.memory_bytes -= b.memory_bytes;
  return a;
}

// Room made on `node` (greedy over its pods in preference order, then
// pruned of pods it turns out not to need); empty when impossible.
std::vector<const RoomPod*> MakersOn(const RoomNode& node, const Resources& need, const std::vector<RoomNode>& nodes,
                                     std::vector<const RoomPod*> on, size_t max_pods) {
  std::sort(on.begin(), on.end(), [](const RoomPod* a, const RoomPod* b) {
    if (a->planned_elsewhere != b->planned_elsewhere) return a->planned_elsewhere;
    if (a->this_iteration != b->this_iteration) return a->this_iteration;
    if (a->requests.cpu_milli != b->requests.cpu_milli) return a->requests.cpu_milli > b->requests.cpu_milli;
    if (a->requests.memory_bytes != b->requests.memory_bytes) return a->requests.memory_bytes > b->requests.memory_bytes;
    return a->key < b->key;
  });
  // Whether `chosen` can all be placed elsewhere, one after the other
  // (largest first, each on the node it fills best).
  auto homes = [&](std::vector<const RoomPod*> chosen) {
    std::map<std::string, Resources> free;
    for (const auto& m : nodes) {
      if (m.name != node.name) free[m.name] = m.free;
    }
    std::sort(chosen.begin(), chosen.end(), [](const RoomPod* a, const RoomPod* b) {
      return a->requests.cpu_milli != b->requests.cpu_milli ? a->requests.cpu_milli > b->requests.cpu_milli
                                                            : a->requests.memory_bytes > b->requests.memory_bytes;
    });
    for (const RoomPod* p : chosen) {
      Resources* best = nullptr;
      for (auto& [name, f] : free) {
        if (FitsIn(p->requests, f) && (best == nullptr || f.cpu_milli < best->cpu_milli)) best = &f;
      }
      if (best == nullptr) return false;
      *best = Minus(*best, p->requests);
    }
    return true;
  };
  auto room = [&](const std::vector<const RoomPod*>& chosen) {
    Resources r = node.free;
    for (const RoomPod* p : chosen) r = Plus(r, p->requests);
    return r;
  };
  std::vector<const RoomPod*> chosen;
  std::set<std::string> owners;
  for (const RoomPod* p : on) {
    if (FitsIn(need, room(chosen)) || chosen.size() > max_pods + 2) break;  // enough, or hopeless
    if (!p->owner.empty() && owners.count(p->owner)) continue;
    chosen.push_back(p);
    if (!homes(chosen)) {
      chosen.pop_back();
      continue;
    }
    if (!p->owner.empty()) owners.insert(p->owner);
  }
  if (!FitsIn(need, room(chosen))) return {};
  // Drop pods not needed after all (the least preferred first).
  for (size_t i = chosen.size(); i-- > 0;) {
    std::vector<const RoomPod*> without = chosen;
    without.erase(without.begin() + static_cast<long>(i));
    if (FitsIn(need, room(without))) chosen = std::move(without);
  }
  if (chosen.size() > max_pods) return {};
  return chosen;
}
}  // namespace

std::optional<RoomMakers> ChooseRoomMakers(const Resources& need, const std::vector<RoomNode>& nodes,
                                           const std::vector<RoomPod>& pods, size_t max_pods) {
  std::optional<RoomMakers> best;
  int best_preferred = -1;
  for (const auto& n : nodes) {
    if (!n.for_pending) continue;
    std::vector<const RoomPod*> on;
    for (const auto& p : pods) {
      if (p.node == n.name) on.push_back(&p);
    }
    if (FitsIn(need, n.free)) continue;  // room already there: nothing to move for it
    Resources all = n.free;
    for (const RoomPod* p : on) all = Plus(all, p->requests);
    if (!FitsIn(need, all)) continue;  // not even with every movable pod gone
    std::vector<const RoomPod*> chosen = MakersOn(n, need, nodes, on, max_pods);
    if (chosen.empty()) continue;
    int preferred = 0;
    for (const RoomPod* p : chosen) preferred += p->planned_elsewhere + p->this_iteration;
    if (best && (chosen.size() > best->pods.size() ||
                 (chosen.size() == best->pods.size() && preferred <= best_preferred))) {
      continue;
    }
    RoomMakers m;
    m.node = n.name;
    Resources moved;
    int planned = 0, iteration = 0;
    for (const RoomPod* p : chosen) {
      m.pods.push_back(p->key);
      moved = Plus(moved, p->requests);
      planned += p->planned_elsewhere;
      iteration += p->this_iteration;
    }
    m.why = std::to_string(chosen.size()) + " pod(s) with " + std::to_string(moved.cpu_milli) + "m CPU / " +
            std::to_string(moved.memory_bytes >> 20) + " MiB make room on " + n.name + " (" +
            std::to_string(planned) + " the plan moves elsewhere, " + std::to_string(iteration) +
            " moved here by this iteration), and each fits on another node";
    best = std::move(m);
    best_preferred = preferred;
  }
  return best;
}

StallClock::StallClock(std::chrono::milliseconds timeout, DurableDeadline deadline, JournaledDeadline journaled)
    : timeout_(timeout), deadline_(std::move(deadline)), journaled_(std::move(journaled)) {}

StatusOr<StallClock::Watch> StallClock::Load(const Pod& pod) {
  Watch w;
  auto first = deadline_("stall " + Id(pod), timeout_);  // journaled on the very first sight only
  if (!first.ok()) return first.status();
  w.since = *first - timeout_.count();
  w.due = *first;
  for (int k = 1; k <= kMaxStallActs; ++k) {
    auto act = journaled_("stall " + Id(pod) + " act " + std::to_string(k));
    if (!act.ok()) return act.status();
    if (!act->has_value()) break;
    w.acts = k;
    w.due = **act;
  }
  auto gave_up = journaled_("stall " + Id(pod) + " gave up");
  if (!gave_up.ok()) return gave_up.status();
  w.done = gave_up->has_value() || w.acts >= kMaxStallActs;
  return w;
}

StatusOr<std::vector<StallClock::Pod>> StallClock::Due(const std::vector<Pod>& stuck, bool progress_dead,
                                                       int64_t now_ms) {
  std::map<std::string, Watch> still;
  std::vector<std::pair<int64_t, Pod>> due;
  for (const auto& p : stuck) {
    auto it = watch_.find(p.uid);
    Watch w;
    if (it != watch_.end()) {
      w = it->second;
    } else {
      auto loaded = Load(p);
      if (!loaded.ok()) return loaded.status();
      w = *loaded;
    }
    still[p.uid] = w;
    if (w.done) continue;
    if (now_ms >= w.due || (progress_dead && w.acts == 0)) due.push_back({w.since, p});
  }
  watch_ = std::move(still);
  std::stable_sort(due.begin(), due.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Pod> out;
  for (auto& [since, p] : due) out.push_back(std::move(p));
  return out;
}

Status StallClock::BeforeAct(const Pod& pod) {
  Watch& w = watch_[pod.uid];
  if (w.since == 0) {
    auto loaded = Load(pod);
    if (!loaded.ok()) return loaded.status();
    w = *loaded;
  }
  auto next = deadline_("stall " + Id(pod) + " act " + std::to_string(w.acts + 1), timeout_);
  if (!next.ok()) return next.status();
  ++w.acts;
  w.due = *next;
  w.done = w.acts >= kMaxStallActs;
  return Status::OK();
}

Status StallClock::GaveUp(const Pod& pod) {
  auto r = deadline_("stall " + Id(pod) + " gave up", std::chrono::milliseconds(0));
  if (!r.ok()) return r.status();
  watch_[pod.uid].done = true;
  return Status::OK();
}

int64_t StallClock::PendingSince(const std::string& uid) const {
  auto it = watch_.find(uid);
  return it == watch_.end() ? 0 : it->second.since;
}

int64_t StallClock::NextDue() const {
  int64_t next = INT64_MAX;
  for (const auto& [uid, w] : watch_) {
    if (!w.done) next = std::min(next, w.due);
  }
  return next;
}

}  // namespace kinema::execute
