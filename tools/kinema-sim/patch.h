// The three Kubernetes patch formats, applied to a JSON object.
//
//  - JSON patch (RFC 6902, application/json-patch+json).
//  - JSON merge patch (RFC 7386, application/merge-patch+json): null deletes a
//    key, lists are replaced whole.
//  - Strategic merge patch (application/strategic-merge-patch+json) for the
//    built-in kinds: lists with a patch merge key (containers, env, volumes,
//    conditions, ownerReferences, ...) merge element-wise by that key;
//    `finalizers` merges as a set; every other list, including the
//    `+listType=atomic` ones (tolerations, taints, nodeSelectorTerms,
//    preferred/required affinity terms), is replaced whole. Directives:
//    `$patch: replace|delete|merge`, `$retainKeys`, `$setElementOrder/<f>`,
//    `$deleteFromPrimitiveList/<f>`.
//
// Errors: a patch that is not valid JSON of the right shape is 400 BadRequest;
// a well-formed patch that cannot be applied (missing path, failed `test`) is
// 422 Invalid-style (reason "Invalid"), as the apiserver reports.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "tools/kinema-sim/api_error.h"

namespace kinema::sim {

enum class PatchType { kJson, kMerge, kStrategic, kApply, kUnknown };

// Maps a Content-Type (parameters ignored) to a PatchType.
PatchType PatchTypeFromContentType(const std::string& content_type);

ApiResult<nlohmann::json> ApplyJsonPatch(const nlohmann::json& original, const std::string& patch_text);
ApiResult<nlohmann::json> ApplyMergePatch(const nlohmann::json& original, const std::string& patch_text);
ApiResult<nlohmann::json> ApplyStrategicMergePatch(const nlohmann::json& original, const std::string& patch_text);
// Same, with an already-parsed patch object.
ApiResult<nlohmann::json> ApplyStrategicMergePatchJson(const nlohmann::json& original, const nlohmann::json& patch);

}  // namespace kinema::sim
