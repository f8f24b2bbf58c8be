#include "tests/support/declared_permissions.h"

#include <cstdlib>

#include "engine/kinds/kind_registry.h"
#include "steps/kinds.h"

namespace kinema::testing_support {

std::vector<kube::Permission> DeclaredPermissions(const std::string& lease_name) {
  KindRegistry kinds;
  Status s = RegisterKinds(&kinds);
  if (!s.ok()) std::abort();
  auto config = kinds.ParseConfig("catalog: catalog.json\nleaderElection:\n  name: " + lease_name + "\n");
  if (!config.ok()) std::abort();
  return kinds.Permissions(*config);
}

}  // namespace kinema::testing_support
