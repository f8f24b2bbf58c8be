// The apiserver's bootstrap RBAC policy, the part every client relies on
// (plugin/pkg/auth/authorizer/rbac/bootstrappolicy): ClusterRoles
// cluster-admin, system:discovery, system:public-info-viewer and
// system:basic-user, bound to group system:masters (cluster-admin) and
// system:authenticated (the others; public-info-viewer also to
// system:unauthenticated). Objects carry the real label
// kubernetes.io/bootstrapping=rbac-defaults and the autoupdate annotation.
// Created if absent (a snapshot may hold its own).
// Thread-safety: call once, before serving.
#pragma once

#include "engine/common/status.h"
#include "tools/kinema-sim/registry.h"

namespace kinema::sim::rbac {

Status EnsureBootstrapPolicy(Registry* registry);

}  // namespace kinema::sim::rbac
