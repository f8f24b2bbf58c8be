#include "engine/kinds/workflow_kind.h"

namespace kinema {

const char* DisruptionClassName(DisruptionClass c) {
  switch (c) {
    case DisruptionClass::kNone: return "none";
    case DisruptionClass::kPodsOnly: return "pods";
    case DisruptionClass::kRetiresNodes: return "nodes";
  }
  return "none";
}

nlohmann::json WorkflowKind::StartInput(const KindStart& start) const { return {{"dryRun", start.dry_run}}; }

}  // namespace kinema
