// The RBAC rules this build declares: the engine's plus every registered
// workflow kind's (what deploy/ must grant), for tests that compare them
// with manifests or recorded traffic.
#pragma once

#include <string>
#include <vector>

#include "engine/kube/permissions.h"

namespace kinema::testing_support {

std::vector<kube::Permission> DeclaredPermissions(const std::string& lease_name = "kinema");

}  // namespace kinema::testing_support
