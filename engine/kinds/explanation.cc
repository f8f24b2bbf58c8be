#include "engine/kinds/explanation.h"

#include <cstdio>

namespace kinema {

using nlohmann::json;

json Explanation::ToJson() const {
  json n = json::array();
  for (const auto& x : nodes) {
    n.push_back({{"name", x.name}, {"action", x.action}, {"reason", x.reason},
                 {"pricePerHour", x.price_per_hour ? json(*x.price_per_hour) : json()}});
  }
  json m = json::array();
  for (const auto& x : moves) m.push_back({{"pod", x.pod}, {"from", x.from}, {"to", x.to}});
  json b = {{"allowedNodes", budget.allowed_nodes ? json(*budget.allowed_nodes) : json()},
            {"allowedPods", budget.allowed_pods ? json(*budget.allowed_pods) : json()},
            {"binding", budget.binding.empty() ? json() : json(budget.binding)},
            {"targetCostPerHour", budget.target_cost_per_hour ? json(*budget.target_cost_per_hour) : json()}};
  json out = {{"id", id}, {"type", type}, {"outcome", outcome}, {"summary", summary},
              {"nodes", n}, {"moves", m}, {"budget", b}};
  if (extra.is_object()) {
    for (auto it = extra.begin(); it != extra.end(); ++it) {
      if (!out.contains(it.key())) out[it.key()] = it.value();
    }
  }
  return out;
}

namespace {
std::string Pad(std::string s, size_t w) {
  if (s.size() < w) s.resize(w, ' ');
  return s;
}
std::string Price(const std::optional<double>& p) {
  if (!p) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f", *p);
  return buf;
}
}  // namespace

std::string Explanation::ToText() const {
  std::string out = id + " (" + type + "): " + outcome + "\n" + summary + "\n";
  if (budget.allowed_nodes || budget.allowed_pods || !budget.binding.empty() || budget.target_cost_per_hour) {
    out += "\nBudget: ";
    if (budget.allowed_nodes) out += std::to_string(*budget.allowed_nodes) + " node(s) allowed; ";
    if (budget.allowed_pods) out += std::to_string(*budget.allowed_pods) + " pod(s) allowed; ";
    if (!budget.binding.empty()) out += "bound by " + budget.binding + "; ";
    if (budget.target_cost_per_hour) out += "target " + Price(budget.target_cost_per_hour) + " $/h";
    out += "\n";
  }
  if (!nodes.empty()) {
    size_t w = 4;
    for (const auto& n : nodes) w = std::max(w, n.name.size());
    out += "\n" + Pad("NODE", w + 2) + Pad("ACTION", 10) + Pad("$/H", 10) + "REASON\n";
    for (const auto& n : nodes) out += Pad(n.name, w + 2) + Pad(n.action, 10) + Pad(Price(n.price_per_hour), 10) + n.reason + "\n";
  }
  if (!moves.empty()) {
    size_t w = 3;
    for (const auto& m : moves) w = std::max(w, m.pod.size());
    out += "\n" + Pad("POD", w + 2) + "FROM -> TO\n";
    for (const auto& m : moves) out += Pad(m.pod, w + 2) + m.from + " -> " + m.to + "\n";
  }
  return out;
}

Explanation GenericExplanation(const WorkflowView& v) {
  Explanation e;
  e.id = v.id;
  e.type = v.type;
  e.outcome = v.outcome.empty() ? WorkflowStatusName(v.status) : v.outcome;
  std::string where = v.CurrentStepName();
  if (v.status == WorkflowStatus::kPaused) {
    e.summary = "Paused" + (where.empty() ? "" : " at step " + where) + ": " + v.pause_reason;
  } else if (v.status == WorkflowStatus::kFailed) {
    e.summary = "Failed" + (where.empty() ? "" : " at step " + where) + ": " + v.last_error;
  } else if (v.status == WorkflowStatus::kRunning) {
    e.summary = "Running" + (where.empty() ? "" : ", at step " + where) + ".";
  } else if (v.status == WorkflowStatus::kAborted) {
    e.summary = "Aborted; the compensations of its started steps ran.";
  } else {
    e.summary = "Completed" + (v.outcome.empty() ? std::string(".") : " early: " + v.outcome + ".");
  }
  json steps = json::array();
  for (const auto& s : v.steps) steps.push_back({{"name", s.name}, {"status", s.status}, {"attempts", s.attempts}});
  e.extra["steps"] = steps;
  const DisruptionHolds& h = v.holds;
  if (h.nodes_retired_claimed > 0 || h.pods_claimed > 0) {
    e.extra["claimed"] = {{"nodesToRetire", h.nodes_retired_claimed}, {"pods", h.pods_claimed}};
  }
  return e;
}

}  // namespace kinema
