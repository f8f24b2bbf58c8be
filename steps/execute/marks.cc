#include "steps/execute/marks.h"

#include <cctype>

namespace kinema::execute {

using nlohmann::json;

std::string IterationValue(const std::string& workflow_id) {
  std::string v;
  for (char c : workflow_id) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      v += static_cast<char>(std::tolower(u));
    } else if (!v.empty() && v.back() != '-') {
      v += '-';
    }
  }
  if (v.size() > 63) v = v.substr(v.size() - 63);  // the distinguishing part is the end
  while (!v.empty() && v.front() == '-') v.erase(v.begin());
  while (!v.empty() && v.back() == '-') v.pop_back();
  return v.empty() ? "x" : v;
}

json TaintsWithoutRetire(const json& taints) {
  json out = json::array();
  if (!taints.is_array()) return out;
  for (const auto& t : taints) {
    if (!t.is_object()) continue;
    auto key = t.find("key");
    if (key != t.end() && key->is_string() && key->get<std::string>() == kRetireTaintKey) continue;
    out.push_back(t);
  }
  return out;
}

json TaintsWithRetire(const json& taints, const std::string& iteration) {
  json out = TaintsWithoutRetire(taints);
  out.push_back({{"key", kRetireTaintKey}, {"value", iteration}, {"effect", "NoSchedule"}});
  return out;
}

namespace {
bool IsOurTerm(const json& term) {
  if (!term.is_object()) return false;
  auto pref = term.find("preference");
  if (pref == term.end() || !pref->is_object()) return false;
  auto exprs = pref->find("matchExpressions");
  if (exprs == pref->end() || !exprs->is_array()) return false;
  for (const auto& e : *exprs) {
    if (!e.is_object()) continue;
    auto key = e.find("key");
    // kinema.io/iteration: the iteration term; kinema.io/retire: the
    // steering term (workload_move.h AffinitySteering).
    if (key != e.end() && key->is_string() &&
        (key->get<std::string>() == kIterationLabel || key->get<std::string>() == kRetireLabel)) {
      return true;
    }
  }
  return false;
}
}  // namespace

json AffinityPreferringIteration(const json& affinity, const std::string& iteration) {
  json a = affinity.is_object() ? affinity : json::object();
  json& na = a["nodeAffinity"];
  if (!na.is_object()) na = json::object();
  json kept = json::array();
  auto terms = na.find("preferredDuringSchedulingIgnoredDuringExecution");
  if (terms != na.end() && terms->is_array()) {
    for (const auto& term : *terms) {
      if (!IsOurTerm(term)) kept.push_back(term);
    }
  }
  kept.push_back({{"weight", 100},
                  {"preference",
                   {{"matchExpressions",
                     json::array({{{"key", kIterationLabel}, {"operator", "In"}, {"values", json::array({iteration})}}})}}}});
  na["preferredDuringSchedulingIgnoredDuringExecution"] = kept;
  return a;
}

std::string LabelOf(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return "";
  auto labels = meta->find("labels");
  if (labels == meta->end() || !labels->is_object()) return "";
  auto v = labels->find(key);
  return v != labels->end() && v->is_string() ? v->get<std::string>() : "";
}

}  // namespace kinema::execute
