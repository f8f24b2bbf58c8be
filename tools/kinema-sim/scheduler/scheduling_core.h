// SchedulingCore: one kube-scheduler scheduling cycle for one pod against a
// ClusterState — filters, scores, node selection and the FitError message.
// No I/O: unit-testable without a server.
//
// Filters, in the default profile's order; a node is rejected by the first
// failing plugin (pkg/scheduler/framework/plugins, v1.32):
//   NodeUnschedulable  spec.unschedulable unless node.kubernetes.io/unschedulable:NoSchedule
//                      is tolerated                      "node(s) were unschedulable"
//   TaintToleration    NoSchedule/NoExecute taints (incl. the not-ready taint)
//                      "node(s) had untolerated taint {key: value}"
//   NodeAffinity       nodeSelector + required node affinity
//                      "node(s) didn't match Pod's node affinity/selector"
//   NodeResourcesFit   "Too many pods", "Insufficient cpu", "Insufficient memory"
//   PodTopologySpread  DoNotSchedule constraints (maxSkew, minDomains, node
//                      inclusion policies, matchLabelKeys)
//                      "node(s) didn't match pod topology spread constraints"
//   InterPodAffinity   required pod affinity (a domain holding a pod that matches
//                      every term; the first pod of a self-affine group may go
//                      anywhere), then required anti-affinity in both
//                      directions, any topology key
//                      "node(s) didn't match pod affinity rules",
//                      "node(s) didn't match pod anti-affinity rules",
//                      "node(s) didn't satisfy existing pods anti-affinity rules"
// Scores (0..100 each, weighted as the default profile): TaintToleration x3
// (fewer intolerable PreferNoSchedule taints is better), NodeAffinity x2
// (preferred terms' weights, normalized), PodTopologySpread x2
// (ScheduleAnyway constraints, or the system defaults — hostname maxSkew 3,
// zone maxSkew 5 — over SchedPod::default_spread_selector for a pod without
// constraints), NodeResourcesFit x1 (LeastAllocated on cpu+memory with
// non-zero requests), NodeResourcesBalancedAllocation x1. Not modelled:
// inter-pod affinity scores, ImageLocality, preemption, volumes, ports.
// Node search as the real scheduler: the feasible-node search stops after
// numFeasibleNodesToFind (adaptive percentageOfNodesToScore: all nodes below
// 100, else max(100, n*max(5, 50 - n/125)/100)) and the next cycle starts
// where this one stopped; ties are broken uniformly at random (reservoir
// sampling) with a PRNG seeded at construction, so runs are reproducible.
// Thread-safety: not thread-safe (PRNG and start index); one per scheduler.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "tools/kinema-sim/scheduler/cluster_state.h"
#include "tools/kinema-sim/scheduler/sched_types.h"

namespace kinema::sim::sched {

// Which kinds of filters rejected nodes, to decide which cluster events can
// make an unschedulable pod schedulable (queueing hints).
enum RejectedBy : unsigned {
  kRejectedNodeProperties = 1u << 0,  // unschedulable, taints, node affinity, missing topology label
  kRejectedResources = 1u << 1,
  kRejectedSpread = 1u << 2,
  kRejectedAntiAffinity = 1u << 3,
  kRejectedInvalidPod = 1u << 4,
  kRejectedPodAffinity = 1u << 5,
};

struct ScheduleResult {
  bool scheduled = false;
  std::string node;
  int64_t score = 0;
  // When !scheduled: the FitError message ("0/5 nodes are available: ...").
  std::string message;
  unsigned rejected_by = 0;  // RejectedBy bits over all nodes
  size_t evaluated_nodes = 0;
  size_t feasible_nodes = 0;
};

class SchedulingCore {
 public:
  explicit SchedulingCore(uint64_t seed) : rng_(seed) {}
  // `state` is non-const only for its lazily built node order.
  ScheduleResult Schedule(const SchedPod& pod, ClusterState& state);

 private:
  std::mt19937_64 rng_;
  size_t next_start_index_ = 0;
};

// numFeasibleNodesToFind with the default adaptive percentage.
size_t NumFeasibleNodesToFind(size_t all_nodes);

}  // namespace kinema::sim::sched
