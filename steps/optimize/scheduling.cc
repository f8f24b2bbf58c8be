#include "steps/optimize/scheduling.h"

#include <cerrno>
#include <cstdlib>

namespace kinema {
namespace {

bool ParseInt(const std::string& s, long long* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end == nullptr || *end != '\0') return false;
  *out = v;
  return true;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  for (const auto& x : v)
    if (x == s) return true;
  return false;
}

Status Err(const std::string& where, const std::string& what) {
  return Status::InvalidArgument(where + ": " + what);
}

StatusOr<SelectorRequirement> ParseRequirement(const nlohmann::json& j, const std::string& where,
                                               bool allow_gt_lt) {
  if (!j.is_object()) return Err(where, "must be an object");
  SelectorRequirement r;
  if (!j.contains("key") || !j["key"].is_string()) return Err(where + ".key", "must be a string");
  r.key = j["key"].get<std::string>();
  if (!j.contains("operator") || !j["operator"].is_string())
    return Err(where + ".operator", "must be a string");
  r.op = j["operator"].get<std::string>();
  if (j.contains("values") && !j["values"].is_null()) {
    if (!j["values"].is_array()) return Err(where + ".values", "must be an array of strings");
    for (size_t i = 0; i < j["values"].size(); ++i) {
      if (!j["values"][i].is_string())
        return Err(where + ".values[" + std::to_string(i) + "]", "must be a string");
      r.values.push_back(j["values"][i].get<std::string>());
    }
  }
  if (r.op == "In" || r.op == "NotIn") {
    if (r.values.empty()) return Err(where + ".values", "must be non-empty for operator " + r.op);
  } else if (r.op == "Exists" || r.op == "DoesNotExist") {
    if (!r.values.empty()) return Err(where + ".values", "must be empty for operator " + r.op);
  } else if (allow_gt_lt && (r.op == "Gt" || r.op == "Lt")) {
    long long v;
    if (r.values.size() != 1 || !ParseInt(r.values[0], &v))
      return Err(where + ".values", "must be one integer for operator " + r.op);
  } else {
    return Err(where + ".operator", "unsupported operator \"" + r.op + "\"");
  }
  return r;
}

StatusOr<std::vector<SelectorRequirement>> ParseRequirements(const nlohmann::json& j,
                                                             const std::string& where,
                                                             bool allow_gt_lt) {
  std::vector<SelectorRequirement> out;
  if (j.is_null()) return out;
  if (!j.is_array()) return Err(where, "must be an array");
  for (size_t i = 0; i < j.size(); ++i) {
    auto r = ParseRequirement(j[i], where + "[" + std::to_string(i) + "]", allow_gt_lt);
    if (!r.ok()) return r.status();
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace

bool MatchesRequirement(const SelectorRequirement& r, const Labels& labels) {
  auto it = labels.find(r.key);
  bool has = it != labels.end();
  if (r.op == "In") return has && Contains(r.values, it->second);
  if (r.op == "NotIn") return !has || !Contains(r.values, it->second);
  if (r.op == "Exists") return has;
  if (r.op == "DoesNotExist") return !has;
  if (r.op == "Gt" || r.op == "Lt") {
    long long lv, rv;
    if (!has || r.values.size() != 1 || !ParseInt(it->second, &lv) || !ParseInt(r.values[0], &rv))
      return false;
    return r.op == "Gt" ? lv > rv : lv < rv;
  }
  return false;
}

bool MatchesLabelSelector(const LabelSelector& s, const Labels& labels) {
  for (const auto& [k, v] : s.match_labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const auto& r : s.match_expressions)
    if (!MatchesRequirement(r, labels)) return false;
  return true;
}

bool ToleratesTaint(const std::vector<Toleration>& tolerations, const Taint& taint) {
  for (const auto& t : tolerations) {
    if (!t.effect.empty() && t.effect != taint.effect) continue;
    if (t.op == "Exists") {
      if (t.key.empty() || t.key == taint.key) return true;
    } else {  // Equal
      if (t.key == taint.key && t.value == taint.value) return true;
    }
  }
  return false;
}

bool ToleratesAll(const std::vector<Toleration>& tolerations, const std::vector<Taint>& taints) {
  for (const auto& taint : taints) {
    if (taint.effect != "NoSchedule" && taint.effect != "NoExecute") continue;
    if (!ToleratesTaint(tolerations, taint)) return false;
  }
  return true;
}

bool MatchesNodeAffinity(const NodeConstraints& c, const NodeView& node) {
  for (const auto& [k, v] : c.node_selector) {
    auto it = node.labels->find(k);
    if (it == node.labels->end() || it->second != v) return false;
  }
  if (!c.has_required_affinity) return true;
  Labels fields{{"metadata.name", *node.name}};
  for (const auto& term : c.required_terms) {
    if (term.match_expressions.empty() && term.match_fields.empty()) continue;  // matches nothing
    bool ok = true;
    for (const auto& r : term.match_expressions)
      if (!MatchesRequirement(r, *node.labels)) { ok = false; break; }
    if (ok)
      for (const auto& r : term.match_fields)
        if (!MatchesRequirement(r, fields)) { ok = false; break; }
    if (ok) return true;
  }
  return false;
}

bool NodeAccepts(const NodeConstraints& c, const NodeView& node, std::string* why) {
  for (const auto& [k, v] : c.node_selector) {
    auto it = node.labels->find(k);
    if (it == node.labels->end() || it->second != v) {
      if (why) *why = "nodeSelector " + k + "=" + v + " not matched";
      return false;
    }
  }
  if (!MatchesNodeAffinity(c, node)) {
    if (why) *why = "required node affinity not matched";
    return false;
  }
  for (const auto& taint : *node.taints) {
    if (taint.effect != "NoSchedule" && taint.effect != "NoExecute") continue;
    if (!ToleratesTaint(c.tolerations, taint)) {
      if (why) *why = "taint " + taint.key + "=" + taint.value + ":" + taint.effect + " not tolerated";
      return false;
    }
  }
  return true;
}

StatusOr<LabelSelector> ParseLabelSelector(const nlohmann::json& j, const std::string& where) {
  LabelSelector s;
  if (j.is_null()) return s;
  if (!j.is_object()) return Err(where, "must be an object");
  if (j.contains("matchLabels") && !j["matchLabels"].is_null()) {
    if (!j["matchLabels"].is_object()) return Err(where + ".matchLabels", "must be an object");
    for (auto it = j["matchLabels"].begin(); it != j["matchLabels"].end(); ++it) {
      if (!it.value().is_string()) return Err(where + ".matchLabels." + it.key(), "must be a string");
      s.match_labels[it.key()] = it.value().get<std::string>();
    }
  }
  if (j.contains("matchExpressions")) {
    auto r = ParseRequirements(j["matchExpressions"], where + ".matchExpressions", false);
    if (!r.ok()) return r.status();
    s.match_expressions = std::move(*r);
  }
  return s;
}

StatusOr<NodeConstraints> ParseNodeConstraints(const nlohmann::json& spec, const std::string& where) {
  NodeConstraints c;
  if (spec.contains("nodeSelector") && !spec["nodeSelector"].is_null()) {
    const auto& ns = spec["nodeSelector"];
    if (!ns.is_object()) return Err(where + ".nodeSelector", "must be an object");
    for (auto it = ns.begin(); it != ns.end(); ++it) {
      if (!it.value().is_string()) return Err(where + ".nodeSelector." + it.key(), "must be a string");
      c.node_selector[it.key()] = it.value().get<std::string>();
    }
  }
  if (spec.contains("affinity") && spec["affinity"].is_object() &&
      spec["affinity"].contains("nodeAffinity") && spec["affinity"]["nodeAffinity"].is_object()) {
    const auto& na = spec["affinity"]["nodeAffinity"];
    const char* kReq = "requiredDuringSchedulingIgnoredDuringExecution";
    if (na.contains(kReq) && !na[kReq].is_null()) {
      std::string w = where + ".affinity.nodeAffinity." + kReq;
      const auto& req = na[kReq];
      if (!req.is_object()) return Err(w, "must be an object");
      if (!req.contains("nodeSelectorTerms") || !req["nodeSelectorTerms"].is_array())
        return Err(w + ".nodeSelectorTerms", "must be an array");
      c.has_required_affinity = true;
      const auto& terms = req["nodeSelectorTerms"];
      for (size_t i = 0; i < terms.size(); ++i) {
        std::string tw = w + ".nodeSelectorTerms[" + std::to_string(i) + "]";
        if (!terms[i].is_object()) return Err(tw, "must be an object");
        NodeSelectorTerm t;
        if (terms[i].contains("matchExpressions")) {
          auto r = ParseRequirements(terms[i]["matchExpressions"], tw + ".matchExpressions", true);
          if (!r.ok()) return r.status();
          t.match_expressions = std::move(*r);
        }
        if (terms[i].contains("matchFields")) {
          auto r = ParseRequirements(terms[i]["matchFields"], tw + ".matchFields", true);
          if (!r.ok()) return r.status();
          for (const auto& f : *r)
            if (f.key != "metadata.name")
              return Err(tw + ".matchFields", "only metadata.name is supported, got \"" + f.key + "\"");
          t.match_fields = std::move(*r);
        }
        c.required_terms.push_back(std::move(t));
      }
    }
  }
  if (spec.contains("tolerations") && !spec["tolerations"].is_null()) {
    const auto& ts = spec["tolerations"];
    if (!ts.is_array()) return Err(where + ".tolerations", "must be an array");
    for (size_t i = 0; i < ts.size(); ++i) {
      std::string tw = where + ".tolerations[" + std::to_string(i) + "]";
      if (!ts[i].is_object()) return Err(tw, "must be an object");
      Toleration t;
      auto str = [&](const char* f, std::string* out) -> Status {
        if (ts[i].contains(f) && !ts[i][f].is_null()) {
          if (!ts[i][f].is_string()) return Err(tw + "." + f, "must be a string");
          *out = ts[i][f].get<std::string>();
        }
        return Status::OK();
      };
      KINEMA_RETURN_IF_ERROR(str("key", &t.key));
      std::string op;
      KINEMA_RETURN_IF_ERROR(str("operator", &op));
      if (!op.empty()) t.op = op;
      if (t.op != "Equal" && t.op != "Exists") return Err(tw + ".operator", "must be Equal or Exists");
      KINEMA_RETURN_IF_ERROR(str("value", &t.value));
      KINEMA_RETURN_IF_ERROR(str("effect", &t.effect));
      if (t.op == "Exists" && !t.value.empty()) return Err(tw + ".value", "must be empty with operator Exists");
      if (t.key.empty() && t.op != "Exists") return Err(tw + ".key", "empty key requires operator Exists");
      c.tolerations.push_back(std::move(t));
    }
  }
  return c;
}

}  // namespace kinema
