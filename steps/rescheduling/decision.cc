#include "steps/rescheduling/decision.h"

#include <algorithm>
#include <cstdio>

namespace kinema::rescheduling {

ClusterIdentity IdentityOf(const std::vector<nlohmann::json>& objects) {
  ClusterIdentity id;
  for (const auto& o : objects) {
    std::string kind = o.value("kind", "");
    const auto& md = o.value("metadata", nlohmann::json::object());
    if (kind == "Node") {
      id.nodes.insert(md.value("name", ""));
    } else if (kind == "Pod") {
      std::string phase = o.value("status", nlohmann::json::object()).value("phase", "");
      if (phase != "Pending" && phase != "Running") continue;
      std::string uid = md.value("uid", "");
      id.pods.insert(uid.empty() ? md.value("namespace", "") + "/" + md.value("name", "") : uid);
    }
  }
  return id;
}

namespace {
int MissingFrom(const std::set<std::string>& a, const std::set<std::string>& b) {
  int n = 0;
  for (const auto& x : a) n += b.count(x) == 0;
  return n;
}
std::string Pct(double f) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f%%", f * 100);
  return buf;
}
}  // namespace

nlohmann::json Decision::ToJson() const {
  return {{"verdict", verdict},
          {"reason", reason},
          {"change", change},
          {"nodesAdded", nodes_added},
          {"nodesRemoved", nodes_removed},
          {"podsAdded", pods_added},
          {"podsRemoved", pods_removed},
          {"costPerHourBefore", cost_before},
          {"costPerHourAfter", cost_after},
          {"savings", savings},
          {"nodesBooted", nodes_booted},
          {"nodesRetired", nodes_retired},
          {"podsMoved", pods_moved}};
}

Decision Decide(const nlohmann::json& plan, const ClusterIdentity& at_plan, const ClusterIdentity& now,
                const DecisionOptions& o) {
  Decision d;
  d.nodes_added = MissingFrom(now.nodes, at_plan.nodes);
  d.nodes_removed = MissingFrom(at_plan.nodes, now.nodes);
  d.pods_added = MissingFrom(now.pods, at_plan.pods);
  d.pods_removed = MissingFrom(at_plan.pods, now.pods);
  double nodes = std::max<size_t>(1, at_plan.nodes.size());
  double pods = std::max<size_t>(1, at_plan.pods.size());
  d.change = (d.nodes_added + d.nodes_removed) / nodes + (d.pods_added + d.pods_removed) / pods;
  d.cost_before = plan.value("costPerHourBefore", 0.0);
  d.cost_after = plan.value("costPerHourAfter", 0.0);
  d.savings = d.cost_before > 0 ? (d.cost_before - d.cost_after) / d.cost_before : 0;
  for (const auto& n : plan.value("nodes", nlohmann::json::array())) {
    std::string a = n.value("action", "");
    d.nodes_booted += a == "boot";
    d.nodes_retired += a == "retire";
  }
  d.pods_moved = plan.value("moves", 0);

  std::string status = plan.value("status", "");
  if (status == "infeasible" || status.empty()) {
    d.verdict = "no_action";
    d.reason = "the optimizer found no plan (status " + (status.empty() ? std::string("missing") : status) + ")";
  } else if (d.change > o.max_change) {
    d.verdict = "discard";
    d.reason = "cluster changed by " + Pct(d.change) + " since the snapshot (limit " + Pct(o.max_change) + "): " +
               std::to_string(d.nodes_added) + " nodes added, " + std::to_string(d.nodes_removed) + " removed, " +
               std::to_string(d.pods_added) + " pods added, " + std::to_string(d.pods_removed) + " removed";
  } else if (d.savings < o.min_savings) {
    d.verdict = "no_action";
    d.reason = "saving " + Pct(d.savings) + " is below decision.minSavings " + Pct(o.min_savings);
  } else if (d.nodes_retired > o.max_nodes_retired) {
    d.verdict = "no_action";
    d.reason = "plan retires " + std::to_string(d.nodes_retired) + " nodes, budget is " +
               std::to_string(o.max_nodes_retired);
  } else if (d.pods_moved > o.max_pods_moved) {
    d.verdict = "no_action";
    d.reason = "plan moves " + std::to_string(d.pods_moved) + " pods, budget is " + std::to_string(o.max_pods_moved);
  } else {
    d.verdict = "proceed";
    d.reason = "saving " + Pct(d.savings) + " (" + std::to_string(d.nodes_booted) + " nodes booted, " +
               std::to_string(d.nodes_retired) + " retired, " + std::to_string(d.pods_moved) +
               " pods moved); cluster changed " + Pct(d.change);
  }
  return d;
}

}  // namespace kinema::rescheduling
