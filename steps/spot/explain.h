// The spot-rescheduling kind's explanation (kinemactl explain), from the
// journaled results alone: per on-demand node whether it was drained (and
// deleted or kept), or why not (a pod must stay, a pod fits on no spot node,
// the budget refused it, the drain stopped because spot capacity changed);
// the pods moved and the spot node planned for each; the budget; the
// on-demand taint changes. Same JSON shape as every kind, plus `spot`:
// {afterDrain?, pendingPods, blocked?, spotTolerantOnDemandPods, tainted,
// untainted, released}.
#pragma once

#include "engine/kinds/explanation.h"
#include "storage/workflow_view.h"

namespace kinema::spot {

Explanation ExplainSpot(const WorkflowView& view);

}  // namespace kinema::spot
