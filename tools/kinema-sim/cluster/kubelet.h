// Kubelet: the simulated kubelets of every node, KWOK-style stages in
// simulated time (k8s-fidelity.md §1 "pod-ready", "pod-delete").
//
// Behaviour:
//   - A pod bound to a Ready node (spec.nodeName set, phase Pending, not
//     terminating) becomes Running after `kubelet.podStartDelay` (default
//     2s): conditions PodReadyToStartContainers, Initialized, Ready,
//     ContainersReady, PodScheduled; containerStatuses (ready, started,
//     state.running.startedAt, allocatedResources, resources); startTime,
//     hostIP(s), podIP(s).
//   - Admission (the kubelet's canAdmitPod, resource fit): a Pending pod
//     bound to the node is rejected when its requests do not fit the node's
//     allocatable beside the pods the kubelet already runs there (Running,
//     terminating ones included: their containers still run) — phase
//     Failed, reason OutOfcpu / OutOfmemory / OutOfpods, message "Pod was
//     rejected: Node didn't have enough resource: cpu, requested: R, used:
//     U, capacity: C" (cpu in millicores, memory in bytes). The scheduler
//     never binds such a pod; a creator that sets spec.nodeName (a room
//     hold, a DaemonSet) can lose this race. Pods of a snapshot dumped
//     without a phase were admitted by the cluster they came from: not
//     checked. Admission is decided when the pod starts, in start order.
//   - A pod it started with spec.activeDeadlineSeconds fails that long after
//     its startTime (phase Failed, reason DeadlineExceeded, the kubelet's
//     message; containers terminated, exit code 137), as the kubelet's
//     active-deadline handler does. Not for pods brought up from a snapshot.
//   - A terminating pod (deletionTimestamp) on a Ready node is removed
//     after min(its grace period, `kubelet.terminationDelay`, default 1s)
//     via Registry::FinishPodTermination (finalizers respected). Pods on a
//     NotReady or vanished node stay terminating (PodGC's job).
//   - Pods of a node that turns NotReady or disappears stop being Ready
//     (Ready=False, reason NodeNotReady — the node lifecycle controller's
//     MarkPodsNotReady); they become Ready again if the node recovers.
//   - Pods that are already Running (e.g. from the snapshot) are not
//     restarted. Snapshot objects dumped without their status are brought
//     to life (status_bringup.h): a Node without conditions gets Ready=True
//     (and capacity from the catalog when it has none), a Running pod
//     without conditions or container statuses gets the usual set, and a
//     bound pod without a phase is started like a Pending one.
//   - In-place resize (KEP-1287): when a Running pod's container resources
//     (spec, changed through pods/resize) differ from what it runs with
//     (containerStatuses[].resources, or the spec it started with), the
//     kubelet admits the new requests if the node's allocatable fits them:
//     Infeasible (PodResizePending reason Infeasible) when the pod alone
//     exceeds allocatable, Deferred (retried every `kubelet.resizeRetry`,
//     default 5s) when the other pods leave no room, else allocatedResources
//     is set with PodResizeInProgress, and after `kubelet.resizeDelay`
//     (default 1s) the containers' resources follow and the condition goes.
//     GA (1.35) details: both conditions carry observedGeneration (the pod
//     generation they answer) and status.observedGeneration follows, so a
//     resize is done when status.observedGeneration == metadata.generation
//     and neither condition is present; messages are the kubelet's ("Node
//     didn't have enough capacity: memory, requested: N, capacity: M",
//     "Node didn't have enough resource: cpu, requested: N, used: U,
//     capacity: C"); a container whose resizePolicy for a changed resource
//     is RestartContainer is restarted (restartCount + 1, lastState
//     terminated). The report counts each outcome once per pod generation
//     (resizes.accepted / deferred / infeasible). With a memory-usage probe
//     (main.cc wires the usage model), lowering a memory limit below the
//     container's (or the pod's) current usage is not actuated:
//     PodResizeInProgress stays with reason Error and the kubelet's "cannot
//     decrease memory limits: ..." message, retried every resizeRetry.
//   - Heartbeats (KEP-589), while a node is Ready=True: its kubelet renews
//     the Lease kube-node-lease/<node> (holderIdentity = node name,
//     leaseDurationSeconds `kubelet.leaseDuration`, default 40s; owned by
//     the Node) every `kubelet.leaseRenewInterval` (default 10s, the real
//     kubelet's 0.25 x lease duration; each node on its own phase), and
//     refreshes lastHeartbeatTime of the Node's conditions every
//     `kubelet.nodeStatusReportFrequency` (default 5m, the real default:
//     the Lease carries liveness). A node that is not Ready=True (the fake
//     cloud marks a node whose instance died Ready=Unknown, playing the node
//     lifecycle controller) has no kubelet: its heartbeats stop, and resume
//     if it turns Ready again. A deleted node's Lease is deleted (the
//     garbage collector's job, by its ownerReference). An interval of 0
//     turns the heartbeat off.
// Replaces the API server's built-in PodTerminator: set
// SimServer::builtin_pod_terminator = false when registering it.
// Thread-safety: runs on its own strand (ControllerLoop).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include "engine/catalog/catalog.h"
#include "tools/kinema-sim/cluster/controller_loop.h"
#include "tools/kinema-sim/cluster/informer.h"
#include "tools/kinema-sim/cluster/workload.h"

namespace kinema::sim::cluster {

class Kubelet : public ControllerLoop {
 public:
  std::string Name() const override { return "kubelet"; }
  double pod_start_delay() const { return start_delay_; }
  // Current memory usage (bytes) of a running container, or nullopt when
  // unknown. With a probe, a resize that lowers a memory limit below the
  // usage is not actuated (1.35's best-effort check). Set before Start().
  using MemoryUsageProbe =
      std::function<std::optional<double>(const std::string& ns, const std::string& pod, const std::string& container)>;
  void SetMemoryUsageProbe(MemoryUsageProbe probe) { memory_probe_ = std::move(probe); }
  double termination_delay() const { return termination_delay_; }
  // Pods another kubelet runs (issue 20: runner/process_kubelet.h, the
  // --run-image pods): this one neither starts, readies nor terminates
  // them. Set before Start().
  void SetRunsElsewhere(std::function<bool(const Json& pod)> fn) { runs_elsewhere_ = std::move(fn); }

 protected:
  Status Setup(SimServer& server) override;
  void Pump() override;
  void Teardown() override;

 private:
  using Key = Informer::Key;
  void OnNode(const ObjectPtr& prev, const ObjectPtr& cur);
  void OnPod(const ObjectPtr& prev, const ObjectPtr& cur);
  void DrainAll();
  void Consider(const Key& key);  // decide what this pod needs next
  void StartPod(const Key& key, const std::string& uid);
  // The kubelet's resource admission of a Pending pod bound to `node`: the
  // {reason, message} of a rejection, or nullopt when it fits.
  std::optional<std::pair<std::string, std::string>> AdmissionRejection(const Json& pod, const std::string& node,
                                                                        const Key& key) const;
  void RejectPod(const Key& key, const std::string& uid, const std::string& reason, const std::string& message);
  // Snapshot objects without a live status (status_bringup.h).
  void BringUpNode(const std::string& node);
  void BringUpPod(const Key& key, const std::string& uid);
  void FinishTermination(const Key& key, const std::string& uid);
  // spec.activeDeadlineSeconds passed since the pod started: the kubelet's
  // active-deadline handler fails it (phase Failed, reason DeadlineExceeded).
  void ExpireActiveDeadline(const Key& key, const std::string& uid);
  void SetPodReady(const Key& key, bool ready);
  void ConsiderResize(const Key& key, const ObjectPtr& pod);
  void FinishResize(const Key& key, const std::string& uid);
  // 1.35's best-effort check before lowering memory limits: the kubelet's
  // error message, or "" when the resize may be actuated.
  std::string MemoryDecreaseError(const Json& pod) const;
  // Counts a resize outcome in the report once per pod generation.
  void CountResizeOutcome(const Key& key, long long generation, const std::string& outcome);
  // Admitted requests of the other pods on `node` that `counts` accepts:
  // cpu (milli), memory (bytes) and how many pods.
  struct NodeUse {
    int64_t cpu = 0, memory = 0, pods = 0;
  };
  NodeUse UseOf(const std::string& node, const Key& except, const std::function<bool(const Json& pod)>& counts) const;
  // Of the active (not finished, not terminating) pods: what a resize is admitted against.
  std::pair<int64_t, int64_t> NodeRequests(const std::string& node, const Key& except) const;
  bool NodeReady(const std::string& node) const;
  std::string NodeIp(const std::string& node) const;
  std::string NextPodIp();
  std::string NextNodeIp();
  // Heartbeats (on the strand).
  void StartHeartbeat(const std::string& node);
  void Heartbeat(const std::string& node, SimClock::TimePoint due);
  void RenewLease(const ObjectPtr& node);
  void ReportNodeStatus(const std::string& node);
  void DeleteLease(const std::string& node);

  double start_delay_ = 2.0;
  double termination_delay_ = 1.0;
  double resize_delay_ = 1.0;
  double resize_retry_ = 5.0;
  double lease_renew_interval_ = 10.0;
  double lease_duration_ = 40.0;
  double node_status_report_ = 300.0;
  std::set<std::string> heartbeating_;  // nodes with a heartbeat queued
  std::unordered_map<std::string, SimClock::TimePoint> status_reported_;  // node -> last lastHeartbeatTime write
  std::set<Key> resizing_;  // resize actuation or retry queued
  std::map<Key, std::pair<long long, std::string>> resize_outcome_;  // last counted (generation, outcome)
  std::unique_ptr<Informer> nodes_, pods_;
  std::unordered_map<std::string, bool> node_ready_;
  std::unordered_map<std::string, std::set<Key>> pods_by_node_;
  std::set<Key> pending_review_;
  std::map<Key, std::string> starting_;     // pod -> uid with a start queued
  std::map<Key, std::string> terminating_;  // pod -> uid with a finish queued
  uint64_t next_ip_ = 0;
  uint64_t next_node_ip_ = 0;
  std::set<std::string> nodes_to_bring_up_;  // nodes without conditions, status to post
  std::unique_ptr<Catalog> catalog_;
  MemoryUsageProbe memory_probe_;         // capacity of nodes that come without one (may be null)
  std::function<bool(const Json& pod)> runs_elsewhere_;
};

}  // namespace kinema::sim::cluster
