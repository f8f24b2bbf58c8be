// Step 2: optimization — the placement optimizer on a fresh snapshot with the
// predicted requests. Journals the plan, its lower bound and gap, and the
// identity of the cluster it was computed on (node names, pod uids) for the
// decision step. Journal-only: reconcile re-runs it (a new snapshot, a new
// plan; nothing outside the journal was touched).
#include <spdlog/spdlog.h>

#include <set>

#include "engine/common/time.h"
#include "engine/snapshot/cluster_snapshot.h"
#include "steps/execute/disruption_policy.h"
#include "engine/workflow/step_context.h"
#include "steps/optimize/plan.h"
#include "steps/rescheduling/adjustments.h"
#include "steps/rescheduling/decision.h"
#include "steps/rescheduling/rescheduling_workflow.h"

namespace kinema::rescheduling {

namespace {

// Operator exclusions (exclusions.namespaces, exclusions.labelSelector) make
// pods immovable for the planner, exactly like kinema.io/do-not-disrupt:
// the annotation is added to the snapshot copy (never to the cluster). The
// label selector is evaluated by the API server (labelSelector on a list),
// so its syntax is Kubernetes' own. Returns how many pods were excluded.
StatusOr<int> ApplyExclusions(const ReschedulingDeps& deps, nlohmann::json* list) {
  const auto& ex = deps.config.exclusions;
  std::set<std::string> namespaces(ex.namespaces.begin(), ex.namespaces.end());
  std::set<std::string> uids;
  if (!ex.label_selector.empty()) {
    kube::ListOptions lo;
    lo.label_selector = ex.label_selector;
    auto pods = deps.kube->List(kube::resources::kPods, "", lo);
    if (!pods.ok()) return pods.status().WithContext("exclusions.labelSelector " + ex.label_selector);
    for (const auto& p : pods->items) uids.insert(p["metadata"].value("uid", ""));
  }
  int n = 0;
  const int64_t now = NowMs();
  for (auto& item : (*list)["items"]) {
    const std::string kind = item.value("kind", "");
    if (kind != "Pod" && kind != "Node") continue;
    auto& meta = item["metadata"];
    // kinema.io/do-not-disrupt may be a duration ("30m": protected until
    // the object is that old): the planner reads "true" only, so resolve it
    // for now (disruption_policy.h).
    if (meta.contains("annotations") && meta["annotations"].is_object() &&
        meta["annotations"].contains(execute::kDoNotDisrupt)) {
      if (execute::DoNotDisruptReason(item, now).empty()) {
        meta["annotations"].erase(execute::kDoNotDisrupt);
      } else {
        meta["annotations"][execute::kDoNotDisrupt] = "true";
      }
    }
    if (kind != "Pod") continue;
    if (!namespaces.count(meta.value("namespace", "")) && !uids.count(meta.value("uid", ""))) continue;
    if (!meta.contains("annotations") || !meta["annotations"].is_object()) meta["annotations"] = nlohmann::json::object();
    meta["annotations"]["kinema.io/do-not-disrupt"] = "true";
    ++n;
  }
  return n;
}

}  // namespace

StepDefinition MakeOptimizationStep(const ReschedulingDeps& deps) {
  StepDefinition s;
  s.name = "optimization";
  s.retry.max_attempts = 3;
  s.run = [deps](StepContext& ctx) -> StatusOr<nlohmann::json> {
    auto snap = TakeClusterSnapshot(*deps.kube);
    if (!snap.ok()) return snap.status();
    auto excluded = ApplyExclusions(deps, &snap->list);
    if (!excluded.ok()) return excluded.status();
    const nlohmann::json& prediction = ctx.ResultOf("prediction");
    int adjusted = prediction.is_object() ? ApplyAdjustments(prediction.value("adjustments", nlohmann::json::object()),
                                                             &snap->list)
                                          : 0;
    if (adjusted > 0) {
      spdlog::info("workflow {}: planning with {} predicted container request(s) from the prediction step",
                   ctx.workflow_id(), adjusted);
    }
    InflateRequests(deps.settings.optimizer.headroom, &snap->list);
    auto parsed = ParseSnapshot(snap->list);
    if (!parsed.ok()) return Status::InvalidArgument("cluster snapshot: " + parsed.status().message());
    const auto& oc = deps.settings.optimizer;
    PlanOptions po;
    po.time_limit_seconds = static_cast<double>(oc.time_limit.count()) / 1000.0;
    if (oc.max_moves >= 0) po.max_moves = oc.max_moves;
    po.seed = oc.seed;
    po.allow_types = oc.allow_types;
    po.no_spot = oc.no_spot;
    po.zones = deps.config.cloud.zones;
    po.new_node_prefix = deps.config.cloud.instance_prefix + "-";
    auto plan = OptimizePlacement(*parsed, *deps.catalog, po);
    ClusterIdentity id = IdentityOf(snap->items());
    nlohmann::json identity = {{"nodes", id.nodes}, {"pods", id.pods}};
    if (!plan.ok()) {
      if (IsInfeasible(plan.status())) {
        return nlohmann::json{{"finishWorkflow", "infeasible"}, {"reason", plan.status().message()},
                              {"identity", identity}};
      }
      return plan.status();
    }
    nlohmann::json pj = PlanToJson(*plan);
    double gap = plan->lower_bound && *plan->lower_bound > 0
                     ? (plan->cost_after - *plan->lower_bound) / *plan->lower_bound
                     : -1;
    spdlog::info("workflow {}: plan {} $/h -> {} $/h (lower bound {}, gap {:.2f}%), {} moves, solved in {:.2f} s",
                 ctx.workflow_id(), plan->cost_before, plan->cost_after,
                 plan->lower_bound ? std::to_string(*plan->lower_bound) : "none", gap * 100, plan->moves,
                 plan->solve_seconds);
    return nlohmann::json{{"plan", pj}, {"gap", gap}, {"identity", identity}, {"excludedPods", *excluded}, {"adjustedRequests", adjusted},
                          {"snapshot", {{"nodes", snap->nodes}, {"pods", snap->pods}, {"takenMs", snap->taken_ms}}}};
  };
  s.reconcile = ReconcileByRerunning(s.run);
  s.journal_only = true;
  return s;
}

}  // namespace kinema::rescheduling
