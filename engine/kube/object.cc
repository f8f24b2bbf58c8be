#include "engine/kube/object.h"

#include "engine/common/safe_json.h"

namespace kinema::kube {

namespace {
const Json* At(const Json& o, const std::string& dotted) {
  const Json* cur = &o;
  size_t start = 0;
  while (start <= dotted.size()) {
    size_t dot = dotted.find('.', start);
    std::string key = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

std::map<std::string, std::string> StringMap(const Json& o, const char* path) {
  std::map<std::string, std::string> out;
  const Json* m = At(o, path);
  if (m == nullptr || !m->is_object()) return out;
  for (auto it = m->begin(); it != m->end(); ++it) {
    if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

bool ConditionTrue(const Json& o, const char* type) {
  const Json* conds = At(o, "status.conditions");
  if (conds == nullptr || !conds->is_array()) return false;
  for (const auto& c : *conds) {
    if (safe_json::String(c, "type") == type) return safe_json::String(c, "status") == "True";
  }
  return false;
}

const Json* Controller(const Json& o) {
  const Json* refs = At(o, "metadata.ownerReferences");
  if (refs == nullptr || !refs->is_array()) return nullptr;
  for (const auto& r : *refs) {
    if (safe_json::Bool(r, "controller")) return &r;
  }
  return nullptr;
}
}  // namespace

namespace obj {
std::string StringAt(const Json& o, const std::string& dotted_path) {
  const Json* v = At(o, dotted_path);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}
int64_t IntAt(const Json& o, const std::string& dotted_path) {
  const Json* v = At(o, dotted_path);
  return v != nullptr ? safe_json::AsInt(*v).value_or(0) : 0;
}
std::string Name(const Json& o) { return StringAt(o, "metadata.name"); }
std::string Namespace(const Json& o) { return StringAt(o, "metadata.namespace"); }
std::string Uid(const Json& o) { return StringAt(o, "metadata.uid"); }
std::string ResourceVersion(const Json& o) { return StringAt(o, "metadata.resourceVersion"); }
int64_t Generation(const Json& o) { return IntAt(o, "metadata.generation"); }
std::map<std::string, std::string> Labels(const Json& o) { return StringMap(o, "metadata.labels"); }
std::map<std::string, std::string> Annotations(const Json& o) { return StringMap(o, "metadata.annotations"); }
bool IsTerminating(const Json& o) {
  const Json* v = At(o, "metadata.deletionTimestamp");
  return v != nullptr && !v->is_null();
}
std::string Key(const Json& o) {
  std::string ns = Namespace(o);
  return ns.empty() ? Name(o) : ns + "/" + Name(o);
}
std::string ControllerKind(const Json& o) {
  const Json* r = Controller(o);
  return r == nullptr ? std::string() : safe_json::String(*r, "kind");
}
std::string ControllerName(const Json& o) {
  const Json* r = Controller(o);
  return r == nullptr ? std::string() : safe_json::String(*r, "name");
}
}  // namespace obj

namespace pod {
std::string NodeName(const Json& p) { return obj::StringAt(p, "spec.nodeName"); }
std::string Phase(const Json& p) { return obj::StringAt(p, "status.phase"); }
bool IsReady(const Json& p) { return ConditionTrue(p, "Ready"); }
bool IsDaemonSetPod(const Json& p) { return obj::ControllerKind(p) == "DaemonSet"; }
bool IsMirrorPod(const Json& p) { return obj::Annotations(p).count("kubernetes.io/config.mirror") > 0; }
}  // namespace pod

namespace node {
bool IsUnschedulable(const Json& n) {
  const Json* v = At(n, "spec.unschedulable");
  return v != nullptr && v->is_boolean() && v->get<bool>();
}
bool IsReady(const Json& n) { return ConditionTrue(n, "Ready"); }
std::string Allocatable(const Json& n, const std::string& resource) {
  const Json* a = At(n, "status.allocatable");
  if (a == nullptr || !a->is_object()) return "";
  auto it = a->find(resource);
  if (it == a->end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  return "";
}
std::string ProviderId(const Json& n) { return obj::StringAt(n, "spec.providerID"); }
}  // namespace node

}  // namespace kinema::kube
