// Applying the prediction step's journaled planning requests to a snapshot.
//
// `adjustments` is the prediction step's result["adjustments"]:
//   {"<namespace>/<Kind>/<name>": {"<container>": {"cpu": "250m", "memory": "268435456"}}}
// with Kind Deployment or StatefulSet. Each Running/Pending pod of such a
// workload (pod → ReplicaSet → Deployment, or pod → StatefulSet, through the
// snapshot's ownerReferences) gets those container requests in the planner's
// copy of the snapshot; the cluster itself is never changed. Working from
// the journaled JSON (not a live query) keeps a re-run optimization step on
// the same numbers.
// Returns the number of container requests changed.
// Thread-safety: pure.
#pragma once

#include <nlohmann/json.hpp>

namespace kinema::rescheduling {

int ApplyAdjustments(const nlohmann::json& adjustments, nlohmann::json* snapshot_list);

// Pod-level planning requests handed over by other kinds: the workflow
// input's `requests` (the kind scheduler's [{requestId, input}]) whose input
// is an inplace-resize hand-off {"resize": {"pods": [{namespace, name,
// wanted: {"<container>": {"cpu": "...", "memory": "..."}}}]}} (a scale-up
// the node could not fit, Deferred or Infeasible). Returns
// {"<namespace>/<pod>": {"<container>": {"cpu": .., "memory": ..}}}; items
// of another shape are ignored (they are other kinds' requests).
nlohmann::json PodAdjustmentsFromRequests(const nlohmann::json& workflow_input);

// Sets those container requests on the named pods of the planner's copy of
// the snapshot (never lowering a request): the plan then places each pod
// where its wanted size fits. Returns the number of requests changed.
int ApplyPodAdjustments(const nlohmann::json& pod_adjustments, nlohmann::json* snapshot_list);

// Multiplies every container's cpu and memory request of the Pods in the
// planner's copy of the snapshot by (1 + fraction): the plan then leaves
// that much slack per node for the scheduler, whose own (spreading) choices
// differ from the plan's packing — without it the last pods of a move can
// find no node with room although the plan's sum fits. Returns the number of
// requests changed; unparseable quantities are left as they are.
int InflateRequests(double fraction, nlohmann::json* snapshot_list);

}  // namespace kinema::rescheduling
