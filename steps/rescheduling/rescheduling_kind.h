// The rescheduling workflow kind (seed "KINEMA"): type
// `kinema-rescheduling`, section `rescheduling`, enabled by default, one
// iteration every rescheduling.interval (default 5m; the legacy
// loop.cooldown is an alias). It retires nodes, so at most one node-retiring
// workflow runs beside it. Steps: rescheduling_workflow.h.
// Thread-safety: see WorkflowKind.
#pragma once

#include <memory>

#include "engine/kinds/workflow_kind.h"
#include "steps/rescheduling/settings.h"

namespace kinema::rescheduling {

std::unique_ptr<WorkflowKind> NewReschedulingKind();

// The settings a rescheduling kind read from the config (null when `kind`
// is not the rescheduling kind). For tests and tools.
const ReschedulingSettings* SettingsOf(const WorkflowKind* kind);

}  // namespace kinema::rescheduling
