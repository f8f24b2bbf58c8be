// StatefulSet volumeClaimTemplates (issue 20), as kube-controller-manager's
// stateful_set_utils does before creating a member pod:
//   - for each template T the claim "<T>-<set>-<ordinal>" is created if it
//     does not exist (labels: the template's plus the set's selector
//     labels), never changed or deleted afterwards
//     (persistentVolumeClaimRetentionPolicy Retain/Retain, the default;
//     Delete policies are not modelled);
//   - the pod gets a volume named T referring to that claim (replacing a
//     template volume of the same name).
// Thread-safety: call on the controller's strand.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>

#include "tools/kinema-sim/api_error.h"
#include "tools/kinema-sim/object_store.h"
#include "tools/kinema-sim/registry.h"

namespace kinema::sim::cluster {

// Creates the member's missing claims; an error other than AlreadyExists
// fails the pod's creation (retried with the sync).
std::optional<ApiError> EnsureMemberClaims(Registry& registry, const StoredObject& set, int ordinal);
// Adds the claims' volumes to a member pod being created.
void AddClaimVolumes(const nlohmann::json& set, int ordinal, nlohmann::json& pod);

}  // namespace kinema::sim::cluster
