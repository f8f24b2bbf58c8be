// The spot-rescheduling workflow kind (seed "K8s Spot Rescheduler"): type
// `spot-rescheduling`, section `spot`, disabled by default, one cycle every
// spot.interval (default 10s, the seed's housekeeping interval). It drains
// nodes, so it runs only when no other node-retiring workflow does.
// Steps: spot_workflow.h; settings: settings.h.
// Thread-safety: see WorkflowKind.
#pragma once

#include <memory>

#include "engine/kinds/workflow_kind.h"
#include "steps/spot/settings.h"

namespace kinema::spot {

std::unique_ptr<WorkflowKind> NewSpotKind();

// The settings a spot kind read from the config (null when `kind` is not
// the spot kind). For tests and tools.
const SpotSettings* SettingsOf(const WorkflowKind* kind);

}  // namespace kinema::spot
