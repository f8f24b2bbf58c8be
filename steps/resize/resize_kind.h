// The in-place resize workflow kind (type inplace-resize, section resize):
// seed "Kubernetes Dynamic Resource Manager". See resize_workflow.h for the
// steps and policy.h for the decisions.
// Thread-safety: see engine/kinds/workflow_kind.h.
#pragma once

#include <memory>

#include "engine/kinds/workflow_kind.h"

namespace kinema::resize {

std::unique_ptr<WorkflowKind> NewResizeKind();

// kinemactl explain for an inplace-resize workflow, from its journal alone.
Explanation ExplainResize(const WorkflowView& view);

}  // namespace kinema::resize
