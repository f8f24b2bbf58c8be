// EvictionInterceptor: KubeVirt's virt-launcher eviction webhook, as the
// seed environment runs it (rebalance-algorithms.md §3 step 2) and as
// KubeVirt's PodEvictionAdmitter words it. A validating webhook on CREATE
// pods/eviction ("virt-launcher-eviction-interceptor.kubevirt.io"):
//   - not a launcher pod (no vm.kubevirt.io/name label, or no such VM):
//     allowed — the ordinary eviction (PDBs) follows;
//   - the VM is already being evacuated (status.evacuationNodeName set):
//     denied 429 `Evacuation in progress: Eviction triggered evacuation of
//     VMI "<ns>/<vm>"`;
//   - the pod is not the VM's current pod (a migration target; its node is
//     not status.nodeName): denied 429 `Eviction request for target Pod`;
//   - otherwise the VM's status.evacuationNodeName is set to the pod's node
//     (not on a dry run) and the eviction is denied 429 with `Eviction
//     triggered evacuation of VMI "<ns>/<vm>"` — what the descheduler (with
//     EvictionsInBackground) and Kinema count as an eviction in progress.
//     The report's evictions.inBackground counts these.
// The apiserver wraps the message: `admission webhook
// "virt-launcher-eviction-interceptor.kubevirt.io" denied the request: ...`.
// Thread-safety: thread-safe (reads the store, writes through the registry).
#pragma once

#include "tools/kinema-sim/admission_webhooks.h"

namespace kinema::sim {
class SimServer;
}

namespace kinema::sim::kubevirt {

inline constexpr const char* kEvictionWebhookName = "virt-launcher-eviction-interceptor.kubevirt.io";

ValidatingWebhook MakeEvictionInterceptor(SimServer* server);

}  // namespace kinema::sim::kubevirt
