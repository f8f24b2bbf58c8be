#include "tools/kinema-sim/cluster/controller_ref.h"

namespace kinema::sim::cluster {

namespace {

std::string Namespace(const Json& obj) {
  auto md = obj.find("metadata");
  return md != obj.end() && md->is_object() ? md->value("namespace", "") : "";
}

// What the real apiserver answers when a patch's metadata.uid differs from
// the stored object's: the uid is immutable (422 Invalid).
ApiError UidChanged(const ResourceType& rt, const std::string& name, const std::string& want, const std::string& got) {
  return ApiError::Invalid(rt, name,
                           {{"FieldValueInvalid", "Invalid value: \"" + want + "\": field is immutable (now " + got + ")",
                             "metadata.uid"}});
}

}  // namespace

ClaimAction DecideClaim(const Json& controller, const Json& obj, bool matches) {
  bool controller_deleting = IsTerminating(controller);
  if (const Json* ref = ControllerRef(obj)) {
    if (ref->value("uid", "") != Uid(controller)) return ClaimAction::kIgnore;
    if (matches) return ClaimAction::kKeep;
    return controller_deleting ? ClaimAction::kIgnore : ClaimAction::kRelease;
  }
  if (controller_deleting || !matches) return ClaimAction::kIgnore;
  if (IsTerminating(obj)) return ClaimAction::kIgnore;
  std::string ns = Namespace(controller);
  if (!ns.empty() && ns != Namespace(obj)) return ClaimAction::kIgnore;
  return ClaimAction::kAdopt;
}

ApiResult<ObjectPtr> AdoptObject(Registry& registry, const ResourceType& rt, const std::string& ns,
                                 const std::string& name, const std::string& obj_uid, const Json& owner,
                                 const std::string& kind) {
  Json ref = OwnerReference(owner, kind);
  return registry.Modify(
      rt, ns, name,
      [&](Json& obj) -> std::optional<ApiError> {
        if (Uid(obj) != obj_uid) return UidChanged(rt, name, obj_uid, Uid(obj));
        if (ControllerRef(obj)) {
          return ApiError::Invalid(rt, name,
                                   {{"FieldValueInvalid", "Only one reference can have Controller set to true",
                                     "metadata.ownerReferences"}});
        }
        Json& refs = obj["metadata"]["ownerReferences"];
        if (!refs.is_array()) refs = Json::array();
        refs.push_back(ref);
        return std::nullopt;
      },
      "");
}

ApiResult<ObjectPtr> ReleaseObject(Registry& registry, const ResourceType& rt, const std::string& ns,
                                   const std::string& name, const std::string& obj_uid, const std::string& owner_uid) {
  bool nothing = false;
  auto r = registry.Modify(
      rt, ns, name,
      [&](Json& obj) -> std::optional<ApiError> {
        if (Uid(obj) != obj_uid) return UidChanged(rt, name, obj_uid, Uid(obj));
        auto md = obj.find("metadata");
        if (md == obj.end() || !md->contains("ownerReferences") || !(*md)["ownerReferences"].is_array()) {
          nothing = true;
          return ApiError::NotFound(rt, name);  // aborts the write; mapped to "nothing to release"
        }
        Json kept = Json::array();
        for (const auto& ref : (*md)["ownerReferences"]) {
          if (!(ref.is_object() && ref.value("uid", "") == owner_uid)) kept.push_back(ref);
        }
        if (kept.size() == (*md)["ownerReferences"].size()) {
          nothing = true;
          return ApiError::NotFound(rt, name);
        }
        if (kept.empty()) {
          md->erase("ownerReferences");
        } else {
          (*md)["ownerReferences"] = std::move(kept);
        }
        return std::nullopt;
      },
      "");
  if (r.ok()) return r;
  if (nothing || r.error().code == 404 || r.error().reason == "Invalid") return ObjectPtr();
  return r;
}

}  // namespace kinema::sim::cluster
