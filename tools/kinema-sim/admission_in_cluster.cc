#include "tools/kinema-sim/admission_in_cluster.h"

#include <functional>
#include <set>

#include "tools/kinema-sim/base64.h"

namespace kinema::sim {

namespace {

using Json = nlohmann::json;

void SetIfAbsent(Json& obj, const char* key, const Json& value) {
  if (!obj.contains(key) || obj[key].is_null()) obj[key] = value;
}

bool IsConfigKey(const std::string& k) {
  if (k.empty() || k.size() > 253 || k == "." || k == "..") return false;
  for (char c : k) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

void ValidateDataMap(const Json& obj, const char* field, bool base64, std::vector<StatusCause>& causes) {
  if (!obj.contains(field) || obj[field].is_null()) return;
  if (!obj[field].is_object()) {
    causes.push_back({"FieldValueInvalid", "Invalid value: must be a map of strings", field});
    return;
  }
  for (auto it = obj[field].begin(); it != obj[field].end(); ++it) {
    std::string path = std::string(field) + "[" + it.key() + "]";
    if (!IsConfigKey(it.key())) {
      causes.push_back({"FieldValueInvalid",
                        "Invalid value: \"" + it.key() +
                            "\": a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                        path});
    }
    if (!it.value().is_string()) {
      causes.push_back({"FieldValueInvalid", "Invalid value: must be a string", path});
    } else if (base64 && !Base64Decode(it.value().get<std::string>())) {
      causes.push_back({"FieldValueInvalid", "Invalid value: illegal base64 data", path});
    }
  }
}

void SecretDefaults(Json& obj) {
  SetIfAbsent(obj, "type", "Opaque");
  if (obj.contains("stringData") && obj["stringData"].is_object()) {
    if (!obj.contains("data") || !obj["data"].is_object()) obj["data"] = Json::object();
    for (auto it = obj["stringData"].begin(); it != obj["stringData"].end(); ++it) {
      if (it.value().is_string()) obj["data"][it.key()] = Base64Encode(it.value().get<std::string>());
    }
    obj.erase("stringData");
  }
}

void ServiceDefaults(Json& obj) {
  if (!obj.contains("spec") || !obj["spec"].is_object()) obj["spec"] = Json::object();
  Json& spec = obj["spec"];
  SetIfAbsent(spec, "type", "ClusterIP");
  SetIfAbsent(spec, "sessionAffinity", "None");
  if (spec["type"] != "ExternalName") {
    if (!spec.contains("clusterIP") || !spec["clusterIP"].is_string() || spec["clusterIP"].get<std::string>().empty()) {
      // The allocator's choice, made stable: a hash of namespace/name in 10.96.0.0/12.
      const Json& md = obj.value("metadata", Json::object());
      size_t h = std::hash<std::string>{}(md.value("namespace", "") + "/" + md.value("name", ""));
      unsigned host = 10 + static_cast<unsigned>(h % ((1u << 20) - 20));
      spec["clusterIP"] = "10." + std::to_string(96 + (host >> 16)) + "." + std::to_string((host >> 8) & 255) + "." +
                          std::to_string(host & 255);
    }
    SetIfAbsent(spec, "clusterIPs", Json::array({spec["clusterIP"]}));
    SetIfAbsent(spec, "ipFamilies", Json::array({"IPv4"}));
    SetIfAbsent(spec, "ipFamilyPolicy", "SingleStack");
    SetIfAbsent(spec, "internalTrafficPolicy", "Cluster");
  }
  if (spec.contains("ports") && spec["ports"].is_array()) {
    for (auto& p : spec["ports"]) {
      if (!p.is_object()) continue;
      SetIfAbsent(p, "protocol", "TCP");
      if (p.contains("port")) SetIfAbsent(p, "targetPort", p["port"]);
    }
  }
}

void ValidateService(const Json& obj, const Json* old, std::vector<StatusCause>& causes) {
  const Json spec = obj.value("spec", Json::object());
  static const std::set<std::string> kTypes = {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"};
  std::string type = spec.value("type", "ClusterIP");
  if (!kTypes.count(type)) {
    causes.push_back({"FieldValueNotSupported",
                      "Unsupported value: \"" + type +
                          "\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
                      "spec.type"});
  }
  bool headless = spec.value("clusterIP", "") == "None";
  const Json ports = spec.value("ports", Json::array());
  if (!ports.is_array() || (ports.empty() && !headless && type != "ExternalName")) {
    causes.push_back({"FieldValueRequired", "Required value", "spec.ports"});
  } else {
    for (size_t i = 0; i < ports.size(); ++i) {
      const Json& p = ports[i];
      std::string at = "spec.ports[" + std::to_string(i) + "]";
      if (!p.is_object() || !p.contains("port") || !p["port"].is_number_integer() || p["port"].get<long long>() < 1 ||
          p["port"].get<long long>() > 65535) {
        causes.push_back({"FieldValueInvalid", "Invalid value: must be between 1 and 65535, inclusive", at + ".port"});
      }
      if (ports.size() > 1 && (!p.is_object() || p.value("name", "").empty())) {
        causes.push_back({"FieldValueRequired", "Required value", at + ".name"});
      }
    }
  }
  if (old != nullptr) {
    std::string was = (*old)["spec"].value("clusterIP", "");
    if (!was.empty() && spec.value("clusterIP", was) != was) {
      causes.push_back({"FieldValueInvalid", "Invalid value: \"" + spec.value("clusterIP", "") +
                                                 "\": field is immutable", "spec.clusterIP"});
    }
  }
}

void ValidateClaim(const Json& obj, const Json* old, std::vector<StatusCause>& causes) {
  const Json spec = obj.value("spec", Json::object());
  static const std::set<std::string> kModes = {"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"};
  const Json modes = spec.value("accessModes", Json::array());
  if (!modes.is_array() || modes.empty()) {
    causes.push_back({"FieldValueRequired", "Required value: at least 1 access mode is required", "spec.accessModes"});
  } else {
    for (const auto& m : modes) {
      if (!m.is_string() || !kModes.count(m.get<std::string>())) {
        causes.push_back({"FieldValueNotSupported",
                          "Unsupported value: " + m.dump() +
                              ": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", "
                              "\"ReadWriteOncePod\"",
                          "spec.accessModes"});
      } else if (m == "ReadWriteOncePod" && modes.size() > 1) {
        causes.push_back({"FieldValueForbidden", "Forbidden: may not use ReadWriteOncePod with other access modes",
                          "spec.accessModes"});
      }
    }
  }
  const Json req = spec.value("resources", Json::object()).value("requests", Json::object());
  if (!req.is_object() || !req.contains("storage")) {
    causes.push_back({"FieldValueRequired", "Required value", "spec.resources[storage]"});
  }
  if (old != nullptr) {
    Json a = spec, b = (*old).value("spec", Json::object());
    for (Json* s : {&a, &b}) {
      if (s->contains("resources")) (*s)["resources"].erase("requests");
      s->erase("volumeName");  // set by the binder
    }
    if (a != b) {
      causes.push_back({"FieldValueForbidden",
                        "Forbidden: spec is immutable after creation except resources.requests and "
                        "volumeAttributesClassName for bound claims",
                        "spec"});
    }
  }
}

void ValidateRules(const Json& obj, bool cluster_role, std::vector<StatusCause>& causes) {
  if (!obj.contains("rules") || obj["rules"].is_null()) return;  // an empty role is valid
  if (!obj["rules"].is_array()) {
    causes.push_back({"FieldValueInvalid", "Invalid value: must be a list", "rules"});
    return;
  }
  for (size_t i = 0; i < obj["rules"].size(); ++i) {
    const Json& r = obj["rules"][i];
    std::string at = "rules[" + std::to_string(i) + "]";
    if (!r.is_object()) {
      causes.push_back({"FieldValueInvalid", "Invalid value: must be an object", at});
      continue;
    }
    for (const char* list : {"verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs"}) {
      if (!r.contains(list)) continue;
      bool ok = r[list].is_array();
      for (const auto& v : ok ? r[list] : Json::array()) ok = ok && v.is_string();
      if (!ok) causes.push_back({"FieldValueInvalid", "Invalid value: must be a list of strings", at + "." + list});
    }
    if (r.value("verbs", Json::array()).empty()) {
      causes.push_back({"FieldValueRequired", "Required value: verbs must contain at least one value", at + ".verbs"});
    }
    bool has_urls = !r.value("nonResourceURLs", Json::array()).empty();
    bool has_resources = !r.value("resources", Json::array()).empty();
    if (has_urls && !cluster_role) {
      causes.push_back({"FieldValueInvalid", "Invalid value: namespaced rules cannot apply to non-resource URLs",
                        at + ".nonResourceURLs"});
    }
    if (has_urls && has_resources) {
      causes.push_back({"FieldValueInvalid", "Invalid value: rules cannot apply to both regular resources and "
                                             "non-resource URLs", at + ".nonResourceURLs"});
    }
    if (!has_urls && r.value("apiGroups", Json::array()).empty()) {
      causes.push_back({"FieldValueRequired", "Required value: resource rules must supply at least one api group",
                        at + ".apiGroups"});
    }
    if (!has_urls && !has_resources) {
      causes.push_back({"FieldValueRequired", "Required value: resource rules must supply at least one resource",
                        at + ".resources"});
    }
  }
}

void ValidateBinding(const Json& obj, const Json* old, bool cluster_binding, std::vector<StatusCause>& causes) {
  const Json ref = obj.value("roleRef", Json::object());
  if (!ref.is_object() || ref.value("name", "").empty()) {
    causes.push_back({"FieldValueRequired", "Required value", "roleRef.name"});
  }
  std::string kind = ref.is_object() ? ref.value("kind", "") : "";
  if (cluster_binding ? kind != "ClusterRole" : (kind != "Role" && kind != "ClusterRole")) {
    causes.push_back({"FieldValueNotSupported",
                      "Unsupported value: \"" + kind + (cluster_binding ? "\": supported values: \"ClusterRole\""
                                                                        : "\": supported values: \"ClusterRole\", \"Role\""),
                      "roleRef.kind"});
  }
  if (!ref.is_object() || ref.value("apiGroup", "") != "rbac.authorization.k8s.io") {
    causes.push_back({"FieldValueNotSupported",
                      "Unsupported value: \"" + (ref.is_object() ? ref.value("apiGroup", "") : std::string()) +
                          "\": supported values: \"rbac.authorization.k8s.io\"",
                      "roleRef.apiGroup"});
  }
  if (old != nullptr && old->contains("roleRef") && (*old)["roleRef"] != obj.value("roleRef", Json())) {
    causes.push_back({"FieldValueInvalid", "Invalid value: cannot change roleRef", "roleRef"});
  }
  const Json subjects = obj.value("subjects", Json::array());
  if (!subjects.is_array()) {
    causes.push_back({"FieldValueInvalid", "Invalid value: must be a list", "subjects"});
    return;
  }
  for (size_t i = 0; i < subjects.size(); ++i) {
    const Json& s = subjects[i];
    std::string at = "subjects[" + std::to_string(i) + "]";
    std::string skind = s.is_object() ? s.value("kind", "") : "";
    if (skind != "ServiceAccount" && skind != "User" && skind != "Group") {
      causes.push_back({"FieldValueNotSupported",
                        "Unsupported value: \"" + skind + "\": supported values: \"Group\", \"ServiceAccount\", \"User\"",
                        at + ".kind"});
      continue;
    }
    if (s.value("name", "").empty()) causes.push_back({"FieldValueRequired", "Required value", at + ".name"});
    if (skind == "ServiceAccount" && cluster_binding && s.value("namespace", "").empty()) {
      causes.push_back({"FieldValueRequired", "Required value", at + ".namespace"});
    }
  }
}

}  // namespace

bool IsInClusterKind(const ResourceType& rt) {
  static const std::set<std::string> kKinds = {
      "ServiceAccount", "Secret", "ConfigMap", "Service", "PersistentVolumeClaim", "PersistentVolume",
      "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"};
  return kKinds.count(rt.kind) > 0;
}

void ApplyInClusterDefaults(const ResourceType& rt, Json& obj) {
  if (rt.kind == "Secret") {
    SecretDefaults(obj);
  } else if (rt.kind == "Service") {
    ServiceDefaults(obj);
  } else if (rt.kind == "PersistentVolumeClaim" || rt.kind == "PersistentVolume") {
    if (obj.contains("spec") && obj["spec"].is_object()) {
      SetIfAbsent(obj["spec"], "volumeMode", "Filesystem");
      if (rt.kind == "PersistentVolume") SetIfAbsent(obj["spec"], "persistentVolumeReclaimPolicy", "Retain");
    }
  }
}

std::vector<StatusCause> ValidateInCluster(const ResourceType& rt, const Json& obj, const Json* old) {
  std::vector<StatusCause> causes;
  if (rt.kind == "Secret") {
    ValidateDataMap(obj, "data", true, causes);
  } else if (rt.kind == "ConfigMap") {
    ValidateDataMap(obj, "data", false, causes);
    ValidateDataMap(obj, "binaryData", true, causes);
  } else if (rt.kind == "Service") {
    ValidateService(obj, old, causes);
  } else if (rt.kind == "PersistentVolumeClaim") {
    ValidateClaim(obj, old, causes);
  } else if (rt.kind == "Role" || rt.kind == "ClusterRole") {
    ValidateRules(obj, rt.kind == "ClusterRole", causes);
  } else if (rt.kind == "RoleBinding" || rt.kind == "ClusterRoleBinding") {
    ValidateBinding(obj, old, rt.kind == "ClusterRoleBinding", causes);
  }
  return causes;
}

}  // namespace kinema::sim
