// The seed environment's VirtualMachine and its virt-launcher pods
// (../../../../shared/research/rebalance-algorithms.md §3): names, labels,
// annotations and the pod a VM runs in.
//
// A launcher pod (BuildLauncherPod):
//   - name virt-launcher-<vm>-<5 chars>, in the VM's namespace;
//   - labels kubevirt.io/domain=<vm>, vm.kubevirt.io/name=<vm>,
//     app=virt-launcher; a controller ownerReference to the VM; the
//     finalizer kubevirt.io/migration-protection;
//   - annotations simulation.node-classifier.io/vm-cpu-cores,
//     vm-memory-bytes, vm-cpu-utilization, vm-memory-utilization,
//     vm-dirty-rate-mbps (the usage model reads them: the VM's usage is
//     allocation × utilization, so it moves with the pod) and
//     descheduler.alpha.kubernetes.io/request-evict-only: "true";
//   - requests cpu = cores / 10 (KubeVirt's default cpuAllocationRatio of
//     10, which the seed uses) and memory = the VM's memory; no limits;
//   - nodeSelector kubevirt.io/schedulable=true (what KubeVirt puts on its
//     launcher pods; the seed's scenario labels its nodes so);
//   - with `avoid_node`, a required node affinity kubernetes.io/hostname
//     NotIn [avoid_node] (a migration target, or a restart after an
//     evacuation).
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace kinema::sim::kubevirt {

using Json = nlohmann::json;

inline constexpr const char* kAnnotationPrefix = "simulation.node-classifier.io/";
inline constexpr const char* kEvictOnlyAnnotation = "descheduler.alpha.kubernetes.io/request-evict-only";
inline constexpr const char* kFinalizer = "kubevirt.io/migration-protection";
inline constexpr const char* kVmNameLabel = "vm.kubevirt.io/name";
inline constexpr const char* kDomainLabel = "kubevirt.io/domain";
inline constexpr const char* kSchedulableLabel = "kubevirt.io/schedulable";

// The VM's size and behaviour, from its spec (defaults as the CRD's).
struct VmShape {
  double cpu_cores = 0;
  double memory_bytes = 0;
  std::string cpu_utilization = "0.5";
  std::string memory_utilization = "0.8";
  long long dirty_rate_mbps = 800;
};
// InvalidArgument-style message in `error` when spec.resources is unusable.
std::optional<VmShape> ParseVmShape(const Json& vm, std::string* error);

Json BuildLauncherPod(const Json& vm, const VmShape& shape, const std::string& name_suffix,
                      const std::string& avoid_node, const std::string& memory_utilization);

// The VM a pod is the launcher of ("" when it is not a launcher pod).
std::string VmNameOf(const Json& pod);

}  // namespace kinema::sim::kubevirt
