// ReplicaSetController: keeps spec.replicas active pods per ReplicaSet, like
// kube-controller-manager's replicaset controller
// (pkg/controller/replicaset/replica_set.go).
//
// Behaviour:
//   - Creates missing pods from the template (generateName "<rs>-",
//     controller ownerReference, the template's labels incl.
//     pod-template-hash); deletes surplus pods preferring unassigned, then
//     Pending, not-ready, more-crowded-node, shorter-ready, more-restarted,
//     newer pods (controller.ActivePodsWithRanks).
//   - Adopts orphan pods matching its selector and releases owned pods whose
//     labels stopped matching (which it then replaces), as ClaimPods does
//     (controller_ref.h); a pod whose ReplicaSet is gone is deleted (the
//     garbage collector's background propagation).
//   - status: replicas (active pods), fullyLabeledReplicas, readyReplicas,
//     availableReplicas (Ready for spec.minReadySeconds), observedGeneration;
//     re-checked when a pod's minReadySeconds elapse.
// Efficiency: pods indexed by owner uid; a pod event dirties only its owner.
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

class ReplicaSetController : public ControllerLoop {
 public:
  std::string Name() const override { return "replicaset-controller"; }

 protected:
  Status Setup(SimServer& server) override;
  void Pump() override;
  void Teardown() override;

 private:
  using Key = Informer::Key;
  void OnReplicaSet(const ObjectPtr& prev, const ObjectPtr& cur);
  void OnPod(const ObjectPtr& prev, const ObjectPtr& cur);
  void DrainAll();
  void Sync(const Key& key);
  bool NeedsScaleDown(const Key& key) const;
  // ControllerRefManager.ClaimPods: release owned pods that stopped matching,
  // adopt matching orphans of the namespace.
  void ClaimPods(const StoredObject& rs, const LabelSelector& selector);
  void ManageReplicas(const StoredObject& rs, int diff, const std::vector<ObjectPtr>& active);
  void CollectGarbage(const std::string& owner_uid);

  std::unique_ptr<Informer> rs_, pods_;
  std::unordered_map<std::string, Key> rs_by_uid_;
  std::map<std::string, std::set<Key>> rs_by_ns_;
  std::unordered_map<std::string, std::map<Key, ObjectPtr>> pods_by_owner_;  // controller uid -> pods
  std::map<std::string, std::set<Key>> orphans_by_ns_;
  std::set<Key> dirty_;
  std::set<std::string> garbage_owners_;  // removed ReplicaSet uids whose pods must go
  std::map<Key, SimClock::TimePoint> availability_checks_;
};

}  // namespace kinema::sim::cluster
