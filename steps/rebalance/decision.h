// The load-rebalancing decisions: pure functions of the node scores, the
// cluster snapshot, the pods' measured usage and the journal's history of
// earlier evictions (the seed's descheduler cycle, made explainable).
//
// 1. Classify(): with deviation thresholds (the seed's
//    useDeviationThresholds), over-utilized = score > average + high and
//    under-utilized = score < average − low; with absolute thresholds,
//    over > high and under < low. Either class empty = no action (as the
//    descheduler's LowNodeUtilization), and the reason says which.
// 2. ChoosePods(): for each over-utilized node, hottest first, the movable
//    pod whose measured usage best brings the node's predicted score toward
//    the average, again and again while the node is still above the
//    over-utilization bound (early stop) and the limits allow; a pod is
//    chosen only when an under-utilized node can take it under the
//    scheduler's predicates (NodeFitter; the capacity it takes there is
//    promised, never promised twice) without becoming over-utilized itself.
//    A workload is chosen at most once per cycle and not at all within
//    `cooldown` of an earlier eviction; a pod that came back to a node its
//    workload was evicted from (created after that eviction), or whose only target is a node its workload was
//    evicted from within `ping_pong_window`, is a ping-pong: journaled and
//    not evicted.
//
// Score model (an estimate the next cycle's real scores correct — the loop
// is closed through Prometheus): a node's load is the larger of its pods'
// measured cpu and memory over allocatable; its gain is score / load (the
// cluster's Σscore/Σload for nodes with no score or load to speak of); a
// pod moving off a node lowers its score by the pod's share of that node
// (the larger of cpu and memory over allocatable) × the node's gain, and
// raises its target's the same way.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/budget/disruption_budget.h"
#include "engine/common/status.h"
#include "steps/optimize/snapshot.h"
#include "steps/rebalance/node_ratios.h"
#include "steps/rebalance/settings.h"

namespace kinema::rebalance {

enum class NodeClass { kOver, kUnder, kNormal };
const char* NodeClassName(NodeClass c);  // "over-utilized", "under-utilized", "normal"

struct ClassifiedNode {
  std::string name;
  double score = 0;
  NodeClass cls = NodeClass::kNormal;
};

struct Classification {
  double average = 0;
  double over_bound = 0;   // over-utilized above this
  double under_bound = 0;  // under-utilized below this
  bool absolute = false;
  std::vector<ClassifiedNode> nodes;  // by name
  std::vector<std::string> over;      // hottest first
  std::vector<std::string> under;     // coldest first
  std::string no_action;              // non-empty: why nothing is to be done
  double Spread() const;              // max − min score (0 with no nodes)
  nlohmann::json ToJson() const;
  static StatusOr<Classification> FromJson(const nlohmann::json& j);
};

Classification Classify(const std::vector<NodeScore>& scores, const ClassThresholds& thresholds);

// A pod's measured usage (metrics.k8s.io); absent = not measured.
struct PodUsage {
  double cpu_cores = 0;
  double memory_bytes = 0;
};

// An eviction an earlier cycle made (from the journal).
struct EvictionRecord {
  std::string workload;  // "ns/Kind/name"
  std::string pod;       // "ns/name"
  std::string from;      // node it was evicted from
  std::string to;        // node it was predicted to go to ("" unknown)
  int64_t at_ms = 0;
  std::string workflow;
};

struct ChoiceInput {
  const Snapshot* snapshot = nullptr;
  Classification classes;
  std::map<std::string, PodUsage> usage;           // pod "ns/name" -> measured usage
  std::map<std::string, std::string> workload;     // pod -> "ns/Kind/name" (pods absent: the pod itself)
  std::map<std::string, std::string> cannot_move;  // pod -> why it must not be evicted (policy, exclusions, rollout guarantee)
  std::set<std::string> evict_only;                // pods annotated request-evict-only (VMs: live migration)
  std::map<std::string, int64_t> created_ms;       // pod -> metadata.creationTimestamp (ms)
  std::vector<EvictionRecord> history;             // earlier cycles' evictions
  int64_t now_ms = 0;
  int64_t cooldown_ms = 120000;
  int64_t ping_pong_window_ms = 1800000;
  EvictionLimits limits{2, 5, 5};
};

struct PodChoice {
  std::string pod;       // "ns/name"
  std::string workload;
  std::string from;
  std::string to;        // the under-utilized node that fits it (the scheduler decides where it really goes)
  double share = 0;      // of its node, the larger of cpu and memory
  double from_score_after = 0;  // predicted
  double to_score_after = 0;    // predicted
  bool evict_only = false;      // request-evict-only: a background eviction (VM live migration)
  // Filled by the choose step from the pod (not by ChoosePods): its uid (the
  // eviction's precondition) and, for a VM's launcher pod, the VM's name
  // (label vm.kubevirt.io/name), by which its migration is tracked.
  std::string uid;
  std::string vm;
  nlohmann::json ToJson() const;
  static StatusOr<PodChoice> FromJson(const nlohmann::json& j);
};

struct PodSkip {
  std::string pod;
  std::string node;
  std::string reason;
};

struct PingPong {
  std::string workload;
  std::string pod;
  std::string node;         // where the pod is now
  std::string earlier_from; // where an earlier cycle evicted it from
  std::string earlier_workflow;
  int64_t earlier_at_ms = 0;
  std::string kind;         // "returned" (back on the node it was evicted from) | "back" (only target is that node)
};

struct ChoiceResult {
  std::vector<PodChoice> choices;
  std::vector<PodSkip> skipped;
  std::vector<PingPong> ping_pong;
  std::map<std::string, double> predicted;  // node -> predicted score after the choices
  std::vector<std::string> notes;           // per node: why choosing stopped there
  nlohmann::json ToJson() const;
  static StatusOr<ChoiceResult> FromJson(const nlohmann::json& j);
};

ChoiceResult ChoosePods(const ChoiceInput& input);

// The workload a pod belongs to: "ns/Deployment/name" for a ReplicaSet a
// Deployment controls (`rs_owner`: ReplicaSet "ns/name" -> its Deployment's
// name), else "ns/<controller kind>/<name>", else "ns/Pod/<name>".
std::string WorkloadOf(const nlohmann::json& pod, const std::map<std::string, std::string>& rs_owner);

// Why evicting one more pod of `workload` (a Deployment or StatefulSet
// object) would take it below replicas − maxUnavailable, its own rollout
// guarantee ("" when it may lose one). Deployment: maxUnavailable of its
// RollingUpdate strategy (default 25%, rounded down; 1 when it and maxSurge
// are both 0) against status.availableReplicas; StatefulSet:
// updateStrategy.rollingUpdate.maxUnavailable (default 1) against
// status.readyReplicas. Other kinds: "" (their PDBs guard them).
std::string RolloutGuaranteeReason(const nlohmann::json& workload);

}  // namespace kinema::rebalance
