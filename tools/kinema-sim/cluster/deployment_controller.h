// DeploymentController: Deployments → ReplicaSets, like kube-controller-
// manager's deployment controller (pkg/controller/deployment/).
//
// Behaviour:
//   - The "new" ReplicaSet is the one whose template equals the
//     Deployment's ignoring pod-template-hash (EqualIgnoreHash), so a
//     snapshot's converged ReplicaSets are adopted and their pods never
//     restarted. Otherwise a new ReplicaSet "<deploy>-<hash>" is created
//     (hash of the template, stable; collisionCount on a name clash) with
//     the pod-template-hash label in its template and selector.
//   - Revisions: deployment.kubernetes.io/revision on the new ReplicaSet
//     (max old revision + 1) and on the Deployment.
//   - RollingUpdate: maxSurge (rounded up) / maxUnavailable (rounded down),
//     defaults 25%/25%, both 0 treated as maxUnavailable 1 like
//     ResolveFenceposts; new RS scaled up within replicas + maxSurge, old
//     ones scaled down only as far as replicas - maxUnavailable available
//     pods allow (unhealthy old replicas first). Recreate: old RSes to 0,
//     wait for their pods, then the new RS.
//   - Old ReplicaSets beyond revisionHistoryLimit are deleted once complete.
//   - status: observedGeneration, replicas, updatedReplicas, readyReplicas,
//     availableReplicas, unavailableReplicas, collisionCount, conditions
//     Available (MinimumReplicasAvailable/Unavailable) and Progressing
//     (NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated,
//     NewReplicaSetAvailable, ProgressDeadlineExceeded after
//     progressDeadlineSeconds without progress) — what `kubectl rollout
//     status` reads.
//   - Report: feeds AvailabilityMeter (below replicas - maxUnavailable),
//     sampled on every change and every simulated second.
// Thread-safety: runs on its own strand (ControllerLoop).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include "tools/kinema-sim/cluster/availability_meter.h"
#include "tools/kinema-sim/cluster/controller_loop.h"
#include "tools/kinema-sim/cluster/informer.h"
#include "tools/kinema-sim/cluster/workload.h"

namespace kinema::sim::cluster {

class DeploymentController : public ControllerLoop {
 public:
  std::string Name() const override { return "deployment-controller"; }

  // The rollout arithmetic (exposed for unit tests).
  struct Fenceposts {
    int max_surge = 0;
    int max_unavailable = 0;
  };
  static Fenceposts ResolveFenceposts(const Json& deployment);
  static int MaxUnavailable(const Json& deployment);  // 0 for Recreate / 0 replicas

 protected:
  Status Setup(SimServer& server) override;
  void Pump() override;
  void Teardown() override;

 private:
  using Key = Informer::Key;
  void OnDeployment(const ObjectPtr& prev, const ObjectPtr& cur);
  void OnReplicaSet(const ObjectPtr& prev, const ObjectPtr& cur);
  void DrainAll();
  void Sync(const Key& key);
  void Tick();

  std::vector<ObjectPtr> OwnedReplicaSets(const StoredObject& d);
  ObjectPtr CreateNewReplicaSet(const StoredObject& d, int replicas, long long revision, Json* status);
  bool ScaleReplicaSet(const ObjectPtr& rs, int replicas, const StoredObject& d);
  int RollingUpdate(const StoredObject& d, const ObjectPtr& new_rs, const std::vector<ObjectPtr>& old_rses);
  void Cleanup(const StoredObject& d, const std::vector<ObjectPtr>& old_rses);

  std::unique_ptr<Informer> deployments_, rs_;
  std::unique_ptr<AvailabilityMeter> meter_;
  std::unordered_map<std::string, Key> deploy_by_uid_;
  std::map<std::string, std::set<Key>> deploy_by_ns_;
  std::unordered_map<std::string, std::set<Key>> rs_by_owner_;
  std::map<std::string, std::set<Key>> orphan_rs_by_ns_;
  std::set<Key> dirty_;
  std::map<Key, SimClock::TimePoint> deadline_checks_;
};

}  // namespace kinema::sim::cluster
