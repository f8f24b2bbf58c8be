#include "tools/kinema-sim/scheduler/sched_types.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "engine/quantity/quantity.h"

namespace kinema::sim::sched {

using nlohmann::json;

namespace {

constexpr int64_t kDefaultMilliCpuRequest = 100;                 // scheduler's non-zero default
constexpr int64_t kDefaultMemoryRequest = 200LL * 1024 * 1024;  // 200Mi

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
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Collects the first parse error with its JSON path.
struct Errors {
  std::string first;
  void Add(const std::string& where, const std::string& what) {
    if (first.empty()) first = where + ": " + what;
  }
};

const json& Field(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string Str(const json& j, const char* key) {
  const json& v = Field(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

Labels ParseStringMap(const json& j) {
  Labels out;
  if (!j.is_object()) return out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

std::vector<Requirement> ParseRequirements(const json& j, const std::string& where, bool allow_gt_lt,
                                           Errors* errors) {
  std::vector<Requirement> out;
  if (j.is_null()) return out;
  if (!j.is_array()) {
    errors->Add(where, "must be an array");
    return out;
  }
  for (size_t i = 0; i < j.size(); ++i) {
    std::string at = where + "[" + std::to_string(i) + "]";
    Requirement r;
    r.key = Str(j[i], "key");
    std::string op = Str(j[i], "operator");
    const json& values = Field(j[i], "values");
    if (values.is_array()) {
      for (const auto& v : values)
        if (v.is_string()) r.values.push_back(v.get<std::string>());
    }
    if (op == "In") r.op = Requirement::Op::kIn;
    else if (op == "NotIn") r.op = Requirement::Op::kNotIn;
    else if (op == "Exists") r.op = Requirement::Op::kExists;
    else if (op == "DoesNotExist") r.op = Requirement::Op::kDoesNotExist;
    else if (allow_gt_lt && op == "Gt") r.op = Requirement::Op::kGt;
    else if (allow_gt_lt && op == "Lt") r.op = Requirement::Op::kLt;
    else {
      errors->Add(at + ".operator", "unsupported operator \"" + op + "\"");
      continue;
    }
    long long ignored;
    if ((r.op == Requirement::Op::kGt || r.op == Requirement::Op::kLt) &&
        (r.values.size() != 1 || !ParseInt(r.values[0], &ignored))) {
      errors->Add(at + ".values", "must be one integer for operator " + op);
      continue;
    }
    out.push_back(std::move(r));
  }
  return out;
}

LabelSelectorSpec ParseLabelSelector(const json& j, const std::string& where, Errors* errors) {
  LabelSelectorSpec s;
  if (!j.is_object()) return s;  // null selector
  s.null = false;
  s.match_labels = ParseStringMap(Field(j, "matchLabels"));
  s.expressions = ParseRequirements(Field(j, "matchExpressions"), where + ".matchExpressions", false, errors);
  return s;
}

NodeSelectorTerm ParseNodeSelectorTerm(const json& j, const std::string& where, Errors* errors) {
  NodeSelectorTerm t;
  t.expressions = ParseRequirements(Field(j, "matchExpressions"), where + ".matchExpressions", true, errors);
  t.fields = ParseRequirements(Field(j, "matchFields"), where + ".matchFields", true, errors);
  for (const auto& f : t.fields) {
    if (f.key != "metadata.name") errors->Add(where + ".matchFields", "unsupported field \"" + f.key + "\"");
  }
  return t;
}

// Quantity of `name` in a requests/limits-like map; false when absent.
bool Quantity(const json& map, const char* name, bool milli, int64_t* out, const std::string& where,
              Errors* errors) {
  const json& v = Field(map, name);
  if (v.is_null()) return false;
  std::string text = v.is_string() ? v.get<std::string>() : v.is_number() ? v.dump() : std::string();
  auto q = milli ? ParseQuantityMilli(text) : ParseQuantityValue(text);
  if (!q.ok()) {
    errors->Add(where + "." + name, q.status().ToString());
    return false;
  }
  *out = q.value();
  return true;
}

struct ContainerRequest {
  Resources req, nonzero;
};

// Requests of one container: requests, defaulted from limits like the
// apiserver does, raised to the allocated resources of an in-place resize.
ContainerRequest ContainerRequests(const json& c, const json* allocated, bool resize_infeasible,
                                   const std::string& where, Errors* errors) {
  ContainerRequest out;
  const json& res = Field(c, "resources");
  const json& requests = Field(res, "requests");
  const json& limits = Field(res, "limits");
  int64_t v = 0;
  bool has_cpu = Quantity(requests, "cpu", true, &v, where + ".resources.requests", errors) ||
                 Quantity(limits, "cpu", true, &v, where + ".resources.limits", errors);
  int64_t cpu = has_cpu ? v : 0;
  v = 0;
  bool has_mem = Quantity(requests, "memory", false, &v, where + ".resources.requests", errors) ||
                 Quantity(limits, "memory", false, &v, where + ".resources.limits", errors);
  int64_t mem = has_mem ? v : 0;
  if (allocated != nullptr) {
    int64_t a = 0;
    if (Quantity(*allocated, "cpu", true, &a, where + ".allocatedResources", errors)) {
      cpu = resize_infeasible ? a : std::max(cpu, a);
      has_cpu = true;
    }
    if (Quantity(*allocated, "memory", false, &a, where + ".allocatedResources", errors)) {
      mem = resize_infeasible ? a : std::max(mem, a);
      has_mem = true;
    }
  }
  out.req.milli_cpu = cpu;
  out.req.memory = mem;
  out.nonzero.milli_cpu = has_cpu ? cpu : kDefaultMilliCpuRequest;
  out.nonzero.memory = has_mem ? mem : kDefaultMemoryRequest;
  return out;
}

void AddTo(Resources* a, const Resources& b) {
  a->milli_cpu += b.milli_cpu;
  a->memory += b.memory;
}

void MaxInto(Resources* a, const Resources& b) {
  a->milli_cpu = std::max(a->milli_cpu, b.milli_cpu);
  a->memory = std::max(a->memory, b.memory);
}

void ComputeRequests(const json& pod, SchedPod* p, Errors* errors) {
  const json& spec = Field(pod, "spec");
  const json& status = Field(pod, "status");
  // In-place resize: allocated resources per container name.
  std::map<std::string, const json*> allocated;
  for (const char* list : {"containerStatuses", "initContainerStatuses"}) {
    const json& statuses = Field(status, list);
    if (!statuses.is_array()) continue;
    for (const auto& cs : statuses) {
      const json& a = Field(cs, "allocatedResources");
      if (a.is_object()) allocated[Str(cs, "name")] = &a;
    }
  }
  bool infeasible = Str(status, "resize") == "Infeasible";
  const json& conds = Field(status, "conditions");
  if (conds.is_array()) {
    for (const auto& c : conds) {
      if (Str(c, "type") == "PodResizePending" && Str(c, "reason") == "Infeasible") infeasible = true;
    }
  }
  auto alloc_of = [&](const json& c) -> const json* {
    auto it = allocated.find(Str(c, "name"));
    return it == allocated.end() ? nullptr : it->second;
  };

  Resources sum, sum_nz;
  const json& containers = Field(spec, "containers");
  if (containers.is_array()) {
    for (size_t i = 0; i < containers.size(); ++i) {
      auto r = ContainerRequests(containers[i], alloc_of(containers[i]), infeasible,
                                 "spec.containers[" + std::to_string(i) + "]", errors);
      AddTo(&sum, r.req);
      AddTo(&sum_nz, r.nonzero);
    }
  }
  Resources init_max, init_max_nz, sidecars, sidecars_nz;
  const json& inits = Field(spec, "initContainers");
  if (inits.is_array()) {
    for (size_t i = 0; i < inits.size(); ++i) {
      auto r = ContainerRequests(inits[i], alloc_of(inits[i]), infeasible,
                                 "spec.initContainers[" + std::to_string(i) + "]", errors);
      if (Str(inits[i], "restartPolicy") == "Always") {  // sidecar: runs for the pod's life
        AddTo(&sum, r.req);
        AddTo(&sum_nz, r.nonzero);
        AddTo(&sidecars, r.req);
        AddTo(&sidecars_nz, r.nonzero);
      } else {
        Resources t = r.req, tn = r.nonzero;
        AddTo(&t, sidecars);
        AddTo(&tn, sidecars_nz);
        MaxInto(&init_max, t);
        MaxInto(&init_max_nz, tn);
      }
    }
  }
  MaxInto(&sum, init_max);
  MaxInto(&sum_nz, init_max_nz);
  const json& overhead = Field(spec, "overhead");
  Resources oh;
  Quantity(overhead, "cpu", true, &oh.milli_cpu, "spec.overhead", errors);
  Quantity(overhead, "memory", false, &oh.memory, "spec.overhead", errors);
  AddTo(&sum, oh);
  AddTo(&sum_nz, oh);
  sum.pods = sum_nz.pods = 1;
  p->requests = sum;
  p->nonzero = sum_nz;
}

std::string TermKeyOf(const LabelSelectorSpec& s) {
  std::string k = s.null ? "null" : "{";
  for (const auto& [a, b] : s.match_labels) k += a + "=" + b + ",";
  k += "|";
  for (const auto& r : s.expressions) {
    k += r.key + "#" + std::to_string(static_cast<int>(r.op)) + "#";
    for (const auto& v : r.values) k += v + ";";
    k += ",";
  }
  return k;
}

}  // namespace

bool Requirement::Matches(const Labels& labels) const {
  auto it = labels.find(key);
  return MatchesValue(it != labels.end(), it != labels.end() ? it->second : std::string());
}

bool Requirement::MatchesValue(bool present, const std::string& value) const {
  switch (op) {
    case Op::kIn:
      return present && Contains(values, value);
    case Op::kNotIn:
      return !present || !Contains(values, value);
    case Op::kExists:
      return present;
    case Op::kDoesNotExist:
      return !present;
    case Op::kGt:
    case Op::kLt: {
      long long lv, rv;
      if (!present || values.size() != 1 || !ParseInt(value, &lv) || !ParseInt(values[0], &rv)) return false;
      return op == Op::kGt ? lv > rv : lv < rv;
    }
  }
  return false;
}

bool LabelSelectorSpec::Matches(const Labels& labels) const {
  if (null) return false;
  for (const auto& [k, v] : match_labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const auto& r : expressions)
    if (!r.Matches(labels)) return false;
  return true;
}

bool NodeSelectorTerm::Matches(const std::string& node_name, const Labels& node_labels) const {
  // An empty term (no expressions, no fields) matches no objects.
  if (expressions.empty() && fields.empty()) return false;
  for (const auto& r : expressions)
    if (!r.Matches(node_labels)) return false;
  for (const auto& f : fields)
    if (!f.MatchesValue(true, node_name)) return false;
  return true;
}

Taint MakeTaint(std::string key, std::string value, std::string effect) {
  Taint t;
  t.hard = effect == "NoSchedule" || effect == "NoExecute";
  t.prefer = effect == "PreferNoSchedule";
  t.key = std::move(key);
  t.value = std::move(value);
  t.effect = std::move(effect);
  return t;
}

bool Toleration::Tolerates(const Taint& t) const {
  if (!effect.empty() && effect != t.effect) return false;
  if (key.empty()) return exists;  // empty key + Exists tolerates everything
  if (key != t.key) return false;
  return exists || value == t.value;
}

bool PodAffinityTerm::AppliesToNamespace(const std::string& ns) const {
  return all_namespaces || Contains(namespaces, ns);
}

std::string PodAffinityTerm::Key() const {
  std::string k = topology_key + "|" + (all_namespaces ? "*" : "");
  for (const auto& n : namespaces) k += n + ",";
  return k + "|" + TermKeyOf(selector);
}

bool SchedPod::Tolerates(const Taint& t) const {
  for (const auto& tol : tolerations)
    if (tol.Tolerates(t)) return true;
  return false;
}

bool SchedPod::MatchesNodeAffinity(const std::string& node, const Labels& node_labels) const {
  for (const auto& [k, v] : node_selector) {
    auto it = node_labels.find(k);
    if (it == node_labels.end() || it->second != v) return false;
  }
  if (!has_required_affinity) return true;
  for (const auto& term : required_terms)
    if (term.Matches(node, node_labels)) return true;
  return false;
}

SchedNode& SchedNode::operator=(const SchedNode& o) {
  if (this == &o) return *this;
  name = o.name;
  rv = o.rv;
  labels = o.labels;
  taints = o.taints;
  unschedulable = o.unschedulable;
  ready = o.ready;
  allocatable = o.allocatable;
  parse_error = o.parse_error;
  CacheLabels();
  return *this;
}

void SchedNode::CacheLabels() {
  auto h = labels.find(kHostnameLabel);
  hostname = h == labels.end() ? nullptr : &h->second;
  auto z = labels.find(kZoneLabel);
  zone = z == labels.end() ? nullptr : &z->second;
}

const std::string* SchedNode::Label(const std::string& key) const {
  static const std::string kHostname = kHostnameLabel, kZone = kZoneLabel;
  if (key.size() == kHostname.size() && key == kHostname) return hostname;
  if (key.size() == kZone.size() && key == kZone) return zone;
  auto it = labels.find(key);
  return it == labels.end() ? nullptr : &it->second;
}

std::string SchedNode::Fingerprint() const {
  std::string f = std::to_string(allocatable.milli_cpu) + "/" + std::to_string(allocatable.memory) + "/" +
                  std::to_string(allocatable.pods) + (unschedulable ? "/U" : "/u") + (ready ? "R" : "r") + "|";
  for (const auto& [k, v] : labels) f += k + "=" + v + ",";
  f += "|";
  for (const auto& t : taints) f += t.key + "=" + t.value + ":" + t.effect + ",";
  return f;
}

SchedPod ParsePod(const json& pod) {
  SchedPod p;
  Errors errors;
  const json& md = Field(pod, "metadata");
  const json& spec = Field(pod, "spec");
  p.ns = Str(md, "namespace");
  p.name = Str(md, "name");
  p.uid = Str(md, "uid");
  p.rv = std::strtoull(Str(md, "resourceVersion").c_str(), nullptr, 10);
  p.labels = ParseStringMap(Field(md, "labels"));
  p.terminating = !Field(md, "deletionTimestamp").is_null();
  p.node_name = Str(spec, "nodeName");
  p.scheduler_name = Str(spec, "schedulerName");
  if (p.scheduler_name.empty()) p.scheduler_name = "default-scheduler";
  p.phase = Str(Field(pod, "status"), "phase");
  const json& owners = Field(md, "ownerReferences");
  if (owners.is_array()) {
    for (const auto& o : owners) {
      const json& controller = Field(o, "controller");
      if (controller.is_boolean() && controller.get<bool>()) {
        p.owner_kind = Str(o, "kind");
        p.owner_name = Str(o, "name");
      }
    }
  }
  const json& prio = Field(spec, "priority");
  if (prio.is_number_integer()) p.priority = prio.get<int>();
  const json& gates = Field(spec, "schedulingGates");
  p.gated = gates.is_array() && !gates.empty();
  ComputeRequests(pod, &p, &errors);
  p.node_selector = ParseStringMap(Field(spec, "nodeSelector"));

  const json& tols = Field(spec, "tolerations");
  if (tols.is_array()) {
    for (const auto& t : tols) {
      Toleration tol;
      tol.key = Str(t, "key");
      tol.exists = Str(t, "operator") == "Exists";
      tol.value = Str(t, "value");
      tol.effect = Str(t, "effect");
      p.tolerations.push_back(std::move(tol));
    }
  }

  const json& affinity = Field(spec, "affinity");
  const json& node_aff = Field(affinity, "nodeAffinity");
  const json& required = Field(node_aff, "requiredDuringSchedulingIgnoredDuringExecution");
  if (required.is_object()) {
    p.has_required_affinity = true;
    const json& terms = Field(required, "nodeSelectorTerms");
    if (terms.is_array()) {
      for (size_t i = 0; i < terms.size(); ++i) {
        p.required_terms.push_back(ParseNodeSelectorTerm(
            terms[i], "spec.affinity.nodeAffinity.required.nodeSelectorTerms[" + std::to_string(i) + "]", &errors));
      }
    }
  }
  const json& preferred = Field(node_aff, "preferredDuringSchedulingIgnoredDuringExecution");
  if (preferred.is_array()) {
    for (size_t i = 0; i < preferred.size(); ++i) {
      PreferredTerm t;
      const json& w = Field(preferred[i], "weight");
      t.weight = w.is_number_integer() ? w.get<int>() : 0;
      t.term = ParseNodeSelectorTerm(Field(preferred[i], "preference"),
                                     "spec.affinity.nodeAffinity.preferred[" + std::to_string(i) + "].preference",
                                     &errors);
      p.preferred_terms.push_back(std::move(t));
    }
  }

  for (const char* kind : {"podAffinity", "podAntiAffinity"}) {
    const json& terms = Field(Field(affinity, kind), "requiredDuringSchedulingIgnoredDuringExecution");
    if (!terms.is_array()) continue;
    auto& out = std::string(kind) == "podAffinity" ? p.affinity : p.anti_affinity;
    for (size_t i = 0; i < terms.size(); ++i) {
      std::string where = std::string("spec.affinity.") + kind + ".required[" + std::to_string(i) + "]";
      const json& term = terms[i];
      PodAffinityTerm t;
      t.selector = ParseLabelSelector(Field(term, "labelSelector"), where + ".labelSelector", &errors);
      // matchLabelKeys: the incoming pod's values join the selector (KEP-3633).
      const json& mlk = Field(term, "matchLabelKeys");
      if (mlk.is_array() && !t.selector.null) {
        for (const auto& k : mlk) {
          if (!k.is_string()) continue;
          auto it = p.labels.find(k.get<std::string>());
          if (it != p.labels.end()) t.selector.expressions.push_back({it->first, Requirement::Op::kIn, {it->second}});
        }
      }
      const json& nss = Field(term, "namespaces");
      if (nss.is_array()) {
        for (const auto& n : nss)
          if (n.is_string()) t.namespaces.push_back(n.get<std::string>());
      }
      // A namespaceSelector would need namespace labels: any selector is
      // treated as "all namespaces" (exact for {}).
      if (Field(term, "namespaceSelector").is_object()) t.all_namespaces = true;
      if (t.namespaces.empty() && !t.all_namespaces) t.namespaces.push_back(p.ns);
      std::sort(t.namespaces.begin(), t.namespaces.end());
      t.topology_key = Str(term, "topologyKey");
      if (t.topology_key.empty()) errors.Add(where + ".topologyKey", "must be non-empty");
      out.push_back(std::move(t));
    }
  }

  const json& spread = Field(spec, "topologySpreadConstraints");
  if (spread.is_array()) {
    for (size_t i = 0; i < spread.size(); ++i) {
      std::string where = "spec.topologySpreadConstraints[" + std::to_string(i) + "]";
      const json& c = spread[i];
      SpreadConstraint s;
      const json& skew = Field(c, "maxSkew");
      s.max_skew = skew.is_number_integer() ? skew.get<int>() : 0;
      if (s.max_skew < 1) errors.Add(where + ".maxSkew", "must be greater than zero");
      s.topology_key = Str(c, "topologyKey");
      if (s.topology_key.empty()) errors.Add(where + ".topologyKey", "must be non-empty");
      s.do_not_schedule = Str(c, "whenUnsatisfiable") != "ScheduleAnyway";
      s.selector = ParseLabelSelector(Field(c, "labelSelector"), where + ".labelSelector", &errors);
      const json& mlk = Field(c, "matchLabelKeys");
      if (mlk.is_array() && !s.selector.null) {
        for (const auto& k : mlk) {
          if (!k.is_string()) continue;
          auto it = p.labels.find(k.get<std::string>());
          if (it != p.labels.end()) s.selector.expressions.push_back({it->first, Requirement::Op::kIn, {it->second}});
        }
      }
      const json& md_ = Field(c, "minDomains");
      if (md_.is_number_integer()) s.min_domains = md_.get<int>();
      s.honor_node_affinity = Str(c, "nodeAffinityPolicy") != "Ignore";
      s.honor_taints = Str(c, "nodeTaintsPolicy") == "Honor";
      p.spread.push_back(std::move(s));
    }
  }
  p.parse_error = errors.first;
  return p;
}

LabelSelectorSpec ParseSelector(const json& selector) {
  Errors ignored;
  return ParseLabelSelector(selector, "selector", &ignored);
}

SchedNode ParseNode(const json& node) {
  SchedNode n;
  Errors errors;
  const json& md = Field(node, "metadata");
  const json& spec = Field(node, "spec");
  const json& status = Field(node, "status");
  n.name = Str(md, "name");
  n.rv = std::strtoull(Str(md, "resourceVersion").c_str(), nullptr, 10);
  n.labels = ParseStringMap(Field(md, "labels"));
  const json& u = Field(spec, "unschedulable");
  n.unschedulable = u.is_boolean() && u.get<bool>();
  const json& taints = Field(spec, "taints");
  if (taints.is_array()) {
    for (const auto& t : taints) n.taints.push_back(MakeTaint(Str(t, "key"), Str(t, "value"), Str(t, "effect")));
  }
  std::string ready_status;
  const json& conds = Field(status, "conditions");
  if (conds.is_array()) {
    for (const auto& c : conds)
      if (Str(c, "type") == "Ready") ready_status = Str(c, "status");
  }
  n.ready = ready_status == "True";
  if (!n.ready) {
    const char* key = ready_status == "Unknown" ? kTaintUnreachable : kTaintNotReady;
    bool present = false;
    for (const auto& t : n.taints)
      if ((t.key == kTaintNotReady || t.key == kTaintUnreachable) && t.hard) present = true;
    if (!present) n.taints.push_back(MakeTaint(key, "", "NoSchedule"));
  }
  const json& alloc = Field(status, "allocatable");
  Quantity(alloc, "cpu", true, &n.allocatable.milli_cpu, "status.allocatable", &errors);
  Quantity(alloc, "memory", false, &n.allocatable.memory, "status.allocatable", &errors);
  Quantity(alloc, "pods", false, &n.allocatable.pods, "status.allocatable", &errors);
  n.parse_error = errors.first;
  n.CacheLabels();
  return n;
}

}  // namespace kinema::sim::sched
