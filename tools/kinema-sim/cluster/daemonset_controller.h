// DaemonSetController: one pod per eligible node, like
// kube-controller-manager's daemonset controller
// (pkg/controller/daemon/daemon_controller.go, update.go).
//
// Behaviour:
//   - Eligible nodes (node_eligibility.h: nodeSelector, required node
//     affinity, NoSchedule/NoExecute taints vs tolerations + the automatic
//     daemon tolerations), including nodes that join later, get exactly one
//     daemon pod, bound directly to the node (spec.nodeName, plus the
//     matchFields metadata.name node affinity the real controller sets);
//     pods on nodes that stop being eligible are deleted; failed pods are
//     replaced. Pods of a node that is deleted are left to PodGC (40 s).
//   - RollingUpdate: pods not at the current revision
//     (controller-revision-hash) are deleted while at most maxUnavailable
//     (default 1; percentages of desired nodes, rounded up) daemon pods are
//     unavailable; unavailable old pods go first. OnDelete: no updates.
//   - status: desiredNumberScheduled, currentNumberScheduled,
//     numberMisscheduled, numberReady, numberAvailable, numberUnavailable,
//     updatedNumberScheduled, observedGeneration.
//   - A snapshot's converged DaemonSet keeps its pods (RevisionTracker).
// Thread-safety: runs on its own strand (ControllerLoop).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include "tools/kinema-sim/cluster/controller_loop.h"
#include "tools/kinema-sim/cluster/informer.h"
#include "tools/kinema-sim/cluster/revision_tracker.h"

namespace kinema::sim::cluster {

class DaemonSetController : public ControllerLoop {
 public:
  std::string Name() const override { return "daemonset-controller"; }

 protected:
  Status Setup(SimServer& server) override;
  void Pump() override;
  void Teardown() override;

 private:
  using Key = Informer::Key;
  void OnSet(const ObjectPtr& prev, const ObjectPtr& cur);
  void OnNode(const ObjectPtr& prev, const ObjectPtr& cur);
  void OnPod(const ObjectPtr& prev, const ObjectPtr& cur);
  void DrainAll();
  void Sync(const Key& key);
  void CreatePod(const StoredObject& ds, const std::string& node, const std::string& revision);

  std::unique_ptr<Informer> sets_, nodes_, pods_;
  std::unordered_map<std::string, Key> set_by_uid_;
  std::unordered_map<std::string, std::set<Key>> pods_by_owner_;
  std::set<Key> dirty_;
  RevisionTracker revisions_;
  // Eligible nodes per DaemonSet, recomputed only when nodes or the set's
  // spec change (pod events are far more frequent).
  struct Eligibility {
    long long generation = -1;
    uint64_t nodes_version = 0;
    std::set<std::string> nodes;
  };
  uint64_t nodes_version_ = 1;
  std::map<std::string, Eligibility> eligible_cache_;  // DaemonSet uid -> eligible nodes
};

}  // namespace kinema::sim::cluster
