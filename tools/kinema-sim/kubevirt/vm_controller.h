// VmController: the seed environment's VM controller and migration
// controller (rebalance-algorithms.md §3 steps 5–6), in simulated time.
//
// VM lifecycle (every simulation.node-classifier.io/v1alpha1 VirtualMachine
// whose spec.running is not false):
//   - a VM without a live launcher pod gets one (launcher_pod.h; with a
//     node anti-affinity to status.evacuationNodeName when set), scheduled
//     by the sim's scheduler; a snapshot's launcher pods (label
//     vm.kubevirt.io/name) are adopted as they are;
//   - the VM's status mirrors its current pod: phase (Pending, Scheduling =
//     unbound, Scheduled = bound, Running, Failed), nodeName, podName,
//     allocatedCpu/Memory, cpu/memoryUtilization, createdAt and
//     Phase<X> conditions;
//   - a launcher pod deleted outside a migration (kubectl delete, node
//     drain by deletion) loses its finalizer (the VM shuts down) and the VM
//     restarts elsewhere: downtime until the new pod runs;
//   - the report's vms.downtimeSeconds integrates, per VM, the simulated
//     time between losing its Running pod and having a Running pod again.
// Live migration (a VM with status.evacuationNodeName set, by the eviction
// interceptor; at most `kubevirt.parallelMigrations` (default 4) at once):
//   1. a target launcher pod with memory utilization 0 and a required node
//      anti-affinity to the source node (kubernetes.io/hostname NotIn);
//   2. it must be Running on another node within `kubevirt.targetTimeout`
//      (default 30s); otherwise it is deleted, evacuationNodeName cleared
//      and vms.migrationsFailed counted;
//   3. pre-copy: t = min(300 s, memory in Mb / (bandwidth − dirty rate))
//      (300 s when the dirty rate reaches the bandwidth); the bandwidth is
//      `kubevirt.networkBandwidthMbps` (default 10000) divided by the
//      number of migrations leaving the source or arriving at the target;
//      the target's memory utilization ramps linearly to the VM's in ten
//      steps, so both pods' usage counts on their nodes meanwhile;
//   4. the source pod's finalizer is removed and the pod deleted (grace 0);
//      the VM's status gets the target's podName and nodeName, phase
//      Running, evacuationNodeName null; vms.migrations is counted. The VM
//      never stops: a live migration adds no downtime.
// Scenario keys (section `kubevirt`): parallelMigrations, targetTimeout,
// networkBandwidthMbps, maxPreCopy.
// Thread-safety: runs on its own strand (ControllerLoop).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "tools/kinema-sim/cluster/controller_loop.h"
#include "tools/kinema-sim/cluster/informer.h"
#include "tools/kinema-sim/kubevirt/launcher_pod.h"

namespace kinema::sim::kubevirt {

class VmController : public cluster::ControllerLoop {
 public:
  std::string Name() const override { return "kubevirt-vm-controller"; }

 protected:
  Status Setup(SimServer& server) override;
  void Pump() override;
  void Teardown() override;

 private:
  using Key = cluster::Informer::Key;
  struct Migration {
    std::string vm_uid;
    std::string source_pod, source_node, target_pod, target_node;
    SimClock::TimePoint deadline;
    bool precopy = false;  // target running, memory being copied
  };

  void Reconcile(const Key& vm_key, const ObjectPtr& vm);
  void ReconcileMigration(const Key& vm_key, const ObjectPtr& vm, Migration& m);
  void StartPreCopy(const Key& vm_key, Migration& m, const VmShape& shape);
  void RampTarget(const Key& vm_key, const std::string& target, const std::string& utilization);
  void FinishMigration(const Key& vm_key, std::string target);
  void AbandonMigration(const Key& vm_key, const std::string& why);
  bool CreateLauncher(const ObjectPtr& vm, const VmShape& shape, const std::string& avoid_node,
                      const std::string& memory_utilization, std::string* name);
  void ReleasePod(const std::string& ns, const std::string& name, bool delete_it);
  void ClearEvacuation(const Key& vm_key);
  void WriteStatus(const Key& vm_key, const ObjectPtr& vm, const ObjectPtr& pod);
  void TrackDowntime(const Key& vm_key, bool running);
  std::string Suffix();

  std::unique_ptr<cluster::Informer> vms_, pods_;
  std::map<Key, std::set<std::string>> pods_by_vm_;  // (ns, vm) -> pod names
  std::map<Key, Migration> migrations_;
  std::map<Key, SimClock::TimePoint> down_since_;  // VMs that had a Running pod and lost it
  std::set<Key> ever_running_;
  std::set<Key> creating_;  // a launcher create was issued; wait for it to show up
  uint64_t next_suffix_ = 0;
  int parallel_ = 4;
  double target_timeout_ = 30;
  double bandwidth_mbps_ = 10000;
  double max_precopy_ = 300;
};

}  // namespace kinema::sim::kubevirt
