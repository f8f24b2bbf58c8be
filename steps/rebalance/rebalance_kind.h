// The load-rebalancing workflow kind (seed "Kubernetes Descheduler with
// Prometheus Integration"): type `load-rebalancing`, section `rebalance`,
// off by default, one cycle every rebalance.interval (default 60s, the
// seed's descheduling interval). It evicts pods (kPodsOnly): it runs beside
// a node-retiring workflow on other nodes and pods. Disruption reason
// `rebalance`; eviction limits rebalance.evictionLimits (default 2 per
// node, 5 per namespace, 5 per cycle). Steps: rebalance_workflow.h.
// Thread-safety: see WorkflowKind.
#pragma once

#include <memory>

#include "engine/kinds/workflow_kind.h"
#include "steps/rebalance/settings.h"

namespace kinema::rebalance {

std::unique_ptr<WorkflowKind> NewRebalanceKind();

// The settings a rebalance kind read (null when `kind` is not one).
const RebalanceSettings* SettingsOf(const WorkflowKind* kind);

}  // namespace kinema::rebalance
