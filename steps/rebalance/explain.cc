#include "steps/rebalance/explain.h"

#include <cstdio>
#include <map>

#include "steps/rebalance/eviction.h"
#include "steps/rebalance/rebalance_workflow.h"

namespace kinema::rebalance {

using nlohmann::json;

namespace {

const StepView* Succeeded(const WorkflowView& v, const std::string& name) {
  for (const auto& s : v.steps) {
    if (s.name == name && s.status == StepStatus::kSucceeded && s.result.is_object()) return &s;
  }
  return nullptr;
}

std::string F3(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", d);
  return buf;
}

}  // namespace

Explanation ExplainRebalance(const WorkflowView& v) {
  Explanation e = GenericExplanation(v);
  const StepView* choose = Succeeded(v, kChoosePodsStep);
  const StepView* evict = Succeeded(v, kEvictStep);
  if (const StepView* scores = Succeeded(v, kReadScoresStep); scores && scores->result.contains("finishWorkflow")) {
    e.summary = "No node scores: " + scores->result.value("reason", "") + ". Nothing evicted.";
    return e;
  }
  if (!choose) return e;
  auto c = ChooseResult::FromJson(choose->result);
  if (!c.ok()) {
    e.summary += " (the choose-pods result cannot be read: " + c.status().message() + ")";
    return e;
  }
  std::map<std::string, std::vector<std::string>> evicted_from;
  EvictResult er;
  if (evict) {
    if (auto r = EvictResult::FromJson(evict->result); r.ok()) er = *r;
  }
  for (const auto& x : er.evictions) {
    evicted_from[x.choice.from].push_back(x.choice.pod + " " + EvictionOutcomeName(x.outcome));
    std::string to = x.new_node.empty() ? x.choice.to : x.new_node;
    if (x.outcome == EvictionOutcome::kEvicted || x.outcome == EvictionOutcome::kMigrated ||
        x.outcome == EvictionOutcome::kInBackground) {
      e.moves.push_back({x.choice.pod, x.choice.from, to});
    }
  }
  const auto& cl = c->classes;
  for (const auto& n : cl.nodes) {
    NodeExplanation ne;
    ne.name = n.name;
    ne.action = n.cls == NodeClass::kOver ? "over" : n.cls == NodeClass::kUnder ? "under" : "normal";
    ne.reason = "score " + F3(n.score);
    if (n.cls == NodeClass::kOver) ne.reason += " > " + F3(cl.over_bound);
    if (n.cls == NodeClass::kUnder) ne.reason += " < " + F3(cl.under_bound);
    auto p = c->choice.predicted.find(n.name);
    if (p != c->choice.predicted.end() && p->second != n.score) ne.reason += ", predicted " + F3(p->second);
    auto ev = evicted_from.find(n.name);
    if (ev != evicted_from.end()) {
      ne.reason += "; evicted:";
      for (const auto& s : ev->second) ne.reason += " " + s;
    }
    e.nodes.push_back(ne);
  }
  for (const auto& n : c->unselected) e.nodes.push_back({n, "ignored", "outside rebalance.nodeSelector or the cluster", {}});
  e.budget.allowed_pods = c->limits.total;
  e.extra["limits"] = {{"perNode", c->limits.per_node}, {"perNamespace", c->limits.per_namespace}, {"total", c->limits.total}};
  for (const auto& note : c->choice.notes) {
    if (note.find("limit") != std::string::npos) e.budget.binding = note;
  }
  if (!er.refused_by_budget.empty()) e.budget.binding = "disruption budget: " + er.refused_by_budget[0].reason;
  json skipped = json::array(), pongs = json::array();
  for (const auto& s : c->choice.skipped) skipped.push_back({{"pod", s.pod}, {"node", s.node}, {"reason", s.reason}});
  e.extra["average"] = cl.average;
  e.extra["spread"] = cl.Spread();
  e.extra["mode"] = cl.absolute ? "thresholds" : "deviation";
  e.extra["overBound"] = cl.over_bound;
  e.extra["underBound"] = cl.under_bound;
  e.extra["predicted"] = c->choice.predicted;
  e.extra["skipped"] = skipped;
  e.extra["pingPong"] = c->choice.ToJson()["pingPong"];
  e.extra["evictions"] = evict ? er.ToJson()["evictions"] : json::array();
  e.extra["notes"] = c->choice.notes;
  e.extra["usageSource"] = c->usage_source;
  std::string head = std::to_string(cl.nodes.size()) + " node(s) scored, average " + F3(cl.average) + ", spread " +
                     F3(cl.Spread()) + "; " + std::to_string(cl.over.size()) + " over-utilized, " +
                     std::to_string(cl.under.size()) + " under-utilized.";
  if (!c->finish.empty()) {
    e.summary = head + " Stopped (" + c->finish + "): " + c->reason + ".";
  } else if (evict) {
    e.summary = head + " " + std::to_string(er.Count(EvictionOutcome::kEvicted)) + " evicted, " +
                std::to_string(er.Count(EvictionOutcome::kMigrated)) + " migrated live, " +
                std::to_string(er.Count(EvictionOutcome::kRefused)) + " refused by a PodDisruptionBudget, " +
                std::to_string(er.refused_by_budget.size()) + " refused by the disruption budget" +
                (c->choice.ping_pong.empty() ? "" : ", " + std::to_string(c->choice.ping_pong.size()) + " ping-pong(s) avoided") +
                ".";
  } else {
    e.summary = head + " " + std::to_string(c->choice.choices.size()) + " pod(s) chosen; evictions not finished yet.";
  }
  return e;
}

}  // namespace kinema::rebalance
