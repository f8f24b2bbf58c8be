// kinema-admission-policy: writes deploy/admission-policy.yaml to stdout —
// the ValidatingAdmissionPolicy that limits the controller's service account
// to the fields the code declares it changes.
//   kinema-admission-policy [--lease-name NAME] > deploy/admission-policy.yaml
// (tests/deploy fails when the file differs from this output.)
#include <cstdio>
#include <iostream>

#include "engine/common/flags.h"
#include "engine/kube/admission_policy.h"
#include "engine/kube/permissions.h"

using namespace kinema;

// The declared rules deploy/ grants. (When workflow kinds declare their own
// rules, this is their union.)
std::vector<kube::Permission> DeclaredPermissions(const std::string& lease_name) {
  return kube::ControllerPermissions(lease_name);
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
  auto yaml = kube::RenderAdmissionPolicy(DeclaredPermissions(flags.Get("lease-name")));
  if (!yaml.ok()) {
    std::fprintf(stderr, "kinema-admission-policy: %s\n", yaml.status().message().c_str());
    return 1;
  }
  std::cout << *yaml;
  return 0;
}
