// Workload move (shared execution step "deployment-patch"): move the pods
// off the nodes being retired, within every budget their owners declare.
//
// Input (typed, from the kind): the nodes being retired.
// Intent input (journaled BEFORE any patch, carried across retries and
// restarts): every Deployment with pods on those nodes and its original
// pod-template affinity, kinema.io/iteration annotation and strategy, so
// abort can restore it exactly.
// Steering (also in the intent): per Deployment, the nodes the kind's plan
// puts its pods on (MoveRequest::placements, retiring nodes left out), and
// the order the Deployments move in: largest pod first (LargestFirst), so
// big pods find the room the plan kept for them before small ones fill it.
// Room holds (room_hold.h, also in the intent): the planned room of heavy
// Deployments is held by placeholder pods from before the first patch until
// each of them rolls — alone, in its own wave. A hold is bound straight to
// its node; when a pod scheduled there meanwhile took the room, the node's
// kubelet rejects it (OutOfcpu/OutOfmemory): the step waits for each hold to
// run or be rejected and journals a rejected one as such (roomHolds).
// Effect, per Deployment (at most settings.rollout_max_concurrent at once, in
// that order): one update of the pod template — the controller's preferred
// node-affinity terms (AffinitySteering: weight 100 on this Deployment's
// planned nodes, a weaker one on kinema.io/iteration=<workflow>; earlier
// terms replaced) and the template annotation kinema.io/iteration=<workflow>
// — which starts an ordinary rolling update; the retire taint keeps new pods
// off retiring nodes. A rollout is not an eviction — PodDisruptionBudgets do not
// gate it — so the strategy for the move is RolloutStrategyWithinBudgets():
// the rollout never breaks a PDB nor the Deployment's own guarantee, and each
// old pod's place is freed before its replacement is created. The original
// strategy is put back once the Deployment has rolled out. Recreate
// Deployments keep their strategy.
// Then wait until it has rolled out (settings.rollout_timeout, a durable
// deadline per Deployment). Stall breaker: when one of the rollout's new
// pods has stayed Pending (unscheduled) for settings.rollout_stall_timeout
// since it was first seen so (StallClock: journaled, a restart does not
// start the wait over nor repeat acts) or the Deployment reports
// ProgressDeadlineExceeded, the step moves the
// pods that took its room (ChooseRoomMakers: the fewest movable pods, at
// most 5, on one of the Deployment's planned nodes whose eviction makes
// room, each fitting on another node, those the plan moves elsewhere
// first; claimed from the disruption ledger all or nothing, evicted through
// the Eviction API, so PDBs hold) and waits again. Each action, or why none was
// possible, is logged, announced as an Event and journaled in the result
// (stallBreaks). When nothing can be done, ProgressDeadlineExceeded fails
// the step (the workflow pauses for an operator) and a pending pod waits
// until rollout_timeout; the step's error then says what the breaker did.
// Pods on retiring nodes not owned by a Deployment (StatefulSet, bare
// ReplicaSet, ...) are evicted through the Eviction API: PDBs respected
// (unless MoveRequest::evict_others is false: the drain evicts them).
// A template already carrying this workflow's annotation is not patched
// again: run and reconcile are the same procedure.
// Compensation: Deployments whose template carries this workflow's
// annotation get their original affinity and annotation back (rolled
// within their PDBs), then their original strategy.
// Thread-safety: the step is run by one thread; see ExecutionDeps.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/catalog/catalog.h"
#include "engine/workflow/workflow_type.h"
#include "steps/execute/execution_deps.h"

namespace kinema::execute {

inline constexpr const char* kDeploymentPatchStep = "deployment-patch";

struct MoveRequest {
  std::vector<std::string> retiring_nodes;
  // "ns/pod" -> the node the plan puts it on (the node's real name); empty:
  // no per-Deployment steering (only the iteration label).
  std::map<std::string, std::string> placements;
  // false: pods not owned by a Deployment are left to the drain step (which
  // evicts them with the kind's re-check before each eviction) instead of
  // being evicted here.
  bool evict_others = true;
};

// One act of the stall breaker (or why it could not act).
struct StallBreak {
  std::string deployment;   // ns/name whose new pod was stuck
  std::string pending_pod;  // ns/name of the stuck pod
  std::string action;       // "evicted" | "none"
  std::string pod;          // the (first) pod moved (evicted) to make room
  std::vector<std::string> pods;  // every pod moved (evicted) to make room
  std::string node;         // where it made room
  std::string why;
  bool operator==(const StallBreak&) const = default;
};

// What became of one planned room hold (room_hold.h).
struct RoomHoldOutcome {
  std::string deployment;  // ns/name the room was held for
  std::string node;
  int pods = 0;
  std::string outcome;     // "held" | "skipped" | "rejected" (the node's kubelet refused the hold pod)
  std::string why;         // skipped: why (the node lacks the room, is gone, the create failed); rejected: the kubelet's reason
  bool operator==(const RoomHoldOutcome&) const = default;
};

struct MovedDeployment {
  std::string deployment;  // ns/name
  std::string outcome;     // "rolled-out" | "gone"
};

struct MoveResult {
  std::string iteration;
  std::vector<MovedDeployment> deployments;
  std::vector<std::string> evicted;  // ns/name of pods evicted
  std::vector<std::string> order;    // the order the Deployments moved in (largest pod first)
  std::vector<StallBreak> stall_breaks;
  std::vector<RoomHoldOutcome> room_holds;
  nlohmann::json ToJson() const;
  static StatusOr<MoveResult> FromJson(const nlohmann::json& j);
};

using MoveInput = std::function<StatusOr<MoveRequest>(StepContext&)>;
StepDefinition MakeDeploymentPatchStep(const ExecutionDeps& deps, MoveInput input);

// ---------------------------------------------------------------- pure decisions

// The RollingUpdate strategy a move uses for a Deployment with `replicas`
// replicas whose pods the given PDBs select: maxUnavailable = the smaller of
// the Deployment's own and what the tightest PDB allows at full health, so a
// rollout is never a PDB violation; maxSurge 0 when maxUnavailable >= 1
// (each pod's place is freed before its replacement is created, so the move
// needs no capacity the plan did not reserve), else the Deployment's, at
// least 1. A Recreate strategy is returned unchanged.
nlohmann::json RolloutStrategyWithinBudgets(const nlohmann::json& strategy, int64_t replicas,
                                            const std::vector<nlohmann::json>& pdbs);

// True when the Deployment has finished rolling out its current template:
// observedGeneration >= generation, and updated, ready, available and total
// replicas all equal spec.replicas. Otherwise *why says what is missing.
// ProgressDeadlineExceeded sets *failed.
bool DeploymentRolledOut(const nlohmann::json& deployment, std::string* why, bool* failed);

// The Deployments in the order they move: largest pod first. A pod's size
// is its dominant share, max(cpu / largest cpu, memory / largest memory)
// over the pods given; ties by the sum of both shares, then by name.
// Deterministic.
std::vector<std::string> LargestFirst(const std::map<std::string, Resources>& pod_size);

// `affinity` (a pod template's spec.affinity, may be null) steered toward
// `nodes`: every earlier Kinema term removed, then a preferred term of weight
// 100 on kubernetes.io/hostname In nodes (and kinema.io/retire absent), and
// the preferred term on kinema.io/iteration=<iteration> (weight 100 without
// nodes, 10 with them: any node of the iteration is the second choice).
// The planned nodes are a preference: a pod still lands elsewhere rather
// than stay Pending.
nlohmann::json AffinitySteering(const nlohmann::json& affinity, const std::string& iteration,
                                const std::vector<std::string>& nodes);

// The stall breaker's choice: which pods to move so that a stuck pod of
// size `need` fits.
struct RoomNode {
  std::string name;
  Resources free;            // allocatable minus the requests of the pods bound to it
  bool for_pending = false;  // the stuck pod may go here (one of its planned nodes)
};
struct RoomPod {
  std::string key;  // ns/name
  std::string node;
  Resources requests;
  bool this_iteration = false;     // created by this workflow's rollouts
  bool planned_elsewhere = false;  // the plan puts it on another node (it holds room the plan gave away)
  std::string owner;               // its workload (ns/name): at most one pod per owner is moved
};
struct RoomMakers {
  std::string node;               // where the room is made
  std::vector<std::string> pods;  // the pods to move off it, most preferred first
  std::string why;
};
// The fewest pods (at most `max_pods`) on one `for_pending` node whose
// removal lets `need` fit there, each of which fits on another node as
// things are (their new places counted one after the other, so none is
// stuck in turn), at most one per owner. Preference, per pod: the plan moves
// it elsewhere, then pods of this iteration (they took the room the plan
// kept), then the larger (fewer moves); between nodes: fewer pods, then the
// preferred pods, then the name. nullopt when no such set exists; `pods`
// are the movable candidates only (the caller filters).
std::optional<RoomMakers> ChooseRoomMakers(const Resources& need, const std::vector<RoomNode>& nodes,
                                           const std::vector<RoomPod>& pods, size_t max_pods);

// The stall breaker's clock: when each stuck pod was first seen Pending and
// what the breaker did for it, journaled (durable timers of the step), so a
// restart neither restarts a pod's wait nor repeats acts already done.
// Timers, per stuck pod (`id` = "ns/name (uid)"):
//   "stall <id>"            first seen Pending + timeout: the first act is due
//   "stall <id> act <k>"    journaled right before act k: its time + timeout,
//                           when act k+1 is due (at most kMaxStallActs acts)
//   "stall <id> gave up"    the breaker found nothing to do: no more acts
// A pod is due at once, before its timeout, when the Deployment's progress
// deadline passed and nothing was done for it yet.
// Thread-safety: one step thread.
inline constexpr int kMaxStallActs = 3;

class StallClock {
 public:
  // DeadlineFor and JournaledDeadline of the step's context (injected so
  // the clock is testable without an engine).
  using DurableDeadline = std::function<StatusOr<int64_t>(const std::string& name, std::chrono::milliseconds)>;
  using JournaledDeadline = std::function<StatusOr<std::optional<int64_t>>(const std::string& name)>;
  struct Pod {
    std::string key;  // ns/name
    std::string uid;
  };
  StallClock(std::chrono::milliseconds timeout, DurableDeadline deadline, JournaledDeadline journaled);

  // Sees the stuck pods now (pods no longer stuck are forgotten); returns
  // the ones due for an act, oldest first.
  StatusOr<std::vector<Pod>> Due(const std::vector<Pod>& stuck, bool progress_dead, int64_t now_ms);
  // Journals act k for `pod` (before the act: a crash counts it as done);
  // gave_up: nothing could be done, no more acts for it.
  Status BeforeAct(const Pod& pod);
  Status GaveUp(const Pod& pod);
  // When the pod was first seen Pending (ms), 0 when unknown.
  int64_t PendingSince(const std::string& uid) const;
  // The earliest time an act falls due for a pod seen by the last Due()
  // (INT64_MAX when none): the caller looks again then.
  int64_t NextDue() const;

 private:
  struct Watch {
    int64_t since = 0;  // first seen Pending
    int64_t due = 0;    // next act due
    int acts = 0;
    bool done = false;  // gave up, or kMaxStallActs reached
  };
  StatusOr<Watch> Load(const Pod& pod);
  static std::string Id(const Pod& pod) { return pod.key + " (" + pod.uid + ")"; }

  std::chrono::milliseconds timeout_;
  DurableDeadline deadline_;
  JournaledDeadline journaled_;
  std::map<std::string, Watch> watch_;  // uid -> what is known
};

}  // namespace kinema::execute
