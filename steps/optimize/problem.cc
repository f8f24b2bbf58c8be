#include "steps/optimize/problem.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "engine/quantity/quantity.h"
#include "steps/optimize/fit_check.h"

namespace kinema::opt {
namespace {

const char* kHostname = "kubernetes.io/hostname";

void Sub(Resources* a, const Resources& b) {
  a->cpu_milli -= b.cpu_milli;
  a->memory_bytes -= b.memory_bytes;
  a->pods -= b.pods;
}

std::string Ser(const std::vector<SelectorRequirement>& rs) {
  std::string s;
  for (const auto& r : rs) {
    s += r.key + "\x1f" + r.op + "\x1f";
    for (const auto& v : r.values) s += v + "\x1e";
    s += "\x1d";
  }
  return s;
}

std::string Ser(const NodeConstraints& c) {
  std::string s = "S:";
  for (const auto& [k, v] : c.node_selector) s += k + "=" + v + "\x1d";
  s += c.has_required_affinity ? "A:" : "-:";
  for (const auto& t : c.required_terms) s += "[" + Ser(t.match_expressions) + "|" + Ser(t.match_fields) + "]";
  s += "T:";
  for (const auto& t : c.tolerations) s += t.key + "\x1f" + t.op + "\x1f" + t.value + "\x1f" + t.effect + "\x1d";
  return s;
}

std::string Ser(const AntiAffinityTerm& t, const std::string& owner_ns) {
  std::string s = owner_ns + "\x1c";
  for (const auto& [k, v] : t.selector.match_labels) s += k + "=" + v + "\x1d";
  s += Ser(t.selector.match_expressions) + "\x1c";
  for (const auto& ns : t.namespaces) s += ns + ",";
  s += t.all_namespaces ? "*" : "";
  return s;
}

bool RefersToNodeName(const NodeConstraints& c) {
  if (c.node_selector.count(kHostname)) return true;
  for (const auto& t : c.required_terms) {
    if (!t.match_fields.empty()) return true;
    for (const auto& r : t.match_expressions)
      if (r.key == kHostname) return true;
  }
  return false;
}

std::string ResStr(const Resources& r) {
  return "cpu=" + FormatMilliCpu(r.cpu_milli) + " memory=" + FormatBytes(r.memory_bytes);
}

bool Intersects(const std::vector<int>& a, const std::vector<int>& b) {
  for (int x : a)
    if (std::binary_search(b.begin(), b.end(), x)) return true;
  return false;
}

}  // namespace

StatusOr<Problem> BuildProblem(const Snapshot& snap, const Catalog& cat, const PlanOptions& opt) {
  Problem P;
  const int N = static_cast<int>(snap.nodes.size());
  P.num_existing = N;

  // ---- Anti-affinity term registry: own and matched term ids per pod.
  std::map<std::string, int> term_ids;
  struct TermRef { const AntiAffinityTerm* term; std::string ns; };
  std::vector<TermRef> terms;
  const int NP = static_cast<int>(snap.pods.size());
  std::vector<std::vector<int>> own(NP), matched(NP);
  for (int i = 0; i < NP; ++i) {
    const auto& p = snap.pods[i];
    for (const auto& t : p.anti_affinity) {
      std::string key = Ser(t, p.namespace_);
      auto [it, inserted] = term_ids.emplace(key, static_cast<int>(terms.size()));
      if (inserted) terms.push_back(TermRef{&t, p.namespace_});
      own[i].push_back(it->second);
    }
    std::sort(own[i].begin(), own[i].end());
    own[i].erase(std::unique(own[i].begin(), own[i].end()), own[i].end());
  }
  if (!terms.empty()) {
    std::map<std::string, std::vector<int>> cache;  // ns + labels -> matched terms
    for (int i = 0; i < NP; ++i) {
      const auto& p = snap.pods[i];
      std::string key = p.namespace_ + "\x1c";
      for (const auto& [k, v] : p.labels) key += k + "=" + v + "\x1d";
      auto it = cache.find(key);
      if (it == cache.end()) {
        std::vector<int> m;
        for (size_t t = 0; t < terms.size(); ++t)
          if (AntiAffinityMatches(*terms[t].term, terms[t].ns, p)) m.push_back(static_cast<int>(t));
        it = cache.emplace(key, std::move(m)).first;
      }
      matched[i] = it->second;
    }
  }
  auto pods_conflict = [&](int a, int b) {
    return Intersects(own[a], matched[b]) || Intersects(own[b], matched[a]);
  };

  // ---- DaemonSet overhead per node (labels + taints), used for both existing
  // and new kinds: the shared fit check's rule (fit_check.h).
  auto ds_overhead = [&](const std::string& name, const Labels& labels, const std::vector<Taint>& taints) {
    return DaemonSetOverhead(snap, name, labels, taints);
  };

  // ---- Existing nodes.
  P.fixed_pods.assign(N, {});
  std::unordered_map<std::string, int> node_by_name;
  for (int j = 0; j < N; ++j) node_by_name[snap.nodes[j].name] = j;
  for (int i = 0; i < NP; ++i) {
    const auto& p = snap.pods[i];
    if (!p.movable && !p.node_name.empty()) P.fixed_pods[node_by_name.at(p.node_name)].push_back(i);
  }
  for (int j = 0; j < N; ++j) {
    const auto& n = snap.nodes[j];
    Kind k;
    k.existing = true;
    k.node = j;
    k.type_name = n.instance_type;
    k.zone = n.zone;
    k.capacity = n.capacity_type;
    auto price = cat.Price(n.instance_type, n.capacity_type);
    if (!price) {
      if (!opt.unknown_node_price) {
        std::string why = cat.FindType(n.instance_type) == nullptr
                              ? "instance type \"" + n.instance_type + "\" is not in the catalog"
                              : "type \"" + n.instance_type + "\" has no spot price in the catalog";
        return Status::InvalidArgument("items[" + std::to_string(n.item_index) +
                                       "].metadata.labels[node.kubernetes.io/instance-type]: node " + n.name +
                                       ": " + why + " (pass --unknown-node-price P to price it)");
      }
      price = *opt.unknown_node_price;
      P.notes.push_back("node " + n.name + ": type \"" + n.instance_type + "\" priced at --unknown-node-price");
    }
    k.price = *price;
    P.cost_before += k.price;
    k.taints = n.taints;
    if (n.unschedulable) k.taints.push_back(Taint{"node.kubernetes.io/unschedulable", "", "NoSchedule"});
    k.free = n.allocatable;
    Sub(&k.free, ds_overhead(n.name, n.labels, n.taints));
    for (int i : P.fixed_pods[j]) Sub(&k.free, snap.pods[i].requests);
    if (k.free.cpu_milli < 0 || k.free.memory_bytes < 0 || k.free.pods < 0) {
      if (!P.fixed_pods[j].empty()) {
        const auto& p = snap.pods[P.fixed_pods[j][0]];
        return Status::Infeasible(
            "infeasible: pod " + p.FullName() + " is immovable (" + p.immovable_reason + ") on node " + n.name +
            ", but immovable pods plus DaemonSet overhead exceed that node's allocatable (" +
            ResStr(n.allocatable) + ", pods=" + std::to_string(n.allocatable.pods) + ")");
      }
      k.free = Resources{std::max<int64_t>(0, k.free.cpu_milli), std::max<int64_t>(0, k.free.memory_bytes),
                         std::max<int64_t>(0, k.free.pods)};
      P.notes.push_back("node " + n.name + ": DaemonSet overhead exceeds allocatable; no room for pods");
    }
    k.forced = n.pinned || !P.fixed_pods[j].empty();
    P.kinds.push_back(std::move(k));
  }

  // ---- New kinds: machine type x zone x capacity type.
  std::set<std::string> allow(opt.allow_types.begin(), opt.allow_types.end());
  std::set<std::string> zones(opt.zones.begin(), opt.zones.end());
  for (size_t m = 0; m < cat.machine_types.size(); ++m) {
    const auto& mt = cat.machine_types[m];
    if (!allow.empty() && !allow.count(mt.name)) continue;
    for (const auto& z : mt.zones) {
      if (!zones.empty() && !zones.count(z)) continue;
      for (CapacityType ct : {CapacityType::kOnDemand, CapacityType::kSpot}) {
        if (ct == CapacityType::kSpot && (opt.no_spot || !mt.price_spot)) continue;
        Kind k;
        k.machine = static_cast<int>(m);
        k.type_name = mt.name;
        k.zone = z;
        k.capacity = ct;
        k.price = ct == CapacityType::kSpot ? *mt.price_spot : mt.price_on_demand;
        k.labels = mt.labels;
        k.labels["node.kubernetes.io/instance-type"] = mt.name;
        k.labels["topology.kubernetes.io/zone"] = z;
        k.taints = mt.taints;
        if (ct == CapacityType::kSpot) {
          k.labels["cloud.google.com/gke-spot"] = "true";
          k.labels["kinema.io/capacity-type"] = "spot";
          for (const auto& [a, b] : cat.spot_labels) k.labels[a] = b;
          for (const auto& t : cat.spot_taints) k.taints.push_back(t);
        } else {
          k.labels["kinema.io/capacity-type"] = "on-demand";
        }
        Labels with_host = k.labels;
        with_host[kHostname] = opt.new_node_prefix + "0";
        k.free = mt.allocatable;
        Sub(&k.free, ds_overhead(opt.new_node_prefix + "0", with_host, k.taints));
        if (k.free.cpu_milli <= 0 || k.free.memory_bytes <= 0 || k.free.pods <= 0) continue;
        P.kinds.push_back(std::move(k));
      }
    }
  }

  // ---- Classes of movable pods (and immovable unbound ones, which are placed like movable).
  std::map<std::string, int> class_of_sig;
  std::vector<int> pod_class(NP, -1);
  std::vector<int> class_rep;  // a representative pod per class
  for (int i = 0; i < NP; ++i) {
    const auto& p = snap.pods[i];
    bool fixed = !p.movable && !p.node_name.empty();
    if (fixed) continue;
    std::ostringstream sig;
    sig << p.requests.cpu_milli << "," << p.requests.memory_bytes << "|" << Ser(p.constraints) << "|O";
    for (int t : own[i]) sig << t << ",";
    sig << "|M";
    for (int t : matched[i]) sig << t << ",";
    auto [it, inserted] = class_of_sig.emplace(sig.str(), static_cast<int>(P.classes.size()));
    if (inserted) {
      PodClass c;
      c.req = p.requests;
      P.classes.push_back(c);
      class_rep.push_back(i);
    }
    P.classes[it->second].pods.push_back(i);
    pod_class[i] = it->second;
  }
  const int D = static_cast<int>(P.classes.size());
  // Conflicts and per-node caps.
  for (int d = 0; d < D; ++d) {
    int rd = class_rep[d];
    if (pods_conflict(rd, rd) || Intersects(own[rd], matched[rd])) P.classes[d].cap = 1;
    if (own[rd].empty() && matched[rd].empty()) continue;
    for (int e = d + 1; e < D; ++e) {
      int re = class_rep[e];
      if (pods_conflict(rd, re)) {
        P.classes[d].conflicts.push_back(e);
        P.classes[e].conflicts.push_back(d);
      }
    }
  }

  // ---- Compatibility, cached by node scheduling signature for classes not naming nodes.
  std::vector<uint8_t> names_node(D);
  for (int d = 0; d < D; ++d) names_node[d] = RefersToNodeName(snap.pods[class_rep[d]].constraints);
  std::map<std::string, std::vector<uint8_t>> sig_cache;
  const int K = static_cast<int>(P.kinds.size());
  for (int k = 0; k < K; ++k) {
    Kind& kd = P.kinds[k];
    const Labels& labels = kd.existing ? snap.nodes[kd.node].labels : kd.labels;
    std::string name = kd.existing ? snap.nodes[kd.node].name : opt.new_node_prefix + "0";
    Labels with_host = labels;
    if (!kd.existing) with_host[kHostname] = name;
    std::string sig;
    for (const auto& [a, b] : labels)
      if (a != kHostname) sig += a + "=" + b + "\x1d";
    sig += "|";
    for (const auto& t : kd.taints) sig += t.key + "=" + t.value + ":" + t.effect + "\x1d";
    NodeView view{&name, &with_host, &kd.taints};
    auto it = sig_cache.find(sig);
    if (it == sig_cache.end()) {
      std::vector<uint8_t> v(D);
      for (int d = 0; d < D; ++d)
        if (!names_node[d]) v[d] = NodeAccepts(snap.pods[class_rep[d]].constraints, view);
      it = sig_cache.emplace(sig, std::move(v)).first;
    }
    kd.compat.assign(D, 0);
    for (int d = 0; d < D; ++d) {
      bool ok = names_node[d] ? NodeAccepts(snap.pods[class_rep[d]].constraints, view) : it->second[d];
      ok = ok && FitsEmpty(P.classes[d].req, kd.free);
      if (ok && kd.existing)
        for (int q : P.fixed_pods[kd.node])
          if (pods_conflict(class_rep[d], q)) { ok = false; break; }
      kd.compat[d] = ok;
    }
  }

  // ---- Drop new kinds that are dominated or duplicated across zones.
  std::vector<uint8_t> drop(K, 0);
  for (int a = N; a < K; ++a) {
    if (drop[a]) continue;
    for (int b = N; b < K; ++b) {
      if (a == b || drop[b]) continue;
      const Kind& A = P.kinds[a];
      const Kind& B = P.kinds[b];
      if (B.price > A.price) continue;
      if (B.free.cpu_milli < A.free.cpu_milli || B.free.memory_bytes < A.free.memory_bytes ||
          B.free.pods < A.free.pods)
        continue;
      bool superset = true;
      for (int d = 0; d < D && superset; ++d) superset = !A.compat[d] || B.compat[d];
      if (!superset) continue;
      bool equal = B.price == A.price && B.free.cpu_milli == A.free.cpu_milli &&
                   B.free.memory_bytes == A.free.memory_bytes && B.free.pods == A.free.pods &&
                   B.compat == A.compat;
      if (equal && b > a) continue;  // keep the first of equals
      drop[a] = 1;
      break;
    }
  }
  {
    std::vector<Kind> kept;
    for (int k = 0; k < K; ++k)
      if (k < N || !drop[k]) kept.push_back(std::move(P.kinds[k]));
    P.kinds = std::move(kept);
  }

  // ---- Groups of interchangeable existing nodes; current placement per node.
  std::map<std::string, int> group_of;
  for (int j = 0; j < N; ++j) {
    Kind& kd = P.kinds[j];
    if (kd.forced) continue;
    std::ostringstream key;
    key << kd.price << "|" << kd.free.cpu_milli << "," << kd.free.memory_bytes << "," << kd.free.pods << "|";
    for (uint8_t b : kd.compat) key << static_cast<char>('0' + b);
    auto [it, inserted] = group_of.emplace(key.str(), static_cast<int>(P.groups.size()));
    if (inserted) P.groups.emplace_back();
    P.groups[it->second].push_back(j);
    kd.group = it->second;
  }
  P.current.assign(N, {});
  {
    std::vector<std::map<int, int>> cur(N);
    for (int i = 0; i < NP; ++i) {
      if (pod_class[i] < 0) continue;
      auto it = node_by_name.find(snap.pods[i].node_name);
      if (snap.pods[i].node_name.empty() || it == node_by_name.end()) {
        ++P.unplaced_now;
        continue;
      }
      cur[it->second][pod_class[i]]++;
    }
    for (int j = 0; j < N; ++j) P.current[j].assign(cur[j].begin(), cur[j].end());
  }

  // ---- Every class must fit somewhere.
  for (int d = 0; d < D; ++d) {
    bool any = false;
    for (const auto& kd : P.kinds) any = any || kd.compat[d];
    if (any) continue;
    const auto& p = snap.pods[class_rep[d]];
    std::string reasons;
    int shown = 0;
    std::set<std::string> seen;
    for (const auto& kd : P.kinds) {
      const Labels& labels = kd.existing ? snap.nodes[kd.node].labels : kd.labels;
      std::string name = kd.existing ? snap.nodes[kd.node].name : opt.new_node_prefix + "0";
      Labels with_host = labels;
      if (!kd.existing) with_host[kHostname] = name;
      NodeView view{&name, &with_host, &kd.taints};
      std::string why;
      if (!NodeAccepts(p.constraints, view, &why)) {
      } else if (!FitsEmpty(p.requests, kd.free)) {
        why = "insufficient capacity (free " + ResStr(kd.free) + ")";
      } else {
        why = "anti-affinity with immovable pods";
      }
      std::string who = kd.existing ? "node " + name : "type " + kd.type_name + " " + std::string(CapacityTypeName(kd.capacity));
      if (!seen.insert(why).second) continue;
      if (shown++ < 4) reasons += (reasons.empty() ? "" : "; ") + who + ": " + why;
    }
    if (P.kinds.empty()) reasons = "no existing nodes and no machine types allowed";
    return Status::Infeasible("infeasible: pod " + p.FullName() + " (requests " + ResStr(p.requests) +
                                      ") fits on no node or machine type: " + reasons);
  }
  return P;
}

void ProtectNodes(const Snapshot& snap, const std::set<std::string>& names, Problem* p) {
  std::set<std::string> unknown = names;
  for (int j = 0; j < p->num_existing; ++j) {
    if (!unknown.erase(snap.nodes[j].name)) continue;
    Kind& k = p->kinds[j];
    if (!k.forced) ++p->protected_nodes;
    k.forced = true;
    k.group = -1;
  }
  for (const auto& n : unknown) p->notes.push_back("keep node " + n + " is not in the snapshot; ignored");
  // Groups hold only unforced nodes and are never empty (users index g[0]).
  std::vector<std::vector<int>> groups;
  for (auto& g : p->groups) {
    std::vector<int> kept;
    for (int j : g)
      if (!p->kinds[j].forced) kept.push_back(j);
    if (kept.empty()) continue;
    for (int j : kept) p->kinds[j].group = static_cast<int>(groups.size());
    groups.push_back(std::move(kept));
  }
  p->groups = std::move(groups);
}

}  // namespace kinema::opt
