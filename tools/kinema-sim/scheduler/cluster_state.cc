#include "tools/kinema-sim/scheduler/cluster_state.h"

#include <map>

namespace kinema::sim::sched {

namespace {

void Add(Resources* a, const Resources& b, int sign) {
  a->milli_cpu += sign * b.milli_cpu;
  a->memory += sign * b.memory;
  a->pods += sign * b.pods;
}

std::string ZoneOf(const SchedNode& n) {
  auto it = n.labels.find(kZoneLabel);
  return it == n.labels.end() ? std::string() : it->second;
}

}  // namespace

bool ClusterState::UpsertNode(SchedNode node) {
  auto it = nodes_.find(node.name);
  if (it == nodes_.end()) {
    auto info = std::make_unique<NodeInfo>();
    auto orphan = orphan_usage_.find(node.name);
    if (orphan != orphan_usage_.end()) {
      info->usage = orphan->second;
      orphan_usage_.erase(orphan);
    }
    std::string name = node.name;
    info->node = std::move(node);
    nodes_.emplace(name, std::move(info));
    order_dirty_ = true;
    return true;
  }
  NodeInfo& info = *it->second;
  bool changed = info.node.Fingerprint() != node.Fingerprint();
  if (ZoneOf(info.node) != ZoneOf(node)) order_dirty_ = true;
  info.node = std::move(node);
  return changed;
}

void ClusterState::RemoveNode(const std::string& name) {
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return;
  const NodeUsage& u = it->second->usage;
  if (u.requested.pods != 0 || u.requested.milli_cpu != 0 || u.requested.memory != 0) orphan_usage_[name] = u;
  nodes_.erase(it);
  order_dirty_ = true;
}

const NodeInfo* ClusterState::FindNode(const std::string& name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : it->second.get();
}

const std::vector<NodeInfo*>& ClusterState::OrderedNodes() {
  if (!order_dirty_) return order_;
  // Zones in name order, nodes in name order within a zone, interleaved.
  std::map<std::string, std::map<std::string, NodeInfo*>> zones;
  for (auto& [name, info] : nodes_) zones[ZoneOf(info->node)][name] = info.get();
  std::vector<std::pair<std::map<std::string, NodeInfo*>::iterator, std::map<std::string, NodeInfo*>::iterator>> its;
  for (auto& [zone, members] : zones) its.emplace_back(members.begin(), members.end());
  order_.clear();
  order_.reserve(nodes_.size());
  while (order_.size() < nodes_.size()) {
    for (auto& [cur, end] : its) {
      if (cur == end) continue;
      cur->second->ordinal = order_.size();
      order_.push_back(cur->second);
      ++cur;
    }
  }
  order_dirty_ = false;
  return order_;
}

void ClusterState::Account(const SchedPod& pod, int sign) {
  auto it = nodes_.find(pod.node_name);
  NodeUsage* u = it != nodes_.end() ? &it->second->usage : &orphan_usage_[pod.node_name];
  Add(&u->requested, pod.requests, sign);
  Add(&u->nonzero, pod.nonzero, sign);
  if (it == nodes_.end() && u->requested.pods == 0) orphan_usage_.erase(pod.node_name);

  NamespaceIndex& idx = index_[pod.ns];
  for (const auto& [k, v] : pod.labels) {
    std::string lk = LabelKey(k, v);
    if (sign > 0) {
      idx.by_label[lk].insert(&pod);
    } else {
      auto s = idx.by_label.find(lk);
      if (s != idx.by_label.end()) {
        s->second.erase(&pod);
        if (s->second.empty()) idx.by_label.erase(s);
      }
    }
  }
  if (sign > 0) {
    idx.all.insert(&pod);
  } else {
    idx.all.erase(&pod);
    if (idx.all.empty()) index_.erase(pod.ns);
  }

  for (const auto& term : pod.anti_affinity) {
    std::string key = term.Key();
    if (sign > 0) {
      auto [g, inserted] = groups_.try_emplace(key);
      if (inserted) g->second.term = term;
      g->second.pods_per_node[pod.node_name]++;
    } else {
      auto g = groups_.find(key);
      if (g == groups_.end()) continue;
      auto n = g->second.pods_per_node.find(pod.node_name);
      if (n != g->second.pods_per_node.end() && --n->second <= 0) g->second.pods_per_node.erase(n);
      if (g->second.pods_per_node.empty()) groups_.erase(g);
    }
  }
}

void ClusterState::UpsertPod(SchedPod pod) {
  RemovePod(pod.Key());
  auto owned = std::make_unique<SchedPod>(std::move(pod));
  const SchedPod& ref = *owned;
  std::string key = ref.Key();
  pods_.emplace(key, std::move(owned));
  Account(ref, +1);
}

void ClusterState::RemovePod(const std::string& key) {
  auto it = pods_.find(key);
  if (it == pods_.end()) return;
  Account(*it->second, -1);
  pods_.erase(it);
}

const SchedPod* ClusterState::FindPod(const std::string& key) const {
  auto it = pods_.find(key);
  return it == pods_.end() ? nullptr : it->second.get();
}

void ClusterState::ForEachInNamespace(const NamespaceIndex& idx, const LabelSelectorSpec& selector,
                                      const std::function<void(const SchedPod&)>& fn) const {
  // Narrowest exact-label bucket from matchLabels or a single-key In.
  const PodSet* best = nullptr;
  bool found_key = false;
  for (const auto& [k, v] : selector.match_labels) {
    found_key = true;
    auto s = idx.by_label.find(LabelKey(k, v));
    if (s == idx.by_label.end()) return;  // no pod has this label: nothing can match
    if (best == nullptr || s->second.size() < best->size()) best = &s->second;
  }
  if (best != nullptr) {
    for (const SchedPod* p : *best) fn(*p);
    return;
  }
  if (!found_key) {
    for (const auto& r : selector.expressions) {
      if (r.op != Requirement::Op::kIn) continue;
      for (const auto& v : r.values) {
        auto s = idx.by_label.find(LabelKey(r.key, v));
        if (s == idx.by_label.end()) continue;
        for (const SchedPod* p : s->second) fn(*p);
      }
      return;
    }
  }
  for (const SchedPod* p : idx.all) fn(*p);
}

void ClusterState::ForEachCandidate(const std::vector<std::string>& namespaces, bool all_namespaces,
                                    const LabelSelectorSpec& selector,
                                    const std::function<void(const SchedPod&)>& fn) const {
  if (selector.null) return;
  if (all_namespaces) {
    for (const auto& [ns, idx] : index_) ForEachInNamespace(idx, selector, fn);
    return;
  }
  for (const auto& ns : namespaces) {
    auto it = index_.find(ns);
    if (it != index_.end()) ForEachInNamespace(it->second, selector, fn);
  }
}

}  // namespace kinema::sim::sched
