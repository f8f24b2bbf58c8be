// The rescheduling kind's explanation (kinemactl explain): per node kept,
// booted or retired with the reason and the $/h it changes; the pods moved
// and where; the budget that bounded the step and the target; or why the
// iteration stopped early. From the journaled results alone.
#include "steps/rescheduling/explain.h"

#include <cstdio>
#include <map>
#include <set>

#include "steps/execute/node_boot.h"
#include "steps/execute/node_marking.h"
#include "steps/execute/node_retirement.h"
#include "steps/execute/workload_move.h"
#include "steps/rescheduling/optimization_result.h"

namespace kinema::rescheduling {

namespace {

using nlohmann::json;

std::string Money(double d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f", d);
  return buf;
}

std::string Pct(double f) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f%%", f * 100);
  return buf;
}

const StepView* StepNamed(const WorkflowView& v, const std::string& name) {
  for (const auto& s : v.steps) {
    if (s.name == name && s.status == StepStatus::kSucceeded) return &s;
  }
  return nullptr;
}

// The node table from the plan, refined by what execution did.
void ExplainNodes(const OptimizationResult& r, const WorkflowView& v, Explanation* e) {
  std::set<std::string> young(r.budget.kept_young_nodes.begin(), r.budget.kept_young_nodes.end());
  std::map<std::string, int> receiving;
  for (const auto& m : r.moves) ++receiving[m.to];
  std::map<std::string, std::string> skipped, drained, booted_as;
  if (const StepView* s = StepNamed(v, execute::kLabelingStep)) {
    if (auto m = execute::MarkResult::FromJson(s->result); m.ok()) {
      for (const auto& x : m->skipped) skipped[x.node] = x.why;
    }
  }
  if (const StepView* s = StepNamed(v, execute::kDrainDeleteStep)) {
    if (auto d = execute::RetireResult::FromJson(s->result); d.ok()) {
      for (const auto& x : d->nodes) {
        drained[x.node] = x.outcome == execute::RetireOutcome::kKept ? "kept after all: " + x.why
                                                                     : std::string(execute::RetireOutcomeName(x.outcome));
      }
    }
  }
  if (const StepView* s = StepNamed(v, execute::kNodeBootStep)) {
    if (auto b = execute::BootResult::FromJson(s->result); b.ok()) {
      for (const auto& x : b->booted) {
        booted_as[x.planned] = x.node + " (" + x.machine_type + " in " + x.zone +
                               (x.pool.empty() ? "" : ", node pool " + x.pool) + ")" +
                               (x.tried.empty() ? "" : " after " + std::to_string(x.tried.size()) +
                                                           " failed attempt(s), first: " +
                                                           x.tried[0].value("error", std::string()));
      }
    }
  }
  for (const auto& n : r.plan->nodes) {
    NodeExplanation x;
    x.name = n.name;
    x.action = NodeActionName(n.action);
    x.price_per_hour = n.price_per_hour;
    if (n.action == NodeAction::kKeep) {
      x.reason = young.count(n.name) ? "kept: younger than decision.minNodeAge"
                 : receiving.count(n.name) ? "kept: receives " + std::to_string(receiving[n.name]) + " moved pod(s)"
                                           : "kept: its pods stay in the cheapest plan within the budget";
    } else if (n.action == NodeAction::kRetire) {
      x.reason = "retired: its pods fit on cheaper nodes; saves " + Money(n.price_per_hour) + " $/h";
      if (skipped.count(n.name)) x.reason += "; not marked: " + skipped[n.name];
      if (drained.count(n.name)) x.reason += "; " + drained[n.name];
    } else {
      x.reason = "booted " + std::string(CapacityTypeName(n.capacity_type)) + " " + n.machine_type + " in " + n.zone +
                 " for +" + Money(n.price_per_hour) + " $/h: the cheapest room for the moved pods";
      if (booted_as.count(n.name)) x.reason += "; became " + booted_as[n.name];
    }
    e->nodes.push_back(std::move(x));
  }
}

// The rollouts: the order they ran in (largest pod first) and what the stall
// breaker did. Adds a sentence to the summary when it acted.
std::string ExplainRollouts(const WorkflowView& v, Explanation* e) {
  const StepView* s = StepNamed(v, execute::kDeploymentPatchStep);
  if (s == nullptr) return "";
  auto m = execute::MoveResult::FromJson(s->result);
  if (!m.ok()) return "";
  json breaks = json::array();
  int evicted = 0;
  for (const auto& b : m->stall_breaks) {
    breaks.push_back({{"deployment", b.deployment}, {"pendingPod", b.pending_pod}, {"action", b.action},
                      {"pod", b.pod}, {"pods", b.pods}, {"node", b.node}, {"why", b.why}});
    if (b.action == "evicted") {
      for (const auto& pod : b.pods) {
        ++evicted;
        e->moves.push_back({pod, b.node, "(rescheduled: made room for " + b.pending_pod + ")"});
      }
    }
  }
  // Acts journaled on the step's durable timers ("stall <pod> (<uid>) act
  // <k>", right before each act) that the result does not list: done by a
  // process killed before the step ended, whose result was never journaled.
  std::map<std::string, int> journaled;  // stuck pod -> acts journaled
  const std::string prefix = std::to_string(s->index) + "/stall ";
  for (const auto& [name, deadline] : v.timers) {
    size_t act = name.rfind(" act ");
    if (name.rfind(prefix, 0) != 0 || act == std::string::npos || act < prefix.size()) continue;
    std::string id = name.substr(prefix.size(), act - prefix.size());
    ++journaled[id.substr(0, id.find(" ("))];
  }
  int earlier = 0;
  for (const auto& [pod, acts] : journaled) {
    int listed = 0;
    for (const auto& b : m->stall_breaks) listed += b.pending_pod == pod;
    if (acts <= listed) continue;
    earlier += acts - listed;
    breaks.push_back({{"deployment", ""}, {"pendingPod", pod}, {"action", "acted-before-restart"}, {"pod", ""},
                      {"pods", json::array()}, {"node", ""},
                      {"why", std::to_string(acts - listed) +
                                  " act(s) journaled by a process restarted before the step ended; what each "
                                  "moved is in the step's disruption_claimed events (kinemactl show)"}});
  }
  json holds = json::array();
  int held_pods = 0, skipped = 0, rejected = 0;
  std::string skipped_why, rejected_why;
  for (const auto& h : m->room_holds) {
    holds.push_back({{"deployment", h.deployment}, {"node", h.node}, {"pods", h.pods}, {"outcome", h.outcome},
                     {"why", h.why}});
    if (h.outcome == "held") {
      held_pods += h.pods;
    } else if (h.outcome == "rejected") {
      ++rejected;
      rejected_why = h.deployment + " on " + h.node + ": " + h.why;
    } else {
      ++skipped;
      skipped_why = h.deployment + " on " + h.node + ": " + h.why;
    }
  }
  e->extra["rollouts"] = {{"order", m->order}, {"deployments", m->deployments.size()}, {"stallBreaks", breaks},
                          {"roomHolds", holds}};
  std::string out;
  if (!m->room_holds.empty()) {
    out += " Room held for " + std::to_string(held_pods) + " heavy pod(s) until their Deployments rolled" +
           (skipped > 0 ? "; " + std::to_string(skipped) + " hold(s) not made (e.g. " + skipped_why + ")" : "") +
           (rejected > 0 ? "; " + std::to_string(rejected) + " hold(s) rejected by the node (e.g. " + rejected_why + ")"
                         : "") +
           ".";
  }
  if (earlier > 0) {
    out += " Stall breaker: " + std::to_string(earlier) + " act(s) by a process restarted before the step ended.";
  }
  if (m->stall_breaks.empty()) return out;
  return out + " Stall breaker: " + std::to_string(m->stall_breaks.size()) + " stuck pod(s), " +
         std::to_string(evicted) + " pod(s) moved to make room" +
         (m->stall_breaks.back().action != "evicted" ? " (" + m->stall_breaks.back().why + ")" : "") + ".";
}

}  // namespace

Explanation ExplainRescheduling(const WorkflowView& v) {
  Explanation e = GenericExplanation(v);
  const StepView* opt = StepNamed(v, kOptimizationStep);
  const StepView* dec = StepNamed(v, "decision");
  std::string early;
  for (const auto& s : v.steps) {
    if (s.status == StepStatus::kSucceeded && s.result.is_object() && s.result.contains("finishWorkflow")) {
      early = s.name + ": " + s.result.value("reason", std::string());
    }
  }
  if (opt == nullptr) {
    if (!early.empty()) e.summary = "Stopped early at " + early;
    return e;
  }
  auto r = OptimizationResult::FromJson(opt->result);
  if (!r.ok() || !r->plan) {
    e.summary = !early.empty() ? "Stopped early at " + early : e.summary;
    return e;
  }
  const Plan& p = *r->plan;
  double target = p.target ? p.target->cost_after : p.cost_after;
  e.budget.allowed_nodes = r->budget.max_retire;
  e.budget.allowed_pods = r->budget.max_moves;
  e.budget.binding = r->budget.binding;
  e.budget.target_cost_per_hour = target;
  ExplainNodes(*r, v, &e);
  for (const auto& m : r->moves) e.moves.push_back({m.pod, m.from.empty() ? "(pending)" : m.from, m.to});
  int retired = 0, booted = 0;
  for (const auto& n : p.nodes) {
    retired += n.action == NodeAction::kRetire;
    booted += n.action == NodeAction::kBoot;
  }
  double way = p.cost_before - target;
  std::string step = "Plan " + Money(p.cost_before) + " -> " + Money(p.cost_after) + " $/h (" +
                     std::to_string(booted) + " booted, " + std::to_string(retired) + " retired, " +
                     std::to_string(p.moves) + " pods moved); target " + Money(target) + " $/h, this step is " +
                     Pct(way > 1e-9 ? (p.cost_before - p.cost_after) / way : 0) + " of the way" +
                     (p.lower_bound ? "; lower bound " + Money(*p.lower_bound) + " $/h" : "") + ".";
  if (!early.empty()) {
    e.summary = step + " Stopped at " + early;
  } else if (v.status == WorkflowStatus::kCompleted) {
    e.summary = step + " Executed: " + std::string(v.outcome.empty() ? "completed" : v.outcome) + ".";
  } else {
    e.summary = step + " " + e.summary;
  }
  e.summary += ExplainRollouts(v, &e);
  e.extra["plan"] = {{"status", PlanStatusName(p.status)}, {"costPerHourBefore", p.cost_before},
                     {"costPerHourAfter", p.cost_after}, {"lowerBound", p.lower_bound ? json(*p.lower_bound) : json()}};
  if (dec) e.extra["decision"] = {{"verdict", dec->result.value("verdict", "")}, {"reason", dec->result.value("reason", "")}};
  e.extra["remaining"] = {{"costPerHour", p.cost_after - target}};
  return e;
}

}  // namespace kinema::rescheduling
