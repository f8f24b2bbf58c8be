// StatefulSetController: ordered pods <name>-0..N-1, like
// kube-controller-manager's statefulset controller
// (pkg/controller/statefulset/stateful_set_control.go).
//
// Behaviour:
//   - OrderedReady (default): creates the lowest missing ordinal only when
//     every lower one is Running and Ready; scales down from the highest
//     ordinal, one at a time, when all others are Ready. Parallel: creates
//     and deletes all at once.
//   - RollingUpdate: once all pods are Running and Ready, deletes the
//     highest-ordinal pod (>= partition) not at updateRevision; it is
//     recreated from the new template (one at a time). OnDelete: pods are
//     replaced only when deleted by someone else.
//   - Pods get labels controller-revision-hash, statefulset.kubernetes.io/
//     pod-name, apps.kubernetes.io/pod-index, hostname and subdomain.
//   - status: observedGeneration, replicas, readyReplicas,
//     availableReplicas (minReadySeconds), currentReplicas,
//     updatedReplicas, currentRevision, updateRevision (currentRevision
//     follows updateRevision once every pod is updated), collisionCount.
//   - A snapshot's converged set keeps its pods (RevisionTracker).
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

class StatefulSetController : public ControllerLoop {
 public:
  std::string Name() const override { return "statefulset-controller"; }

 protected:
  Status Setup(SimServer& server) override;
  void Pump() override;
  void Teardown() override;

 private:
  using Key = Informer::Key;
  void OnSet(const ObjectPtr& prev, const ObjectPtr& cur);
  void OnPod(const ObjectPtr& prev, const ObjectPtr& cur);
  void DrainAll();
  void Sync(const Key& key);
  bool CreatePod(const StoredObject& set, int ordinal, const std::string& revision);

  std::unique_ptr<Informer> sets_, pods_;
  std::unordered_map<std::string, Key> set_by_uid_;
  std::unordered_map<std::string, std::set<Key>> pods_by_owner_;
  std::set<Key> dirty_;
  RevisionTracker revisions_;
  std::map<Key, SimClock::TimePoint> availability_checks_;
};

}  // namespace kinema::sim::cluster
