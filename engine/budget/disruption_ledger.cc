#include "engine/budget/disruption_ledger.h"

#include <algorithm>
#include <climits>

namespace kinema {

using nlohmann::json;

json ClaimGrant::ToJson(const ClaimRequest& request) const {
  json pods_json = json::array();
  for (const auto& p : pods) pods_json.push_back({{"pod", p.key}, {"node", p.node}});
  json refused_json = json::array();
  for (const auto& r : refused) refused_json.push_back({{"item", r.item}, {"why", r.why}});
  return {{"reason", request.reason},
          {"nodeCount", request.node_count},
          {"retire", retire},
          {"nodes", nodes},
          {"pods", pods_json},
          {"budget", {{"allowedNodes", allowed_nodes}, {"binding", binding}, {"refused", refused_json},
                      {"limits", request.limits.Describe()}}}};
}

json ClaimGrant::ToJson() const {
  json refused_json = json::array();
  for (const auto& r : refused) refused_json.push_back({{"item", r.item}, {"why", r.why}});
  return {{"nodesGranted", retire.size()}, {"podsGranted", pods.size()}, {"allowedNodes", allowed_nodes},
          {"binding", binding}, {"refused", refused_json}};
}

DisruptionLedger::DisruptionLedger(LedgerOptions options) : options_(std::move(options)) {}

void DisruptionLedger::Load(const std::vector<WorkflowView>& unfinished) {
  std::lock_guard<std::mutex> l(mu_);
  holds_.clear();
  for (const auto& v : unfinished) {
    if (!v.IsTerminal() && !v.holds.empty()) holds_[v.id] = v.holds;
  }
}

std::string DisruptionLedger::NodeHolder(const std::string& node, const std::string& self) const {
  for (const auto& [id, h] : holds_) {
    if (id == self) continue;
    if (h.retiring.count(node) || h.nodes.count(node)) return id;
    for (const auto& [pod, on] : h.pods) {
      if (on == node) return id;
    }
  }
  return "";
}

std::string DisruptionLedger::PodHolder(const std::string& pod, const std::string& self) const {
  for (const auto& [id, h] : holds_) {
    if (id != self && h.pods.count(pod)) return id;
  }
  return "";
}

int64_t DisruptionLedger::RetiringByAll() const {
  int64_t n = 0;
  for (const auto& [id, h] : holds_) n += static_cast<int64_t>(h.retiring.size());
  return n;
}

StatusOr<ClaimGrant> DisruptionLedger::Claim(const std::string& workflow_id, const DisruptionHolds& mine,
                                             const ClaimRequest& req,
                                             const std::function<Status(const ClaimGrant&)>& journal, int64_t now_ms) {
  std::lock_guard<std::mutex> l(mu_);
  ClaimGrant g;
  // Nodes to retire: per-workflow total from the node count at its first
  // claim, and the cluster-wide amount held right now.
  const int64_t base = mine.node_count > 0 ? mine.node_count : req.node_count;
  NodeAllowance total = AllowedNodes(options_.budgets, req.reason, base, now_ms);
  NodeAllowance now = AllowedNodes(options_.budgets, req.reason, req.node_count, now_ms);
  int64_t left_for_me = total.allowed == INT64_MAX ? INT64_MAX : total.allowed - mine.nodes_retired_claimed;
  int64_t held_by_others = RetiringByAll() - static_cast<int64_t>(holds_.count(workflow_id) ? holds_.at(workflow_id).retiring.size() : 0);
  int64_t held_by_me = static_cast<int64_t>(mine.retiring.size());
  int64_t left_now = now.allowed == INT64_MAX ? INT64_MAX : now.allowed - held_by_others - held_by_me;
  g.allowed_nodes = std::min(total.allowed, now.allowed);
  g.binding = total.allowed <= now.allowed ? total.binding : now.binding;
  for (const auto& node : req.retire) {
    if (mine.retiring.count(node)) {
      g.retire.push_back(node);  // already mine: idempotent re-claim
      continue;
    }
    std::string holder = NodeHolder(node, workflow_id);
    if (!holder.empty()) {
      g.refused.push_back({node, "held by workflow " + holder});
    } else if (left_for_me <= 0) {
      g.refused.push_back({node, "this workflow's node budget is used up (" + total.binding + ")"});
    } else if (left_now <= 0) {
      g.refused.push_back({node, "the nodes being disrupted now reach the budget (" + now.binding + ")"});
    } else {
      g.retire.push_back(node);
      --left_for_me;
      --left_now;
    }
  }
  for (const auto& node : req.nodes) {
    std::string holder;
    for (const auto& [id, h] : holds_) {
      if (id != workflow_id && h.retiring.count(node)) holder = id;
    }
    if (!holder.empty()) g.refused.push_back({node, "being retired by workflow " + holder});
    else g.nodes.push_back(node);
  }
  const EvictionLimits& lim = req.limits;
  int64_t total_pods = mine.pods_claimed;
  std::map<std::string, int64_t> per_node = mine.pods_claimed_per_node, per_ns = mine.pods_claimed_per_namespace;
  for (const auto& p : req.pods) {
    if (mine.pods.count(p.key)) {
      g.pods.push_back(p);
      continue;
    }
    const std::string ns = p.key.substr(0, p.key.find('/'));
    std::string holder = PodHolder(p.key, workflow_id);
    std::string node_retirer;
    for (const auto& [id, h] : holds_) {
      if (id != workflow_id && h.retiring.count(p.node)) node_retirer = id;
    }
    if (!holder.empty()) {
      g.refused.push_back({p.key, "held by workflow " + holder});
    } else if (!node_retirer.empty()) {
      g.refused.push_back({p.key, "its node " + p.node + " is being retired by workflow " + node_retirer});
    } else if (lim.total >= 0 && total_pods >= lim.total) {
      g.refused.push_back({p.key, "eviction limit: " + std::to_string(lim.total) + " pods per workflow"});
    } else if (lim.per_node >= 0 && per_node[p.node] >= lim.per_node) {
      g.refused.push_back({p.key, "eviction limit: " + std::to_string(lim.per_node) + " pods per node (" + p.node + ")"});
    } else if (lim.per_namespace >= 0 && per_ns[ns] >= lim.per_namespace) {
      g.refused.push_back({p.key, "eviction limit: " + std::to_string(lim.per_namespace) + " pods per namespace (" + ns + ")"});
    } else {
      g.pods.push_back(p);
      ++total_pods;
      ++per_node[p.node];
      ++per_ns[ns];
    }
  }
  if (req.all_or_nothing && !g.refused.empty()) {
    g.retire.clear();
    g.nodes.clear();
    g.pods.clear();
  }
  KINEMA_RETURN_IF_ERROR(journal(g));
  // Fold the grant into the cached holds (as the journal's fold does).
  DisruptionHolds& h = holds_[workflow_id];
  h = mine;
  if (h.reason.empty()) h.reason = req.reason;
  if (h.node_count == 0) h.node_count = req.node_count;
  for (const auto& n : g.retire) {
    if (h.retiring.insert(n).second) ++h.nodes_retired_claimed;
  }
  for (const auto& n : g.nodes) h.nodes.insert(n);
  for (const auto& p : g.pods) {
    if (h.pods.count(p.key)) continue;
    h.pods[p.key] = p.node;
    ++h.pods_claimed;
    ++h.pods_claimed_per_node[p.node];
    ++h.pods_claimed_per_namespace[p.key.substr(0, p.key.find('/'))];
  }
  return g;
}

void DisruptionLedger::Release(const std::string& workflow_id, const json& released) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = holds_.find(workflow_id);
  if (it == holds_.end()) return;
  auto strings = [&](const char* key) {
    std::vector<std::string> out;
    auto a = released.find(key);
    if (a != released.end() && a->is_array()) {
      for (const auto& x : *a) {
        if (x.is_string()) out.push_back(x.get<std::string>());
      }
    }
    return out;
  };
  for (const auto& n : strings("retire")) it->second.retiring.erase(n);
  for (const auto& n : strings("nodes")) it->second.nodes.erase(n);
  for (const auto& p : strings("pods")) it->second.pods.erase(p);
}

void DisruptionLedger::Forget(const std::string& workflow_id) {
  std::lock_guard<std::mutex> l(mu_);
  holds_.erase(workflow_id);
}

NodeAllowance DisruptionLedger::NodesAvailable(const std::string& reason, int64_t node_count,
                                               const std::string& workflow_id, int64_t now_ms) const {
  std::lock_guard<std::mutex> l(mu_);
  NodeAllowance a = AllowedNodes(options_.budgets, reason, node_count, now_ms);
  if (a.allowed == INT64_MAX) return a;
  int64_t held = 0;
  std::string who;
  for (const auto& [id, h] : holds_) {
    if (id == workflow_id) continue;
    held += static_cast<int64_t>(h.retiring.size());
    if (!h.retiring.empty()) who += (who.empty() ? "" : ", ") + id;
  }
  if (held > 0) {
    a.binding += "; " + std::to_string(held) + " held by " + who;
    a.allowed = std::max<int64_t>(0, a.allowed - held);
  }
  return a;
}

std::map<std::string, DisruptionHolds> DisruptionLedger::Snapshot() const {
  std::lock_guard<std::mutex> l(mu_);
  return holds_;
}

}  // namespace kinema
