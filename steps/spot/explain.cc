#include "steps/spot/explain.h"

#include <map>
#include <set>

#include "steps/execute/node_boot.h"
#include "steps/execute/node_marking.h"
#include "steps/execute/node_retirement.h"
#include "steps/execute/workload_move.h"
#include "steps/spot/spot_workflow.h"

namespace kinema::spot {

namespace {

using nlohmann::json;

const StepView* StepNamed(const WorkflowView& v, const std::string& name) {
  for (const auto& s : v.steps) {
    if (s.name == name && s.status == StepStatus::kSucceeded) return &s;
  }
  return nullptr;
}

template <typename T>
std::optional<T> ResultOf(const WorkflowView& v, const std::string& step) {
  const StepView* s = StepNamed(v, step);
  if (!s) return std::nullopt;
  auto r = T::FromJson(s->result);
  if (!r.ok()) return std::nullopt;
  return std::move(*r);
}

}  // namespace

Explanation ExplainSpot(const WorkflowView& v) {
  Explanation e = GenericExplanation(v);
  auto plan = ResultOf<PlanStepResult>(v, kPlanStep);
  if (!plan) return e;
  auto taint = ResultOf<TaintResult>(v, kTaintStep);
  auto claim = ResultOf<ClaimResult>(v, kClaimStep);
  auto marks = ResultOf<execute::MarkResult>(v, execute::kLabelingStep);
  auto recheck = ResultOf<RecheckResult>(v, kRecheckStep);
  auto moved = ResultOf<execute::MoveResult>(v, execute::kDeploymentPatchStep);
  auto drained = ResultOf<execute::RetireResult>(v, execute::kDrainDeleteStep);
  auto released = ResultOf<ReleaseResult>(v, kReleaseStep);
  auto booted = ResultOf<execute::BootResult>(v, execute::kNodeBootStep);
  std::map<std::string, std::string> booted_as;  // planned -> Node name
  if (booted) {
    for (const auto& b : booted->booted) booted_as[b.planned] = b.node;
  }

  std::map<std::string, std::string> refused, skipped;
  std::set<std::string> granted;
  if (claim) {
    for (const auto& r : claim->refused) refused[r.node] = r.why;
    granted.insert(claim->granted.begin(), claim->granted.end());
    e.budget.allowed_nodes = claim->allowed_nodes >= 0 ? std::optional<int64_t>(claim->allowed_nodes) : std::nullopt;
    e.budget.binding = claim->binding;
  }
  if (marks) {
    for (const auto& s : marks->skipped) skipped[s.node] = s.why;
  }
  std::map<std::string, std::string> rechecked_kept;
  if (recheck) {
    for (const auto& k : recheck->kept) rechecked_kept[k.node] = k.why;
  }
  std::map<std::string, const execute::RetiredNode*> outcome;
  if (drained) {
    for (const auto& n : drained->nodes) outcome[n.node] = &n;
  }
  std::set<std::string> rel;
  if (released) rel.insert(released->released.begin(), released->released.end());

  int drained_count = 0;
  for (const auto& n : plan->plan.nodes) {
    NodeExplanation ne;
    ne.name = n.name;
    ne.action = NodeActionName(n.action);
    ne.reason = n.reason;
    if (n.node_class == NodeClass::kOnDemand) {
      if (auto it = outcome.find(n.name); it != outcome.end()) {
        const execute::RetiredNode& r = *it->second;
        if (r.outcome == execute::RetireOutcome::kKept) {
          ne.action = "kept";
          ne.reason = "drain stopped after " + std::to_string(r.evicted) + " eviction(s): " + r.why;
        } else {
          ++drained_count;
          ne.action = r.outcome == execute::RetireOutcome::kDrained ? "drained" : "deleted";
          ne.reason = n.reason + "; " + std::to_string(r.evicted) + " pod(s) evicted" +
                      (r.outcome == execute::RetireOutcome::kDrained
                           ? (rel.count(n.name) ? ", left schedulable (afterDrain: keep)" : ", left in place")
                           : ", Node deleted" + (r.instance.empty() ? std::string() : " (instance " + r.instance + ")"));
          for (const auto& p : n.placements) {
            auto real = booted_as.find(p.to);
            e.moves.push_back({p.pod, n.name, real != booted_as.end() ? real->second : p.to});
          }
        }
      } else if (rechecked_kept.count(n.name)) {
        ne.action = "kept";
        ne.reason = "re-checked before moving any pod: " + rechecked_kept[n.name];
      } else if (refused.count(n.name)) {
        ne.action = "skip";
        ne.reason = n.reason + "; disruption budget refused: " + refused[n.name];
      } else if (skipped.count(n.name)) {
        ne.action = "skip";
        ne.reason = n.reason + "; not marked: " + skipped[n.name];
      } else if ((n.action == NodeAction::kDrain || n.action == NodeAction::kEligible) && !granted.count(n.name) &&
                 claim) {
        ne.action = "skip";
        ne.reason = n.reason + "; spot.maxNodesPerCycle reached";
      }
    } else if (n.node_class == NodeClass::kSpot) {
      ne.reason = n.reason + " (" + std::to_string(n.free_cpu_milli) + "m cpu free when planned)";
    }
    e.nodes.push_back(std::move(ne));
  }
  if (const auto& b = plan->plan.boot) {
    NodeExplanation ne;
    auto real = booted_as.find(kBootPlannedName);
    ne.name = real != booted_as.end() ? real->second : kBootPlannedName;
    ne.action = real != booted_as.end() ? "booted" : "boot";
    ne.reason = "spot.bootSpot: a spot " + b->machine_type + " in " + b->zone + " for the pods of " + b->node +
                (real != booted_as.end()
                     ? ""
                     : " (planned, not booted: " +
                           (v.outcome == "dry_run"                       ? std::string("dry run")
                            : claim && !granted.count(b->node)           ? std::string("the node was not granted")
                                                                         : std::string("the workflow stopped first")) +
                           ")");
    ne.price_per_hour = b->price_per_hour;
    e.nodes.push_back(std::move(ne));
  }
  json spot = {{"pendingPods", plan->plan.pending_pods},
               {"spotTolerantOnDemandPods", plan->plan.spot_tolerant_on_demand_pods},
               {"nodesDrained", drained_count}};
  if (!plan->plan.blocked.empty()) spot["blocked"] = plan->plan.blocked;
  if (taint) {
    spot["tainted"] = taint->tainted;
    spot["untainted"] = taint->untainted;
  }
  if (released) spot["released"] = released->released;
  if (plan->plan.boot) {
    json b = plan->plan.boot->ToJson();
    if (auto real = booted_as.find(kBootPlannedName); real != booted_as.end()) b["bootedNode"] = real->second;
    spot["boot"] = b;
  } else if (!plan->plan.boot_skipped.empty()) {
    spot["bootSkipped"] = plan->plan.boot_skipped;
  }
  if (moved) {
    json rolled = json::array();
    for (const auto& d : moved->deployments) rolled.push_back(d.deployment);
    spot["deploymentsRolled"] = rolled;
    spot["podsEvictedByTheMove"] = moved->evicted.size();
  }
  e.extra["spot"] = spot;
  std::string finished = v.outcome.empty() ? WorkflowStatusName(v.status) : v.outcome;
  if (drained_count > 0) {
    e.summary = "Drained " + std::to_string(drained_count) + " on-demand node(s) into spot capacity (" +
                std::to_string(e.moves.size()) + " pod(s) moved" +
                (booted_as.count(kBootPlannedName) ? ", onto a spot node booted for them: " + booted_as[kBootPlannedName]
                                                   : std::string()) +
                "); " + finished + ".";
  } else if (!plan->plan.blocked.empty()) {
    e.summary = "Nothing drained: " + plan->plan.blocked + ".";
  } else if (recheck && recheck->proceed.empty() && !recheck->kept.empty()) {
    e.summary = "Nothing drained: the re-check before moving kept every marked node (e.g. " + recheck->kept.front().node +
                ": " + recheck->kept.front().why + ").";
  } else if (drained && !drained->nodes.empty()) {
    e.summary = "The drain stopped before any node was emptied (see the nodes); " + finished + ".";
  } else if (v.IsTerminal()) {
    e.summary = "Nothing drained: no on-demand node could be emptied into spot (see the nodes); " + finished + ".";
  }
  return e;
}

}  // namespace kinema::spot
