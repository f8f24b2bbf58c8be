// OpenAPI documents: /openapi/v2 (Swagger 2.0) and /openapi/v3[/<gv>]
// (OpenAPI 3.0), generated from the resource table.
//
// What kubectl does with them, and what they therefore carry:
//   - `kubectl apply/create/replace` (validate=strict by default) first
//     probe the v3 document of the kind's group-version for the
//     `fieldValidation` query parameter on its PATCH operation; the paths
//     carry it.
//   - Client-side validation (`--validate` against a server that does not
//     advertise fieldValidation, and kubectl's schema cache) reads the v2
//     `definitions`: every served kind has one, tagged with
//     `x-kubernetes-group-version-kind`, with the real definition names
//     (io.k8s.api.core.v1.Pod ...). ObjectMeta (with OwnerReference) is
//     complete; so are the small kinds an in-cluster deployment uses
//     (ConfigMap, Secret, ServiceAccount, Role/ClusterRole with PolicyRule,
//     RoleBinding/ClusterRoleBinding with RoleRef and Subject) — unknown or
//     mistyped fields there are reported as kubectl reports them. The
//     `spec`/`status` of the other kinds are open objects (type object, no
//     properties: kubectl accepts any content there, as for a CRD with
//     x-kubernetes-preserve-unknown-fields).
//   - The v3 group-version documents carry the same schemas under
//     components/schemas (`kubectl explain` reads them).
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>

namespace kinema::sim {

std::string OpenApiV2();
std::string OpenApiV3Root();
// `gv_path` is "api/v1" or "apis/apps/v1"; nullopt when not served.
std::optional<std::string> OpenApiV3GroupVersion(const std::string& gv_path);

}  // namespace kinema::sim
