#include "engine/kube/object.h"

#include <cmath>
#include <cstdlib>
#include <set>

#include "engine/common/numeric.h"
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
bool IsFinished(const Json& p) {
  if (obj::IsTerminating(p)) return true;
  std::string phase = Phase(p);
  return phase == "Succeeded" || phase == "Failed";
}
bool IsActive(const Json& p) {
  std::string phase = Phase(p);
  return !obj::IsTerminating(p) && (phase == "Pending" || phase == "Running");
}
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

namespace selector {
bool Matches(const Json& sel, const Json& labels, bool empty_selects_all) {
  if (!sel.is_object()) return empty_selects_all && sel.is_null();
  auto ml_it = sel.find("matchLabels");
  auto me_it = sel.find("matchExpressions");
  bool has_ml = ml_it != sel.end() && ml_it->is_object() && !ml_it->empty();
  bool has_me = me_it != sel.end() && me_it->is_array() && !me_it->empty();
  if (!has_ml && !has_me) return empty_selects_all;
  auto label = [&](const std::string& k, std::string* v) {
    if (!labels.is_object()) return false;
    auto it = labels.find(k);
    if (it == labels.end() || !it->is_string()) return false;
    *v = it->get<std::string>();
    return true;
  };
  if (has_ml) {
    for (auto it = ml_it->begin(); it != ml_it->end(); ++it) {
      std::string v;
      if (!it.value().is_string() || !label(it.key(), &v) || v != it.value().get<std::string>()) return false;
    }
  }
  if (has_me) {
    for (const auto& e : *me_it) {
      if (!e.is_object()) return false;
      auto key_it = e.find("key");
      auto op_it = e.find("operator");
      if (key_it == e.end() || !key_it->is_string() || op_it == e.end() || !op_it->is_string()) return false;
      std::set<std::string> values;
      if (auto vs = e.find("values"); vs != e.end() && vs->is_array()) {
        for (const auto& x : *vs) {
          if (!x.is_string()) return false;
          values.insert(x.get<std::string>());
        }
      }
      std::string v;
      bool has = label(key_it->get<std::string>(), &v);
      const std::string op = op_it->get<std::string>();
      if (op == "In") {
        if (!has || !values.count(v)) return false;
      } else if (op == "NotIn") {
        if (has && values.count(v)) return false;
      } else if (op == "Exists") {
        if (!has) return false;
      } else if (op == "DoesNotExist") {
        if (has) return false;
      } else {
        return false;
      }
    }
  }
  return true;
}
}  // namespace selector

namespace pdb {
bool Selects(const Json& pdb, const Json& pod_labels) {
  const Json* sel = At(pdb, "spec.selector");
  if (sel == nullptr || !sel->is_object()) return false;  // policy/v1: a null selector selects nothing
  return selector::Matches(*sel, pod_labels, /*empty_selects_all=*/true);
}
}  // namespace pdb

namespace intstr {
int64_t Scaled(const Json& v, int64_t total, bool round_up, int64_t fallback) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (!v.is_string()) return fallback;
  const std::string s = v.get<std::string>();
  if (s.empty()) return fallback;
  if (s.back() == '%') {
    char* end = nullptr;
    double pct = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() - 1 || !std::isfinite(pct) || pct < 0) return fallback;
    double x = pct * static_cast<double>(total) / 100.0;
    if (!std::isfinite(x)) return fallback;
    // Bounded conversion: a PDB's "1e300%" must not become undefined behaviour.
    return round_up ? CeilToInt64Clamped(x - 1e-9) : -CeilToInt64Clamped(-(x + 1e-9), -INT64_MAX);
  }
  char* end = nullptr;
  long long n = std::strtoll(s.c_str(), &end, 10);
  return end == s.c_str() + s.size() ? n : fallback;
}
}  // namespace intstr

}  // namespace kinema::kube
