// Subresources with their own semantics (the /status and /resize writes are
// plain Registry updates):
//   - pods/eviction (policy/v1 Eviction): the real server's PDB checks —
//     pending/terminal/terminating pods skip them; more than one matching PDB
//     is 500; a PDB not yet observed (observedGeneration < generation) or with
//     disruptionsAllowed == 0 is 429 TooManyRequests with a DisruptionBudget
//     cause; negative budgets 403. On success disruptionsAllowed is
//     decremented and the pod recorded in status.disruptedPods (atomically),
//     the pod gets the DisruptionTarget condition and is deleted with the
//     eviction's DeleteOptions; the answer is 201 Status Success.
//     Unready pods follow unhealthyPodEvictionPolicy (IfHealthyBudget default).
//   - pods/binding: sets spec.nodeName once (409 if already bound).
//   - {deployments,replicasets,statefulsets}/scale: autoscaling/v1 Scale view
//     of spec.replicas / status.replicas / selector; PUT and PATCH.
// Thread-safety: thread-safe (state lives in the store).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "tools/kinema-sim/api_error.h"
#include "tools/kinema-sim/patch.h"
#include "tools/kinema-sim/registry.h"
#include "tools/kinema-sim/sim_stats.h"

namespace kinema::sim {

// Returns the 201 Status body on success.
ApiResult<nlohmann::json> EvictPod(Registry* registry, SimStats* stats, const std::string& ns, const std::string& name,
                                   const std::string& body);
ApiResult<nlohmann::json> BindPod(Registry* registry, const std::string& ns, const std::string& name,
                                  const std::string& body);

nlohmann::json ScaleOf(const StoredObject& parent);
ApiResult<nlohmann::json> UpdateScale(Registry* registry, const ResourceType& rt, const std::string& ns,
                                      const std::string& name, const std::string& body, PatchType patch_type,
                                      bool is_patch, bool dry_run);

}  // namespace kinema::sim
