// NodeFitter: would these pods fit on these nodes now, under the
// scheduler's predicates, given what already runs there? The shared fit
// check of the modes that move pods without a plan of their own (spot
// rescheduling, load rebalancing): they promise capacity pod by pod and
// never promise the same capacity twice.
//
// Predicates (kube-scheduler's filters, as the optimizer applies them —
// scheduling.h): requests (cpu, memory) and pod count against allocatable
// minus DaemonSet overhead and the pods already there (their requests as
// the snapshot has them); nodeSelector and required node affinity;
// NoSchedule/NoExecute taints against tolerations; spec.unschedulable;
// required pod anti-affinity on kubernetes.io/hostname, both directions.
// PreferNoSchedule taints and preferred affinities never block.
// A pod being moved still holds its old node's room until Remove().
// Thread-safety: not thread-safe; one fitter per decision.
#pragma once

#include <string>
#include <vector>

#include "engine/catalog/catalog.h"
#include "steps/optimize/snapshot.h"

namespace kinema {

class NodeFitter {
 public:
  // Indexes `snapshot` (which must outlive the fitter): per node its
  // DaemonSet overhead and the pods bound to it.
  explicit NodeFitter(const Snapshot& snapshot);

  // Can `pod` run on node `node` (an index into snapshot.nodes) beside what
  // is there and what was promised? When not, *why says the first reason
  // ("insufficient memory: 1.5Gi free, 2Gi requested", "taint ... not
  // tolerated", "anti-affinity with shop/cart-2").
  bool Fits(const SnapshotPod& pod, int node, std::string* why = nullptr) const;

  // Promises `pod` a place on `node` (its requests count there from now on).
  void Place(const SnapshotPod& pod, int node);
  // Takes `pod` off `node` (it left, or a promise is withdrawn).
  void Remove(const SnapshotPod& pod, int node);

  struct Assignment {
    bool all_fit = false;
    std::vector<std::pair<const SnapshotPod*, int>> placements;  // pod -> node, when all_fit
    const SnapshotPod* first_misfit = nullptr;                   // when !all_fit
    std::string why;                                             // why it fits nowhere
  };
  // All or nothing: tries to place every pod on one of `candidates`, in the
  // candidates' order (first fit), largest pods first; on success the
  // placements are promised (as Place), otherwise nothing changes.
  Assignment PlaceAll(const std::vector<const SnapshotPod*>& pods, const std::vector<int>& candidates);

  // Room left on `node` (allocatable − overhead − pods placed), may be negative.
  Resources Free(int node) const;
  // Requested by the pods on `node` (DaemonSet overhead excluded).
  Resources Requested(int node) const;
  const Snapshot& snapshot() const { return *snap_; }

 private:
  const Snapshot* snap_;
  std::vector<Resources> overhead_;                       // per node
  std::vector<Resources> used_;                           // per node, pods placed
  std::vector<std::vector<const SnapshotPod*>> on_node_;  // per node
};

// The DaemonSet overhead a node with these labels and taints carries.
Resources DaemonSetOverhead(const Snapshot& snapshot, const std::string& name, const Labels& labels,
                            const std::vector<Taint>& taints);

}  // namespace kinema
