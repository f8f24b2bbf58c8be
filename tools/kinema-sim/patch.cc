#include "tools/kinema-sim/patch.h"

#include <algorithm>
#include <vector>

namespace kinema::sim {

namespace {

ApiError PatchInvalid(const std::string& message) {
  ApiError e;
  e.code = 422;
  e.reason = "Invalid";
  e.message = message;
  return e;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// ---- strategic merge patch -------------------------------------------------

enum class ListStrategy { kReplace, kMergeByKey, kMergePrimitive };

struct ListRule {
  ListStrategy strategy;
  std::string merge_key;
};

// The patch strategy of a list field, from kubernetes/api core/v1 and apps/v1
// struct tags. `parent` is the name of the field holding the list's parent
// object (used where a field name is ambiguous).
ListRule RuleFor(const std::string& field, const std::string& parent) {
  static const std::pair<const char*, const char*> kByKey[] = {
      {"containers", "name"},     {"initContainers", "name"},      {"ephemeralContainers", "name"},
      {"env", "name"},            {"volumes", "name"},             {"imagePullSecrets", "name"},
      {"volumeMounts", "mountPath"}, {"volumeDevices", "devicePath"}, {"resizePolicy", "resourceName"},
      {"hostAliases", "ip"},      {"conditions", "type"},          {"addresses", "type"},
      {"ownerReferences", "uid"}, {"podIPs", "ip"},                {"hostIPs", "ip"},
      {"topologySpreadConstraints", "topologyKey"}, {"images", "names"},
  };
  if (field == "finalizers") return {ListStrategy::kMergePrimitive, ""};
  if (field == "ports" && (parent == "containers" || parent == "initContainers" || parent == "ephemeralContainers")) {
    return {ListStrategy::kMergeByKey, "containerPort"};
  }
  for (const auto& [f, key] : kByKey) {
    if (field == f) return {ListStrategy::kMergeByKey, key};
  }
  // tolerations, taints, nodeSelectorTerms, *DuringScheduling*, args, command, ...
  return {ListStrategy::kReplace, ""};
}

bool IsDirectiveKey(const std::string& k) { return !k.empty() && k[0] == '$'; }

// Removes every "$..." key and "{$patch: ...}" list element, recursively.
nlohmann::json StripDirectives(const nlohmann::json& v) {
  if (v.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (IsDirectiveKey(it.key())) continue;
      out[it.key()] = StripDirectives(it.value());
    }
    return out;
  }
  if (v.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : v) {
      if (e.is_object() && e.size() == 1 && e.contains("$patch")) continue;
      out.push_back(StripDirectives(e));
    }
    return out;
  }
  return v;
}

struct Deleted {};  // marker: the map asked to be deleted

ApiResult<nlohmann::json> MergeValue(const nlohmann::json* orig, const nlohmann::json& patch,
                                     const std::string& field, const std::string& parent, bool* deleted);

void ApplyElementOrder(nlohmann::json& list, const nlohmann::json& order, const ListRule& rule) {
  if (!list.is_array() || !order.is_array()) return;
  nlohmann::json sorted = nlohmann::json::array();
  std::vector<bool> used(list.size(), false);
  for (const auto& o : order) {
    for (size_t i = 0; i < list.size(); ++i) {
      if (used[i]) continue;
      bool same = rule.strategy == ListStrategy::kMergeByKey
                      ? (list[i].is_object() && o.is_object() && list[i].value(rule.merge_key, nlohmann::json()) ==
                                                                      o.value(rule.merge_key, nlohmann::json()))
                      : list[i] == o;
      if (same) {
        sorted.push_back(list[i]);
        used[i] = true;
        break;
      }
    }
  }
  for (size_t i = 0; i < list.size(); ++i) {
    if (!used[i]) sorted.push_back(list[i]);
  }
  list = std::move(sorted);
}

ApiResult<nlohmann::json> MergeList(const nlohmann::json* orig, const nlohmann::json& patch,
                                    const std::string& field, const std::string& parent) {
  ListRule rule = RuleFor(field, parent);
  // An explicit {"$patch": "replace"} element replaces the list whatever the rule.
  for (const auto& e : patch) {
    if (e.is_object() && e.value("$patch", "") == "replace") return StripDirectives(patch);
  }
  if (rule.strategy == ListStrategy::kReplace || orig == nullptr || !orig->is_array()) {
    if (rule.strategy == ListStrategy::kMergeByKey || rule.strategy == ListStrategy::kMergePrimitive) {
      // Nothing to merge with: drop delete directives, keep the rest.
      nlohmann::json out = nlohmann::json::array();
      for (const auto& e : patch) {
        if (e.is_object() && e.value("$patch", "") == "delete") continue;
        out.push_back(StripDirectives(e));
      }
      return out;
    }
    return StripDirectives(patch);
  }
  nlohmann::json result = *orig;
  if (rule.strategy == ListStrategy::kMergePrimitive) {
    for (const auto& e : patch) {
      if (std::find(result.begin(), result.end(), e) == result.end()) result.push_back(e);
    }
    return result;
  }
  const std::string& key = rule.merge_key;
  for (const auto& e : patch) {
    if (!e.is_object()) return ApiError::BadRequest("strategic merge patch: element of " + field + " must be an object");
    auto kv = e.find(key);
    if (kv == e.end()) {
      return ApiError::BadRequest("map: " + e.dump() + " does not contain declared merge key: " + key);
    }
    auto found = std::find_if(result.begin(), result.end(), [&](const nlohmann::json& o) {
      return o.is_object() && o.contains(key) && o[key] == *kv;
    });
    if (e.value("$patch", "") == "delete") {
      if (found != result.end()) result.erase(found);
      continue;
    }
    if (found == result.end()) {
      result.push_back(StripDirectives(e));
    } else {
      bool deleted = false;
      auto merged = MergeValue(&*found, e, field, parent, &deleted);
      if (!merged.ok()) return merged;
      *found = merged.value();
    }
  }
  return result;
}

ApiResult<nlohmann::json> MergeMap(const nlohmann::json* orig, const nlohmann::json& patch, const std::string& self,
                                   bool* deleted) {
  std::string directive = patch.value("$patch", "");
  if (directive == "replace") return StripDirectives(patch);
  if (directive == "delete") {
    *deleted = true;
    return nlohmann::json();
  }
  nlohmann::json result = (orig != nullptr && orig->is_object()) ? *orig : nlohmann::json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string& k = it.key();
    if (IsDirectiveKey(k)) continue;
    const nlohmann::json& v = it.value();
    if (v.is_null()) {
      result.erase(k);
      continue;
    }
    const nlohmann::json* cur = result.contains(k) ? &result[k] : nullptr;
    if (v.is_object()) {
      bool child_deleted = false;
      auto merged = MergeMap(cur, v, k, &child_deleted);
      if (!merged.ok()) return merged;
      if (child_deleted) result.erase(k);
      else result[k] = merged.value();
    } else if (v.is_array()) {
      auto merged = MergeList(cur, v, k, self);
      if (!merged.ok()) return merged;
      result[k] = merged.value();
    } else {
      result[k] = v;
    }
  }
  // Directives that act on the merged result.
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string& k = it.key();
    static const std::string kDelete = "$deleteFromPrimitiveList/";
    static const std::string kOrder = "$setElementOrder/";
    if (k.rfind(kDelete, 0) == 0) {
      std::string f = k.substr(kDelete.size());
      if (result.contains(f) && result[f].is_array() && it.value().is_array()) {
        nlohmann::json kept = nlohmann::json::array();
        for (const auto& x : result[f]) {
          if (std::find(it.value().begin(), it.value().end(), x) == it.value().end()) kept.push_back(x);
        }
        result[f] = kept;
      }
    } else if (k.rfind(kOrder, 0) == 0) {
      std::string f = k.substr(kOrder.size());
      if (result.contains(f)) ApplyElementOrder(result[f], it.value(), RuleFor(f, self));
    } else if (k == "$retainKeys" && it.value().is_array()) {
      nlohmann::json kept = nlohmann::json::object();
      for (const auto& rk : it.value()) {
        if (rk.is_string() && result.contains(rk.get<std::string>())) {
          kept[rk.get<std::string>()] = result[rk.get<std::string>()];
        }
      }
      result = kept;
    }
  }
  return result;
}

ApiResult<nlohmann::json> MergeValue(const nlohmann::json* orig, const nlohmann::json& patch,
                                     const std::string& field, const std::string& parent, bool* deleted) {
  if (patch.is_object()) return MergeMap(orig, patch, field, deleted);
  return StripDirectives(patch);
}

ApiResult<nlohmann::json> ParsePatch(const std::string& text) {
  try {
    return nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    return ApiError::BadRequest(std::string("error decoding patch: ") + e.what());
  }
}

}  // namespace

PatchType PatchTypeFromContentType(const std::string& content_type) {
  std::string ct = Lower(content_type.substr(0, content_type.find(';')));
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  if (ct == "application/json-patch+json") return PatchType::kJson;
  if (ct == "application/merge-patch+json") return PatchType::kMerge;
  if (ct == "application/strategic-merge-patch+json") return PatchType::kStrategic;
  if (ct == "application/apply-patch+yaml" || ct == "application/apply-patch+cbor") return PatchType::kApply;
  return PatchType::kUnknown;
}

ApiResult<nlohmann::json> ApplyJsonPatch(const nlohmann::json& original, const std::string& patch_text) {
  auto p = ParsePatch(patch_text);
  if (!p.ok()) return p;
  if (!p.value().is_array()) return ApiError::BadRequest("json patch must be an array of operations");
  try {
    return original.patch(p.value());
  } catch (const nlohmann::json::out_of_range& e) {
    return PatchInvalid(std::string("the server rejected our request due to an error in our request: ") + e.what());
  } catch (const nlohmann::json::other_error& e) {
    return PatchInvalid(std::string("the server rejected our request due to an error in our request: ") + e.what());
  } catch (const std::exception& e) {
    return ApiError::BadRequest(std::string("invalid json patch: ") + e.what());
  }
}

ApiResult<nlohmann::json> ApplyMergePatch(const nlohmann::json& original, const std::string& patch_text) {
  auto p = ParsePatch(patch_text);
  if (!p.ok()) return p;
  if (!p.value().is_object()) return ApiError::BadRequest("merge patch must be a JSON object");
  nlohmann::json result = original;
  result.merge_patch(p.value());
  return result;
}

ApiResult<nlohmann::json> ApplyStrategicMergePatch(const nlohmann::json& original, const std::string& patch_text) {
  auto p = ParsePatch(patch_text);
  if (!p.ok()) return p;
  return ApplyStrategicMergePatchJson(original, p.value());
}

ApiResult<nlohmann::json> ApplyStrategicMergePatchJson(const nlohmann::json& original, const nlohmann::json& patch) {
  if (!patch.is_object()) return ApiError::BadRequest("strategic merge patch must be a JSON object");
  bool deleted = false;
  auto r = MergeMap(&original, patch, "", &deleted);
  if (!r.ok()) return r;
  if (deleted) return PatchInvalid("strategic merge patch deletes the whole object");
  return r;
}

}  // namespace kinema::sim
