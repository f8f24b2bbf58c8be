// Kubernetes Events about what an iteration does, on the objects it touches
// (reasons: KinemaNodeBooted, KinemaRetiring, KinemaRollout, KinemaNodeRetired,
// KinemaPlanRejected), so `kubectl describe node/deployment` and
// `kubectl get events` tell the story with the numbers.
// Best effort: an Event that cannot be written is logged at warn level and
// never fails a step (the journal is the record; Events are the courtesy).
// Thread-safety: as the kube client (thread-safe).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "steps/rescheduling/rescheduling_workflow.h"

namespace kinema::rescheduling {

// The controller's own Lease (leaderElection.namespace/name), the object
// cluster-wide decisions are reported on.
nlohmann::json ControllerLeaseRef(const ReschedulingDeps& deps);

}  // namespace kinema::rescheduling
