// ControllerRef management: which objects a controller owns, adopts or
// releases, after kube-controller-manager's ControllerRefManager
// (kubernetes/kubernetes pkg/controller/controller_ref_manager.go,
// ClaimObject / AdoptPod / ReleasePod).
//
// Contract:
//   - DecideClaim() is a pure function of the controller, the object and
//     whether the object matches the controller (selector and any filter,
//     e.g. StatefulSet membership by name):
//       owned by another controller            -> kIgnore
//       owned by us, matches                   -> kKeep
//       owned by us, no match, we are deleting -> kIgnore
//       owned by us, no match                  -> kRelease
//       orphan, we are deleting or no match    -> kIgnore
//       orphan being deleted / other namespace -> kIgnore
//       orphan, matches                        -> kAdopt
//   - AdoptObject() / ReleaseObject() are atomic read-modify-writes through
//     the Registry (like the real strategic-merge patches with a uid
//     precondition): they change only metadata.ownerReferences of the
//     current stored object, so concurrent updates are never lost. Adopt
//     fails with Conflict if the object's uid changed (recreated under the
//     same name) or it meanwhile got a controller; Release succeeds as a
//     no-op when the object is gone, was recreated, or no longer refers to
//     the owner (the real ReleasePod ignores NotFound and Invalid).
// Thread-safety: stateless functions; the Registry serializes the writes.
#pragma once

#include <string>

#include "tools/kinema-sim/cluster/workload.h"
#include "tools/kinema-sim/registry.h"

namespace kinema::sim::cluster {

enum class ClaimAction { kIgnore, kKeep, kAdopt, kRelease };

// `controller` and `obj` are full objects (metadata.uid, namespace,
// deletionTimestamp, ownerReferences are read).
ClaimAction DecideClaim(const Json& controller, const Json& obj, bool matches);

// Adds `owner`'s controller reference (apiVersion from the owner, `kind`,
// name, uid, controller: true, blockOwnerDeletion: true) to the stored
// object `name` whose uid must still be `obj_uid`.
ApiResult<ObjectPtr> AdoptObject(Registry& registry, const ResourceType& rt, const std::string& ns,
                                 const std::string& name, const std::string& obj_uid, const Json& owner,
                                 const std::string& kind);

// Removes every ownerReference to `owner_uid` from the stored object `name`
// whose uid must still be `obj_uid`. Returns the updated object, or a null
// ObjectPtr when there was nothing to release (gone, recreated, or not
// referring to the owner any more).
ApiResult<ObjectPtr> ReleaseObject(Registry& registry, const ResourceType& rt, const std::string& ns,
                                   const std::string& name, const std::string& obj_uid, const std::string& owner_uid);

}  // namespace kinema::sim::cluster
