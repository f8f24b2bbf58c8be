#include "steps/rescheduling/execution.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "engine/cloud/cloud_provider.h"
#include "engine/common/numeric.h"

namespace kinema::rescheduling {

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

std::vector<BootTarget> BootTargetsOf(const json& plan, const std::string& workflow_id, const std::string& prefix) {
  std::vector<BootTarget> out;
  for (const auto& n : plan.value("nodes", json::array())) {
    if (n.value("action", "") != "boot") continue;
    BootTarget t;
    t.planned = n.value("name", "");
    t.machine_type = n.value("machineType", "");
    t.zone = n.value("zone", "");
    t.capacity = n.value("capacityType", "on-demand");
    t.instance_name = cloud::InstanceNameFor(prefix, workflow_id + "/" + t.planned);
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<BootOption> BootOptionsFor(const Catalog& catalog, const BootTarget& target,
                                       const std::vector<std::string>& allowed_zones) {
  auto allowed = [&](const std::string& z) {
    return allowed_zones.empty() || std::find(allowed_zones.begin(), allowed_zones.end(), z) != allowed_zones.end();
  };
  CapacityType cap = target.capacity == "spot" ? CapacityType::kSpot : CapacityType::kOnDemand;
  std::vector<BootOption> out;
  auto add = [&](const std::string& zone, const std::string& type) {
    BootOption o{zone, type};
    if (allowed(zone) && std::find(out.begin(), out.end(), o) == out.end()) out.push_back(o);
  };
  add(target.zone, target.machine_type);
  const MachineType* planned = catalog.FindType(target.machine_type);
  if (!planned) return out;
  for (const auto& z : planned->zones) add(z, planned->name);
  std::vector<const MachineType*> bigger;
  for (const auto& mt : catalog.machine_types) {
    if (mt.name == planned->name || !catalog.Price(mt.name, cap)) continue;
    if (mt.allocatable.cpu_milli < planned->allocatable.cpu_milli ||
        mt.allocatable.memory_bytes < planned->allocatable.memory_bytes ||
        mt.allocatable.pods < planned->allocatable.pods) {
      continue;
    }
    bigger.push_back(&mt);
  }
  std::stable_sort(bigger.begin(), bigger.end(), [&](const MachineType* a, const MachineType* b) {
    return *catalog.Price(a->name, cap) < *catalog.Price(b->name, cap);
  });
  for (const MachineType* mt : bigger) {
    // The planned zone first (pods may have zone constraints), then the others.
    if (std::find(mt->zones.begin(), mt->zones.end(), target.zone) != mt->zones.end()) add(target.zone, mt->name);
    for (const auto& z : mt->zones) add(z, mt->name);
  }
  return out;
}

std::vector<std::string> RetiringNodesOf(const json& plan) {
  std::vector<std::string> out;
  for (const auto& n : plan.value("nodes", json::array())) {
    if (n.value("action", "") == "retire") out.push_back(n.value("name", ""));
  }
  return out;
}

std::vector<std::string> KeptNodesReceivingPods(const json& plan, const std::map<std::string, std::string>& current_node) {
  std::set<std::string> kept;
  for (const auto& n : plan.value("nodes", json::array())) {
    if (n.value("action", "") == "keep") kept.insert(n.value("name", ""));
  }
  std::set<std::string> receiving;
  for (const auto& p : plan.value("placements", json::array())) {
    std::string node = p.value("node", "");
    auto cur = current_node.find(p.value("pod", ""));
    if (kept.count(node) && cur != current_node.end() && cur->second != node) receiving.insert(node);
  }
  return {receiving.begin(), receiving.end()};
}

bool NodeIsReady(const json& node) {
  if (!node.contains("status")) return false;
  for (const auto& c : node["status"].value("conditions", json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

bool HasDoNotDisrupt(const json& object) {
  const json* meta = object.contains("metadata") ? &object["metadata"] : nullptr;
  if (!meta || !meta->contains("annotations") || !(*meta)["annotations"].is_object()) return false;
  return (*meta)["annotations"].value(kDoNotDisrupt, "") == "true";
}

bool ParseGceProviderId(const std::string& provider_id, std::string* zone, std::string* name) {
  static const std::string kPrefix = "gce://";
  if (provider_id.rfind(kPrefix, 0) != 0) return false;
  std::string rest = provider_id.substr(kPrefix.size());
  size_t a = rest.find('/');
  if (a == std::string::npos) return false;
  size_t b = rest.find('/', a + 1);
  if (b == std::string::npos || b + 1 >= rest.size()) return false;
  *zone = rest.substr(a + 1, b - a - 1);
  *name = rest.substr(b + 1);
  return !zone->empty() && name->find('/') == std::string::npos;
}

json TaintsWithoutRetire(const json& taints) {
  json out = json::array();
  if (!taints.is_array()) return out;
  for (const auto& t : taints) {
    if (t.value("key", "") != kRetireTaintKey) out.push_back(t);
  }
  return out;
}

json TaintsWithRetire(const json& taints, const std::string& iteration) {
  json out = TaintsWithoutRetire(taints);
  out.push_back({{"key", kRetireTaintKey}, {"value", iteration}, {"effect", "NoSchedule"}});
  return out;
}

OwnerRef ControllerOf(const json& object) {
  if (!object.contains("metadata")) return {};
  for (const auto& r : object["metadata"].value("ownerReferences", json::array())) {
    if (r.value("controller", false)) return {r.value("kind", ""), r.value("name", "")};
  }
  return {};
}

bool IsDaemonSetPod(const json& pod) { return ControllerOf(pod).kind == "DaemonSet"; }

bool IsMirrorPod(const json& pod) {
  if (!pod.contains("metadata") || !pod["metadata"].contains("annotations")) return false;
  return pod["metadata"]["annotations"].contains("kubernetes.io/config.mirror");
}

bool IsPodFinished(const json& pod) {
  if (pod.contains("metadata") && pod["metadata"].contains("deletionTimestamp")) return true;
  std::string phase = pod.contains("status") ? pod["status"].value("phase", "") : "";
  return phase == "Succeeded" || phase == "Failed";
}

std::string WhyPodCannotMove(const json& pod) {
  if (IsMirrorPod(pod)) return "mirror (static) pod";
  if (HasDoNotDisrupt(pod)) return std::string("annotated ") + kDoNotDisrupt;
  if (ControllerOf(pod).kind.empty()) return "no controller would recreate it";
  return "";
}

json AffinityPreferringIteration(const json& affinity, const std::string& iteration) {
  json a = affinity.is_object() ? affinity : json::object();
  json& na = a["nodeAffinity"];
  if (!na.is_object()) na = json::object();
  json kept = json::array();
  for (const auto& term : na.value("preferredDuringSchedulingIgnoredDuringExecution", json::array())) {
    bool ours = false;
    if (term.contains("preference")) {
      for (const auto& e : term["preference"].value("matchExpressions", json::array())) {
        if (e.value("key", "") == kIterationLabel) ours = true;
      }
    }
    if (!ours) kept.push_back(term);
  }
  kept.push_back({{"weight", 100},
                  {"preference",
                   {{"matchExpressions",
                     json::array({{{"key", kIterationLabel}, {"operator", "In"}, {"values", json::array({iteration})}}})}}}});
  na["preferredDuringSchedulingIgnoredDuringExecution"] = kept;
  return a;
}

bool DeploymentRolledOut(const json& d, std::string* why, bool* failed) {
  *failed = false;
  const json& meta = d.value("metadata", json::object());
  const json& spec = d.value("spec", json::object());
  const json& st = d.value("status", json::object());
  int64_t gen = meta.value("generation", int64_t{0});
  int64_t observed = st.value("observedGeneration", int64_t{0});
  int64_t want = spec.value("replicas", int64_t{1});
  for (const auto& c : st.value("conditions", json::array())) {
    if (c.value("type", "") == "Progressing" && c.value("reason", "") == "ProgressDeadlineExceeded") {
      *failed = true;
      *why = "progress deadline exceeded: " + c.value("message", "");
      return false;
    }
  }
  if (observed < gen) {
    *why = "controller has not observed generation " + std::to_string(gen) + " yet";
    return false;
  }
  int64_t updated = st.value("updatedReplicas", int64_t{0});
  int64_t ready = st.value("readyReplicas", int64_t{0});
  int64_t available = st.value("availableReplicas", int64_t{0});
  int64_t total = st.value("replicas", int64_t{0});
  if (updated < want || ready < want || available < want || total > want) {
    *why = std::to_string(updated) + "/" + std::to_string(want) + " updated, " + std::to_string(available) +
           " available, " + std::to_string(total) + " total";
    return false;
  }
  why->clear();
  return true;
}

bool SelectorMatches(const json& selector, const json& labels) {
  if (!selector.is_object()) return false;
  const json& ml = selector.value("matchLabels", json::object());
  const json& me = selector.value("matchExpressions", json::array());
  if ((!ml.is_object() || ml.empty()) && (!me.is_array() || me.empty())) return false;
  auto label = [&](const std::string& k, std::string* v) {
    if (!labels.is_object() || !labels.contains(k) || !labels[k].is_string()) return false;
    *v = labels[k].get<std::string>();
    return true;
  };
  if (ml.is_object()) {
    for (auto it = ml.begin(); it != ml.end(); ++it) {
      std::string v;
      if (!label(it.key(), &v) || !it.value().is_string() || v != it.value().get<std::string>()) return false;
    }
  }
  if (me.is_array()) {
    for (const auto& e : me) {
      std::string key = e.value("key", ""), op = e.value("operator", ""), v;
      bool has = label(key, &v);
      std::set<std::string> values;
      for (const auto& x : e.value("values", json::array())) {
        if (x.is_string()) values.insert(x.get<std::string>());
      }
      if (op == "In" && !(has && values.count(v))) return false;
      if (op == "NotIn" && has && values.count(v)) return false;
      if (op == "Exists" && !has) return false;
      if (op == "DoesNotExist" && has) return false;
    }
  }
  return true;
}

bool PdbSelects(const json& pdb, const json& pod_labels) {
  const json& sel = pdb.value("spec", json::object()).value("selector", json());
  if (!sel.is_object()) return false;
  const json& ml = sel.value("matchLabels", json::object());
  const json& me = sel.value("matchExpressions", json::array());
  if ((!ml.is_object() || ml.empty()) && (!me.is_array() || me.empty())) return true;  // {} selects all
  return SelectorMatches(sel, pod_labels);
}

int64_t ScaledValue(const json& v, int64_t total, bool round_up, int64_t fallback) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (!v.is_string()) return fallback;
  std::string s = v.get<std::string>();
  if (s.empty()) return fallback;
  if (s.back() == '%') {
    char* end = nullptr;
    double pct = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() - 1) return fallback;
    double x = pct * static_cast<double>(total) / 100.0;
    if (!std::isfinite(x)) return fallback;
    // Bounded conversion: a PDB's "1e400%" must not become undefined behaviour.
    return round_up ? CeilToInt64Clamped(x - 1e-9) : -CeilToInt64Clamped(-(x + 1e-9), -INT64_MAX);
  }
  char* end = nullptr;
  long long n = std::strtoll(s.c_str(), &end, 10);
  return end == s.c_str() + s.size() ? n : fallback;
}

json RolloutStrategyWithinBudgets(const json& strategy, int64_t replicas, const std::vector<json>& pdbs) {
  if (strategy.is_object() && strategy.value("type", "RollingUpdate") == "Recreate") return strategy;
  json ru = strategy.is_object() ? strategy.value("rollingUpdate", json::object()) : json::object();
  json surge = ru.contains("maxSurge") ? ru["maxSurge"] : json("25%");
  int64_t unavailable = ScaledValue(ru.contains("maxUnavailable") ? ru["maxUnavailable"] : json("25%"), replicas,
                                    /*round_up=*/false, 0);
  for (const auto& pdb : pdbs) {
    const json& spec = pdb.value("spec", json::object());
    int64_t allowed = unavailable;
    if (spec.contains("maxUnavailable")) {
      allowed = ScaledValue(spec["maxUnavailable"], replicas, /*round_up=*/true, 0);
    } else if (spec.contains("minAvailable")) {
      allowed = replicas - ScaledValue(spec["minAvailable"], replicas, /*round_up=*/true, replicas);
    }
    unavailable = std::min(unavailable, std::max<int64_t>(0, allowed));
  }
  unavailable = std::max<int64_t>(0, unavailable);
  // Replace-in-place when any unavailability is allowed: no surge pod needs
  // room the plan did not reserve; each old pod's place is freed first.
  if (unavailable >= 1) surge = 0;
  else if (ScaledValue(surge, replicas, /*round_up=*/true, 1) < 1) surge = 1;
  return {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", surge}, {"maxUnavailable", unavailable}}}};
}

}  // namespace kinema::rescheduling
