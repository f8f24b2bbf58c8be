#include "tools/kinema-sim/registry.h"

#include <cstdio>

#include "tools/kinema-sim/admission.h"
#include "tools/kinema-sim/custom_resources.h"

namespace kinema::sim {

namespace {

using Json = nlohmann::json;
using Mutation = ObjectStore::Mutation;

const ResourceType& NamespaceType() {
  return *ResourceRegistry::Default().Find("", "v1", "namespaces");
}

std::string MetaString(const Json& obj, const char* key) {
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return "";
  auto it = m->find(key);
  return it != m->end() && it->is_string() ? it->get<std::string>() : "";
}

bool HasFinalizers(const Json& obj) {
  const auto& md = obj["metadata"];
  return md.contains("finalizers") && md["finalizers"].is_array() && !md["finalizers"].empty();
}

Json ResetStatus(const ResourceType& rt, const Json& obj) {
  if (rt.kind == "Pod") return Json{{"phase", "Pending"}, {"qosClass", PodQosClass(obj)}};
  if (rt.kind == "Namespace") return Json{{"phase", "Active"}};
  if (rt.kind == "PersistentVolumeClaim" || rt.kind == "PersistentVolume") return Json{{"phase", "Pending"}};
  if (rt.kind == "Service") return Json{{"loadBalancer", Json::object()}};
  return Json::object();
}

// The fields of a container a /resize request may change.
Json WithoutResources(Json spec) {
  for (const char* list : {"containers", "initContainers"}) {
    if (spec.contains(list) && spec[list].is_array()) {
      for (auto& c : spec[list]) {
        if (c.is_object()) c.erase("resources");
      }
    }
  }
  return spec;
}

}  // namespace

Registry::Registry(ObjectStore* store, const SimClock* clock)
    : store_(store), clock_(clock), rng_(std::random_device{}()) {}

std::string Registry::NewUid() {
  std::lock_guard<std::mutex> l(rng_mu_);
  uint64_t a = rng_(), b = rng_();
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string Registry::RandomSuffix(size_t n) {
  static const char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::lock_guard<std::mutex> l(rng_mu_);
  std::string s;
  for (size_t i = 0; i < n; ++i) s += kAlphabet[rng_() % (sizeof(kAlphabet) - 1)];
  return s;
}

ApiResult<ObjectPtr> Registry::Create(const ResourceType& rt, const std::string& ns, Json obj, bool dry_run) {
  if (!obj.is_object()) return ApiError::BadRequest("the body of the request must be a JSON object");
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = Json::object();
  auto& md = obj["metadata"];
  std::string kind = obj.value("kind", "");
  std::string api_version = obj.value("apiVersion", "");
  if ((!kind.empty() && kind != rt.kind) || (!api_version.empty() && api_version != rt.ApiVersion())) {
    return ApiError::BadRequest("the API version in the data (" + api_version +
                                ") does not match the expected API version (" + rt.ApiVersion() + ")");
  }
  obj["kind"] = rt.kind;
  obj["apiVersion"] = rt.ApiVersion();
  std::string name = md.value("name", "");
  if (name.empty() && md.contains("generateName") && md["generateName"].is_string()) {
    name = md["generateName"].get<std::string>() + RandomSuffix(5);
    md["name"] = name;
  }
  if (rt.namespaced) {
    std::string body_ns = md.value("namespace", "");
    if (!body_ns.empty() && body_ns != ns) {
      return ApiError::BadRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    md["namespace"] = ns;
    if (store_->Get(NamespaceType(), "", ns) == nullptr) return ApiError::NotFound(NamespaceType(), ns);
  } else {
    md.erase("namespace");
  }
  if (md.contains("resourceVersion") && !md["resourceVersion"].is_null() && md["resourceVersion"] != "") {
    return ApiError::Internal("resourceVersion should not be set on objects to be created");
  }
  md.erase("resourceVersion");
  md.erase("deletionTimestamp");
  md.erase("deletionGracePeriodSeconds");
  md.erase("managedFields");
  md["uid"] = NewUid();
  md["creationTimestamp"] = SimClock::FormatTime(clock_->Now());
  if (rt.uses_generation) md["generation"] = 1;
  else md.erase("generation");
  ApplyDefaults(rt, obj);
  if (FindCustomResource(rt) != nullptr) {
    if (rt.has_status) obj.erase("status");  // a CR with a status subresource drops status on create
  } else if (rt.has_status && rt.kind != "Node") {
    obj["status"] = ResetStatus(rt, obj);
  }
  auto causes = Validate(rt, obj, nullptr);
  if (!causes.empty()) return ApiError::Invalid(rt, name, std::move(causes));
  return store_->Mutate(
      rt, rt.namespaced ? ns : "", name,
      [&](const ObjectPtr& current) -> ApiResult<Mutation> {
        if (current) return ApiError::AlreadyExists(rt, name);
        return Mutation{Mutation::Action::kPut, obj};
      },
      dry_run);
}

ApiResult<Mutation> Registry::PrepareUpdate(const ResourceType& rt, const std::string& ns, const std::string& name,
                                            const StoredObject& current, Json proposed,
                                            const std::string& subresource) {
  if (!proposed.is_object()) return ApiError::BadRequest("the body of the request must be a JSON object");
  if (!proposed.contains("metadata") || !proposed["metadata"].is_object()) proposed["metadata"] = Json::object();
  std::string body_name = MetaString(proposed, "name");
  if (!body_name.empty() && body_name != name) {
    return ApiError::BadRequest("the name of the object (" + body_name + ") does not match the name on the URL (" +
                                name + ")");
  }
  if (rt.namespaced) {
    std::string body_ns = MetaString(proposed, "namespace");
    if (!body_ns.empty() && body_ns != ns) {
      return ApiError::BadRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
  }
  std::string rv = MetaString(proposed, "resourceVersion");
  if (!rv.empty() && rv != std::to_string(current.rv)) return ApiError::StaleResourceVersion(rt, name);

  const Json& cur = current.body;
  Json result;
  if (subresource == "status") {
    result = cur;
    if (proposed.contains("status")) result["status"] = proposed["status"];
    else result.erase("status");
  } else if (subresource == "resize") {
    Json cur_spec = cur.value("spec", Json::object());
    Json new_spec = proposed.value("spec", Json::object());
    if (WithoutResources(cur_spec) != WithoutResources(new_spec)) {
      return ApiError::Invalid(rt, name, {{"FieldValueForbidden", "Forbidden: only cpu and memory resources are mutable", "spec"}});
    }
    result = cur;
    result["spec"] = new_spec;
    // Only cpu and memory may change.
    for (const char* list : {"containers", "initContainers"}) {
      if (!cur_spec.contains(list)) continue;
      for (size_t i = 0; i < cur_spec[list].size(); ++i) {
        Json a = cur_spec[list][i].value("resources", Json::object());
        Json b = new_spec[list][i].value("resources", Json::object());
        for (const char* part : {"requests", "limits"}) {
          Json pa = a.value(part, Json::object()), pb = b.value(part, Json::object());
          pa.erase("cpu"); pa.erase("memory"); pb.erase("cpu"); pb.erase("memory");
          if (pa != pb) {
            return ApiError::Invalid(rt, name, {{"FieldValueForbidden", "Forbidden: only cpu and memory resources are mutable",
                                                 std::string("spec.") + list + "[" + std::to_string(i) + "].resources"}});
          }
        }
      }
    }
    std::string before = PodQosClass(cur), after = PodQosClass(result);
    if (before != after) {
      return ApiError::Invalid(rt, name, {{"FieldValueInvalid", "Invalid value: \"" + after + "\": Pod QOS Class may not change as a result of resizing", "spec"}});
    }
    std::string phase = cur.contains("status") ? cur["status"].value("phase", "") : "";
    if (phase == "Succeeded" || phase == "Failed") {
      return ApiError::Invalid(rt, name, {{"FieldValueForbidden", "Forbidden: Pod is not running (phase " + phase + ")", "spec"}});
    }
  } else {
    result = std::move(proposed);
    auto& md = result["metadata"];
    const auto& cmd = cur["metadata"];
    for (const char* k : {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"}) {
      if (cmd.contains(k)) md[k] = cmd[k];
      else md.erase(k);
    }
    if (rt.has_status) {
      if (cur.contains("status")) result["status"] = cur["status"];
      else result.erase("status");
    }
    if (rt.kind == "Pod") {
      auto causes = ValidatePodSpecUpdate(cur.value("spec", Json::object()), result.value("spec", Json::object()));
      if (!causes.empty()) return ApiError::Invalid(rt, name, std::move(causes));
    }
  }
  result["kind"] = rt.kind;
  result["apiVersion"] = rt.ApiVersion();
  auto& md = result["metadata"];
  md["name"] = name;
  if (rt.namespaced) md["namespace"] = ns;
  md["resourceVersion"] = std::to_string(current.rv);
  ApplyDefaults(rt, result);
  // Compare against the defaulted current object, so that defaulting alone
  // (objects written by controllers bypassing admission) is not a spec change.
  Json cur_defaulted = cur;
  ApplyDefaults(rt, cur_defaulted);
  if (rt.uses_generation && result.value("spec", Json()) != cur_defaulted.value("spec", Json())) {
    md["generation"] = cur["metadata"].value("generation", 0) + 1;
  }
  auto causes = Validate(rt, result, &cur);
  if (!causes.empty()) return ApiError::Invalid(rt, name, std::move(causes));
  bool terminating = md.contains("deletionTimestamp");
  if (terminating && !HasFinalizers(result) &&
      (rt.kind != "Pod" || md.value("deletionGracePeriodSeconds", 0) == 0)) {
    return Mutation{Mutation::Action::kRemove, {}};
  }
  if (result == cur) return Mutation{Mutation::Action::kNone, {}};
  return Mutation{Mutation::Action::kPut, std::move(result)};
}

ApiResult<ObjectPtr> Registry::Update(const ResourceType& rt, const std::string& ns, const std::string& name, Json obj,
                                      const std::string& subresource, bool dry_run) {
  return store_->Mutate(
      rt, rt.namespaced ? ns : "", name,
      [&](const ObjectPtr& current) -> ApiResult<Mutation> {
        if (!current) return ApiError::NotFound(rt, name);
        return PrepareUpdate(rt, ns, name, *current, obj, subresource);
      },
      dry_run);
}

ApiResult<ObjectPtr> Registry::Modify(const ResourceType& rt, const std::string& ns, const std::string& name,
                                      const Editor& edit, const std::string& subresource, bool dry_run) {
  return store_->Mutate(
      rt, rt.namespaced ? ns : "", name,
      [&](const ObjectPtr& current) -> ApiResult<Mutation> {
        if (!current) return ApiError::NotFound(rt, name);
        Json copy = current->body;
        if (auto err = edit(copy)) return *err;
        return PrepareUpdate(rt, ns, name, *current, std::move(copy), subresource);
      },
      dry_run);
}

ApiResult<ObjectPtr> Registry::Patch(const ResourceType& rt, const std::string& ns, const std::string& name,
                                     PatchType type, const std::string& patch, const std::string& subresource,
                                     bool dry_run) {
  return Modify(
      rt, ns, name,
      [&](Json& obj) -> std::optional<ApiError> {
        ApiResult<Json> r = ApiError::Internal("unreachable");
        switch (type) {
          case PatchType::kJson: r = ApplyJsonPatch(obj, patch); break;
          case PatchType::kMerge: r = ApplyMergePatch(obj, patch); break;
          case PatchType::kStrategic: r = ApplyStrategicMergePatch(obj, patch); break;
          default: return ApiError::UnsupportedMediaType("unsupported patch type");
        }
        if (!r.ok()) return r.error();
        obj = std::move(r.value());
        return std::nullopt;
      },
      subresource, dry_run);
}

ApiResult<DeleteOutcome> Registry::Delete(const ResourceType& rt, const std::string& ns, const std::string& name,
                                          const DeleteOptions& opts) {
  bool removed = false;
  auto result = store_->Mutate(
      rt, rt.namespaced ? ns : "", name,
      [&](const ObjectPtr& current) -> ApiResult<Mutation> {
        if (!current) return ApiError::NotFound(rt, name);
        const Json& cur = current->body;
        std::string uid = MetaString(cur, "uid");
        if (!opts.precondition_uid.empty() && opts.precondition_uid != uid) {
          return ApiError::Conflict(rt, name, "Precondition failed: UID in precondition: " + opts.precondition_uid +
                                                  ", UID in object meta: " + uid);
        }
        if (!opts.precondition_rv.empty() && opts.precondition_rv != std::to_string(current->rv)) {
          return ApiError::Conflict(rt, name, "Precondition failed: ResourceVersion in precondition: " +
                                                  opts.precondition_rv + ", ResourceVersion in object meta: " +
                                                  std::to_string(current->rv));
        }
        long long grace = 0;
        if (rt.kind == "Pod") {
          const Json spec = cur.value("spec", Json::object());
          grace = opts.grace_period_seconds ? *opts.grace_period_seconds
                                            : spec.value("terminationGracePeriodSeconds", 30LL);
          std::string phase = cur.contains("status") ? cur["status"].value("phase", "") : "";
          if (spec.value("nodeName", "").empty() || phase == "Succeeded" || phase == "Failed") grace = 0;
          if (grace < 0) grace = 1;
        }
        const auto& md = cur["metadata"];
        if (grace == 0 && !HasFinalizers(cur)) {
          removed = true;
          return Mutation{Mutation::Action::kRemove, {}};
        }
        Json next = cur;
        auto now = clock_->Now();
        if (md.contains("deletionTimestamp")) {
          // Already terminating: only a shorter grace period changes anything.
          long long old_grace = md.value("deletionGracePeriodSeconds", 0LL);
          if (rt.kind != "Pod" || grace >= old_grace) return Mutation{Mutation::Action::kNone, {}};
          if (grace == 0 && !HasFinalizers(cur)) {
            removed = true;
            return Mutation{Mutation::Action::kRemove, {}};
          }
        }
        next["metadata"]["deletionTimestamp"] = SimClock::FormatTime(now + std::chrono::seconds(grace));
        next["metadata"]["deletionGracePeriodSeconds"] = grace;
        if (rt.uses_generation) next["metadata"]["generation"] = md.value("generation", 0) + 1;
        return Mutation{Mutation::Action::kPut, std::move(next)};
      },
      opts.dry_run);
  if (!result.ok()) return result.error();
  if (removed && rt.kind == "Namespace" && !opts.dry_run) {
    // The namespace controller's job, done at once: remove everything inside.
    for (const auto& t : ResourceRegistry::Default().All()) {
      if (!t.namespaced) continue;
      WatchFilter f;
      f.resource = &t;
      f.ns = name;
      for (const auto& obj : store_->List(f).items) {
        store_->Mutate(t, obj->ns, obj->name, [](const ObjectPtr& c) -> ApiResult<Mutation> {
          if (!c) return ApiError::Internal("gone");
          return Mutation{Mutation::Action::kRemove, {}};
        });
      }
    }
  }
  return DeleteOutcome{result.value(), removed};
}

ApiResult<DeleteOutcome> Registry::FinishPodTermination(const std::string& ns, const std::string& name) {
  const ResourceType& rt = *ResourceRegistry::Default().Find("", "v1", "pods");
  bool removed = false;
  auto result = store_->Mutate(rt, ns, name, [&](const ObjectPtr& current) -> ApiResult<Mutation> {
    if (!current) return ApiError::NotFound(rt, name);
    if (!current->body["metadata"].contains("deletionTimestamp")) return Mutation{Mutation::Action::kNone, {}};
    if (!HasFinalizers(current->body)) {
      removed = true;
      return Mutation{Mutation::Action::kRemove, {}};
    }
    if (current->body["metadata"].value("deletionGracePeriodSeconds", 0) == 0) return Mutation{Mutation::Action::kNone, {}};
    Json next = current->body;
    next["metadata"]["deletionGracePeriodSeconds"] = 0;
    return Mutation{Mutation::Action::kPut, std::move(next)};
  });
  if (!result.ok()) return result.error();
  return DeleteOutcome{result.value(), removed};
}

}  // namespace kinema::sim
