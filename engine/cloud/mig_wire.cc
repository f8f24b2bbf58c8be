#include "engine/cloud/mig_wire.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "engine/cloud/gce_wire.h"
#include "engine/cloud/request_id.h"
#include "engine/http/redact.h"

namespace kinema::cloud {

namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return "";
}

int64_t Int(const json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  if (it == j.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

std::vector<std::string> Segments(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t slash = s.find('/', start);
    std::string_view part = s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!part.empty()) out.emplace_back(part);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

std::string Upper(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return o;
}

std::vector<std::string> SplitOn(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t p = s.find(sep, start);
    std::string part(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (!part.empty()) out.push_back(part);
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

Status ParseLabelList(const std::string& text, Labels* out) {
  for (const auto& kv : SplitOn(text, ',')) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return Status::InvalidArgument("kube-env: bad node label \"" + kv + "\"");
    (*out)[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return Status::OK();
}

Status ParseTaintList(const std::string& text, std::vector<Taint>* out) {
  for (const auto& t : SplitOn(text, ',')) {
    size_t colon = t.rfind(':');
    if (colon == std::string::npos) return Status::InvalidArgument("kube-env: bad taint \"" + t + "\"");
    Taint taint;
    std::string kv = t.substr(0, colon);
    taint.effect = t.substr(colon + 1);
    size_t eq = kv.find('=');
    taint.key = kv.substr(0, eq);
    if (eq != std::string::npos) taint.value = kv.substr(eq + 1);
    if (taint.key.empty() ||
        (taint.effect != "NoSchedule" && taint.effect != "PreferNoSchedule" && taint.effect != "NoExecute")) {
      return Status::InvalidArgument("kube-env: bad taint \"" + t + "\"");
    }
    out->push_back(taint);
  }
  return Status::OK();
}

}  // namespace

bool ParseGroupUrl(std::string_view url, GroupRef* out) {
  std::vector<std::string> seg = Segments(url);
  for (size_t i = 0; i + 5 < seg.size(); ++i) {
    if (seg[i] == "projects" && seg[i + 2] == "zones" && seg[i + 4] == "instanceGroupManagers") {
      out->project = seg[i + 1];
      out->zone = seg[i + 3];
      out->name = seg[i + 5];
      return !out->zone.empty() && !out->name.empty();
    }
  }
  return false;
}

bool ParseCreatedBy(std::string_view created_by, GroupRef* out) { return ParseGroupUrl(created_by, out); }

StatusOr<InstanceGroupManager> ParseInstanceGroupManager(const json& j, const std::string& what) {
  if (!j.is_object() || Str(j, "name").empty()) {
    return Status::Internal(what + ": response is not a compute#instanceGroupManager (no name)");
  }
  InstanceGroupManager g;
  g.name = Str(j, "name");
  g.zone = LastPathSegment(Str(j, "zone"));
  g.base_instance_name = Str(j, "baseInstanceName");
  g.instance_template = Str(j, "instanceTemplate");
  if (g.instance_template.empty() && j.contains("versions") && j["versions"].is_array() && !j["versions"].empty()) {
    g.instance_template = Str(j["versions"][0], "instanceTemplate");
  }
  g.self_link = Str(j, "selfLink");
  g.target_size = Int(j, "targetSize");
  g.paginated = Str(j, "listManagedInstancesResults") == "PAGINATED";
  if (j.contains("status") && j["status"].is_object()) {
    const json& st = j["status"];
    g.is_stable = st.contains("isStable") && st["isStable"].is_boolean() && st["isStable"].get<bool>();
  }
  if (g.base_instance_name.empty()) return Status::Internal(what + ": group " + g.name + " has no baseInstanceName");
  return g;
}

StatusOr<std::vector<ManagedInstance>> ParseManagedInstances(const json& page, const std::string& what) {
  if (!page.is_object()) return Status::Internal(what + ": listManagedInstances response is not a JSON object");
  std::vector<ManagedInstance> out;
  auto it = page.find("managedInstances");
  if (it == page.end()) return out;
  if (!it->is_array()) return Status::Internal(what + ": managedInstances is not an array");
  for (const auto& m : *it) {
    if (!m.is_object()) return Status::Internal(what + ": a managed instance is not an object");
    ManagedInstance mi;
    std::string url = Str(m, "instance");
    mi.name = Str(m, "name");
    if (mi.name.empty()) mi.name = LastPathSegment(url);
    std::vector<std::string> seg = Segments(url);
    for (size_t i = 0; i + 1 < seg.size(); ++i) {
      if (seg[i] == "zones") mi.zone = seg[i + 1];
    }
    mi.id = Str(m, "id");
    mi.instance_status = Str(m, "instanceStatus");
    mi.current_action = Str(m, "currentAction");
    if (m.contains("lastAttempt") && m["lastAttempt"].is_object()) {
      const json& la = m["lastAttempt"];
      if (la.contains("errors") && la["errors"].is_object() && la["errors"].contains("errors") &&
          la["errors"]["errors"].is_array()) {
        for (const auto& e : la["errors"]["errors"]) mi.errors.emplace_back(Str(e, "code"), Str(e, "message"));
      }
    }
    if (mi.name.empty()) return Status::Internal(what + ": a managed instance has neither name nor instance URL");
    out.push_back(std::move(mi));
  }
  return out;
}

StatusOr<InstanceTemplate> ParseInstanceTemplate(const json& j, const std::string& what) {
  if (!j.is_object() || Str(j, "name").empty() || !j.contains("properties") || !j["properties"].is_object()) {
    return Status::Internal(what + ": response is not a compute#instanceTemplate (no name/properties)");
  }
  InstanceTemplate t;
  t.name = Str(j, "name");
  t.self_link = Str(j, "selfLink");
  t.regional = t.self_link.find("/regions/") != std::string::npos || !Str(j, "region").empty();
  const json& p = j["properties"];
  t.machine_type = LastPathSegment(Str(p, "machineType"));
  if (p.contains("metadata") && p["metadata"].is_object() && p["metadata"].contains("items") &&
      p["metadata"]["items"].is_array()) {
    for (const auto& item : p["metadata"]["items"]) {
      std::string k = Str(item, "key");
      if (!k.empty()) t.metadata[k] = Str(item, "value");
    }
  }
  if (p.contains("labels") && p["labels"].is_object()) {
    for (auto& [k, v] : p["labels"].items()) {
      if (v.is_string()) t.labels[k] = v.get<std::string>();
    }
  }
  if (p.contains("scheduling") && p["scheduling"].is_object()) t.scheduling = p["scheduling"];
  return t;
}

StatusOr<KubeEnvNodeConfig> ParseKubeEnv(const std::string& yaml_text) {
  KubeEnvNodeConfig out;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("kube-env: not YAML: ") + e.what());
  }
  if (!root.IsMap()) return Status::InvalidArgument("kube-env: not a YAML mapping");
  for (const auto& kv : root) {
    if (!kv.first.IsScalar() || !kv.second.IsScalar()) continue;
    out.values[kv.first.as<std::string>()] = kv.second.as<std::string>();
  }
  std::string labels, taints;
  bool from_autoscaler = false;
  if (auto it = out.values.find("AUTOSCALER_ENV_VARS"); it != out.values.end()) {
    for (const auto& part : SplitOn(it->second, ';')) {
      size_t eq = part.find('=');
      if (eq == std::string::npos) continue;
      std::string key = part.substr(0, eq);
      if (key == "node_labels") {
        labels = part.substr(eq + 1);
        from_autoscaler = true;
      } else if (key == "node_taints") {
        taints = part.substr(eq + 1);
      }
    }
  }
  if (!from_autoscaler) {
    if (auto it = out.values.find("NODE_LABELS"); it != out.values.end()) labels = it->second;
    if (auto it = out.values.find("NODE_TAINTS"); it != out.values.end()) taints = it->second;
  }
  KINEMA_RETURN_IF_ERROR(ParseLabelList(labels, &out.node_labels));
  KINEMA_RETURN_IF_ERROR(ParseTaintList(taints, &out.taints));
  return out;
}

json BuildCreateInstancesBody(const std::vector<std::string>& names) {
  json instances = json::array();
  for (const auto& n : names) instances.push_back({{"name", n}});
  return json{{"instances", instances}};
}

json BuildDeleteInstancesBody(const std::string& zone, const std::vector<std::string>& names) {
  json instances = json::array();
  for (const auto& n : names) instances.push_back("zones/" + zone + "/instances/" + n);
  return json{{"instances", instances}, {"skipInstancesOnValidationError", true}};
}

bool IsCreatingAction(std::string_view a) {
  return a == "CREATING" || a == "RECREATING" || a == "CREATING_WITHOUT_RETRIES";
}

Status ManagedInstanceError(const ManagedInstance& member, const std::string& what) {
  if (member.errors.empty()) return Status::OK();
  CloudErrorKind kind = CloudErrorKind::kOther;
  std::string detail;
  for (const auto& [code, message] : member.errors) {
    std::string c = Upper(code);
    CloudErrorKind k = CloudErrorKind::kOther;
    if (c == "RESOURCE_POOL_EXHAUSTED" || c == "ZONE_RESOURCE_POOL_EXHAUSTED" ||
        c == "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS" || c == "INSUFFICIENT_CAPACITY") {
      k = CloudErrorKind::kZoneResourcePoolExhausted;
    } else if (c.find("QUOTA") != std::string::npos) {
      k = CloudErrorKind::kQuotaExceeded;
    }
    if (kind == CloudErrorKind::kOther) kind = k;
    if (!detail.empty()) detail += "; ";
    detail += code + (message.empty() ? "" : ": " + message);
  }
  return MakeCloudError(kind, http::RedactSecrets(what + ": " + member.current_action + " failed: " + detail));
}

std::string GroupMemberNameFor(std::string_view base_instance_name, std::string_view key) {
  std::string base(base_instance_name);
  while (!base.empty() && base.back() == '-') base.pop_back();
  if (base.empty()) base = "kinema";
  size_t hex = 10;
  // "<base>-k<hex>" must fit 63 characters.
  if (base.size() + 2 + hex > 63) hex = base.size() + 2 + 6 <= 63 ? 63 - base.size() - 2 : 6;
  if (base.size() + 2 + hex > 63) {
    base.resize(63 - 2 - hex);
    while (!base.empty() && base.back() == '-') base.pop_back();
  }
  return base + "-k" + Sha256Hex(key).substr(0, hex);
}

}  // namespace kinema::cloud
