// Admission policy: the ValidatingAdmissionPolicy (+ binding) that limits
// what the controller's service account may change, generated from the
// permission declarations (permissions.h). deploy/admission-policy.yaml is
// this function's output for the declared permissions (the engine's and every kind's); tests/deploy checks
// the file equals it, so the policy follows the declarations.
//
// What is generated: for every declared permission with update or patch
// verbs and mutable_fields (except the leader Lease), one policy matching
// UPDATE of that resource (or subresource) when the requesting user is the
// service account, with one validation per field that must not change:
//   - every field outside mutable_fields, compared whole against oldObject,
//     at the coarsest level that contains no mutable field (so fields a
//     newer Kubernetes adds under spec, for example, are protected too
//     wherever the whole parent is compared);
//   - "path[prefix]" map fields: keys without the prefix may be neither
//     added, changed nor removed.
// Descending into a field needs its children, from the schema table in
// admission_policy.cc (Deployment, Pod, Node; ObjectMeta, PodTemplateSpec,
// PodSpec as of Kubernetes 1.32); a mutable path the table cannot reach is
// an InvalidArgument naming it.
// Output: YAML, deterministic (declaration order), ending in a newline.
// Thread-safety: pure function.
#pragma once

#include <string>
#include <vector>

#include "engine/common/status.h"
#include "engine/kube/permissions.h"

namespace kinema::kube {

struct AdmissionPolicyOptions {
  std::string name_prefix = "kinema";
  std::string service_account_namespace = "kube-system";
  std::string service_account = "kinema";
};

StatusOr<std::string> RenderAdmissionPolicy(const std::vector<Permission>& declared,
                                            const AdmissionPolicyOptions& options = {});

}  // namespace kinema::kube
