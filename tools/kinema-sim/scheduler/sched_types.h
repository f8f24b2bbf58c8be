// The simulated kube-scheduler's typed view of Pods and Nodes: what the
// filters and scores read, parsed once from the API objects.
//
// What is extracted (kubernetes/kubernetes pkg/scheduler, v1.32 semantics):
//   - Pod requests = max(sum of app containers + restartable (sidecar) init
//     containers, each regular init container + the sidecars started before
//     it) + spec.overhead, for cpu and memory (ephemeral-storage ignored).
//     With in-place resize (KEP-1287) a container's request is
//     max(spec, status.containerStatuses[].allocatedResources), or the
//     allocated value alone when the resize is Infeasible — what the real
//     scheduler reserves. `nonzero` is the same with the scoring defaults
//     (100m cpu / 200Mi memory for a container that requests nothing).
//   - nodeSelector, required/preferred node affinity, tolerations, required
//     pod (anti-)affinity terms, topology spread constraints (matchLabelKeys
//     folded into the selector), priority, schedulingGates, required pod
//     affinity terms. A namespaceSelector is taken as "all namespaces" (the
//     scheduler does not watch namespace labels; exact for {}).
//   - Node allocatable (cpu, memory, pods), labels, taints, spec.unschedulable,
//     Ready condition. A node whose Ready condition is not True (or absent) is
//     given the taint the node lifecycle controller would add
//     (node.kubernetes.io/not-ready, or node.kubernetes.io/unreachable when
//     Unknown; effect NoSchedule) unless it already carries it.
// Malformed fields (bad quantities, unknown operators) are not fatal: the
// object is still returned with `parse_error` set, and the core refuses to
// place such a pod (the real apiserver would have rejected it).
// Thread-safety: plain values; parsing functions are pure.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kinema::sim::sched {

using Labels = std::map<std::string, std::string>;

struct Requirement {
  enum class Op { kIn, kNotIn, kExists, kDoesNotExist, kGt, kLt };
  std::string key;
  Op op = Op::kExists;
  std::vector<std::string> values;
  bool Matches(const Labels& labels) const;
  // For matchFields (metadata.name only).
  bool MatchesValue(bool present, const std::string& value) const;
};

// metav1.LabelSelector. A null selector (absent) matches nothing in
// affinity/spread terms; an empty one ({}) matches everything.
struct LabelSelectorSpec {
  bool null = true;
  Labels match_labels;
  std::vector<Requirement> expressions;
  bool Matches(const Labels& labels) const;
};

struct NodeSelectorTerm {
  std::vector<Requirement> expressions;  // against node labels
  std::vector<Requirement> fields;       // against metadata.name
  bool Matches(const std::string& node_name, const Labels& node_labels) const;
};

struct Taint {
  std::string key, value, effect;  // effect: NoSchedule, PreferNoSchedule, NoExecute
  bool hard = false;               // NoSchedule or NoExecute (blocks placement)
  bool prefer = false;             // PreferNoSchedule (lowers the score)
};
Taint MakeTaint(std::string key, std::string value, std::string effect);

struct Toleration {
  std::string key;
  bool exists = false;  // operator Exists (else Equal)
  std::string value;
  std::string effect;   // empty = every effect
  bool Tolerates(const Taint& t) const;
};

struct PreferredTerm {
  int weight = 0;
  NodeSelectorTerm term;
};

// A required pod (anti-)affinity term.
struct PodAffinityTerm {
  LabelSelectorSpec selector;
  std::vector<std::string> namespaces;  // resolved: the pod's own namespace when empty
  bool all_namespaces = false;          // namespaceSelector {} (or any namespaceSelector)
  std::string topology_key;
  bool AppliesToNamespace(const std::string& ns) const;
  // Canonical text, used to group identical terms of many pods.
  std::string Key() const;
};

struct SpreadConstraint {
  int max_skew = 1;
  std::string topology_key;
  bool do_not_schedule = true;  // whenUnsatisfiable
  LabelSelectorSpec selector;
  int min_domains = 1;
  bool honor_node_affinity = true;  // nodeAffinityPolicy (default Honor)
  bool honor_taints = false;        // nodeTaintsPolicy (default Ignore)
};

struct Resources {
  int64_t milli_cpu = 0;
  int64_t memory = 0;
  int64_t pods = 0;
};

struct SchedPod {
  std::string ns, name, uid;
  uint64_t rv = 0;
  Labels labels;
  std::string node_name;
  std::string scheduler_name;
  std::string phase;
  bool terminating = false;  // metadata.deletionTimestamp set
  bool gated = false;        // non-empty spec.schedulingGates
  int priority = 0;
  Resources requests;  // pods == 1
  Resources nonzero;   // requests with the scoring defaults
  Labels node_selector;
  bool has_required_affinity = false;
  std::vector<NodeSelectorTerm> required_terms;  // ORed
  std::vector<PreferredTerm> preferred_terms;
  std::vector<Toleration> tolerations;
  std::vector<PodAffinityTerm> affinity;       // required pod affinity
  std::vector<PodAffinityTerm> anti_affinity;  // required pod anti-affinity
  std::vector<SpreadConstraint> spread;        // all (DoNotSchedule and ScheduleAnyway)
  std::string owner_kind, owner_name;          // controller ownerReference ("" if none)
  // Selector for the system default spreading (ScheduleAnyway, hostname
  // maxSkew 3, zone maxSkew 5) of a pod without topologySpreadConstraints:
  // the owning ReplicaSet's/StatefulSet's selector, set by the Scheduler
  // (null = no default spreading).
  LabelSelectorSpec default_spread_selector;
  std::string parse_error;                     // non-empty when a field was malformed

  std::string Key() const { return ns + "/" + name; }
  bool Terminal() const { return phase == "Succeeded" || phase == "Failed"; }
  bool Tolerates(const Taint& t) const;
  // nodeSelector and required node affinity.
  bool MatchesNodeAffinity(const std::string& node_name, const Labels& node_labels) const;
};

struct SchedNode {
  std::string name;
  const std::string* hostname = nullptr;  // into labels (set by ParseNode/CacheLabels)
  const std::string* zone = nullptr;
  uint64_t rv = 0;
  Labels labels;
  std::vector<Taint> taints;  // spec.taints plus the synthesized not-ready/unreachable taint
  bool unschedulable = false;
  bool ready = false;
  Resources allocatable;
  std::string parse_error;
  SchedNode() = default;
  SchedNode(const SchedNode& o) { *this = o; }
  SchedNode& operator=(const SchedNode& o);
  // Moving a std::map keeps its nodes, so the cached pointers stay valid.
  SchedNode(SchedNode&& o) noexcept = default;
  SchedNode& operator=(SchedNode&& o) noexcept = default;
  // Points hostname/zone into labels; call after changing labels.
  void CacheLabels();
  // The value of label `key` (null when absent); hostname and zone are cached.
  const std::string* Label(const std::string& key) const;
  // Everything the scheduler's decisions depend on (not heartbeats):
  // equal fingerprints mean a node update cannot change any decision.
  std::string Fingerprint() const;
};

SchedPod ParsePod(const nlohmann::json& pod);
// A metav1.LabelSelector (null JSON = null selector). Malformed parts are dropped.
LabelSelectorSpec ParseSelector(const nlohmann::json& selector);
SchedNode ParseNode(const nlohmann::json& node);

// Well-known names.
inline constexpr const char* kHostnameLabel = "kubernetes.io/hostname";
inline constexpr const char* kZoneLabel = "topology.kubernetes.io/zone";
inline constexpr const char* kTaintUnschedulable = "node.kubernetes.io/unschedulable";
inline constexpr const char* kTaintNotReady = "node.kubernetes.io/not-ready";
inline constexpr const char* kTaintUnreachable = "node.kubernetes.io/unreachable";

}  // namespace kinema::sim::sched
