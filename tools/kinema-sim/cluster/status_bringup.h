// Status bring-up: what a kubelet posts for objects it finds without the
// status a live cluster would have — a snapshot dumped with `kubectl get -o
// json` and its statuses stripped (operations.md, "kinema-sim additions":
// "Snapshot objects without a status are brought to life as a real cluster
// would").
//
// Contract:
//   - Nodes: a Node whose status has no conditions gets what a starting
//     kubelet posts: Ready=True (KubeletReady, "kubelet is posting ready
//     status"), MemoryPressure/DiskPressure/PIDPressure=False with the
//     kubelet's reasons; when absent, capacity and allocatable (from the
//     catalog's type named by node.kubernetes.io/instance-type; a node of
//     an unknown type gets no invented capacity), addresses (InternalIP,
//     Hostname), nodeInfo and daemonEndpoints. Fields already present are
//     never overwritten. A node that has conditions (Ready=False/Unknown
//     included) is left alone: it says what it is.
//   - Pods: a Running pod (or a bound pod without any phase, which the
//     kubelet starts like a Pending one) gets the missing parts of a running
//     pod's status: the five usual conditions (PodReadyToStartContainers,
//     Initialized, Ready, ContainersReady, PodScheduled, all True), one
//     containerStatus per container (running, ready, started, with
//     `resources` and `allocatedResources` as KEP-1287 GA has them),
//     startTime, hostIP(s), podIP(s), qosClass. Conditions and container
//     statuses that exist are kept; only missing ones (and a container
//     status's missing `resources`/`allocatedResources`) are added, with
//     the pod's startTime (else creationTimestamp) as their time, so a
//     long-running snapshot pod does not look freshly started.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "engine/catalog/catalog.h"
#include "tools/kinema-sim/sim_clock.h"

namespace kinema::sim::cluster {

using Json = nlohmann::json;

// True when the Node has no status conditions at all.
bool NodeNeedsBringUp(const Json& node);
// Fills the missing node status (see above). `catalog` may be null.
void BringUpNodeStatus(Json& node, const Catalog* catalog, const std::string& internal_ip, SimClock::TimePoint now);

// True when a Running pod lacks conditions, container statuses or their
// resources (what BringUpRunningPod would add).
bool RunningPodNeedsBringUp(const Json& pod);
// Fills the missing parts of a Running pod's status (see above); `pod_ip`
// is used only when the pod has none.
void BringUpRunningPod(Json& pod, const std::string& host_ip, const std::string& pod_ip, SimClock::TimePoint now);

// One running container's status as the kubelet posts it at start.
Json RunningContainerStatus(const Json& container, const std::string& started_at, const std::string& container_id);

}  // namespace kinema::sim::cluster
