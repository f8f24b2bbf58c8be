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

// The Node fields the shared steps write (the admission policy frees exactly
// these for nodes): kinema.io/ labels, taints, spec.unschedulable. Kinds that
// update Nodes themselves (the spot taint) declare the same list.
std::vector<std::string> NodeFieldsKinemaChanges();

}  // namespace kinema::execute
