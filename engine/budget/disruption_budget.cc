#include "engine/budget/disruption_budget.h"

#include <climits>
#include <cmath>
#include <cctype>
#include <cstdlib>

namespace kinema {

const std::set<std::string>& KnownDisruptionReasons() {
  static const std::set<std::string> r = {"rescheduling", "spot", "rebalance", "resize"};
  return r;
}

StatusOr<NodeBudget> NodeBudget::FromNodes(const std::string& nodes) {
  NodeBudget b;
  b.nodes = nodes;
  auto bad = [&] {
    return Status::InvalidArgument("'" + nodes + "' is not a node count or a percent (e.g. 3 or \"10%\")");
  };
  if (nodes.empty() || nodes.size() > 16 || !std::isdigit(static_cast<unsigned char>(nodes[0]))) return bad();
  char* end = nullptr;
  if (nodes.back() == '%') {
    double p = std::strtod(nodes.c_str(), &end);
    if (end != nodes.c_str() + nodes.size() - 1 || !std::isfinite(p) || p < 0 || p > 100) return bad();
    b.is_percent = true;
    b.percent = p;
    return b;
  }
  long long n = std::strtoll(nodes.c_str(), &end, 10);
  if (end != nodes.c_str() + nodes.size() || n < 0 || n > 1000000) return bad();
  b.is_percent = false;
  b.count = n;
  return b;
}

bool NodeBudget::AppliesTo(const std::string& reason, int64_t now_ms) const {
  if (!reasons.empty() && !reasons.count(reason)) return false;
  if (!schedule) return true;
  int64_t fired = schedule->LastFireAtOrBefore(now_ms, duration.count());
  return fired >= 0 && now_ms < fired + duration.count();
}

int64_t NodeBudget::Allowed(int64_t node_count) const {
  if (!is_percent) return count;
  // Rounded up (Karpenter): 10% of 5 nodes allows 1.
  return static_cast<int64_t>(std::ceil(percent * static_cast<double>(node_count) / 100.0 - 1e-9));
}

std::string NodeBudget::Describe(int64_t node_count) const {
  std::string s = is_percent ? nodes + " of " + std::to_string(node_count) + " nodes = " + std::to_string(Allowed(node_count))
                             : nodes + " node(s)";
  std::string extra;
  if (!reasons.empty()) {
    std::string r;
    for (const auto& x : reasons) r += (r.empty() ? "" : ", ") + x;
    extra += "reasons: " + r;
  }
  if (schedule) extra += std::string(extra.empty() ? "" : "; ") + "'" + schedule->text() + "' for " + FormatDuration(duration);
  return extra.empty() ? s : s + " (" + extra + ")";
}

std::string EvictionLimits::Describe() const {
  auto v = [](int64_t x) { return x < 0 ? std::string("unlimited") : std::to_string(x); };
  return v(per_node) + " per node, " + v(per_namespace) + " per namespace, " + v(total) + " in total";
}

NodeAllowance AllowedNodes(const std::vector<NodeBudget>& budgets, const std::string& reason, int64_t node_count,
                           int64_t now_ms) {
  NodeAllowance a{INT64_MAX, "no budget applies"};
  for (size_t i = 0; i < budgets.size(); ++i) {
    const NodeBudget& b = budgets[i];
    if (!b.AppliesTo(reason, now_ms)) continue;
    int64_t allowed = b.Allowed(node_count);
    if (allowed < a.allowed) {
      a.allowed = allowed;
      a.binding = "budgets[" + std::to_string(i) + "]: " + b.Describe(node_count);
    }
  }
  return a;
}

std::vector<NodeBudget> DefaultNodeBudgets() { return {*NodeBudget::FromNodes("10%")}; }

}  // namespace kinema
