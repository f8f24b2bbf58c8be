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
//   - Pod ownership follows ControllerRefManager.ClaimPods with the
//     isMemberOf filter (controller_ref.h): orphan pods of the namespace
//     whose labels match spec.selector and whose name is "<set>-<ordinal>"
//     are adopted (not while the set or the pod is being deleted; a fresh
//     read of the set guards the adoption); owned pods that no longer
//     match (labels or name) are released. A create that fails (e.g.
//     AlreadyExists: a released pod still holds "<set>-<ordinal>") fails
//     the sync, which is retried with the workqueue's exponential backoff
//     (5 ms doubling, at most 1000 s, simulated time) until it succeeds.
// Thread-safety: runs on its own strand (ControllerLoop).
#pragma once

#include <map>
#include <memory>
#include <optional>
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
  // Adopts / releases pods (ClaimPods). False when the sync must stop
  // (invalid selector, or the set was deleted or replaced meanwhile).
  bool ClaimPods(const StoredObject& set);
  // Null on success; the apiserver's error otherwise (logged).
  std::optional<ApiError> CreatePod(const StoredObject& set, int ordinal, const std::string& revision);
  // A failed sync: run it again after the rate limiter's backoff.
  void RetryLater(const Key& key);

  std::unique_ptr<Informer> sets_, pods_;
  std::unordered_map<std::string, Key> set_by_uid_;
  std::unordered_map<std::string, std::set<Key>> pods_by_owner_;
  std::map<std::string, std::set<Key>> sets_by_ns_;
  std::map<std::string, std::set<Key>> orphans_by_ns_;  // pods without a controller
  std::map<Key, int> sync_failures_;                    // consecutive failed syncs (backoff exponent)
  std::set<Key> retry_pending_;
  std::set<Key> dirty_;
  RevisionTracker revisions_;
  std::map<Key, SimClock::TimePoint> availability_checks_;
};

}  // namespace kinema::sim::cluster
