#include "tools/kinema-sim/cluster/node_eligibility.h"

#include <string>

namespace kinema::sim::cluster {

using Json = nlohmann::json;

namespace {

bool MatchExpression(const Json& expr, const Json& labels) {
  std::string key = expr.value("key", "");
  std::string op = expr.value("operator", "");
  Json values = expr.value("values", Json::array());
  bool has = labels.is_object() && labels.contains(key) && labels[key].is_string();
  std::string v = has ? labels[key].get<std::string>() : "";
  auto in = [&] {
    for (const auto& x : values) {
      if (x.is_string() && x.get<std::string>() == v) return true;
    }
    return false;
  };
  if (op == "In") return has && in();
  if (op == "NotIn") return !has || !in();
  if (op == "Exists") return has;
  if (op == "DoesNotExist") return !has;
  if (op == "Gt" || op == "Lt") {
    if (!has || values.size() != 1 || !values[0].is_string()) return false;
    try {
      long long a = std::stoll(v), b = std::stoll(values[0].get<std::string>());
      return op == "Gt" ? a > b : a < b;
    } catch (const std::exception&) {
      return false;
    }
  }
  return false;
}

bool MatchTerm(const Json& term, const Json& node) {
  Json labels = node["metadata"].value("labels", Json::object());
  bool any = false;
  if (term.contains("matchExpressions") && term["matchExpressions"].is_array()) {
    for (const auto& e : term["matchExpressions"]) {
      any = true;
      if (!MatchExpression(e, labels)) return false;
    }
  }
  if (term.contains("matchFields") && term["matchFields"].is_array()) {
    Json fields = {{"metadata.name", node["metadata"].value("name", "")}};
    for (const auto& e : term["matchFields"]) {
      any = true;
      if (!MatchExpression(e, fields)) return false;
    }
  }
  return any;  // an empty term matches nothing
}

}  // namespace

bool Tolerates(const Json& t, const Json& taint) {
  std::string effect = t.value("effect", "");
  if (!effect.empty() && effect != taint.value("effect", "")) return false;
  std::string key = t.value("key", "");
  std::string op = t.value("operator", "Equal");
  if (key.empty()) return op == "Exists";
  if (key != taint.value("key", "")) return false;
  if (op == "Exists") return true;
  return t.value("value", "") == taint.value("value", "");
}

bool MatchesRequiredNodeAffinity(const Json& spec, const Json& node) {
  if (spec.contains("nodeSelector") && spec["nodeSelector"].is_object()) {
    Json labels = node["metadata"].value("labels", Json::object());
    for (auto it = spec["nodeSelector"].begin(); it != spec["nodeSelector"].end(); ++it) {
      if (!labels.contains(it.key()) || labels[it.key()] != it.value()) return false;
    }
  }
  const Json* req = nullptr;
  if (spec.contains("affinity") && spec["affinity"].is_object() && spec["affinity"].contains("nodeAffinity")) {
    const Json& na = spec["affinity"]["nodeAffinity"];
    if (na.is_object() && na.contains("requiredDuringSchedulingIgnoredDuringExecution")) {
      req = &na["requiredDuringSchedulingIgnoredDuringExecution"];
    }
  }
  if (!req || !req->is_object() || !req->contains("nodeSelectorTerms")) return true;
  for (const auto& term : (*req)["nodeSelectorTerms"]) {
    if (MatchTerm(term, node)) return true;
  }
  return false;
}

const Json& DaemonTolerations() {
  static const Json kTolerations = [] {
    Json out = Json::array();
    for (const char* key : {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}) {
      out.push_back({{"key", key}, {"operator", "Exists"}, {"effect", "NoExecute"}});
    }
    for (const char* key : {"node.kubernetes.io/disk-pressure", "node.kubernetes.io/memory-pressure",
                            "node.kubernetes.io/pid-pressure", "node.kubernetes.io/unschedulable",
                            "node.kubernetes.io/network-unavailable"}) {
      out.push_back({{"key", key}, {"operator", "Exists"}, {"effect", "NoSchedule"}});
    }
    return out;
  }();
  return kTolerations;
}

bool DaemonPodFitsNode(const Json& spec, const Json& node) {
  if (!MatchesRequiredNodeAffinity(spec, node)) return false;
  auto ns = node.find("spec");
  if (ns == node.end() || !ns->is_object()) return true;
  auto taints = ns->find("taints");
  if (taints == ns->end() || !taints->is_array() || taints->empty()) return true;
  static const Json kNone = Json::array();
  auto own = spec.find("tolerations");
  const Json& tolerations = own != spec.end() && own->is_array() ? *own : kNone;
  for (const auto& taint : *taints) {
    std::string effect = taint.value("effect", "");
    if (effect != "NoSchedule" && effect != "NoExecute") continue;
    bool ok = false;
    for (const Json* list : {&tolerations, &DaemonTolerations()}) {
      for (const auto& t : *list) {
        if (Tolerates(t, taint)) {
          ok = true;
          break;
        }
      }
      if (ok) break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace kinema::sim::cluster
