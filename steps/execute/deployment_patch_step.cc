// Workload move: the effects (see workload_move.h for the contract).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "engine/kube/object.h"
#include "engine/quantity/quantity.h"
#include "engine/workflow/step_context.h"
#include "steps/execute/disruption_policy.h"
#include "steps/execute/marks.h"
#include "steps/execute/room_hold.h"
#include "steps/execute/workload_move.h"
#include "steps/optimize/snapshot.h"

namespace kinema::execute {

namespace {

using nlohmann::json;

constexpr const char* kOriginals = "originals";
constexpr const char* kOrder = "order";        // Deployments, largest pod first
constexpr const char* kSteering = "steering";  // Deployment -> its planned nodes
constexpr const char* kHolds = "holds";        // the room holds (room_hold.h)

std::pair<std::string, std::string> SplitKey(const std::string& key) {
  size_t slash = key.find('/');
  return {key.substr(0, slash), key.substr(slash + 1)};
}

struct Workload {
  std::vector<std::string> deployments;  // ns/name
  std::vector<json> other_pods;          // pods to evict
  std::map<std::string, std::string> pod_deployment;  // every Deployment-owned pod ("ns/pod" -> "ns/deployment")
  // Per Deployment, its running pods per node ("ns/deployment" -> node -> pods).
  std::map<std::string, std::map<std::string, int>> deployment_nodes;
};

// Pods on retiring nodes, grouped by what moves them.
StatusOr<Workload> WorkloadOnNodes(const ExecutionDeps& deps, const std::set<std::string>& retiring) {
  Workload w;
  if (retiring.empty()) return w;
  auto pods = deps.kube->List(kube::resources::kPods, "");
  if (!pods.ok()) return pods.status().WithContext("list pods");
  auto rss = deps.kube->List(kube::resources::kReplicaSets, "");
  if (!rss.ok()) return rss.status().WithContext("list replicasets");
  std::map<std::string, std::string> rs_deployment;  // ns/rs -> deployment name ("" if none)
  for (const auto& rs : rss->items) {
    rs_deployment[kube::obj::Key(rs)] =
        kube::obj::ControllerKind(rs) == "Deployment" ? kube::obj::ControllerName(rs) : std::string();
  }
  std::set<std::string> deployments;
  const int64_t now = NowMs();
  for (const auto& p : pods->items) {
    if (!retiring.count(kube::pod::NodeName(p)) || kube::pod::IsFinished(p) || kube::pod::IsDaemonSetPod(p)) continue;
    if (!WhyPodCannotMove(p, now).empty()) continue;  // the drain step reports it
    std::string ns = kube::obj::Namespace(p);
    if (kube::obj::ControllerKind(p) == "ReplicaSet") {
      auto it = rs_deployment.find(ns + "/" + kube::obj::ControllerName(p));
      if (it != rs_deployment.end() && !it->second.empty()) {
        deployments.insert(ns + "/" + it->second);
        continue;
      }
    }
    w.other_pods.push_back(p);
  }
  for (const auto& p : pods->items) {
    if (kube::obj::ControllerKind(p) != "ReplicaSet") continue;
    std::string ns = kube::obj::Namespace(p);
    auto it = rs_deployment.find(ns + "/" + kube::obj::ControllerName(p));
    if (it == rs_deployment.end() || it->second.empty()) continue;
    w.pod_deployment[kube::obj::Key(p)] = ns + "/" + it->second;
    if (!kube::pod::IsFinished(p) && !kube::obj::IsTerminating(p) && !kube::pod::NodeName(p).empty()) {
      ++w.deployment_nodes[ns + "/" + it->second][kube::pod::NodeName(p)];
    }
  }
  w.deployments.assign(deployments.begin(), deployments.end());
  return w;
}

StatusOr<Workload> WorkloadOfRequest(const ExecutionDeps& deps, const MoveInput& input, StepContext& ctx) {
  auto req = input(ctx);
  if (!req.ok()) return req.status();
  return WorkloadOnNodes(deps, std::set<std::string>(req->retiring_nodes.begin(), req->retiring_nodes.end()));
}

// Per Deployment being moved, the nodes the plan puts its pods on (sorted,
// retiring nodes left out): the steering of its new pods.
json SteeringOf(const Workload& w, const MoveRequest& req) {
  std::set<std::string> moving(w.deployments.begin(), w.deployments.end());
  std::set<std::string> retiring(req.retiring_nodes.begin(), req.retiring_nodes.end());
  std::map<std::string, std::set<std::string>> nodes;
  for (const auto& [pod, node] : req.placements) {
    auto d = w.pod_deployment.find(pod);
    if (d == w.pod_deployment.end() || !moving.count(d->second) || retiring.count(node)) continue;
    nodes[d->second].insert(node);
  }
  json out = json::object();
  for (const auto& [d, set] : nodes) out[d] = std::vector<std::string>(set.begin(), set.end());
  return out;
}

json OriginalOf(const json& d) {
  const json& tmpl = d["spec"]["template"];
  json affinity = tmpl.value("spec", json::object()).value("affinity", json());
  json ann = tmpl.value("metadata", json::object()).value("annotations", json::object());
  json iteration_ann = ann.is_object() && ann.contains(kIterationLabel) ? ann[kIterationLabel] : json();
  return {{"affinity", affinity}, {"iterationAnnotation", iteration_ann},
          {"strategy", d["spec"].value("strategy", json())}};
}

// The strategy for moving (or moving back) Deployment `d`: its own, bounded by
// the PDBs of its namespace that select its pods.
StatusOr<json> BoundedStrategy(const ExecutionDeps& deps, const std::string& ns, const json& d, const json& strategy) {
  auto pdbs = deps.kube->List(kube::resources::kPodDisruptionBudgets, ns);
  if (!pdbs.ok()) return pdbs.status().WithContext("list poddisruptionbudgets in " + ns);
  json labels = d["spec"]["template"]["metadata"].value("labels", json::object());
  std::vector<json> selecting;
  for (const auto& pdb : pdbs->items) {
    if (kube::pdb::Selects(pdb, labels)) selecting.push_back(pdb);
  }
  return RolloutStrategyWithinBudgets(strategy, d["spec"].value("replicas", int64_t{1}), selecting);
}

// Puts the original strategy back (no-op when it is already there).
Status RestoreStrategy(const ExecutionDeps& deps, const std::string& key, const json& original) {
  auto [ns, name] = SplitKey(key);
  auto updated = deps.kube->GetAndUpdate(kube::resources::kDeployments, ns, name, [&](json& d) -> Status {
    json want = original.value("strategy", json());
    if (want.is_null()) {  // the API server's default
      want = {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", "25%"}, {"maxUnavailable", "25%"}}}};
    }
    if (d["spec"].value("strategy", json()) == want) return Status::Cancelled("unchanged");
    d["spec"]["strategy"] = want;
    return Status::OK();
  });
  if (!updated.ok() && updated.status().code() != Status::Code::kCancelled &&
      updated.status().code() != Status::Code::kNotFound) {
    return updated.status().WithContext("restore the rollout strategy of deployment " + key);
  }
  return Status::OK();
}

// Patches one Deployment's template for the move. *outcome is "gone" when
// it no longer exists.
Status PatchOne(const ExecutionDeps& deps, StepContext& ctx, const std::string& key, const json& original,
                const std::vector<std::string>& steering, const std::string& iteration, std::string* outcome) {
  auto [ns, name] = SplitKey(key);
  auto current = deps.kube->Get(kube::resources::kDeployments, ns, name);
  if (!current.ok() && current.status().code() == Status::Code::kNotFound) {
    *outcome = "gone";
    return Status::OK();
  }
  if (!current.ok()) return current.status().WithContext("deployment-patch: get deployment " + key);
  auto strategy = BoundedStrategy(deps, ns, *current, original.value("strategy", json()));
  if (!strategy.ok()) return strategy.status().WithContext("deployment-patch: " + key);
  bool patched = false;
  auto updated = deps.kube->GetAndUpdate(kube::resources::kDeployments, ns, name, [&](json& d) -> Status {
    json& tmpl = d["spec"]["template"];
    json& ann = tmpl["metadata"]["annotations"];
    if (ann.is_object() && ann.value(kIterationLabel, "") == iteration) return Status::Cancelled("already patched");
    if (!ann.is_object()) ann = json::object();
    ann[kIterationLabel] = iteration;
    d["spec"]["strategy"] = *strategy;
    json& spec = tmpl["spec"];
    spec["affinity"] = AffinitySteering(spec.value("affinity", json()), iteration, steering);
    patched = true;
    return Status::OK();
  });
  if (!updated.ok() && updated.status().code() == Status::Code::kNotFound) {
    *outcome = "gone";
    return Status::OK();
  }
  if (!updated.ok() && updated.status().code() != Status::Code::kCancelled) {
    return updated.status().WithContext("deployment-patch: patch deployment " + key);
  }
  if (patched && updated.ok()) {
    AnnounceEvent(deps.kube, *updated, "Normal", "KinemaRollout",
                  "rolling update by " + ctx.workflow_id() + " to move pods off retiring nodes (preferred " +
                      kIterationLabel + "=" + iteration + ")");
  }
  spdlog::info("workflow {}: deployment {} {} (preferred: {} planned node(s), then {}={})", ctx.workflow_id(), key,
               patched ? "patched; rolling update started" : "already patched by this workflow", steering.size(),
               kIterationLabel, iteration);
  ctx.Hook("deployment_patched");
  return Status::OK();
}

Resources PodRequests(const json& pod) {
  auto r = PodSpecRequests(pod.value("spec", json::object()), kube::obj::Key(pod));
  return r.ok() ? *r : Resources{};
}

Resources Allocatable(const json& node) {
  Resources r;
  auto cpu = ParseQuantityMilli(kube::node::Allocatable(node, "cpu"));
  auto mem = ParseQuantityValue(kube::node::Allocatable(node, "memory"));
  r.cpu_milli = cpu.ok() ? *cpu : 0;
  r.memory_bytes = mem.ok() ? *mem : 0;
  return r;
}

// True when one more unavailable pod keeps Deployment `d` within its own
// guarantee (replicas - maxUnavailable) and it is not rolling right now.
bool CanLoseOnePod(const json& d) {
  std::string why;
  bool failed = false;
  if (!DeploymentRolledOut(d, &why, &failed)) return false;
  int64_t replicas = d["spec"].value("replicas", int64_t{1});
  json strategy = d["spec"].value("strategy", json::object());
  json mu = strategy.is_object() && strategy.contains("rollingUpdate") && strategy["rollingUpdate"].is_object()
                ? strategy["rollingUpdate"].value("maxUnavailable", json("25%"))
                : json("25%");
  int64_t allowed = kube::intstr::Scaled(mu, replicas, /*round_up=*/false, 0);
  return replicas >= 2 && allowed >= 1 && kube::obj::IntAt(d, "status.availableReplicas") - 1 >= replicas - allowed;
}

// ---------------------------------------------------------------- room holds

// The room holds of a move (room_hold.h), from the plan's placements, the
// Deployments' pods now and the nodes' allocatable; journaled in the intent.
StatusOr<json> PlannedRoomHolds(const ExecutionDeps& deps, const Workload& w, const MoveRequest& req,
                                const std::map<std::string, Resources>& pod_size) {
  json out = json::array();
  if (deps.settings.room_hold_share <= 0 || req.placements.empty()) return out;
  std::set<std::string> moving(w.deployments.begin(), w.deployments.end());
  std::set<std::string> retiring(req.retiring_nodes.begin(), req.retiring_nodes.end());
  std::map<std::string, HoldInput> in;
  for (const auto& [pod, node] : req.placements) {
    auto d = w.pod_deployment.find(pod);
    if (d == w.pod_deployment.end() || !moving.count(d->second) || retiring.count(node)) continue;
    ++in[d->second].planned[node];
  }
  if (in.empty()) return out;
  for (auto& [d, h] : in) {
    if (auto size = pod_size.find(d); size != pod_size.end()) h.pod = size->second;
    if (auto now = w.deployment_nodes.find(d); now != w.deployment_nodes.end()) h.current = now->second;
  }
  auto nodes = deps.kube->List(kube::resources::kNodes, "");
  if (!nodes.ok()) return nodes.status().WithContext("room holds: list nodes");
  std::map<std::string, Resources> allocatable;
  for (const auto& n : nodes->items) allocatable[kube::obj::Name(n)] = Allocatable(n);
  for (const auto& h : PlanRoomHolds(in, allocatable, deps.settings.room_hold_share)) out.push_back(h.ToJson());
  return out;
}

// The holds journaled in the intent (none in intents journaled before holds).
StatusOr<std::vector<RoomHold>> HoldsOfIntent(const json& intent) {
  std::vector<RoomHold> out;
  if (!intent.contains(kHolds)) return out;
  if (!intent[kHolds].is_array()) return Status::Corruption("deployment-patch intent: \"holds\" is not a list");
  for (const auto& j : intent[kHolds]) {
    auto h = RoomHold::FromJson(j);
    if (!h.ok()) return h.status().WithContext("deployment-patch intent");
    out.push_back(*h);
  }
  return out;
}

// Free room per node that can take pods (Ready, schedulable, not being
// retired): allocatable minus the requests of the pods bound to it (hold
// pods included: they hold room). The room holds and the stall breaker
// both count room this way.
std::map<std::string, Resources> FreeRoomOf(const std::vector<json>& nodes, const std::vector<json>& pods) {
  std::map<std::string, Resources> free;
  for (const auto& n : nodes) {
    if (!kube::node::IsReady(n) || kube::node::IsUnschedulable(n) || !LabelOf(n, kRetireLabel).empty()) continue;
    free[kube::obj::Name(n)] = Allocatable(n);
  }
  for (const auto& p : pods) {
    auto at = free.find(kube::pod::NodeName(p));
    if (at == free.end() || kube::pod::IsFinished(p)) continue;
    Resources r = PodRequests(p);
    at->second.cpu_milli -= r.cpu_milli;
    at->second.memory_bytes -= r.memory_bytes;
  }
  return free;
}

StatusOr<std::map<std::string, Resources>> FreeRoom(const ExecutionDeps& deps) {
  auto nodes = deps.kube->List(kube::resources::kNodes, "");
  if (!nodes.ok()) return nodes.status().WithContext("list nodes");
  auto pods = deps.kube->List(kube::resources::kPods, "");
  if (!pods.ok()) return pods.status().WithContext("list pods");
  return FreeRoomOf(nodes->items, pods->items);
}

// Deletes the hold pods of `holds` (grace 0: the room is free at once); only
// while this process leads (a fenced process leaves them to the leader).
Status ReleaseRoomHolds(const ExecutionDeps& deps, StepContext& ctx, const std::vector<RoomHold>& holds,
                        const std::string& iteration) {
  if (holds.empty()) return Status::OK();
  KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
  kube::DeleteOptions force;
  force.grace_period_seconds = 0;
  for (const auto& h : holds) {
    const std::string name = RoomHoldName(iteration, h);
    Status st = deps.kube->Delete(kube::resources::kPods, deps.settings.room_hold_namespace, name, force);
    if (!st.ok() && st.code() != Status::Code::kNotFound) {
      return st.WithContext("release the room hold " + deps.settings.room_hold_namespace + "/" + name + " for " +
                            h.deployment + " on " + h.node);
    }
    if (st.ok()) {
      spdlog::info("workflow {}: released the room of {} pod(s) of {} on {} ({}/{})", ctx.workflow_id(), h.pods,
                   h.deployment, h.node, deps.settings.room_hold_namespace, name);
    }
  }
  return Status::OK();
}

std::vector<RoomHold> HoldsFor(const std::vector<RoomHold>& holds, const std::string& deployment) {
  std::vector<RoomHold> out;
  for (const auto& h : holds) {
    if (h.deployment == deployment) out.push_back(h);
  }
  return out;
}

// Creates the hold pod; one already there from an earlier run counts as made,
// unless it has finished (its activeDeadlineSeconds passed while no
// controller ran, or its kubelet rejected it): that one is deleted and made
// anew (FreeRoom did not count it, so the room it asks for is free).
Status MakeRoomHold(const ExecutionDeps& deps, const std::string& iteration, const RoomHold& h, int64_t deadline_s) {
  const std::string& ns = deps.settings.room_hold_namespace;
  const json pod = RoomHoldPod(ns, iteration, h, deadline_s);
  auto made = deps.kube->Create(kube::resources::kPods, ns, pod);
  if (made.ok()) return Status::OK();
  if (made.status().code() != Status::Code::kAlreadyExists) return made.status();
  const std::string name = RoomHoldName(iteration, h);
  auto cur = deps.kube->Get(kube::resources::kPods, ns, name);
  if (!cur.ok()) return cur.status().code() == Status::Code::kNotFound ? Status::OK() : cur.status();
  if (!kube::pod::IsFinished(*cur)) return Status::OK();
  spdlog::info("room hold {}/{} for {} on {} had finished ({}); making it again", ns, name, h.deployment, h.node,
               (*cur)["status"].value("reason", "no reason"));
  kube::DeleteOptions force;
  force.grace_period_seconds = 0;
  Status gone = deps.kube->Delete(kube::resources::kPods, ns, name, force);
  if (!gone.ok() && gone.code() != Status::Code::kNotFound) return gone;
  auto again = deps.kube->Create(kube::resources::kPods, ns, pod);
  return again.ok() ? Status::OK() : again.status();
}

// How long the step waits for the kubelet to admit (run) or reject a hold it
// made; a hold still Pending after it counts as held (the scheduler already
// counts its room).
constexpr std::chrono::milliseconds kHoldAdmissionWait{30000};
constexpr std::chrono::milliseconds kHoldAdmissionPoll{250};

// A hold is bound straight to its node (no scheduler), so a pod scheduled
// there after the room was counted can win the room: the node's kubelet then
// rejects the hold (phase Failed, OutOfcpu / OutOfmemory). Waits until every
// hold made is Running or rejected (at most kHoldAdmissionWait); a rejected
// one becomes outcome "rejected" with the kubelet's reason and is deleted.
Status ConfirmRoomHolds(const ExecutionDeps& deps, StepContext& ctx, const std::vector<RoomHold>& holds,
                        const std::string& iteration, MoveResult* result) {
  const auto until = std::chrono::steady_clock::now() + kHoldAdmissionWait;
  for (;;) {
    int waiting = 0;
    for (const auto& h : holds) {
      auto o = std::find_if(result->room_holds.begin(), result->room_holds.end(), [&](const RoomHoldOutcome& x) {
        return x.deployment == h.deployment && x.node == h.node && x.outcome == "held";
      });
      if (o == result->room_holds.end()) continue;
      const std::string name = RoomHoldName(iteration, h);
      auto pod = deps.kube->Get(kube::resources::kPods, deps.settings.room_hold_namespace, name);
      if (!pod.ok() && pod.status().code() == Status::Code::kNotFound) continue;  // released or gone: nothing held
      if (!pod.ok()) return pod.status().WithContext("room holds: get " + deps.settings.room_hold_namespace + "/" + name);
      const std::string phase = kube::pod::Phase(*pod);
      if (phase == "Running") continue;
      if (phase != "Failed") {
        ++waiting;
        continue;
      }
      const json st = pod->value("status", json::object());
      const std::string reason = st.value("reason", "");
      o->outcome = "rejected";
      o->why = "the hold pod failed on " + h.node + " (" + reason + ": " + st.value("message", "") + ")" +
               (reason.rfind("OutOf", 0) == 0 ? ": its kubelet rejected it, a pod placed there after the room was "
                                                "counted took the room"
                                              : "");
      KINEMA_RETURN_IF_ERROR(ReleaseRoomHolds(deps, ctx, {h}, iteration));
    }
    if (waiting == 0 || std::chrono::steady_clock::now() >= until) return Status::OK();
    KINEMA_RETURN_IF_ERROR(ctx.Pause(kHoldAdmissionPoll));
  }
}

// Creates the holds of the Deployments not patched yet — each only while its
// node has the room, never pushing a pod out — and releases those of
// Deployments a run before this one already patched (a restart).
// `deadline_s(deployment)`: the hold's activeDeadlineSeconds.
Status CreateRoomHolds(const ExecutionDeps& deps, StepContext& ctx, const std::vector<RoomHold>& holds,
                       const std::string& iteration, const std::function<int64_t(const std::string&)>& deadline_s,
                       MoveResult* result) {
  if (holds.empty()) return Status::OK();
  std::map<std::string, bool> patched;  // held Deployment -> already patched (or gone)
  for (const auto& h : holds) {
    if (patched.count(h.deployment)) continue;
    auto [ns, name] = SplitKey(h.deployment);
    auto d = deps.kube->Get(kube::resources::kDeployments, ns, name);
    if (!d.ok() && d.status().code() != Status::Code::kNotFound) {
      return d.status().WithContext("room holds: get deployment " + h.deployment);
    }
    patched[h.deployment] = !d.ok() || kube::obj::Annotations((*d)["spec"]["template"])[kIterationLabel] == iteration;
  }
  auto free = FreeRoom(deps);
  if (!free.ok()) return free.status().WithContext("room holds");
  ctx.Hook("room_counted");  // tests: another pod may take the room from here on
  for (const auto& h : holds) {
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    if (patched[h.deployment]) {
      KINEMA_RETURN_IF_ERROR(ReleaseRoomHolds(deps, ctx, {h}, iteration));
      continue;
    }
    RoomHoldOutcome o{h.deployment, h.node, h.pods, "skipped", WhyNoRoomForHold(h, *free)};
    if (o.why.empty()) {
      auto made = MakeRoomHold(deps, iteration, h, deadline_s(h.deployment));
      if (made.ok()) {
        o.outcome = "held";
        o.why = RoomText(h.requests) + " for " + std::to_string(h.pods) + " pod(s) until " + h.deployment + " rolls";
        (*free)[h.node].cpu_milli -= h.requests.cpu_milli;
        (*free)[h.node].memory_bytes -= h.requests.memory_bytes;
      } else {
        o.why = "creating the hold failed: " + made.ToString();
      }
    }
    result->room_holds.push_back(std::move(o));
  }
  KINEMA_RETURN_IF_ERROR(ConfirmRoomHolds(deps, ctx, holds, iteration, result));
  for (const auto& o : result->room_holds) {
    spdlog::info("workflow {}: room hold for {} pod(s) of {} on {}: {} ({})", ctx.workflow_id(), o.pods,
                 o.deployment, o.node, o.outcome, o.why);
  }
  ctx.Hook("room_held");
  return Status::OK();
}

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
  return out;
}

// At most this many pods are moved by one act of the stall breaker.
constexpr size_t kMaxRoomMakers = 5;

// One act of the stall breaker for `pending` (a new pod of Deployment `key`
// stuck Pending): chooses the pods that took its room (ChooseRoomMakers;
// `placements`: where the plan puts each pod), claims them from the ledger
// (all or nothing) and evicts them (PDBs respected).
StatusOr<StallBreak> BreakStall(const ExecutionDeps& deps, StepContext& ctx, const std::string& key,
                                const json& pending, const std::vector<std::string>& planned,
                                const std::map<std::string, std::string>& placements, const std::string& iteration) {
  StallBreak b{key, kube::obj::Key(pending), "none", "", {}, "", ""};
  auto nodes = deps.kube->List(kube::resources::kNodes, "");
  if (!nodes.ok()) return nodes.status().WithContext("stall breaker: list nodes");
  auto pods = deps.kube->List(kube::resources::kPods, "");
  if (!pods.ok()) return pods.status().WithContext("stall breaker: list pods");
  auto dps = deps.kube->List(kube::resources::kDeployments, "");
  if (!dps.ok()) return dps.status().WithContext("stall breaker: list deployments");
  auto rss = deps.kube->List(kube::resources::kReplicaSets, "");
  if (!rss.ok()) return rss.status().WithContext("stall breaker: list replicasets");
  std::map<std::string, const json*> deployment;
  for (const auto& d : dps->items) deployment[kube::obj::Key(d)] = &d;
  std::map<std::string, std::string> rs_deployment;
  for (const auto& rs : rss->items) {
    if (kube::obj::ControllerKind(rs) == "Deployment") {
      rs_deployment[kube::obj::Key(rs)] = kube::obj::Namespace(rs) + "/" + kube::obj::ControllerName(rs);
    }
  }
  std::set<std::string> planned_set(planned.begin(), planned.end());
  const std::map<std::string, Resources> free = FreeRoomOf(nodes->items, pods->items);
  std::vector<RoomNode> room;
  for (const auto& [name, left] : free) {
    room.push_back({name, left, planned_set.empty() || planned_set.count(name) > 0});
  }
  std::vector<RoomPod> candidates;
  std::map<std::string, std::string> uid_of;  // candidate key -> uid (the eviction's precondition)
  const int64_t now = NowMs();
  for (const auto& p : pods->items) {
    if (!free.count(kube::pod::NodeName(p)) || kube::pod::IsFinished(p)) continue;
    const Resources r = PodRequests(p);
    if (kube::pod::IsDaemonSetPod(p) || kube::pod::IsMirrorPod(p) || kube::obj::IsTerminating(p)) continue;
    if (!WhyPodCannotMove(p, now).empty() || kube::obj::ControllerKind(p) != "ReplicaSet") continue;
    auto owner = rs_deployment.find(kube::obj::Namespace(p) + "/" + kube::obj::ControllerName(p));
    if (owner == rs_deployment.end() || owner->second == key) continue;
    auto d = deployment.find(owner->second);
    if (d == deployment.end() || !CanLoseOnePod(*d->second)) continue;
    auto plan = placements.find(kube::obj::Key(p));
    candidates.push_back({kube::obj::Key(p), kube::pod::NodeName(p), r,
                          kube::obj::Annotations(p)[kIterationLabel] == iteration,
                          plan != placements.end() && plan->second != kube::pod::NodeName(p), owner->second});
    uid_of[kube::obj::Key(p)] = kube::obj::Uid(p);
  }
  const Resources need = PodRequests(pending);
  auto makers = ChooseRoomMakers(need, room, candidates, kMaxRoomMakers);
  if (!makers) {
    // What was considered, for the journal and the operator.
    std::string seen;
    for (const auto& n : room) {
      if (!n.for_pending) continue;
      int movable = 0;
      for (const auto& c : candidates) movable += c.node == n.name;
      seen += (seen.empty() ? "" : ", ") + n.name + " " + std::to_string(n.free.cpu_milli) + "m/" +
              std::to_string(n.free.memory_bytes >> 20) + "Mi free, " + std::to_string(movable) + " movable";
    }
    b.why = "no " + std::to_string(kMaxRoomMakers) + " movable pods or fewer on one of " +
            std::string(planned_set.empty() ? "the nodes" : "its planned nodes") + " make room for it (" +
            std::to_string(need.cpu_milli) + "m/" + std::to_string(need.memory_bytes >> 20) +
            "Mi) and fit elsewhere" + (seen.empty() ? "; none of them is schedulable" : " (" + seen + ")");
    return b;
  }
  ClaimRequest claim;
  claim.reason = deps.settings.disruption_reason;
  claim.node_count = static_cast<int64_t>(nodes->items.size());
  for (const auto& pod : makers->pods) claim.pods.push_back({pod, makers->node});
  claim.limits = EvictionLimits{-1, -1, deps.settings.move_limit};
  claim.all_or_nothing = true;
  auto grant = ctx.Claim(claim);
  if (!grant.ok()) return grant.status();
  if (!grant->complete()) {
    b.why = "the disruption budget refused moving " + grant->refused.front().item + ": " + grant->refused.front().why;
    return b;
  }
  b.node = makers->node;
  b.why = makers->why;
  for (const auto& pod : makers->pods) {
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    auto [ns, name] = SplitKey(pod);
    kube::EvictOptions eo;
    eo.precondition_uid = uid_of[pod];  // exactly the pod chosen, not a namesake
    eo.max_wait = std::chrono::milliseconds(10000);
    Status st = deps.kube->Evict(ns, name, eo);
    if (!st.ok() && st.code() != Status::Code::kNotFound) {
      b.why += "; evicting " + pod + " failed: " + st.ToString();
      continue;
    }
    b.pods.push_back(pod);
  }
  if (b.pods.empty()) return b;
  b.action = "evicted";
  b.pod = b.pods.front();
  return b;
}

// The new pods of Deployment `d` (this iteration's template) still Pending
// without a node.
StatusOr<std::vector<json>> StuckPods(const ExecutionDeps& deps, const json& d, const std::string& iteration) {
  auto pods = deps.kube->List(kube::resources::kPods, kube::obj::Namespace(d));
  if (!pods.ok()) return pods.status().WithContext("list pods in " + kube::obj::Namespace(d));
  json selector = d["spec"].value("selector", json::object());
  std::vector<json> out;
  for (const auto& p : pods->items) {
    if (kube::pod::Phase(p) != "Pending" || !kube::pod::NodeName(p).empty() || kube::obj::IsTerminating(p)) continue;
    if (kube::obj::Annotations(p)[kIterationLabel] != iteration) continue;
    if (!kube::selector::Matches(selector, p["metadata"].value("labels", json::object()), false)) continue;
    out.push_back(p);
  }
  return out;
}

// What one poll of the stall breaker saw.
enum class StallState {
  kNone,     // no stuck pod the breaker can still help
  kWaiting,  // stuck pods younger than the stall timeout, or an act given time to work
  kActed,    // acted (or recorded why it could not) this poll
};

// The stall breaker's durable clock for one step (see StallClock): timers
// of this step's context.
StallClock ClockOf(const ExecutionDeps& deps, StepContext& ctx) {
  return StallClock(
      deps.settings.rollout_stall_timeout,
      [&ctx](const std::string& name, std::chrono::milliseconds d) { return ctx.DeadlineFor(name, d); },
      [&ctx](const std::string& name) { return ctx.JournaledDeadline(name); });
}

// One poll of the stall breaker for a rollout that is not done: acts for a
// pod stuck Pending for rollout_stall_timeout since it was first seen (the
// clock is journaled: a restart does not start it over) — at once when the
// Deployment's progress deadline passed — and waits a stall timeout after
// each act before the next one for the same pod (at most kMaxStallActs).
// One act per poll.
StatusOr<StallState> WatchForStall(const ExecutionDeps& deps, StepContext& ctx, const std::string& key, const json& d,
                                   bool progress_dead, const std::vector<std::string>& planned,
                                   const std::map<std::string, std::string>& placements, const std::string& iteration,
                                   StallClock* clock, MoveResult* result) {
  auto stuck = StuckPods(deps, d, iteration);
  if (!stuck.ok()) return stuck.status().WithContext("deployment-patch: " + key);
  std::vector<StallClock::Pod> ids;
  std::map<std::string, const json*> by_uid;
  for (const auto& p : *stuck) {
    ids.push_back({kube::obj::Key(p), kube::obj::Uid(p)});
    by_uid[kube::obj::Uid(p)] = &p;
  }
  const int64_t now = NowMs();
  auto due = clock->Due(ids, progress_dead, now);
  if (!due.ok()) return due.status().WithContext("deployment-patch: stall clock of " + key);
  if (due->empty()) return ids.empty() || clock->NextDue() == INT64_MAX ? StallState::kNone : StallState::kWaiting;
  const StallClock::Pod& pod = due->front();
  const json& p = *by_uid[pod.uid];
  const int64_t since = clock->PendingSince(pod.uid);
  KINEMA_RETURN_IF_ERROR(clock->BeforeAct(pod).WithContext("deployment-patch: stall clock of " + key));
  auto b = BreakStall(deps, ctx, key, p, planned, placements, iteration);
  if (!b.ok()) return b.status().WithContext("deployment-patch: stall breaker for " + key);
  if (b->action == "none") {
    KINEMA_RETURN_IF_ERROR(clock->GaveUp(pod).WithContext("deployment-patch: stall clock of " + key));  // said once
  }
  spdlog::warn("workflow {}: rollout of {} stalled: pod {} Pending for {}: {}{})", ctx.workflow_id(), key,
               b->pending_pod, FormatDuration(Duration(now - since)),
               b->action == "evicted" ? "moved " + Joined(b->pods) + " off " + b->node + " (" : "no action (", b->why);
  AnnounceEvent(deps.kube, d, "Warning", "KinemaRolloutStalled",
                "pod " + b->pending_pod + " Pending; " +
                    (b->action == "evicted" ? "moved " + Joined(b->pods) + " to make room on " + b->node
                                            : "no action: " + b->why));
  result->stall_breaks.push_back(*b);
  ctx.Hook("stall_broken");
  return StallState::kActed;
}

// Waits until the Deployment has rolled out; *why is "gone" when it went away.
Status AwaitRollout(const ExecutionDeps& deps, StepContext& ctx, const std::string& key,
                    const std::vector<std::string>& planned, const std::map<std::string, std::string>& placements,
                    const std::string& iteration, MoveResult* result, std::string* why) {
  auto [ns, name] = SplitKey(key);
  auto deadline = ctx.DeadlineFor("rollout " + key, deps.settings.rollout_timeout);
  if (!deadline.ok()) return deadline.status();
  StallClock clock = ClockOf(deps, ctx);
  for (int poll = 0;; ++poll) {
    auto d = deps.kube->Get(kube::resources::kDeployments, ns, name);
    if (!d.ok() && d.status().code() == Status::Code::kNotFound) {
      *why = "gone";
      return Status::OK();
    }
    if (!d.ok()) return d.status().WithContext("deployment-patch: get deployment " + key);
    bool failed = false;
    if (DeploymentRolledOut(*d, why, &failed)) return Status::OK();
    // The stall breaker looks every 5 s (a pods list per look), when an act
    // falls due, or at once when the progress deadline passed.
    auto stall = failed || poll % 5 == 0 || NowMs() >= clock.NextDue()
                     ? WatchForStall(deps, ctx, key, *d, failed, planned, placements, iteration, &clock, result)
                     : StatusOr<StallState>(StallState::kWaiting);
    if (!stall.ok()) return stall.status();
    // A failure says what the stall breaker did for this Deployment (the
    // step's result, which lists every act, is not journaled on failure).
    auto breaker_said = [&]() -> std::string {
      std::string out;
      for (const auto& b : result->stall_breaks) {
        if (b.deployment != key) continue;
        out += "; stall breaker for " + b.pending_pod + ": " +
               (b.action == "evicted" ? "moved " + Joined(b.pods) + " off " + b.node : "no action: " + b.why);
      }
      return out;
    };
    if (failed && *stall == StallState::kNone) {
      return Status::FailedPrecondition("deployment-patch: rollout of " + key + ": " + *why + breaker_said());
    }
    if (NowMs() >= *deadline) {
      return Status::DeadlineExceeded("deployment-patch: rollout of " + key + " not done within " +
                                      FormatDuration(deps.settings.rollout_timeout) + ": " + *why + breaker_said());
    }
    KINEMA_RETURN_IF_ERROR(ctx.Pause(std::chrono::milliseconds(1000)));
  }
}

// Pods not owned by a Deployment: the Eviction API (PDBs respected).
Status EvictOthers(const ExecutionDeps& deps, StepContext& ctx, const std::vector<json>& pods, MoveResult* result) {
  for (const auto& p : pods) {
    KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    kube::EvictOptions eo;
    eo.precondition_uid = kube::obj::Uid(p);
    eo.max_wait = std::chrono::milliseconds(std::min<int64_t>(deps.settings.drain_timeout.count(), 120000));
    Status st = deps.kube->Evict(kube::obj::Namespace(p), kube::obj::Name(p), eo);
    if (!st.ok() && st.code() != Status::Code::kNotFound) {
      return st.WithContext("deployment-patch: evict pod " + kube::obj::Key(p));
    }
    spdlog::info("workflow {}: evicted pod {} (owner {} {})", ctx.workflow_id(), kube::obj::Key(p),
                 kube::obj::ControllerKind(p), kube::obj::ControllerName(p));
    result->evicted.push_back(kube::obj::Key(p));
  }
  return Status::OK();
}

StatusOr<json> MoveWorkloads(const ExecutionDeps& deps, const MoveInput& input, StepContext& ctx,
                             const std::vector<RoomHold>& holds) {
  const std::string iteration = IterationValue(ctx.workflow_id());
  const json& intent = ctx.IntentInput();
  if (!intent.is_object() || !intent.contains(kOriginals) || !intent[kOriginals].is_object()) {
    return Status::Unavailable("deployment-patch: the intent holds no original specs" +
                               (intent.is_object() && intent.contains("error") && intent["error"].is_string()
                                    ? ": " + intent["error"].get<std::string>()
                                    : std::string()));
  }
  const json& originals = intent[kOriginals];
  MoveResult result;
  result.iteration = iteration;
  std::vector<std::string> keys;
  if (intent.contains(kOrder) && intent[kOrder].is_array()) {
    for (const auto& k : intent[kOrder]) {
      if (k.is_string() && originals.contains(k.get<std::string>())) keys.push_back(k.get<std::string>());
    }
  }
  for (const auto& [k, v] : originals.items()) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  }
  result.order = keys;
  auto steering_of = [&](const std::string& key) {
    std::vector<std::string> nodes;
    if (!intent.contains(kSteering) || !intent[kSteering].is_object()) return nodes;
    for (const auto& n : intent[kSteering].value(key, json::array())) {
      if (n.is_string()) nodes.push_back(n.get<std::string>());
    }
    return nodes;
  };
  // Where the plan puts each pod (the stall breaker moves the pods the plan
  // moves elsewhere first).
  std::map<std::string, std::string> placements;
  if (auto req = input(ctx); req.ok()) placements = req->placements;
  const size_t batch = static_cast<size_t>(std::max(1, deps.settings.rollout_max_concurrent));
  const auto waves = RolloutWaves(keys, batch, holds);
  auto deadline_s = [&](const std::string& deployment) {
    return RoomHoldDeadlineSeconds(waves, deployment, deps.settings.rollout_timeout.count() / 1000);
  };
  KINEMA_RETURN_IF_ERROR(CreateRoomHolds(deps, ctx, holds, iteration, deadline_s, &result)
                             .WithContext("deployment-patch"));
  for (const auto& wave : waves) {
    std::set<std::string> gone;
    for (const auto& key : wave) {
      KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
      KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
      KINEMA_RETURN_IF_ERROR(
          ReleaseRoomHolds(deps, ctx, HoldsFor(holds, key), iteration).WithContext("deployment-patch"));
      std::string outcome;
      KINEMA_RETURN_IF_ERROR(PatchOne(deps, ctx, key, originals[key], steering_of(key), iteration, &outcome));
      if (outcome == "gone") gone.insert(key);
    }
    for (const auto& key : wave) {
      if (gone.count(key)) {
        result.deployments.push_back({key, "gone"});
        continue;
      }
      std::string why;
      KINEMA_RETURN_IF_ERROR(
          AwaitRollout(deps, ctx, key, steering_of(key), placements, iteration, &result, &why));
      KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
      KINEMA_RETURN_IF_ERROR(RestoreStrategy(deps, key, originals[key]).WithContext("deployment-patch"));
      spdlog::info("workflow {}: deployment {} rolled out{}", ctx.workflow_id(), key, why.empty() ? "" : " (" + why + ")");
      result.deployments.push_back({key, why.empty() ? "rolled-out" : why});
    }
  }
  KINEMA_RETURN_IF_ERROR(ReleaseRoomHolds(deps, ctx, holds, iteration).WithContext("deployment-patch"));
  auto req = input(ctx);
  if (!req.ok()) return req.status();
  if (!req->evict_others) return result.ToJson();  // the drain evicts them
  auto work = WorkloadOfRequest(deps, input, ctx);
  if (!work.ok()) return work.status().WithContext("deployment-patch");
  KINEMA_RETURN_IF_ERROR(EvictOthers(deps, ctx, work->other_pods, &result));
  return result.ToJson();
}

// The move, with every room hold released when it stops early (an error: the
// retry or the operator's resume creates them again).
StatusOr<json> PatchDeployments(const ExecutionDeps& deps, const MoveInput& input, StepContext& ctx) {
  auto holds = HoldsOfIntent(ctx.IntentInput());
  if (!holds.ok()) return holds.status();
  auto out = MoveWorkloads(deps, input, ctx, *holds);
  if (!out.ok()) {
    Status released = ReleaseRoomHolds(deps, ctx, *holds, IterationValue(ctx.workflow_id()));
    if (!released.ok()) spdlog::warn("workflow {}: {}", ctx.workflow_id(), released.ToString());
  }
  return out;
}

Status RestoreOne(const ExecutionDeps& deps, StepContext& ctx, const std::string& key, const json& original,
                  const std::string& iteration) {
  auto [ns, name] = SplitKey(key);
  bool restored = false;
  json strategy = original.value("strategy", json());
  auto current = deps.kube->Get(kube::resources::kDeployments, ns, name);
  if (current.ok()) {
    auto bounded = BoundedStrategy(deps, ns, *current, strategy);
    if (!bounded.ok()) return bounded.status().WithContext("compensate deployment-patch: " + key);
    strategy = *bounded;
  }
  auto updated = deps.kube->GetAndUpdate(kube::resources::kDeployments, ns, name, [&](json& d) -> Status {
    json& tmpl = d["spec"]["template"];
    json& ann = tmpl["metadata"]["annotations"];
    if (!ann.is_object() || ann.value(kIterationLabel, "") != iteration) return Status::Cancelled("not ours");
    if (original["iterationAnnotation"].is_null()) {
      ann.erase(kIterationLabel);
    } else {
      ann[kIterationLabel] = original["iterationAnnotation"];
    }
    if (original["affinity"].is_null()) {
      tmpl["spec"].erase("affinity");
    } else {
      tmpl["spec"]["affinity"] = original["affinity"];
    }
    // Restoring the template rolls the pods again, within the PDBs as well;
    // the original strategy comes back right after (below).
    if (!strategy.is_null()) d["spec"]["strategy"] = strategy;
    restored = true;
    return Status::OK();
  });
  if (!updated.ok() && updated.status().code() != Status::Code::kNotFound &&
      updated.status().code() != Status::Code::kCancelled) {
    return updated.status().WithContext("compensate deployment-patch: restore deployment " + key);
  }
  if (restored) spdlog::info("workflow {}: compensation restored deployment {}", ctx.workflow_id(), key);
  // Wait for that rollback rollout, then put the original strategy back.
  auto deadline = ctx.DeadlineFor("compensate rollout " + key, deps.settings.rollout_timeout);
  if (!deadline.ok()) return deadline.status();
  for (;;) {
    auto d = deps.kube->Get(kube::resources::kDeployments, ns, name);
    if (!d.ok()) break;  // gone, or unreadable: the strategy restore below reports it
    std::string why;
    bool failed = false;
    if (DeploymentRolledOut(*d, &why, &failed) || failed || NowMs() >= *deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return RestoreStrategy(deps, key, original).WithContext("compensate deployment-patch");
}

Status RestoreDeployments(const ExecutionDeps& deps, StepContext& ctx) {
  const std::string iteration = IterationValue(ctx.workflow_id());
  const json& intent = ctx.IntentInput();
  if (!intent.is_object() || !intent.contains(kOriginals) || !intent[kOriginals].is_object()) {
    return Status::OK();  // nothing was patched
  }
  auto holds = HoldsOfIntent(intent);
  if (!holds.ok()) return holds.status().WithContext("compensate deployment-patch");
  KINEMA_RETURN_IF_ERROR(ReleaseRoomHolds(deps, ctx, *holds, iteration).WithContext("compensate deployment-patch"));
  for (const auto& [key, original] : intent[kOriginals].items()) {
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    if (!original.is_object()) continue;
    KINEMA_RETURN_IF_ERROR(RestoreOne(deps, ctx, key, original, iteration));
  }
  return Status::OK();
}

}  // namespace

StepDefinition MakeDeploymentPatchStep(const ExecutionDeps& deps, MoveInput input) {
  StepDefinition s;
  s.name = kDeploymentPatchStep;
  s.retry.max_attempts = 3;
  s.intent_input = [deps, input](StepContext& ctx) -> json {
    const json& earlier = ctx.IntentInput();
    if (earlier.is_object() && earlier.contains(kOriginals)) return earlier;  // first facts win
    auto work = WorkloadOfRequest(deps, input, ctx);
    if (!work.ok()) return json{{"error", work.status().ToString()}};
    auto req = input(ctx);
    if (!req.ok()) return json{{"error", req.status().ToString()}};
    json originals = json::object();
    std::map<std::string, Resources> pod_size;
    for (const auto& key : work->deployments) {
      auto [ns, name] = SplitKey(key);
      auto d = deps.kube->Get(kube::resources::kDeployments, ns, name);
      if (!d.ok()) return json{{"error", d.status().WithContext("get deployment " + key).ToString()}};
      originals[key] = OriginalOf(*d);
      auto r = PodSpecRequests((*d)["spec"]["template"].value("spec", json::object()), key);
      pod_size[key] = r.ok() ? *r : Resources{};
    }
    auto holds = PlannedRoomHolds(deps, *work, *req, pod_size);
    if (!holds.ok()) return json{{"error", holds.status().ToString()}};
    return json{{kOriginals, originals},
                {kOrder, LargestFirst(pod_size)},
                {kSteering, SteeringOf(*work, *req)},
                {kHolds, *holds}};
  };
  s.run = [deps, input](StepContext& ctx) { return PatchDeployments(deps, input, ctx); };
  s.reconcile = s.run;
  s.compensate = [deps](StepContext& ctx, const json&) { return RestoreDeployments(deps, ctx); };
  return s;
}

}  // namespace kinema::execute
