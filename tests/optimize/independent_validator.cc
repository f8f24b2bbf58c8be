#include "tests/optimize/independent_validator.h"

#include <cmath>
#include <map>
#include <set>

namespace validator {
namespace {

using json = nlohmann::json;
using Map = std::map<std::string, std::string>;

// Quantity -> value * scale, rounded up; long double is exact enough for test data.
long long Q(const json& v, long double scale) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  static const std::map<std::string, long double> mult = {
      {"n", 1e-9L}, {"u", 1e-6L}, {"m", 1e-3L}, {"", 1.0L}, {"k", 1e3L}, {"M", 1e6L}, {"G", 1e9L},
      {"T", 1e12L}, {"P", 1e15L}, {"E", 1e18L}, {"Ki", 1024.0L}, {"Mi", 1048576.0L},
      {"Gi", 1073741824.0L}, {"Ti", 1099511627776.0L}};
  size_t i = 0;
  while (i < s.size() && (isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.' || s[i] == '+' || s[i] == '-')) ++i;
  long double num = std::stold(s.substr(0, i));
  std::string suf = s.substr(i);
  long double m;
  if (!suf.empty() && (suf[0] == 'e' || suf[0] == 'E') && suf.size() > 1) {
    m = std::pow(10.0L, std::stold(suf.substr(1)));
  } else {
    m = mult.at(suf);
  }
  long double x = num * m * scale;
  long double r = std::round(x);
  if (std::fabs(x - r) < 1e-6L * std::max(1.0L, std::fabs(x))) return static_cast<long long>(r);
  return static_cast<long long>(std::ceil(x));
}

struct Res {
  long long cpu = 0, mem = 0, pods = 0;
};

Map Strings(const json& j, const char* f) {
  Map m;
  if (j.is_object() && j.contains(f) && j[f].is_object())
    for (auto it = j[f].begin(); it != j[f].end(); ++it) m[it.key()] = it.value().get<std::string>();
  return m;
}

Res Requests(const json& spec) {
  auto one = [](const json& c) {
    Res r;
    if (c.contains("resources") && c["resources"].contains("requests")) {
      const auto& q = c["resources"]["requests"];
      if (q.contains("cpu")) r.cpu = Q(q["cpu"], 1000);
      if (q.contains("memory")) r.mem = Q(q["memory"], 1);
    }
    return r;
  };
  Res sum;
  if (spec.contains("containers"))
    for (const auto& c : spec["containers"]) {
      Res r = one(c);
      sum.cpu += r.cpu;
      sum.mem += r.mem;
    }
  Res side, initmax;
  if (spec.contains("initContainers"))
    for (const auto& c : spec["initContainers"]) {
      Res r = one(c);
      bool sidecar = c.value("restartPolicy", "") == "Always";
      if (sidecar) {
        sum.cpu += r.cpu;
        sum.mem += r.mem;
        side.cpu += r.cpu;
        side.mem += r.mem;
        initmax.cpu = std::max(initmax.cpu, side.cpu);
        initmax.mem = std::max(initmax.mem, side.mem);
      } else {
        initmax.cpu = std::max(initmax.cpu, r.cpu + side.cpu);
        initmax.mem = std::max(initmax.mem, r.mem + side.mem);
      }
    }
  sum.cpu = std::max(sum.cpu, initmax.cpu);
  sum.mem = std::max(sum.mem, initmax.mem);
  if (spec.contains("overhead")) {
    if (spec["overhead"].contains("cpu")) sum.cpu += Q(spec["overhead"]["cpu"], 1000);
    if (spec["overhead"].contains("memory")) sum.mem += Q(spec["overhead"]["memory"], 1);
  }
  sum.pods = 1;
  return sum;
}

bool ReqMatch(const json& r, const Map& labels) {
  std::string key = r["key"], op = r["operator"];
  std::vector<std::string> vals;
  if (r.contains("values"))
    for (const auto& v : r["values"]) vals.push_back(v);
  auto it = labels.find(key);
  bool has = it != labels.end();
  auto in = [&] { return has && std::find(vals.begin(), vals.end(), it->second) != vals.end(); };
  if (op == "In") return in();
  if (op == "NotIn") return !in();
  if (op == "Exists") return has;
  if (op == "DoesNotExist") return !has;
  if (op == "Gt") return has && std::stoll(it->second) > std::stoll(vals.at(0));
  if (op == "Lt") return has && std::stoll(it->second) < std::stoll(vals.at(0));
  return false;
}

// Node selector + required node affinity + NoSchedule/NoExecute taints.
std::string NodeRejects(const json& spec, const std::string& node_name, const Map& labels, const json& taints,
                        bool daemonset) {
  for (const auto& [k, v] : Strings(spec, "nodeSelector")) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return "nodeSelector " + k;
  }
  if (spec.contains("affinity") && spec["affinity"].contains("nodeAffinity") &&
      spec["affinity"]["nodeAffinity"].contains("requiredDuringSchedulingIgnoredDuringExecution")) {
    const auto& terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"];
    bool any = false;
    for (const auto& t : terms) {
      bool ok = t.contains("matchExpressions") || t.contains("matchFields");
      if (t.contains("matchExpressions"))
        for (const auto& r : t["matchExpressions"]) ok = ok && ReqMatch(r, labels);
      if (t.contains("matchFields"))
        for (const auto& r : t["matchFields"]) ok = ok && ReqMatch(r, Map{{"metadata.name", node_name}});
      any = any || ok;
    }
    if (!any) return "required node affinity";
  }
  for (const auto& taint : taints) {
    std::string effect = taint["effect"];
    if (effect != "NoSchedule" && effect != "NoExecute") continue;
    std::string key = taint["key"], value = taint.value("value", "");
    if (daemonset && key.rfind("node.kubernetes.io/", 0) == 0) continue;
    bool tolerated = false;
    if (spec.contains("tolerations"))
      for (const auto& t : spec["tolerations"]) {
        std::string te = t.value("effect", ""), tk = t.value("key", ""), op = t.value("operator", "Equal");
        if (!te.empty() && te != effect) continue;
        if (op == "Exists" && (tk.empty() || tk == key)) tolerated = true;
        if (op != "Exists" && tk == key && t.value("value", "") == value) tolerated = true;
      }
    if (!tolerated) return "taint " + key;
  }
  return "";
}

struct Pod {
  std::string ns, name, node;
  Map labels;
  json spec;
  Res req;
  bool movable = true;
};

bool SelectorMatches(const json& sel, const Map& labels) {
  for (const auto& [k, v] : Strings(sel, "matchLabels")) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  if (sel.contains("matchExpressions"))
    for (const auto& r : sel["matchExpressions"])
      if (!ReqMatch(r, labels)) return false;
  return true;
}

// Does a's required hostname anti-affinity select b?
bool AntiSelects(const Pod& a, const Pod& b) {
  const auto& spec = a.spec;
  if (!spec.contains("affinity") || !spec["affinity"].contains("podAntiAffinity")) return false;
  const auto& paa = spec["affinity"]["podAntiAffinity"];
  if (!paa.contains("requiredDuringSchedulingIgnoredDuringExecution")) return false;
  for (const auto& t : paa["requiredDuringSchedulingIgnoredDuringExecution"]) {
    if (t.value("topologyKey", "") != "kubernetes.io/hostname" || !t.contains("labelSelector")) continue;
    bool ns_ok = false;
    if (t.contains("namespaceSelector")) {
      ns_ok = true;
    } else if (t.contains("namespaces") && !t["namespaces"].empty()) {
      for (const auto& n : t["namespaces"]) ns_ok = ns_ok || n.get<std::string>() == b.ns;
    } else {
      ns_ok = a.ns == b.ns;
    }
    if (ns_ok && SelectorMatches(t["labelSelector"], b.labels)) return true;
  }
  return false;
}

}  // namespace

std::string Report::Summary() const {
  std::string s;
  for (size_t i = 0; i < errors.size() && i < 10; ++i) s += errors[i] + "\n";
  if (errors.size() > 10) s += "... and " + std::to_string(errors.size() - 10) + " more\n";
  return s;
}

Report ValidatePlan(const json& snap, const json& cat, const json& plan) {
  Report rep;
  auto fail = [&](const std::string& m) { rep.errors.push_back(m); };
  // Catalog.
  std::map<std::string, json> types;
  for (const auto& t : cat["machineTypes"]) types[t["name"]] = t;
  // Snapshot.
  struct Node {
    std::string name, type, zone, cap;
    Map labels;
    json taints = json::array();
    Res alloc;
    bool pinned = false;
  };
  std::map<std::string, Node> nodes;
  std::vector<Pod> pods;
  std::vector<json> ds_specs;
  std::set<std::string> ds_names;
  for (const auto& it : snap["items"]) {
    std::string kind = it["kind"];
    if (kind == "Node") {
      Node n;
      n.name = it["metadata"]["name"];
      n.labels = Strings(it["metadata"], "labels");
      n.type = n.labels["node.kubernetes.io/instance-type"];
      n.zone = n.labels["topology.kubernetes.io/zone"];
      n.cap = (n.labels["cloud.google.com/gke-spot"] == "true" || n.labels["kinema.io/capacity-type"] == "spot")
                  ? "spot"
                  : "on-demand";
      n.pinned = Strings(it["metadata"], "annotations")["kinema.io/do-not-disrupt"] == "true";
      if (it.contains("spec") && it["spec"].contains("taints")) n.taints = it["spec"]["taints"];
      const auto& a = it["status"]["allocatable"];
      n.alloc = Res{Q(a["cpu"], 1000), Q(a["memory"], 1), Q(a["pods"], 1)};
      nodes[n.name] = n;
    } else if (kind == "DaemonSet") {
      ds_specs.push_back(it["spec"]["template"]["spec"]);
      ds_names.insert(it["metadata"].value("namespace", "default") + "/" + it["metadata"]["name"].get<std::string>());
    }
  }
  for (const auto& it : snap["items"]) {
    if (it["kind"] != "Pod") continue;
    std::string phase = it.contains("status") ? it["status"].value("phase", "Pending") : "Pending";
    if (phase != "Pending" && phase != "Running") continue;
    const auto& md = it["metadata"];
    bool controlled = false, ds = false, mirror = false;
    if (md.contains("ownerReferences"))
      for (const auto& o : md["ownerReferences"])
        if (o.value("controller", false)) {
          controlled = true;
          ds = o["kind"] == "DaemonSet";
          mirror = o["kind"] == "Node";
        }
    if (ds) continue;
    Pod p;
    p.ns = md.value("namespace", "default");
    p.name = md["name"];
    p.node = it["spec"].value("nodeName", "");
    p.labels = Strings(md, "labels");
    p.spec = it["spec"];
    p.req = Requests(it["spec"]);
    Map ann = Strings(md, "annotations");
    bool hostpath = false;
    if (p.spec.contains("volumes"))
      for (const auto& v : p.spec["volumes"]) hostpath = hostpath || v.contains("hostPath");
    p.movable = controlled && !mirror && !ann.count("kubernetes.io/config.mirror") && !hostpath &&
                md.value("namespace", "") != "kube-system" &&
                ann["kinema.io/do-not-disrupt"] != "true" && !(nodes.count(p.node) && nodes[p.node].pinned);
    pods.push_back(p);
  }
  // Plan nodes.
  std::map<std::string, Node> open;
  double cost = 0;
  std::set<std::string> listed;
  for (const auto& n : plan["nodes"]) {
    std::string name = n["name"], action = n["action"];
    if (!listed.insert(name).second) fail("node listed twice: " + name);
    double price = n["pricePerHour"];
    if (action == "keep" || action == "retire") {
      if (!nodes.count(name)) {
        fail(action + " of unknown node " + name);
        continue;
      }
      if (action == "retire" && nodes[name].pinned) fail("pinned node retired: " + name);
      if (action == "keep") open[name] = nodes[name];
      const Node& sn = nodes[name];
      if (types.count(sn.type)) {
        const auto& pr = types[sn.type]["pricePerHour"];
        double want = sn.cap == "spot" ? pr.value("spot", -1.0) : pr["onDemand"].get<double>();
        if (want >= 0 && std::fabs(want - price) > 1e-9) fail("wrong price for node " + name);
      }
    } else if (action == "boot") {
      if (nodes.count(name)) fail("boot name collides with existing node " + name);
      std::string type = n["machineType"], zone = n["zone"], cap = n["capacityType"];
      if (!types.count(type)) {
        fail("boot of unknown type " + type);
        continue;
      }
      const json& t = types[type];
      bool zone_ok = false;
      for (const auto& z : t["zones"]) zone_ok = zone_ok || z == zone;
      if (!zone_ok) fail("boot " + name + " in zone " + zone + " not offered for " + type);
      const auto& pr = t["pricePerHour"];
      if (cap == "spot" && !pr.contains("spot")) fail("spot boot of type without spot price " + type);
      double want = cap == "spot" ? pr.value("spot", -1.0) : pr["onDemand"].get<double>();
      if (std::fabs(want - price) > 1e-9) fail("wrong price for boot " + name);
      Node b;
      b.name = name;
      b.type = type;
      b.zone = zone;
      b.cap = cap;
      b.labels = Strings(t, "labels");
      b.labels["node.kubernetes.io/instance-type"] = type;
      b.labels["topology.kubernetes.io/zone"] = zone;
      b.labels["kubernetes.io/hostname"] = name;
      b.taints = t.contains("taints") ? t["taints"] : json::array();
      if (cap == "spot") {
        b.labels["kinema.io/capacity-type"] = "spot";
        if (cat.contains("spot")) {
          for (const auto& [k, v] : Strings(cat["spot"], "labels")) b.labels[k] = v;
          if (cat["spot"].contains("taints"))
            for (const auto& x : cat["spot"]["taints"]) b.taints.push_back(x);
        }
      }
      if (t.contains("allocatable")) {
        const auto& a = t["allocatable"];
        b.alloc = Res{Q(a["cpu"], 1000), Q(a["memory"], 1), a.contains("pods") ? Q(a["pods"], 1) : 110};
      } else {
        // GKE reservations, computed independently.
        long double c = t["vcpu"].get<double>(), m = t["memoryMiB"].get<double>() / 1024.0L;  // GiB
        long double rc = 0.06L * std::min(c, 1.0L) + 0.01L * std::clamp(c - 1, 0.0L, 1.0L) +
                         0.005L * std::clamp(c - 2, 0.0L, 2.0L) + 0.0025L * std::max(c - 4, 0.0L);
        long double rm = m < 1 ? 255.0L / 1024
                               : 0.25L * std::min(m, 4.0L) + 0.2L * std::clamp(m - 4, 0.0L, 4.0L) +
                                     0.1L * std::clamp(m - 8, 0.0L, 8.0L) + 0.06L * std::clamp(m - 16, 0.0L, 112.0L) +
                                     0.02L * std::max(m - 128, 0.0L);
        rm += 100.0L / 1024;
        b.alloc = Res{static_cast<long long>(std::floor((c - rc) * 1000 + 1e-6)),
                      static_cast<long long>(std::floor((m - rm) * 1073741824.0L)), 110};
      }
      open[name] = b;
    } else {
      fail("bad action " + action);
    }
    if (action != "retire") cost += price;
  }
  for (const auto& [name, n] : nodes)
    if (!listed.count(name)) fail("snapshot node missing from plan: " + name);
  if (std::fabs(cost - plan["costPerHourAfter"].get<double>()) > 1e-6) fail("costPerHourAfter mismatch");
  if (!plan["lowerBound"].is_null() && plan["lowerBound"].get<double>() > cost + 1e-6)
    fail("lowerBound exceeds the plan's cost");
  // Placements.
  std::map<std::string, std::string> where;
  for (const auto& pl : plan["placements"]) {
    std::string pod = pl["pod"];
    if (where.count(pod)) fail("pod placed twice: " + pod);
    where[pod] = pl["node"];
  }
  std::map<std::string, std::vector<const Pod*>> on;
  long long moves = 0;
  for (const auto& p : pods) {
    std::string full = p.ns + "/" + p.name;
    auto it = where.find(full);
    if (it == where.end()) {
      fail("pod missing from placements: " + full);
      continue;
    }
    if (!open.count(it->second)) {
      fail("pod " + full + " placed on a node that is not kept or booted: " + it->second);
      continue;
    }
    if (it->second != p.node) {
      ++moves;
      if (!p.movable) fail("immovable pod moved: " + full);
    }
    on[it->second].push_back(&p);
  }
  if (where.size() != pods.size()) fail("placements count differs from countable pods");
  if (moves != plan["moves"].get<long long>()) fail("moves mismatch: plan says " + plan["moves"].dump() +
                                                    ", counted " + std::to_string(moves));
  for (const auto& [name, n] : open) {
    Res used;
    for (const auto& ds : ds_specs)
      if (NodeRejects(ds, name, n.labels, n.taints, true).empty()) {
        Res r = Requests(ds);
        used.cpu += r.cpu;
        used.mem += r.mem;
        used.pods += 1;
      }
    for (const Pod* p : on[name]) {
      used.cpu += p->req.cpu;
      used.mem += p->req.mem;
      used.pods += 1;
      bool stays = p->node == name;
      std::string why = NodeRejects(p->spec, name, n.labels, n.taints, false);
      if (!why.empty() && !(stays && !p->movable)) fail("pod " + p->ns + "/" + p->name + " on " + name + ": " + why);
    }
    if (used.cpu > n.alloc.cpu || used.mem > n.alloc.mem || used.pods > n.alloc.pods)
      fail("node " + name + " over capacity: cpu " + std::to_string(used.cpu) + "/" + std::to_string(n.alloc.cpu) +
           " mem " + std::to_string(used.mem) + "/" + std::to_string(n.alloc.mem) + " pods " +
           std::to_string(used.pods) + "/" + std::to_string(n.alloc.pods));
    const auto& list = on[name];
    for (size_t a = 0; a < list.size(); ++a)
      for (size_t b = a + 1; b < list.size(); ++b)
        if (AntiSelects(*list[a], *list[b]) || AntiSelects(*list[b], *list[a]))
          if (list[a]->movable || list[b]->movable || list[a]->node != name || list[b]->node != name)
            fail("anti-affinity violated on " + name + ": " + list[a]->name + " / " + list[b]->name);
  }
  return rep;
}

}  // namespace validator
