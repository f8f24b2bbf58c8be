#include "steps/rescheduling/decision.h"

#include <algorithm>
#include <cstdio>

#include "engine/kube/object.h"

namespace kinema::rescheduling {

using nlohmann::json;

json ClusterIdentity::ToJson() const {
  return {{"nodes", nodes}, {"pods", pods}, {"podKeys", pod_keys}, {"podOwners", pod_owners}};
}

StatusOr<ClusterIdentity> ClusterIdentity::FromJson(const json& j) {
  try {
    ClusterIdentity c;
    for (const auto& n : j.value("nodes", json::array())) c.nodes.insert(n.get<std::string>());
    for (const auto& p : j.value("pods", json::array())) c.pods.insert(p.get<std::string>());
    if (j.contains("podKeys")) c.pod_keys = j["podKeys"].get<std::map<std::string, std::string>>();
    if (j.contains("podOwners")) c.pod_owners = j["podOwners"].get<std::map<std::string, std::string>>();
    return c;
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("cluster identity: ") + e.what());
  }
}

ClusterIdentity IdentityOf(const std::vector<json>& objects) {
  ClusterIdentity id;
  for (const auto& o : objects) {
    const std::string kind = kube::obj::StringAt(o, "kind");
    if (kind == "Node") {
      id.nodes.insert(kube::obj::Name(o));
    } else if (kind == "Pod") {
      const std::string phase = kube::pod::Phase(o);
      if (phase != "Pending" && phase != "Running") continue;
      const std::string key = kube::obj::Key(o);
      std::string uid = kube::obj::Uid(o);
      if (uid.empty()) uid = key;
      id.pods.insert(uid);
      id.pod_keys[uid] = key;
      const std::string owner = kube::obj::ControllerKind(o);
      id.pod_owners[uid] = owner.empty() ? "" : kube::obj::Namespace(o) + "/" + owner + "/" + kube::obj::ControllerName(o);
    }
  }
  return id;
}

namespace {

std::string Pct(double f) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f%%", f * 100);
  return buf;
}

std::string Money(double d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", d);
  return buf;
}

bool OwnNode(const OwnChanges& own, const std::string& node) {
  return own.nodes.count(node) ||
         (!own.new_node_prefix.empty() && node.rfind(own.new_node_prefix + "-", 0) == 0);
}

// Counts identity changes, leaving out those Kinema's own workflows made.
void CountChanges(const ClusterIdentity& at_plan, const ClusterIdentity& now, const OwnChanges& own, Decision* d) {
  for (const auto& n : now.nodes) {
    if (at_plan.nodes.count(n)) continue;
    if (OwnNode(own, n)) ++d->own_changes_ignored;
    else ++d->nodes_added;
  }
  for (const auto& n : at_plan.nodes) {
    if (now.nodes.count(n)) continue;
    if (OwnNode(own, n)) ++d->own_changes_ignored;
    else ++d->nodes_removed;
  }
  std::set<std::string> own_owners;  // workloads whose pods Kinema evicted: their replacements are ours too
  for (const auto& uid : at_plan.pods) {
    if (now.pods.count(uid)) continue;
    auto key = at_plan.pod_keys.find(uid);
    if (key != at_plan.pod_keys.end() && own.pod_keys.count(key->second)) {
      ++d->own_changes_ignored;
      auto owner = at_plan.pod_owners.find(uid);
      if (owner != at_plan.pod_owners.end() && !owner->second.empty()) own_owners.insert(owner->second);
    } else {
      ++d->pods_removed;
    }
  }
  for (const auto& uid : now.pods) {
    if (at_plan.pods.count(uid)) continue;
    auto owner = now.pod_owners.find(uid);
    if (owner != now.pod_owners.end() && own_owners.count(owner->second)) ++d->own_changes_ignored;
    else ++d->pods_added;
  }
}

}  // namespace

json Decision::ToJson() const {
  return {{"verdict", verdict},
          {"reason", reason},
          {"change", change},
          {"nodesAdded", nodes_added},
          {"nodesRemoved", nodes_removed},
          {"podsAdded", pods_added},
          {"podsRemoved", pods_removed},
          {"ownChangesIgnored", own_changes_ignored},
          {"costPerHourBefore", cost_before},
          {"costPerHourAfter", cost_after},
          {"savings", savings},
          {"targetCostPerHour", target_cost},
          {"targetSavings", target_savings},
          {"shareOfWay", share_of_way},
          {"nodesBooted", nodes_booted},
          {"nodesRetired", nodes_retired},
          {"podsMoved", pods_moved}};
}

Decision Decide(const Plan& plan, const ClusterIdentity& at_plan, const ClusterIdentity& now, const OwnChanges& own,
                const DecisionOptions& o) {
  Decision d;
  CountChanges(at_plan, now, own, &d);
  double nodes = std::max<size_t>(1, at_plan.nodes.size());
  double pods = std::max<size_t>(1, at_plan.pods.size());
  d.change = (d.nodes_added + d.nodes_removed) / nodes + (d.pods_added + d.pods_removed) / pods;
  d.cost_before = plan.cost_before;
  d.cost_after = plan.cost_after;
  d.savings = d.cost_before > 0 ? (d.cost_before - d.cost_after) / d.cost_before : 0;
  d.target_cost = plan.target ? std::min(plan.target->cost_after, plan.cost_after) : plan.cost_after;
  d.target_savings = d.cost_before > 0 ? (d.cost_before - d.target_cost) / d.cost_before : 0;
  double way = d.cost_before - d.target_cost;
  d.share_of_way = way > 1e-9 ? std::clamp((d.cost_before - d.cost_after) / way, 0.0, 1.0) : 0;
  for (const auto& n : plan.nodes) {
    d.nodes_booted += n.action == NodeAction::kBoot;
    d.nodes_retired += n.action == NodeAction::kRetire;
  }
  d.pods_moved = static_cast<int>(plan.moves);

  if (d.change > o.max_change) {
    d.verdict = "discard";
    d.reason = "cluster changed by " + Pct(d.change) + " since the snapshot (limit " + Pct(o.max_change) + "): " +
               std::to_string(d.nodes_added) + " nodes added, " + std::to_string(d.nodes_removed) + " removed, " +
               std::to_string(d.pods_added) + " pods added, " + std::to_string(d.pods_removed) + " removed" +
               (d.own_changes_ignored ? " (" + std::to_string(d.own_changes_ignored) +
                                            " changes by Kinema's own workflows not counted)"
                                      : "");
  } else if (d.target_savings < o.min_savings) {
    d.verdict = "no_action";
    d.reason = "the whole way saves " + Pct(d.target_savings) + " (target " + Money(d.target_cost) + " $/h from " +
               Money(d.cost_before) + "), below decision.minSavings " + Pct(o.min_savings);
  } else if ((d.nodes_booted == 0 && d.nodes_retired == 0 && d.pods_moved == 0) || d.savings <= 0) {
    d.verdict = "no_action";
    d.reason = "no step within the budget saves money now (" + std::to_string(d.nodes_retired) + " retired, " +
               std::to_string(d.pods_moved) + " moves); the target " + Money(d.target_cost) + " $/h remains " +
               Pct(d.target_savings) + " away";
  } else {
    d.verdict = "proceed";
    d.reason = "step saves " + Pct(d.savings) + " (" + Money(d.cost_before) + " -> " + Money(d.cost_after) + " $/h; " +
               std::to_string(d.nodes_booted) + " nodes booted, " + std::to_string(d.nodes_retired) + " retired, " +
               std::to_string(d.pods_moved) + " pods moved), " + Pct(d.share_of_way) + " of the way to the target " +
               Money(d.target_cost) + " $/h; cluster changed " + Pct(d.change);
  }
  return d;
}

}  // namespace kinema::rescheduling
