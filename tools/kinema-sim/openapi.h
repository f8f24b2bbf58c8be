// Minimal OpenAPI v3 documents (/openapi/v3 and /openapi/v3/<gv path>).
// kubectl create/replace/apply with --validate=strict (the default) probe
// them for the `fieldValidation` query parameter on each kind's PATCH
// operation; finding it, kubectl relies on server-side validation instead of
// downloading schemas. The documents carry paths and operations only, no
// schemas (clients that need schemas fall back to their compiled-in types).
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>

namespace kinema::sim {

std::string OpenApiV3Root();
// `gv_path` is "api/v1" or "apis/apps/v1"; nullopt when not served.
std::optional<std::string> OpenApiV3GroupVersion(const std::string& gv_path);

}  // namespace kinema::sim
