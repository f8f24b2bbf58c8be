// The load-rebalancing kind's explanation (kinemactl explain): per node its
// score, class and what was evicted from it; per pod evicted, where it went
// (a VM: where it migrated; others: the under-utilized node that fitted it —
// the scheduler decides); the limits that bound the cycle; or why it
// stopped early. From the journaled results alone. Kind-specific JSON:
// average, spread, bounds, mode, predicted, evictions, skipped, pingPong.
#pragma once

#include "engine/kinds/explanation.h"
#include "storage/workflow_view.h"

namespace kinema::rebalance {

Explanation ExplainRebalance(const WorkflowView& view);

}  // namespace kinema::rebalance
