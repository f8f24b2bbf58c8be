// ExplainRescheduling: the rescheduling kind's answer to `kinemactl
// explain ID` (operations.md, "kinemactl additions"), from the journal alone.
// Thread-safety: pure function.
#pragma once

#include "engine/kinds/explanation.h"

namespace kinema::rescheduling {

Explanation ExplainRescheduling(const WorkflowView& view);

}  // namespace kinema::rescheduling
