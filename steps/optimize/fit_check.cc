#include "steps/optimize/fit_check.h"

#include <algorithm>
#include <cstdio>

namespace kinema {

namespace {

std::string Cpu(int64_t milli) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g", milli / 1000.0);
  return buf;
}

std::string Mem(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3gGi", bytes / 1073741824.0);
  return buf;
}

void Add(Resources* a, const Resources& b, int sign) {
  a->cpu_milli += sign * b.cpu_milli;
  a->memory_bytes += sign * b.memory_bytes;
  a->pods += sign * b.pods;
}

}  // namespace

Resources DaemonSetOverhead(const Snapshot& snapshot, const std::string& name, const Labels& labels,
                            const std::vector<Taint>& taints) {
  Resources r;
  NodeView v{&name, &labels, &taints};
  for (const auto& ds : snapshot.daemonsets) {
    if (NodeAccepts(ds.constraints, v)) {
      r.cpu_milli += ds.requests.cpu_milli;
      r.memory_bytes += ds.requests.memory_bytes;
      r.pods += 1;
    }
  }
  return r;
}

NodeFitter::NodeFitter(const Snapshot& snapshot)
    : snap_(&snapshot),
      overhead_(snapshot.nodes.size()),
      used_(snapshot.nodes.size()),
      on_node_(snapshot.nodes.size()) {
  for (size_t j = 0; j < snapshot.nodes.size(); ++j) {
    const auto& n = snapshot.nodes[j];
    overhead_[j] = DaemonSetOverhead(snapshot, n.name, n.labels, n.taints);
  }
  for (const auto& p : snapshot.pods) {
    if (p.node_name.empty()) continue;
    int j = snapshot.FindNode(p.node_name);
    if (j >= 0) Place(p, j);
  }
}

Resources NodeFitter::Free(int node) const {
  Resources r = snap_->nodes[node].allocatable;
  Add(&r, overhead_[node], -1);
  Add(&r, used_[node], -1);
  return r;
}

Resources NodeFitter::Requested(int node) const { return used_[node]; }

bool NodeFitter::Fits(const SnapshotPod& pod, int node, std::string* why) const {
  auto no = [&](const std::string& reason) {
    if (why) *why = reason;
    return false;
  };
  const SnapshotNode& n = snap_->nodes[node];
  if (n.unschedulable) return no("node " + n.name + " is unschedulable");
  std::string affinity_why;
  NodeView v{&n.name, &n.labels, &n.taints};
  if (!NodeAccepts(pod.constraints, v, &affinity_why)) return no(affinity_why);
  Resources free = Free(node);
  if (pod.requests.cpu_milli > free.cpu_milli) {
    return no("insufficient cpu on " + n.name + ": " + Cpu(free.cpu_milli) + " free, " + Cpu(pod.requests.cpu_milli) +
              " requested");
  }
  if (pod.requests.memory_bytes > free.memory_bytes) {
    return no("insufficient memory on " + n.name + ": " + Mem(free.memory_bytes) + " free, " +
              Mem(pod.requests.memory_bytes) + " requested");
  }
  if (free.pods < 1) return no("node " + n.name + " has no pod slot left");
  for (const SnapshotPod* other : on_node_[node]) {
    if (other == &pod) continue;
    for (const auto& t : pod.anti_affinity) {
      if (AntiAffinityMatches(t, pod.namespace_, *other)) return no("anti-affinity with " + other->FullName());
    }
    for (const auto& t : other->anti_affinity) {
      if (AntiAffinityMatches(t, other->namespace_, pod)) return no("anti-affinity of " + other->FullName());
    }
  }
  return true;
}

void NodeFitter::Place(const SnapshotPod& pod, int node) {
  Resources r = pod.requests;
  r.pods = 1;
  Add(&used_[node], r, +1);
  on_node_[node].push_back(&pod);
}

void NodeFitter::Remove(const SnapshotPod& pod, int node) {
  auto& v = on_node_[node];
  auto it = std::find(v.begin(), v.end(), &pod);
  if (it == v.end()) return;
  v.erase(it);
  Resources r = pod.requests;
  r.pods = 1;
  Add(&used_[node], r, -1);
}

NodeFitter::Assignment NodeFitter::PlaceAll(const std::vector<const SnapshotPod*>& pods,
                                             const std::vector<int>& candidates) {
  std::vector<const SnapshotPod*> order = pods;
  std::stable_sort(order.begin(), order.end(), [](const SnapshotPod* a, const SnapshotPod* b) {
    return std::max(a->requests.cpu_milli * 4, a->requests.memory_bytes >> 20) >
           std::max(b->requests.cpu_milli * 4, b->requests.memory_bytes >> 20);
  });
  Assignment out;
  for (const SnapshotPod* p : order) {
    int chosen = -1;
    std::string why = candidates.empty() ? "no candidate node" : "";
    for (int j : candidates) {
      std::string w;
      if (Fits(*p, j, &w)) {
        chosen = j;
        break;
      }
      if (why.empty()) why = w;
    }
    if (chosen < 0) {
      for (auto it = out.placements.rbegin(); it != out.placements.rend(); ++it) Remove(*it->first, it->second);
      out.placements.clear();
      out.first_misfit = p;
      out.why = candidates.empty() ? why
                                   : "fits on none of the " + std::to_string(candidates.size()) +
                                         " candidate node(s), e.g. " + why;
      return out;
    }
    Place(*p, chosen);
    out.placements.emplace_back(p, chosen);
  }
  out.all_fit = true;
  return out;
}

}  // namespace kinema
