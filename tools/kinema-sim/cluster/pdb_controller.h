// PdbController: PodDisruptionBudget status, like kube-controller-manager's
// disruption controller (pkg/controller/disruption/disruption.go), plus the
// report's pdbViolations count.
//
// Status: currentHealthy (matching pods that are Ready, not terminating and
// not in disruptedPods younger than 2 min), desiredHealthy and expectedPods
// (integer minAvailable: minAvailable and the number of matching pods;
// percentage minAvailable or maxUnavailable: from the scale of the pods'
// controllers — Deployment via its ReplicaSet, ReplicaSet, StatefulSet —
// percentages rounded up; a pod without a controller counts as 1),
// disruptionsAllowed = max(0, currentHealthy - desiredHealthy),
// disruptedPods pruned of deleted/terminating/expired entries,
// condition DisruptionAllowed (SufficientPods/InsufficientPods),
// observedGeneration. Consistent with the eviction subresource
// (subresources.cc): an empty selector matches no pod.
//
// pdbViolations: a PDB is broken when expectedPods > 0 and fewer matching
// pods are Ready-and-not-terminating than desiredHealthy. One violation is
// counted for each sync that finds it broken after a matching healthy pod
// was lost to something other than the simulator failing it — deletion,
// eviction, relabelling while its node is Ready. Pods the simulator failed
// (turned not-Ready, or lost while their node is NotReady or gone) never
// count, and neither does the state the snapshot starts in.
// Thread-safety: runs on its own strand (ControllerLoop).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include "tools/kinema-sim/cluster/controller_loop.h"
#include "tools/kinema-sim/cluster/informer.h"
#include "tools/kinema-sim/cluster/workload.h"
#include "tools/kinema-sim/selectors.h"

namespace kinema::sim::cluster {

class PdbController : public ControllerLoop {
 public:
  std::string Name() const override { return "disruption-controller"; }

 protected:
  Status Setup(SimServer& server) override;
  void Pump() override;
  void Teardown() override;

 private:
  using Key = Informer::Key;
  // Per-budget counters kept up to date on every pod event, so a sync costs
  // O(owners + disruptedPods), not O(matching pods).
  struct Budget {
    bool has_selector = false;
    LabelSelector selector;
    std::set<Key> members;
    int healthy = 0;          // members Ready and not terminating
    int uncontrolled = 0;     // members without a ReplicaSet/StatefulSet controller
    std::map<std::string, std::pair<Json, int>> owners;  // controller uid -> (ref, member count)
    bool non_sim_loss = false;
  };
  void AddMember(Budget& b, const ObjectPtr& pod, int sign);
  void OnPdb(const ObjectPtr& prev, const ObjectPtr& cur);
  void OnPod(const ObjectPtr& prev, const ObjectPtr& cur);
  void OnNode(const ObjectPtr& prev, const ObjectPtr& cur);
  void DrainAll();
  void Sync(const Key& key);
  bool Matches(const Budget& b, const ObjectPtr& pod) const;
  bool NodeReady(const std::string& node) const;
  int ExpectedScale(const Budget& b, const std::string& ns);

  std::unique_ptr<Informer> pdbs_, pods_, nodes_;
  std::map<Key, Budget> budgets_;
  std::map<std::string, std::set<Key>> pdbs_by_ns_;
  std::map<std::string, std::set<Key>> pods_by_ns_;
  std::unordered_map<std::string, bool> node_ready_;
  std::set<Key> dirty_;
  std::map<Key, SimClock::TimePoint> rechecks_;
};

}  // namespace kinema::sim::cluster
