#include "tools/kinema-sim/scheduler/scheduling_core.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace kinema::sim::sched {

namespace {

constexpr int64_t kMaxNodeScore = 100;
constexpr int64_t kWeightTaintToleration = 3;
constexpr int64_t kWeightNodeAffinity = 2;
constexpr int64_t kWeightSpread = 2;
constexpr int64_t kWeightFit = 1;
constexpr int64_t kWeightBalanced = 1;

constexpr const char* kReasonUnschedulable = "node(s) were unschedulable";
constexpr const char* kReasonNodeAffinity = "node(s) didn't match Pod's node affinity/selector";
constexpr const char* kReasonTooManyPods = "Too many pods";
constexpr const char* kReasonInsufficientCpu = "Insufficient cpu";
constexpr const char* kReasonInsufficientMemory = "Insufficient memory";
constexpr const char* kReasonSpread = "node(s) didn't match pod topology spread constraints";
constexpr const char* kReasonSpreadLabel = "node(s) didn't match pod topology spread constraints (missing required label)";
constexpr const char* kReasonExistingAnti = "node(s) didn't satisfy existing pods anti-affinity rules";
constexpr const char* kReasonAnti = "node(s) didn't match pod anti-affinity rules";
constexpr const char* kReasonAffinity = "node(s) didn't match pod affinity rules";
constexpr const char* kPreemptionNoVictims = "No preemption victims found for incoming pod";
constexpr const char* kPreemptionNotHelpful = "Preemption is not helpful for scheduling";

// Why one node was rejected: up to three fixed reasons (NodeResourcesFit can
// report pods, cpu and memory at once) or one taint.
struct FilterOutcome {
  bool ok = true;
  bool unresolvable = false;
  unsigned rejected = 0;
  const char* reasons[3] = {nullptr, nullptr, nullptr};
  int n = 0;
  const Taint* taint = nullptr;  // "node(s) had untolerated taint {key: value}"
  void Fail(const char* reason, unsigned by, bool unresolvable_) {
    ok = false;
    unresolvable = unresolvable_;
    rejected |= by;
    if (n < 3) reasons[n++] = reason;
  }
};

struct SpreadState {
  const SpreadConstraint* c = nullptr;
  std::vector<char> eligible;                   // by node ordinal
  std::vector<const std::string*> values;       // topology value by node ordinal (null: label missing)
  std::unordered_map<std::string, int> counts;  // topology value -> matching pods
  std::unordered_set<std::string> domains;
  int min_match = 0;
  bool self_match = false;
};

struct PreFilterState {
  // Required pod affinity: per term, the domains holding a pod that matches
  // every term; `affinity_matches` is false when no such pod exists at all.
  std::vector<std::unordered_set<std::string>> affinity_domains;
  bool affinity_matches = false;
  bool affinity_self_match = false;
  std::vector<std::unordered_set<std::string>> anti_domains;  // per incoming anti-affinity term
  std::unordered_map<std::string, std::unordered_set<std::string>> existing_anti;  // key -> values
  std::vector<SpreadState> spread;  // DoNotSchedule constraints only
};

bool ToleratesHardTaints(const SchedPod& pod, const SchedNode& node) {
  for (const auto& t : node.taints) {
    if (!t.hard) continue;
    if (!pod.Tolerates(t)) return false;
  }
  return true;
}

PreFilterState PreFilter(const SchedPod& pod, ClusterState& state) {
  PreFilterState s;
  const auto& nodes = state.OrderedNodes();

  // The incoming pod's affinity.
  if (!pod.affinity.empty()) {
    s.affinity_domains.resize(pod.affinity.size());
    auto matches_all = [&](const SchedPod& other) {
      for (const auto& term : pod.affinity)
        if (!term.AppliesToNamespace(other.ns) || !term.selector.Matches(other.labels)) return false;
      return true;
    };
    const PodAffinityTerm& first = pod.affinity[0];
    state.ForEachCandidate(first.namespaces, first.all_namespaces, first.selector, [&](const SchedPod& other) {
      if (!matches_all(other)) return;
      const NodeInfo* n = state.FindNode(other.node_name);
      if (n == nullptr) return;
      for (size_t k = 0; k < pod.affinity.size(); ++k) {
        if (const std::string* v = n->node.Label(pod.affinity[k].topology_key)) {
          s.affinity_domains[k].insert(*v);
          s.affinity_matches = true;
        }
      }
    });
    s.affinity_self_match = matches_all(pod);
  }

  // The incoming pod's anti-affinity: topology domains holding a matching pod.
  for (const auto& term : pod.anti_affinity) {
    std::unordered_set<std::string> domains;
    state.ForEachCandidate(term.namespaces, term.all_namespaces, term.selector, [&](const SchedPod& other) {
      if (!term.selector.Matches(other.labels)) return;
      const NodeInfo* n = state.FindNode(other.node_name);
      if (n == nullptr) return;
      if (const std::string* v = n->node.Label(term.topology_key)) domains.insert(*v);
    });
    s.anti_domains.push_back(std::move(domains));
  }

  // Existing pods' anti-affinity terms that match the incoming pod.
  for (const auto& [key, group] : state.anti_affinity_groups()) {
    if (!group.term.AppliesToNamespace(pod.ns) || !group.term.selector.Matches(pod.labels)) continue;
    for (const auto& [node_name, count] : group.pods_per_node) {
      if (count <= 0) continue;
      const NodeInfo* n = state.FindNode(node_name);
      if (n == nullptr) continue;
      if (const std::string* v = n->node.Label(group.term.topology_key))
        s.existing_anti[group.term.topology_key].insert(*v);
    }
  }

  // Topology spread (DoNotSchedule).
  std::vector<const SpreadConstraint*> hard;
  for (const auto& c : pod.spread)
    if (c.do_not_schedule) hard.push_back(&c);
  if (hard.empty()) return s;
  for (const SpreadConstraint* c : hard) {
    SpreadState st;
    st.c = c;
    st.eligible.assign(nodes.size(), 0);
    st.values.assign(nodes.size(), nullptr);
    st.self_match = c->selector.Matches(pod.labels);
    s.spread.push_back(std::move(st));
  }
  for (const NodeInfo* n : nodes) {
    bool has_keys = true;
    for (auto& st : s.spread) {
      st.values[n->ordinal] = n->node.Label(st.c->topology_key);
      if (st.values[n->ordinal] == nullptr) has_keys = false;
    }
    if (!has_keys) continue;
    bool affinity_ok = pod.MatchesNodeAffinity(n->node.name, n->node.labels);
    bool taints_ok = ToleratesHardTaints(pod, n->node);
    for (auto& st : s.spread) {
      if (st.c->honor_node_affinity && !affinity_ok) continue;
      if (st.c->honor_taints && !taints_ok) continue;
      st.eligible[n->ordinal] = 1;
      st.domains.insert(*st.values[n->ordinal]);
    }
  }
  for (auto& st : s.spread) {
    const SpreadConstraint& c = *st.c;
    state.ForEachCandidate({pod.ns}, false, c.selector, [&](const SchedPod& other) {
      if (other.terminating || !c.selector.Matches(other.labels)) return;
      const NodeInfo* n = state.FindNode(other.node_name);
      if (n == nullptr || n->ordinal >= st.eligible.size() || !st.eligible[n->ordinal]) return;
      st.counts[*st.values[n->ordinal]]++;
    });
    if (static_cast<int>(st.domains.size()) < c.min_domains) {
      st.min_match = 0;
    } else {
      bool first = true;
      for (const auto& d : st.domains) {
        auto it = st.counts.find(d);
        int v = it == st.counts.end() ? 0 : it->second;
        if (first || v < st.min_match) st.min_match = v;
        first = false;
      }
    }
  }
  return s;
}

FilterOutcome Filter(const SchedPod& pod, const NodeInfo& info, const PreFilterState& pre) {
  FilterOutcome out;
  const SchedNode& node = info.node;
  // NodeUnschedulable
  static const Taint kUnschedulableTaint = MakeTaint(kTaintUnschedulable, "", "NoSchedule");
  if (node.unschedulable && !pod.Tolerates(kUnschedulableTaint)) {
    out.Fail(kReasonUnschedulable, kRejectedNodeProperties, true);
    return out;
  }
  // TaintToleration
  for (const auto& t : node.taints) {
    if (!t.hard) continue;
    if (!pod.Tolerates(t)) {
      out.ok = false;
      out.unresolvable = true;
      out.rejected |= kRejectedNodeProperties;
      out.taint = &t;
      return out;
    }
  }
  // NodeAffinity
  if (!pod.MatchesNodeAffinity(node.name, node.labels)) {
    out.Fail(kReasonNodeAffinity, kRejectedNodeProperties, true);
    return out;
  }
  // NodeResourcesFit
  const Resources& req = pod.requests;
  const Resources& used = info.usage.requested;
  const Resources& alloc = node.allocatable;
  if (used.pods + 1 > alloc.pods) out.Fail(kReasonTooManyPods, kRejectedResources, false);
  if (req.milli_cpu > 0 && req.milli_cpu > alloc.milli_cpu - used.milli_cpu)
    out.Fail(kReasonInsufficientCpu, kRejectedResources, false);
  if (req.memory > 0 && req.memory > alloc.memory - used.memory)
    out.Fail(kReasonInsufficientMemory, kRejectedResources, false);
  if (!out.ok) return out;
  // PodTopologySpread
  if (!pre.spread.empty()) {
    for (const auto& st : pre.spread) {
      if (st.values[info.ordinal] == nullptr) {
        out.Fail(kReasonSpreadLabel, kRejectedNodeProperties, true);
        return out;
      }
    }
    for (const auto& st : pre.spread) {
      auto it = st.counts.find(*st.values[info.ordinal]);
      int match = it == st.counts.end() ? 0 : it->second;
      int skew = match + (st.self_match ? 1 : 0) - st.min_match;
      if (skew > st.c->max_skew) {
        out.Fail(kReasonSpread, kRejectedSpread, false);
        return out;
      }
    }
  }
  // InterPodAffinity: affinity, the pod's anti-affinity, existing pods' anti-affinity.
  if (!pod.affinity.empty()) {
    bool exists = true;
    for (size_t k = 0; k < pod.affinity.size(); ++k) {
      const std::string* v = node.Label(pod.affinity[k].topology_key);
      if (v == nullptr) {
        out.Fail(kReasonAffinity, kRejectedPodAffinity, true);
        return out;
      }
      if (pre.affinity_domains[k].count(*v) == 0) exists = false;
    }
    // The first pod of a group with affinity to itself may go anywhere.
    if (!exists && (pre.affinity_matches || !pre.affinity_self_match)) {
      out.Fail(kReasonAffinity, kRejectedPodAffinity, true);
      return out;
    }
  }
  for (size_t i = 0; i < pod.anti_affinity.size(); ++i) {
    const std::string* v = node.Label(pod.anti_affinity[i].topology_key);
    if (v != nullptr && pre.anti_domains[i].count(*v) > 0) {
      out.Fail(kReasonAnti, kRejectedAntiAffinity, false);
      return out;
    }
  }
  for (const auto& [key, values] : pre.existing_anti) {
    const std::string* v = node.Label(key);
    if (v != nullptr && values.count(*v) > 0) {
      out.Fail(kReasonExistingAnti, kRejectedAntiAffinity, false);
      return out;
    }
  }
  return out;
}

int64_t LeastAllocated(const SchedPod& pod, const NodeInfo& info) {
  auto one = [](int64_t requested, int64_t allocatable) -> int64_t {
    if (allocatable == 0 || requested > allocatable) return 0;
    return (allocatable - requested) * kMaxNodeScore / allocatable;
  };
  int64_t cpu = one(info.usage.nonzero.milli_cpu + pod.nonzero.milli_cpu, info.node.allocatable.milli_cpu);
  int64_t mem = one(info.usage.nonzero.memory + pod.nonzero.memory, info.node.allocatable.memory);
  return (cpu + mem) / 2;
}

int64_t BalancedAllocation(const SchedPod& pod, const NodeInfo& info) {
  double fractions[2];
  int n = 0;
  auto add = [&](int64_t requested, int64_t allocatable) {
    if (allocatable == 0) return;
    fractions[n++] = std::min(1.0, static_cast<double>(requested) / static_cast<double>(allocatable));
  };
  add(info.usage.requested.milli_cpu + pod.requests.milli_cpu, info.node.allocatable.milli_cpu);
  add(info.usage.requested.memory + pod.requests.memory, info.node.allocatable.memory);
  double std_dev = n == 2 ? std::abs((fractions[0] - fractions[1]) / 2) : 0.0;
  return static_cast<int64_t>((1 - std_dev) * static_cast<double>(kMaxNodeScore));
}

int64_t IntolerablePreferNoSchedule(const SchedPod& pod, const SchedNode& node) {
  int64_t n = 0;
  for (const auto& t : node.taints) {
    if (!t.prefer) continue;
    bool tolerated = false;
    for (const auto& tol : pod.tolerations) {
      if ((tol.effect.empty() || tol.effect == "PreferNoSchedule") && tol.Tolerates(t)) tolerated = true;
    }
    if (!tolerated) ++n;
  }
  return n;
}

int64_t PreferredAffinity(const SchedPod& pod, const SchedNode& node) {
  int64_t sum = 0;
  for (const auto& p : pod.preferred_terms)
    if (p.weight != 0 && p.term.Matches(node.name, node.labels)) sum += p.weight;
  return sum;
}

// PodTopologySpread scoring (podtopologyspread/scoring.go): the pod's
// ScheduleAnyway constraints, or — for a pod without any constraint — the
// system defaults (hostname maxSkew 3, zone maxSkew 5) over its owner's
// selector. Returns normalized 0..100 scores per feasible node, or an empty
// vector when the plugin has nothing to score.
std::vector<int64_t> SpreadScores(const SchedPod& pod, ClusterState& state,
                                  const std::vector<const NodeInfo*>& feasible) {
  std::vector<SpreadConstraint> constraints;
  const bool require_all = !pod.spread.empty();
  for (const auto& c : pod.spread)
    if (!c.do_not_schedule) constraints.push_back(c);
  if (pod.spread.empty() && !pod.default_spread_selector.null) {
    SpreadConstraint host;
    host.max_skew = 3;
    host.topology_key = kHostnameLabel;
    host.do_not_schedule = false;
    host.selector = pod.default_spread_selector;
    SpreadConstraint zone = host;
    zone.max_skew = 5;
    zone.topology_key = kZoneLabel;
    constraints = {host, zone};
  }
  if (constraints.empty()) return {};
  auto has_all = [&](const SchedNode& node) {
    for (const auto& c : constraints)
      if (node.Label(c.topology_key) == nullptr) return false;
    return true;
  };
  const size_t m = feasible.size();
  std::vector<char> ignored(m, 0);
  size_t ignored_count = 0;
  // Per constraint: topology value (node name for hostname) -> matching pods;
  // for other keys only the values of scored nodes are tracked.
  std::vector<std::unordered_map<std::string, int64_t>> counts(constraints.size());
  // Hostname constraints: matching pods per node, by node ordinal.
  std::vector<std::vector<int64_t>> host_counts(constraints.size());
  const size_t all_nodes = state.OrderedNodes().size();
  for (size_t i = 0; i < m; ++i) {
    const SchedNode& node = feasible[i]->node;
    if (require_all && !has_all(node)) {
      ignored[i] = 1;
      ++ignored_count;
      continue;
    }
    for (size_t k = 0; k < constraints.size(); ++k) {
      if (constraints[k].topology_key == kHostnameLabel) continue;
      if (const std::string* v = node.Label(constraints[k].topology_key)) counts[k].emplace(*v, 0);
    }
  }
  std::vector<double> weights(constraints.size());
  for (size_t k = 0; k < constraints.size(); ++k) {
    size_t size = constraints[k].topology_key == kHostnameLabel ? m - ignored_count : counts[k].size();
    weights[k] = std::log(static_cast<double>(size + 2));
  }
  for (size_t k = 0; k < constraints.size(); ++k) {
    const SpreadConstraint& c = constraints[k];
    const bool hostname = c.topology_key == kHostnameLabel;
    state.ForEachCandidate({pod.ns}, false, c.selector, [&](const SchedPod& other) {
      if (other.terminating || !c.selector.Matches(other.labels)) return;
      const NodeInfo* n = state.FindNode(other.node_name);
      if (n == nullptr) return;
      if (hostname) {
        if (host_counts[k].empty()) host_counts[k].assign(all_nodes, 0);
        if (n->ordinal < all_nodes) host_counts[k][n->ordinal]++;
        return;
      }
      if (require_all && !has_all(n->node)) return;
      if (c.honor_node_affinity && !pod.MatchesNodeAffinity(n->node.name, n->node.labels)) return;
      if (c.honor_taints && !ToleratesHardTaints(pod, n->node)) return;
      const std::string* v = n->node.Label(c.topology_key);
      if (v == nullptr) return;
      auto it = counts[k].find(*v);
      if (it != counts[k].end()) it->second++;
    });
  }
  std::vector<int64_t> raw(m, 0);
  int64_t min_score = INT64_MAX, max_score = 0;
  for (size_t i = 0; i < m; ++i) {
    if (ignored[i]) continue;
    const SchedNode& node = feasible[i]->node;
    double score = 0;
    for (size_t k = 0; k < constraints.size(); ++k) {
      const std::string* v = node.Label(constraints[k].topology_key);
      if (v == nullptr) continue;
      int64_t cnt = 0;
      if (constraints[k].topology_key == kHostnameLabel) {
        if (!host_counts[k].empty()) cnt = host_counts[k][feasible[i]->ordinal];
      } else {
        auto it = counts[k].find(*v);
        if (it != counts[k].end()) cnt = it->second;
      }
      score += static_cast<double>(cnt) * weights[k] + static_cast<double>(constraints[k].max_skew - 1);
    }
    raw[i] = std::llround(score);
    min_score = std::min(min_score, raw[i]);
    max_score = std::max(max_score, raw[i]);
  }
  std::vector<int64_t> out(m, 0);
  for (size_t i = 0; i < m; ++i) {
    if (ignored[i]) continue;
    out[i] = max_score == 0 ? kMaxNodeScore : kMaxNodeScore * (max_score + min_score - raw[i]) / max_score;
  }
  return out;
}

// "2 Insufficient cpu, 3 node(s) had ..." sorted like sortReasonsHistogram.
std::string Histogram(const std::map<std::string, int>& counts) {
  std::vector<std::string> parts;
  for (const auto& [reason, n] : counts) parts.push_back(std::to_string(n) + " " + reason);
  std::sort(parts.begin(), parts.end());
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out;
}

}  // namespace

size_t NumFeasibleNodesToFind(size_t all_nodes) {
  constexpr size_t kMinFeasibleNodesToFind = 100;
  if (all_nodes < kMinFeasibleNodesToFind) return all_nodes;
  long percentage = 50 - static_cast<long>(all_nodes) / 125;
  if (percentage < 5) percentage = 5;
  size_t n = all_nodes * static_cast<size_t>(percentage) / 100;
  return std::max(n, kMinFeasibleNodesToFind);
}

ScheduleResult SchedulingCore::Schedule(const SchedPod& pod, ClusterState& state) {
  ScheduleResult result;
  if (!pod.parse_error.empty()) {
    result.message = "pod is invalid: " + pod.parse_error;
    result.rejected_by = kRejectedInvalidPod;
    return result;
  }
  const auto& nodes = state.OrderedNodes();
  if (nodes.empty()) {
    result.message = "no nodes available to schedule pods";
    result.rejected_by = kRejectedNodeProperties;
    return result;
  }
  PreFilterState pre = PreFilter(pod, state);

  const size_t n = nodes.size();
  const size_t want = NumFeasibleNodesToFind(n);
  std::vector<const NodeInfo*> feasible;
  std::unordered_map<const char*, int> fixed_reasons;
  std::map<std::string, int> reasons;
  int resolvable_nodes = 0, unresolvable_nodes = 0;
  size_t start = next_start_index_ % n;
  size_t processed = 0;
  for (size_t i = 0; i < n && feasible.size() < want; ++i) {
    const NodeInfo* info = nodes[(start + i) % n];
    ++processed;
    FilterOutcome f = Filter(pod, *info, pre);
    if (f.ok) {
      feasible.push_back(info);
      continue;
    }
    result.rejected_by |= f.rejected;
    for (int k = 0; k < f.n; ++k) fixed_reasons[f.reasons[k]]++;
    if (f.taint != nullptr) reasons["node(s) had untolerated taint {" + f.taint->key + ": " + f.taint->value + "}"]++;
    (f.unresolvable ? unresolvable_nodes : resolvable_nodes)++;
  }
  next_start_index_ = (start + processed) % n;
  result.evaluated_nodes = processed;
  result.feasible_nodes = feasible.size();

  if (feasible.empty()) {
    for (const auto& [reason, count] : fixed_reasons) reasons[reason] += count;
    std::string total = std::to_string(n);
    result.message = "0/" + total + " nodes are available: " + Histogram(reasons) + ".";
    std::map<std::string, int> preemption;
    if (resolvable_nodes > 0) preemption[kPreemptionNoVictims] = resolvable_nodes;
    if (unresolvable_nodes > 0) preemption[kPreemptionNotHelpful] = unresolvable_nodes;
    result.message += " preemption: 0/" + total + " nodes are available: " + Histogram(preemption) + ".";
    return result;
  }
  if (feasible.size() == 1) {
    result.scheduled = true;
    result.node = feasible[0]->node.name;
    return result;
  }

  // Score.
  const size_t m = feasible.size();
  std::vector<int64_t> taint(m), affinity(m), total(m);
  int64_t max_taint = 0, max_affinity = 0;
  for (size_t i = 0; i < m; ++i) {
    taint[i] = IntolerablePreferNoSchedule(pod, feasible[i]->node);
    affinity[i] = PreferredAffinity(pod, feasible[i]->node);
    max_taint = std::max(max_taint, taint[i]);
    max_affinity = std::max(max_affinity, affinity[i]);
  }
  std::vector<int64_t> spread = SpreadScores(pod, state, feasible);
  for (size_t i = 0; i < m; ++i) {
    // DefaultNormalizeScore: TaintToleration reversed, NodeAffinity straight.
    int64_t t = max_taint == 0 ? kMaxNodeScore : kMaxNodeScore - taint[i] * kMaxNodeScore / max_taint;
    int64_t a = max_affinity == 0 ? 0 : affinity[i] * kMaxNodeScore / max_affinity;
    total[i] = kWeightTaintToleration * t + kWeightNodeAffinity * a +
               kWeightFit * LeastAllocated(pod, *feasible[i]) + kWeightBalanced * BalancedAllocation(pod, *feasible[i]) +
               (spread.empty() ? 0 : kWeightSpread * spread[i]);
  }
  // selectHost: highest score, ties uniformly at random.
  size_t best = 0;
  int64_t ties = 0;
  for (size_t i = 0; i < m; ++i) {
    if (i == 0 || total[i] > total[best]) {
      best = i;
      ties = 1;
    } else if (total[i] == total[best]) {
      ++ties;
      if (std::uniform_int_distribution<int64_t>(0, ties - 1)(rng_) == 0) best = i;
    }
  }
  result.scheduled = true;
  result.node = feasible[best]->node.name;
  result.score = total[best];
  return result;
}

}  // namespace kinema::sim::sched
