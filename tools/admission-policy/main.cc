// kinema-admission-policy: writes deploy/admission-policy.yaml to stdout —
// the ValidatingAdmissionPolicy that limits the controller's service account
// to the fields the code declares it changes.
//   kinema-admission-policy [--lease-name NAME] > deploy/admission-policy.yaml
// (tests/deploy fails when the file differs from this output.)
#include <cstdio>
#include <iostream>

#include "engine/common/flags.h"
#include "engine/kube/admission_policy.h"
#include "engine/kinds/kind_registry.h"
#include "engine/kube/permissions.h"
#include "steps/kinds.h"

using namespace kinema;

// The declared rules deploy/ grants: the engine's and every registered
// workflow kind's (the same union tests/deploy compares with the manifests).
StatusOr<std::vector<kube::Permission>> DeclaredPermissions(const std::string& lease_name) {
  KindRegistry kinds;
  KINEMA_RETURN_IF_ERROR(RegisterKinds(&kinds));
  auto config = kinds.ParseConfig("catalog: catalog.json\nleaderElection:\n  name: " + lease_name + "\n");
  if (!config.ok()) return config.status();
  return kinds.Permissions(*config);
}

int main(int argc, char** argv) {
  FlagSet flags;
  flags.AddString("lease-name", "kinema", "leaderElection.name");
  flags.AddBool("help", "show this help");
  Status ps = flags.Parse(std::vector<std::string>(argv + 1, argv + argc), 0);
  if (!ps.ok()) {
    std::fprintf(stderr, "kinema-admission-policy: %s (see --help)\n", ps.message().c_str());
    return 2;
  }
  if (flags.GetBool("help")) {
    std::cout << "Usage: kinema-admission-policy [--lease-name NAME] > deploy/admission-policy.yaml\n"
              << flags.Usage();
    return 0;
  }
  auto declared = DeclaredPermissions(flags.Get("lease-name"));
  if (!declared.ok()) {
    std::fprintf(stderr, "kinema-admission-policy: %s\n", declared.status().message().c_str());
    return 1;
  }
  auto yaml = kube::RenderAdmissionPolicy(*declared);
  if (!yaml.ok()) {
    std::fprintf(stderr, "kinema-admission-policy: %s\n", yaml.status().message().c_str());
    return 1;
  }
  std::cout << *yaml;
  return 0;
}
