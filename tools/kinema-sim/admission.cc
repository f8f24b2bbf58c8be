#include "tools/kinema-sim/admission.h"

#include <cctype>

#include "engine/quantity/quantity.h"
#include "tools/kinema-sim/custom_resources.h"
#include "tools/kinema-sim/admission_in_cluster.h"
#include "tools/kinema-sim/resource_types.h"

namespace kinema::sim {

namespace {

void SetIfAbsent(nlohmann::json& obj, const std::string& key, const nlohmann::json& v) {
  if (!obj.contains(key) || obj[key].is_null()) obj[key] = v;
}

void DefaultPodSpec(nlohmann::json& spec) {
  if (!spec.is_object()) return;
  SetIfAbsent(spec, "restartPolicy", "Always");
  SetIfAbsent(spec, "terminationGracePeriodSeconds", 30);
  SetIfAbsent(spec, "dnsPolicy", "ClusterFirst");
  SetIfAbsent(spec, "schedulerName", "default-scheduler");
  SetIfAbsent(spec, "securityContext", nlohmann::json::object());
  for (const char* list : {"containers", "initContainers"}) {
    if (!spec.contains(list) || !spec[list].is_array()) continue;
    for (auto& c : spec[list]) {
      if (!c.is_object()) continue;
      SetIfAbsent(c, "terminationMessagePath", "/dev/termination-log");
      SetIfAbsent(c, "terminationMessagePolicy", "File");
      std::string image = c.value("image", "");
      bool latest = image.find(':') == std::string::npos || (image.size() >= 7 && image.substr(image.size() - 7) == ":latest");
      SetIfAbsent(c, "imagePullPolicy", latest ? "Always" : "IfNotPresent");
      // Requests default to limits when only limits are given.
      if (c.contains("resources") && c["resources"].is_object() && c["resources"].contains("limits")) {
        auto& res = c["resources"];
        if (!res.contains("requests")) res["requests"] = nlohmann::json::object();
        for (auto it = res["limits"].begin(); it != res["limits"].end(); ++it) {
          SetIfAbsent(res["requests"], it.key(), it.value());
        }
      }
    }
  }
}

void DefaultTemplate(nlohmann::json& obj) {
  if (obj.contains("spec") && obj["spec"].contains("template") && obj["spec"]["template"].contains("spec")) {
    DefaultPodSpec(obj["spec"]["template"]["spec"]);
  }
}

std::vector<StatusCause> ValidateName(const ResourceType& rt, const nlohmann::json& obj) {
  std::vector<StatusCause> causes;
  const auto& md = obj["metadata"];
  std::string name = md.value("name", "");
  if (name.empty()) {
    causes.push_back({"FieldValueRequired", "Required value: name or generateName is required", "metadata.name"});
    return causes;
  }
  bool ok = rt.kind == "Namespace" ? IsDns1123Label(name) : IsDns1123Subdomain(name);
  if (rt.kind == "Event" || rt.kind == "Lease") ok = !name.empty() && name.size() <= 253 && name.find('/') == std::string::npos;
  // RBAC names are path segments (ValidateRBACName): "system:discovery" is valid.
  if (rt.group == "rbac.authorization.k8s.io") {
    ok = name != "." && name != ".." && name.find('/') == std::string::npos && name.find('%') == std::string::npos;
  }
  if (!ok) {
    causes.push_back({"FieldValueInvalid",
                      "Invalid value: \"" + name +
                          "\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                          "'-' or '.', and must start and end with an alphanumeric character",
                      "metadata.name"});
  }
  return causes;
}

void ValidateContainers(const nlohmann::json& spec, const std::string& path, std::vector<StatusCause>& causes) {
  if (!spec.is_object()) {
    causes.push_back({"FieldValueRequired", "Required value", path});
    return;
  }
  if (!spec.contains("containers") || !spec["containers"].is_array() || spec["containers"].empty()) {
    causes.push_back({"FieldValueRequired", "Required value", path + ".containers"});
    return;
  }
  for (const char* list : {"containers", "initContainers"}) {
    if (!spec.contains(list) || !spec[list].is_array()) continue;
    size_t i = 0;
    for (const auto& c : spec[list]) {
      std::string p = path + "." + list + "[" + std::to_string(i++) + "]";
      if (!c.is_object() || c.value("name", "").empty()) {
        causes.push_back({"FieldValueRequired", "Required value", p + ".name"});
        continue;
      }
      if (c.value("image", "").empty()) causes.push_back({"FieldValueRequired", "Required value", p + ".image"});
      if (!c.contains("resources") || !c["resources"].is_object()) continue;
      const auto& res = c["resources"];
      for (const char* kind : {"requests", "limits"}) {
        if (!res.contains(kind) || !res[kind].is_object()) continue;
        for (auto it = res[kind].begin(); it != res[kind].end(); ++it) {
          if (!it.value().is_string() && !it.value().is_number()) {
            causes.push_back({"FieldValueInvalid", "Invalid value: must be a quantity",
                              p + ".resources." + kind + "[" + it.key() + "]"});
            continue;
          }
          std::string q = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
          if (!ParseQuantityMilli(q).ok() && !ParseQuantityValue(q).ok()) {
            causes.push_back({"FieldValueInvalid",
                              "Invalid value: \"" + q + "\": quantities must match the regular expression "
                              "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                              p + ".resources." + kind + "[" + it.key() + "]"});
          }
        }
      }
      if (res.contains("requests") && res.contains("limits") && res["requests"].is_object() && res["limits"].is_object()) {
        for (auto it = res["requests"].begin(); it != res["requests"].end(); ++it) {
          if (!res["limits"].contains(it.key()) || !it.value().is_string() || !res["limits"][it.key()].is_string()) continue;
          auto req = ParseQuantityMilli(it.value().get<std::string>());
          auto lim = ParseQuantityMilli(res["limits"][it.key()].get<std::string>());
          if (req.ok() && lim.ok() && *req > *lim) {
            causes.push_back({"FieldValueInvalid",
                              "Invalid value: \"" + it.value().get<std::string>() + "\": must be less than or equal to " +
                                  it.key() + " limit of " + res["limits"][it.key()].get<std::string>(),
                              p + ".resources.requests"});
          }
        }
      }
    }
  }
}

void ValidateSelectorMatchesTemplate(const nlohmann::json& obj, std::vector<StatusCause>& causes, bool required) {
  const auto& spec = obj["spec"];
  if (!spec.contains("selector") || !spec["selector"].is_object() || spec["selector"].empty()) {
    if (required) causes.push_back({"FieldValueRequired", "Required value", "spec.selector"});
    return;
  }
  const auto& sel = spec["selector"];
  nlohmann::json labels;
  if (spec.contains("template") && spec["template"].contains("metadata")) labels = spec["template"]["metadata"].value("labels", nlohmann::json::object());
  if (sel.contains("matchLabels") && sel["matchLabels"].is_object()) {
    for (auto it = sel["matchLabels"].begin(); it != sel["matchLabels"].end(); ++it) {
      if (!labels.is_object() || !labels.contains(it.key()) || labels[it.key()] != it.value()) {
        causes.push_back({"FieldValueInvalid", "Invalid value: " + labels.dump() + ": `selector` does not match template `labels`",
                          "spec.template.metadata.labels"});
        return;
      }
    }
  }
}

}  // namespace

bool IsDns1123Label(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && !(c == '-' && i > 0 && i + 1 < s.size())) return false;
  }
  return true;
}

bool IsDns1123Subdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string part = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!IsDns1123Label(part)) return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

void ApplyDefaults(const ResourceType& rt, nlohmann::json& obj) {
  if (const CustomResourceDefinition* crd = FindCustomResource(rt)) {  // schema defaults (custom_resources.h)
    ApplySchemaDefaults(*crd, obj);
    return;
  }
  if (IsInClusterKind(rt)) {  // issue 20 (admission_in_cluster.h)
    ApplyInClusterDefaults(rt, obj);
    return;
  }
  if (!obj.contains("spec") || !obj["spec"].is_object()) {
    if (rt.kind == "Pod" || rt.kind == "Deployment" || rt.kind == "ReplicaSet" || rt.kind == "StatefulSet" ||
        rt.kind == "DaemonSet") {
      return;  // validation reports the missing spec
    }
  }
  auto& spec = obj["spec"];
  if (rt.kind == "Pod") {
    DefaultPodSpec(spec);
    if (spec.is_object()) SetIfAbsent(spec, "priority", 0);
  } else if (rt.kind == "Deployment") {
    SetIfAbsent(spec, "replicas", 1);
    SetIfAbsent(spec, "revisionHistoryLimit", 10);
    SetIfAbsent(spec, "progressDeadlineSeconds", 600);
    SetIfAbsent(spec, "strategy", nlohmann::json::object());
    SetIfAbsent(spec["strategy"], "type", "RollingUpdate");
    if (spec["strategy"]["type"] == "RollingUpdate") {
      SetIfAbsent(spec["strategy"], "rollingUpdate", nlohmann::json::object());
      SetIfAbsent(spec["strategy"]["rollingUpdate"], "maxSurge", "25%");
      SetIfAbsent(spec["strategy"]["rollingUpdate"], "maxUnavailable", "25%");
    }
    DefaultTemplate(obj);
  } else if (rt.kind == "ReplicaSet") {
    SetIfAbsent(spec, "replicas", 1);
    DefaultTemplate(obj);
  } else if (rt.kind == "StatefulSet") {
    SetIfAbsent(spec, "replicas", 1);
    SetIfAbsent(spec, "podManagementPolicy", "OrderedReady");
    SetIfAbsent(spec, "revisionHistoryLimit", 10);
    SetIfAbsent(spec, "updateStrategy", nlohmann::json{{"type", "RollingUpdate"}, {"rollingUpdate", {{"partition", 0}}}});
    DefaultTemplate(obj);
  } else if (rt.kind == "DaemonSet") {
    SetIfAbsent(spec, "revisionHistoryLimit", 10);
    SetIfAbsent(spec, "updateStrategy",
                nlohmann::json{{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxUnavailable", 1}, {"maxSurge", 0}}}});
    DefaultTemplate(obj);
  } else if (rt.kind == "HorizontalPodAutoscaler") {
    SetIfAbsent(spec, "minReplicas", 1);
  } else if (rt.kind == "Namespace") {
    if (!spec.is_object() || spec.empty()) obj["spec"] = {{"finalizers", {"kubernetes"}}};
  } else if (spec.is_null()) {
    obj.erase("spec");
  }
}

std::vector<StatusCause> Validate(const ResourceType& rt, const nlohmann::json& obj, const nlohmann::json* old) {
  std::vector<StatusCause> causes = ValidateName(rt, obj);
  const auto& md = obj["metadata"];
  if (md.contains("labels") && !md["labels"].is_null()) {
    if (!md["labels"].is_object()) {
      causes.push_back({"FieldValueInvalid", "Invalid value: labels must be a map of strings", "metadata.labels"});
    } else {
      for (auto it = md["labels"].begin(); it != md["labels"].end(); ++it) {
        if (!it.value().is_string()) {
          causes.push_back({"FieldValueInvalid", "Invalid value: label values must be strings", "metadata.labels"});
        } else if (it.value().get<std::string>().size() > 63) {
          causes.push_back({"FieldValueInvalid", "Invalid value: \"" + it.value().get<std::string>() +
                                                     "\": must be no more than 63 characters",
                            "metadata.labels"});
        }
      }
    }
  }
  if (const CustomResourceDefinition* crd = FindCustomResource(rt)) {  // schema validation (custom_resources.h)
    for (auto& c : ValidateAgainstSchema(*crd, obj)) causes.push_back(std::move(c));
  } else if (rt.kind == "Pod") {
    ValidateContainers(obj.value("spec", nlohmann::json()), "spec", causes);
  } else if (rt.kind == "Deployment" || rt.kind == "ReplicaSet" || rt.kind == "StatefulSet" || rt.kind == "DaemonSet") {
    if (!obj.contains("spec") || !obj["spec"].is_object()) {
      causes.push_back({"FieldValueRequired", "Required value", "spec"});
      return causes;
    }
    const auto& spec = obj["spec"];
    if (spec.contains("replicas") && (!spec["replicas"].is_number_integer() || spec["replicas"].get<long long>() < 0)) {
      causes.push_back({"FieldValueInvalid",
                        "Invalid value: " + spec["replicas"].dump() + ": must be greater than or equal to 0",
                        "spec.replicas"});
    }
    ValidateSelectorMatchesTemplate(obj, causes, true);
    if (!spec.contains("template") || !spec["template"].is_object()) {
      causes.push_back({"FieldValueRequired", "Required value", "spec.template"});
    } else {
      ValidateContainers(spec["template"].value("spec", nlohmann::json()), "spec.template.spec", causes);
    }
    if (old != nullptr && old->contains("spec") && (*old)["spec"].contains("selector") &&
        (*old)["spec"]["selector"] != spec.value("selector", nlohmann::json())) {
      causes.push_back({"FieldValueInvalid", "Invalid value: field is immutable", "spec.selector"});
    }
  } else if (rt.kind == "PodDisruptionBudget") {
    const auto spec = obj.value("spec", nlohmann::json::object());
    if (spec.contains("minAvailable") && spec.contains("maxUnavailable")) {
      causes.push_back({"FieldValueInvalid", "Invalid value: minAvailable and maxUnavailable cannot be both set",
                        "spec"});
    }
  } else if (rt.kind == "HorizontalPodAutoscaler") {
    const auto spec = obj.value("spec", nlohmann::json::object());
    if (!spec.contains("scaleTargetRef")) causes.push_back({"FieldValueRequired", "Required value", "spec.scaleTargetRef"});
    if (!spec.contains("maxReplicas") || !spec["maxReplicas"].is_number_integer() || spec["maxReplicas"].get<long long>() < 1) {
      causes.push_back({"FieldValueInvalid", "Invalid value: must be greater than or equal to 1", "spec.maxReplicas"});
    }
  } else if (IsInClusterKind(rt)) {  // issue 20 (admission_in_cluster.h)
    for (auto& c : ValidateInCluster(rt, obj, old)) causes.push_back(std::move(c));
  }
  return causes;
}

std::vector<StatusCause> ValidatePodSpecUpdate(const nlohmann::json& old_spec, const nlohmann::json& new_spec) {
  // Blank out what a pod update may change, then require equality.
  auto normalize = [](nlohmann::json spec) {
    for (const char* list : {"containers", "initContainers"}) {
      if (spec.contains(list) && spec[list].is_array()) {
        for (auto& c : spec[list]) {
          if (c.is_object()) c.erase("image");
        }
      }
    }
    spec.erase("activeDeadlineSeconds");
    spec.erase("tolerations");
    spec.erase("terminationGracePeriodSeconds");
    return spec;
  };
  std::vector<StatusCause> causes;
  if (normalize(old_spec) != normalize(new_spec)) {
    causes.push_back({"FieldValueForbidden",
                      "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
                      "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
                      "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set "
                      "to 1 if it was previously negative)",
                      "spec"});
  }
  return causes;
}

std::string PodQosClass(const nlohmann::json& pod) {
  bool any = false;
  bool guaranteed = true;
  const auto spec = pod.value("spec", nlohmann::json::object());
  for (const char* list : {"containers", "initContainers"}) {
    if (!spec.contains(list) || !spec[list].is_array()) continue;
    for (const auto& c : spec[list]) {
      auto res = c.value("resources", nlohmann::json::object());
      auto req = res.value("requests", nlohmann::json::object());
      auto lim = res.value("limits", nlohmann::json::object());
      for (const char* r : {"cpu", "memory"}) {
        bool has_req = req.contains(r), has_lim = lim.contains(r);
        if (has_req || has_lim) any = true;
        if (!has_lim) {
          guaranteed = false;
          continue;
        }
        if (has_req) {
          auto a = ParseQuantityMilli(req[r].is_string() ? req[r].get<std::string>() : req[r].dump());
          auto b = ParseQuantityMilli(lim[r].is_string() ? lim[r].get<std::string>() : lim[r].dump());
          if (!a.ok() || !b.ok() || *a != *b) guaranteed = false;
        }
      }
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

}  // namespace kinema::sim
