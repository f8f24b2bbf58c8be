#include "steps/optimize/snapshot.h"

#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>

#include "engine/common/safe_json.h"
#include "engine/quantity/quantity.h"

namespace kinema {
namespace {

Status Err(const std::string& where, const std::string& what) {
  return Status::InvalidArgument(where + ": " + what);
}

StatusOr<Labels> StringMap(const nlohmann::json& j, const std::string& field, const std::string& where) {
  Labels out;
  if (!j.contains(field) || j[field].is_null()) return out;
  const auto& m = j[field];
  if (!m.is_object()) return Err(where + "." + field, "must be an object");
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (!it.value().is_string()) return Err(where + "." + field + "." + it.key(), "must be a string");
    out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

StatusOr<int64_t> Quantity(const nlohmann::json& v, const std::string& where, bool milli) {
  auto q = ParseJsonQuantity(v, milli);
  if (!q.ok()) return Err(where, q.status().message());
  return std::min(*q, kMaxPlannableQuantity);  // more than any machine has: planned as the cap
}

// Reads resources.requests of one container into cpu/memory.
Status ContainerRequests(const nlohmann::json& c, const std::string& where, Resources* out) {
  *out = Resources{};
  if (!c.is_object()) return Err(where, "must be an object");
  if (!c.contains("resources") || c["resources"].is_null()) return Status::OK();
  const auto& res = c["resources"];
  if (!res.is_object()) return Err(where + ".resources", "must be an object");
  if (!res.contains("requests") || res["requests"].is_null()) return Status::OK();
  const auto& req = res["requests"];
  if (!req.is_object()) return Err(where + ".resources.requests", "must be an object");
  if (req.contains("cpu")) {
    auto v = Quantity(req["cpu"], where + ".resources.requests.cpu", true);
    if (!v.ok()) return v.status();
    out->cpu_milli = *v;
  }
  if (req.contains("memory")) {
    auto v = Quantity(req["memory"], where + ".resources.requests.memory", false);
    if (!v.ok()) return v.status();
    out->memory_bytes = *v;
  }
  return Status::OK();
}

// Checked: sums of requests saturate at kMaxPlannableQuantity (two 7Ei
// containers are "more than any machine", never a negative overflow).
void Add(Resources* a, const Resources& b) {
  a->cpu_milli = AddQuantitiesCapped(a->cpu_milli, b.cpu_milli);
  a->memory_bytes = AddQuantitiesCapped(a->memory_bytes, b.memory_bytes);
}
void Max(Resources* a, const Resources& b) {
  a->cpu_milli = std::max(a->cpu_milli, b.cpu_milli);
  a->memory_bytes = std::max(a->memory_bytes, b.memory_bytes);
}

bool IsSpot(const Labels& l) {
  auto a = l.find("cloud.google.com/gke-spot");
  if (a != l.end() && a->second == "true") return true;
  auto b = l.find("kinema.io/capacity-type");
  return b != l.end() && b->second == "spot";
}

std::string StrField(const nlohmann::json& j, const char* f) {
  if (j.is_object() && j.contains(f) && j[f].is_string()) return j[f].get<std::string>();
  return "";
}

StatusOr<SnapshotNode> ParseNode(const nlohmann::json& item, int idx) {
  std::string where = "items[" + std::to_string(idx) + "]";
  SnapshotNode n;
  n.item_index = idx;
  const auto& md = item.contains("metadata") ? item["metadata"] : nlohmann::json();
  if (!md.is_object()) return Err(where + ".metadata", "must be an object");
  n.name = StrField(md, "name");
  if (n.name.empty()) return Err(where + ".metadata.name", "must be a non-empty string");
  auto labels = StringMap(md, "labels", where + ".metadata");
  if (!labels.ok()) return labels.status();
  n.labels = *labels;
  auto ann = StringMap(md, "annotations", where + ".metadata");
  if (!ann.ok()) return ann.status();
  auto pin = ann->find("kinema.io/do-not-disrupt");
  n.pinned = pin != ann->end() && pin->second == "true";
  auto it = n.labels.find("node.kubernetes.io/instance-type");
  if (it == n.labels.end()) it = n.labels.find("beta.kubernetes.io/instance-type");
  if (it != n.labels.end()) n.instance_type = it->second;
  auto z = n.labels.find("topology.kubernetes.io/zone");
  if (z == n.labels.end()) z = n.labels.find("failure-domain.beta.kubernetes.io/zone");
  if (z != n.labels.end()) n.zone = z->second;
  n.capacity_type = IsSpot(n.labels) ? CapacityType::kSpot : CapacityType::kOnDemand;
  if (item.contains("spec") && item["spec"].is_object()) {
    const auto& spec = item["spec"];
    if (spec.contains("unschedulable") && !spec["unschedulable"].is_null()) {
      if (!spec["unschedulable"].is_boolean()) return Err(where + ".spec.unschedulable", "must be a boolean");
      n.unschedulable = spec["unschedulable"].get<bool>();
    }
    if (spec.contains("taints") && !spec["taints"].is_null()) {
      if (!spec["taints"].is_array()) return Err(where + ".spec.taints", "must be an array");
      for (size_t i = 0; i < spec["taints"].size(); ++i) {
        auto t = ParseTaint(spec["taints"][i], where + ".spec.taints[" + std::to_string(i) + "]");
        if (!t.ok()) return t.status();
        n.taints.push_back(*t);
      }
    }
  }
  if (!item.contains("status") || !item["status"].is_object() || !item["status"].contains("allocatable") ||
      !item["status"]["allocatable"].is_object())
    return Err(where + ".status.allocatable", "is required");
  const auto& alloc = item["status"]["allocatable"];
  for (const char* f : {"cpu", "memory", "pods"})
    if (!alloc.contains(f)) return Err(where + ".status.allocatable." + f, "is required");
  auto cpu = Quantity(alloc["cpu"], where + ".status.allocatable.cpu", true);
  if (!cpu.ok()) return cpu.status();
  auto mem = Quantity(alloc["memory"], where + ".status.allocatable.memory", false);
  if (!mem.ok()) return mem.status();
  auto pods = Quantity(alloc["pods"], where + ".status.allocatable.pods", false);
  if (!pods.ok()) return pods.status();
  n.allocatable = Resources{*cpu, *mem, *pods};
  return n;
}

StatusOr<std::vector<AntiAffinityTerm>> ParseAntiAffinity(const nlohmann::json& spec, const std::string& where,
                                                          std::vector<std::string>* warnings) {
  std::vector<AntiAffinityTerm> out;
  if (!spec.contains("affinity") || !spec["affinity"].is_object()) return out;
  const auto& aff = spec["affinity"];
  const char* kReq = "requiredDuringSchedulingIgnoredDuringExecution";
  if (aff.contains("podAffinity") && aff["podAffinity"].is_object() && aff["podAffinity"].contains(kReq) &&
      aff["podAffinity"][kReq].is_array() && !aff["podAffinity"][kReq].empty())
    warnings->push_back(where + ".affinity.podAffinity: required pod affinity is not modelled; ignored");
  if (!aff.contains("podAntiAffinity") || !aff["podAntiAffinity"].is_object()) return out;
  const auto& paa = aff["podAntiAffinity"];
  if (!paa.contains(kReq) || paa[kReq].is_null()) return out;
  std::string w = where + ".affinity.podAntiAffinity." + kReq;
  if (!paa[kReq].is_array()) return Err(w, "must be an array");
  for (size_t i = 0; i < paa[kReq].size(); ++i) {
    std::string tw = w + "[" + std::to_string(i) + "]";
    const auto& t = paa[kReq][i];
    if (!t.is_object()) return Err(tw, "must be an object");
    std::string topo = StrField(t, "topologyKey");
    if (topo.empty()) return Err(tw + ".topologyKey", "must be a non-empty string");
    AntiAffinityTerm term;
    auto sel = ParseLabelSelector(t.contains("labelSelector") ? t["labelSelector"] : nlohmann::json(),
                                  tw + ".labelSelector");
    if (!sel.ok()) return sel.status();
    term.selector = std::move(*sel);
    if (t.contains("namespaces") && !t["namespaces"].is_null()) {
      if (!t["namespaces"].is_array()) return Err(tw + ".namespaces", "must be an array");
      for (const auto& ns : t["namespaces"]) {
        if (!ns.is_string()) return Err(tw + ".namespaces", "must hold strings");
        term.namespaces.push_back(ns.get<std::string>());
      }
    }
    if (t.contains("namespaceSelector") && t["namespaceSelector"].is_object()) term.all_namespaces = true;
    if (!t.contains("labelSelector") || t["labelSelector"].is_null()) continue;  // selects nothing
    if (topo != "kubernetes.io/hostname") {
      warnings->push_back(tw + ".topologyKey: \"" + topo + "\" anti-affinity is not modelled; ignored");
      continue;
    }
    out.push_back(std::move(term));
  }
  return out;
}

// DaemonSet pods tolerate these automatically (DaemonSet controller).
void AddDaemonSetTolerations(NodeConstraints* c) {
  for (const char* k : {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"})
    c->tolerations.push_back(Toleration{k, "Exists", "", "NoExecute"});
  for (const char* k : {"node.kubernetes.io/disk-pressure", "node.kubernetes.io/memory-pressure",
                        "node.kubernetes.io/pid-pressure", "node.kubernetes.io/unschedulable"})
    c->tolerations.push_back(Toleration{k, "Exists", "", "NoSchedule"});
}

}  // namespace

StatusOr<Resources> PodSpecRequests(const nlohmann::json& spec, const std::string& where) {
  Resources sum;
  if (spec.contains("containers") && !spec["containers"].is_null()) {
    if (!spec["containers"].is_array()) return Err(where + ".containers", "must be an array");
    for (size_t i = 0; i < spec["containers"].size(); ++i) {
      Resources r;
      KINEMA_RETURN_IF_ERROR(
          ContainerRequests(spec["containers"][i], where + ".containers[" + std::to_string(i) + "]", &r));
      Add(&sum, r);
    }
  }
  if (spec.contains("initContainers") && !spec["initContainers"].is_null()) {
    if (!spec["initContainers"].is_array()) return Err(where + ".initContainers", "must be an array");
    Resources restartable, init_max;
    for (size_t i = 0; i < spec["initContainers"].size(); ++i) {
      const auto& c = spec["initContainers"][i];
      Resources r;
      KINEMA_RETURN_IF_ERROR(ContainerRequests(c, where + ".initContainers[" + std::to_string(i) + "]", &r));
      if (StrField(c, "restartPolicy") == "Always") {  // sidecar: runs alongside the app containers
        Add(&sum, r);
        Add(&restartable, r);
        Max(&init_max, restartable);
      } else {
        Resources during = r;
        Add(&during, restartable);
        Max(&init_max, during);
      }
    }
    Max(&sum, init_max);
  }
  if (spec.contains("overhead") && !spec["overhead"].is_null()) {
    if (!spec["overhead"].is_object()) return Err(where + ".overhead", "must be an object");
    nlohmann::json fake = {{"resources", {{"requests", spec["overhead"]}}}};
    Resources r;
    Status st = ContainerRequests(fake, where, &r);
    if (!st.ok()) {
      // Re-word the path: the overhead map is spec.overhead, not a container.
      std::string m = st.message();
      auto p = m.find(".resources.requests");
      if (p != std::string::npos) m.replace(p, std::string(".resources.requests").size(), ".overhead");
      return Status::InvalidArgument(m);
    }
    Add(&sum, r);
  }
  sum.pods = 1;
  return sum;
}

bool AntiAffinityMatches(const AntiAffinityTerm& term, const std::string& owner_ns, const SnapshotPod& pod) {
  if (!term.all_namespaces) {
    if (term.namespaces.empty()) {
      if (pod.namespace_ != owner_ns) return false;
    } else {
      bool found = false;
      for (const auto& ns : term.namespaces) found = found || ns == pod.namespace_;
      if (!found) return false;
    }
  }
  return MatchesLabelSelector(term.selector, pod.labels);
}

int Snapshot::FindNode(const std::string& name) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == name) return static_cast<int>(i);
  return -1;
}

StatusOr<Snapshot> ParseSnapshot(const nlohmann::json& list) {
  Snapshot snap;
  if (!list.is_object()) return Err("snapshot", "must be a JSON object (a kubectl List)");
  if (!list.contains("items") || !list["items"].is_array()) return Err("items", "must be an array");
  const auto& items = list["items"];
  if (items.size() > static_cast<size_t>(kMaxPlannableItems)) {
    return Err("items", std::to_string(items.size()) + " items; at most " + std::to_string(kMaxPlannableItems) +
                            " can be planned");
  }
  std::map<std::string, int> ds_index;  // ns/name -> daemonsets index
  struct DsPod { int idx; std::string ns, name; };
  std::vector<DsPod> ds_pods;
  for (size_t i = 0; i < items.size(); ++i) {
    int idx = static_cast<int>(i);
    std::string where = "items[" + std::to_string(i) + "]";
    const auto& item = items[i];
    if (!item.is_object()) return Err(where, "must be an object");
    std::string kind = StrField(item, "kind");
    if (kind.empty()) return Err(where + ".kind", "must be a non-empty string");
    if (kind == "Node") {
      auto n = ParseNode(item, idx);
      if (!n.ok()) return n.status();
      snap.nodes.push_back(std::move(*n));
    } else if (kind == "Pod" || kind == "DaemonSet") {
      if (!item.contains("metadata") || !item["metadata"].is_object())
        return Err(where + ".metadata", "must be an object");
      const auto& md = item["metadata"];
      std::string name = StrField(md, "name");
      if (name.empty()) return Err(where + ".metadata.name", "must be a non-empty string");
      std::string ns = StrField(md, "namespace");
      if (ns.empty()) ns = "default";
      if (!item.contains("spec") || !item["spec"].is_object()) return Err(where + ".spec", "must be an object");
      if (kind == "DaemonSet") {
        const auto& spec = item["spec"];
        if (!spec.contains("template") || !spec["template"].is_object() || !spec["template"].contains("spec") ||
            !spec["template"]["spec"].is_object())
          return Err(where + ".spec.template.spec", "must be an object");
        DaemonSetSpec ds;
        ds.item_index = idx;
        ds.namespace_ = ns;
        ds.name = name;
        auto req = PodSpecRequests(spec["template"]["spec"], where + ".spec.template.spec");
        if (!req.ok()) return req.status();
        ds.requests = *req;
        auto c = ParseNodeConstraints(spec["template"]["spec"], where + ".spec.template.spec");
        if (!c.ok()) return c.status();
        ds.constraints = std::move(*c);
        AddDaemonSetTolerations(&ds.constraints);
        ds_index[ns + "/" + name] = static_cast<int>(snap.daemonsets.size());
        snap.daemonsets.push_back(std::move(ds));
        continue;
      }
      // Pod.
      const auto& spec = item["spec"];
      std::string phase;
      if (item.contains("status") && item["status"].is_object()) phase = StrField(item["status"], "phase");
      if (phase.empty()) phase = "Pending";
      if (phase != "Pending" && phase != "Running") continue;
      SnapshotPod p;
      p.item_index = idx;
      p.namespace_ = ns;
      p.name = name;
      p.phase = phase;
      if (spec.contains("nodeName") && !spec["nodeName"].is_null()) {
        if (!spec["nodeName"].is_string()) return Err(where + ".spec.nodeName", "must be a string");
        p.node_name = spec["nodeName"].get<std::string>();
      }
      auto labels = StringMap(md, "labels", where + ".metadata");
      if (!labels.ok()) return labels.status();
      p.labels = std::move(*labels);
      auto ann = StringMap(md, "annotations", where + ".metadata");
      if (!ann.ok()) return ann.status();
      if (md.contains("ownerReferences") && !md["ownerReferences"].is_null()) {
        if (!md["ownerReferences"].is_array()) return Err(where + ".metadata.ownerReferences", "must be an array");
        for (size_t k = 0; k < md["ownerReferences"].size(); ++k) {
          const auto& o = md["ownerReferences"][k];
          if (!o.is_object()) return Err(where + ".metadata.ownerReferences[" + std::to_string(k) + "]", "must be an object");
          if (o.contains("controller") && o["controller"].is_boolean() && o["controller"].get<bool>()) {
            p.owner_kind = StrField(o, "kind");
            p.owner_name = StrField(o, "name");
          }
        }
      }
      if (p.owner_kind == "DaemonSet") {
        ds_pods.push_back(DsPod{idx, ns, p.owner_name});
        continue;
      }
      auto req = PodSpecRequests(spec, where + ".spec");
      if (!req.ok()) return req.status();
      p.requests = *req;
      auto c = ParseNodeConstraints(spec, where + ".spec");
      if (!c.ok()) return c.status();
      p.constraints = std::move(*c);
      auto aa = ParseAntiAffinity(spec, where + ".spec", &snap.warnings);
      if (!aa.ok()) return aa.status();
      p.anti_affinity = std::move(*aa);
      // Movability.
      bool has_hostpath = false;
      if (spec.contains("volumes") && spec["volumes"].is_array())
        for (const auto& v : spec["volumes"])
          if (v.is_object() && v.contains("hostPath")) has_hostpath = true;
      auto dnd = ann->find("kinema.io/do-not-disrupt");
      if (p.owner_kind.empty()) {
        p.movable = false;
        p.immovable_reason = "no controller owner reference";
      } else if (ann->count("kubernetes.io/config.mirror") || p.owner_kind == "Node") {
        p.movable = false;
        p.immovable_reason = "mirror/static pod";
      } else if (has_hostpath) {
        p.movable = false;
        p.immovable_reason = "hostPath volume";
      } else if (ns == "kube-system") {
        // System pods keep their node (cluster-autoscaler's
        // skip-nodes-with-system-pods); Kinema itself runs there (deploy/).
        p.movable = false;
        p.immovable_reason = "kube-system pod";
      } else if (dnd != ann->end() && dnd->second == "true") {
        p.movable = false;
        p.immovable_reason = "kinema.io/do-not-disrupt annotation";
      }
      snap.pods.push_back(std::move(p));
    } else if (kind == "Deployment" || kind == "ReplicaSet" || kind == "StatefulSet" ||
               kind == "PodDisruptionBudget" || kind == "HorizontalPodAutoscaler") {
      continue;  // known, not needed for placement
    } else {
      snap.warnings.push_back(where + ": unknown kind \"" + kind + "\" ignored");
    }
  }
  // DaemonSets whose objects are missing: use one of their pods as template.
  for (const auto& dp : ds_pods) {
    std::string key = dp.ns + "/" + dp.name;
    if (ds_index.count(key)) continue;
    std::string where = "items[" + std::to_string(dp.idx) + "]";
    const auto& spec = items[dp.idx]["spec"];
    DaemonSetSpec ds;
    ds.item_index = dp.idx;
    ds.namespace_ = dp.ns;
    ds.name = dp.name;
    auto req = PodSpecRequests(spec, where + ".spec");
    if (!req.ok()) return req.status();
    ds.requests = *req;
    auto c = ParseNodeConstraints(spec, where + ".spec");
    if (!c.ok()) return c.status();
    ds.constraints = std::move(*c);
    for (auto& t : ds.constraints.required_terms) {
      std::vector<SelectorRequirement> keep;
      for (auto& f : t.match_fields)
        if (f.key != "metadata.name") keep.push_back(f);
      t.match_fields = keep;
    }
    // A term left empty by the removal matched only the one node: any node then.
    bool any_empty = false;
    for (const auto& t : ds.constraints.required_terms)
      any_empty = any_empty || (t.match_expressions.empty() && t.match_fields.empty());
    if (any_empty) {
      ds.constraints.has_required_affinity = false;
      ds.constraints.required_terms.clear();
    }
    AddDaemonSetTolerations(&ds.constraints);
    ds_index[key] = static_cast<int>(snap.daemonsets.size());
    snap.daemonsets.push_back(std::move(ds));
    snap.warnings.push_back("DaemonSet " + key + " not in snapshot; using pod " + where + " as its template");
  }
  // Pods on pinned nodes are immovable; node names must resolve for immovable pods.
  std::unordered_map<std::string, int> by_name;
  for (size_t i = 0; i < snap.nodes.size(); ++i) {
    if (!by_name.emplace(snap.nodes[i].name, static_cast<int>(i)).second)
      return Err("items[" + std::to_string(snap.nodes[i].item_index) + "].metadata.name",
                 "duplicate node \"" + snap.nodes[i].name + "\"");
  }
  for (auto& p : snap.pods) {
    if (p.node_name.empty()) continue;
    auto it = by_name.find(p.node_name);
    if (it == by_name.end()) {
      if (!p.movable)
        return Err("items[" + std::to_string(p.item_index) + "].spec.nodeName",
                   "immovable pod " + p.FullName() + " is bound to node \"" + p.node_name +
                       "\" which is not in the snapshot");
      snap.warnings.push_back("pod " + p.FullName() + " is bound to unknown node \"" + p.node_name +
                              "\"; it will be placed anew");
      continue;
    }
    if (p.movable && snap.nodes[it->second].pinned) {
      p.movable = false;
      p.immovable_reason = "on pinned node " + p.node_name;
    }
  }
  return snap;
}

StatusOr<Snapshot> LoadSnapshotFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("snapshot " + path + ": cannot open file");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = safe_json::Parse(text.str());
  if (j.is_discarded()) return Status::InvalidArgument("snapshot " + path + ": invalid JSON (or nested too deeply)");
  return ParseSnapshot(j);
}

}  // namespace kinema
