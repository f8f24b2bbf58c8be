// The RBAC rules the shared execution steps need; a kind that uses a step
// declares that step's rules (the kind registry unions them).
// Thread-safety: pure functions.
#pragma once

#include <vector>

#include "engine/kube/permissions.h"

namespace kinema::execute {

std::vector<kube::Permission> NodeBootPermissions();        // node-boot (and its compensation)
std::vector<kube::Permission> NodeMarkingPermissions();     // labeling (and its compensation)
std::vector<kube::Permission> WorkloadMovePermissions();    // deployment-patch (and its compensation)
std::vector<kube::Permission> NodeRetirementPermissions();  // drain-and-delete

}  // namespace kinema::execute
