// Room holds (part of the shared execution step "deployment-patch"): keep
// the room the plan gives a Deployment's heavy pods on each planned node
// until that Deployment rolls, so pods of other Deployments rolling before
// it cannot take it.
//
// Why: the steering term is a preference (workload_move.h), and the
// scheduler spreads a Deployment's pods over its planned nodes as it scores
// them, not in the plan's counts: in a tight plan one heavy Deployment puts
// two pods on a node the plan gave one of them, and the next heavy
// Deployment's pod lands off plan or waits. A hold is a placeholder pod
// bound to the node (spec.nodeName: no scheduling, no preemption at the
// default priority) running the pause image with the requests of the pods
// the plan adds there; the scheduler counts it like any pod. Only heavy
// Deployments get holds (a pod of at least `heavy_share` of the node's
// allocatable cpu or memory): small pods fit in many places and holding
// room for every Deployment would cost an API object per Deployment and node.
//
// Lifecycle, all driven by the journaled intent (holds are a pure function
// of it): created after the intent is journaled and before the first patch
// (only while the node has the room: never pushing a pod out); the holds of
// Deployment D deleted right before D is patched (D then rolls alone, so the
// room it was given is what it finds); every hold deleted when the step
// ends or fails (a retry makes them again), on compensation, and on a
// restart for a held Deployment that was already patched. Each carries activeDeadlineSeconds, so the kubelet ends
// it even if the controller never comes back.
// Thread-safety: stateless functions.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "engine/catalog/catalog.h"
#include "engine/common/status.h"

namespace kinema::execute {

// Label on every hold pod (value: the iteration); the annotations name the
// Deployment and node it holds room for.
inline constexpr const char* kRoomHoldLabel = "kinema.io/room-hold";
inline constexpr const char* kRoomHoldDeploymentAnnotation = "kinema.io/room-hold-for";
inline constexpr const char* kRoomHoldImage = "registry.k8s.io/pause:3.10";

struct RoomHold {
  std::string deployment;  // ns/name
  std::string node;
  int pods = 0;            // pods of the Deployment the plan adds on the node
  Resources requests;      // pods x the Deployment's pod requests
  bool operator==(const RoomHold& o) const {
    return deployment == o.deployment && node == o.node && pods == o.pods &&
           requests.cpu_milli == o.requests.cpu_milli && requests.memory_bytes == o.requests.memory_bytes;
  }
  nlohmann::json ToJson() const;
  static StatusOr<RoomHold> FromJson(const nlohmann::json& j);
};

// What the plan and the cluster say, per Deployment being moved.
struct HoldInput {
  Resources pod;                          // one pod's requests
  std::map<std::string, int> planned;     // node -> pods the plan puts there
  std::map<std::string, int> current;     // node -> pods there now (they leave when it rolls)
};

// The holds for a move: for each Deployment whose pod is heavy on a planned
// node (cpu or memory >= heavy_share of that node's allocatable; nodes
// missing from `allocatable` are skipped), one hold per planned node where
// the plan adds pods (planned - current > 0), for that many pods. Sorted by
// Deployment, then node. Deterministic.
std::vector<RoomHold> PlanRoomHolds(const std::map<std::string, HoldInput>& deployments,
                                    const std::map<std::string, Resources>& allocatable, double heavy_share);

// The hold pod's name: kinema-hold-<10 hex of a hash of iteration, Deployment
// and node> (stable across restarts, so creation is idempotent).
std::string RoomHoldName(const std::string& iteration, const RoomHold& hold);

// The hold pod (namespace `ns`): bound to hold.node, pause image, requests =
// limits = hold.requests, tolerating every taint (the node may carry the
// iteration's marks or others'), no service account token, grace 0,
// activeDeadlineSeconds `deadline_s`.
nlohmann::json RoomHoldPod(const std::string& ns, const std::string& iteration, const RoomHold& hold,
                           int64_t deadline_s);

// "<cpu>m/<memory>Mi", as logs and results print room.
std::string RoomText(const Resources& r);

// Why `hold` cannot be made on its node with `free` room per node (Ready,
// schedulable nodes: allocatable minus the requests bound there): "" when
// the node has at least the hold's cpu and memory free, else a sentence
// with the numbers ("node n has 500m/1024Mi free, the hold needs ...").
std::string WhyNoRoomForHold(const RoomHold& hold, const std::map<std::string, Resources>& free);

// The waves Deployments roll in: `keys` in order, at most `batch` (>= 1) at
// once, and a Deployment with room holds alone (it finds the room it was
// given, not room another Deployment rolling beside it took first).
std::vector<std::vector<std::string>> RolloutWaves(const std::vector<std::string>& keys, size_t batch,
                                                   const std::vector<RoomHold>& holds);

// A hold's activeDeadlineSeconds: it outlives its Deployment's turn only if
// the controller never comes back, so the kubelet ends it a rollout timeout
// after that turn could start: (its wave's index + 1) x rollout timeout +
// 60 s (a Deployment in no wave: one wave after the last).
int64_t RoomHoldDeadlineSeconds(const std::vector<std::vector<std::string>>& waves, const std::string& deployment,
                                int64_t rollout_timeout_s);

}  // namespace kinema::execute
