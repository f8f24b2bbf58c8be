// Step 2: optimization — the placement optimizer on a fresh snapshot with the
// predicted requests. Journals the plan, its lower bound and gap, and the
// identity of the cluster it was computed on (node names, pod uids) for the
// decision step. Journal-only: reconcile re-runs it (a new snapshot, a new
// plan; nothing outside the journal was touched).
#include <spdlog/spdlog.h>

#include <map>
#include <optional>
#include <set>

#include "engine/common/time.h"
#include "engine/kube/object.h"
#include "engine/snapshot/cluster_snapshot.h"
#include "steps/execute/disruption_policy.h"
#include "steps/execute/marks.h"
#include "engine/workflow/step_context.h"
#include "steps/optimize/plan.h"
#include "steps/rescheduling/adjustments.h"
#include "steps/rescheduling/decision.h"
#include "steps/rescheduling/optimization_result.h"
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

namespace {

// The budget of this step: the kind's own (decision.maxNodesRetired,
// decision.maxPodsMoved, optimizer.maxMoves) and what the shared disruption
// budget allows now; nodes younger than decision.minNodeAge are kept.
StepBudget BudgetFor(const ReschedulingDeps& deps, StepContext& ctx, const ClusterSnapshot& snap) {
  StepBudget b;
  const auto& dec = deps.settings.decision;
  NodeAllowance shared = ctx.NodesAvailable("rescheduling", snap.nodes);
  b.max_retire = dec.max_nodes_retired;
  b.binding = "decision.maxNodesRetired " + std::to_string(dec.max_nodes_retired);
  if (shared.allowed < b.max_retire) {
    b.max_retire = shared.allowed;
    b.binding = "shared disruption budget: " + shared.binding;
  }
  b.max_moves = dec.max_pods_moved;
  if (deps.settings.optimizer.max_moves >= 0) b.max_moves = std::min<int64_t>(b.max_moves, deps.settings.optimizer.max_moves);
  const int64_t now = NowMs();
  for (const auto& item : snap.list["items"]) {
    if (kube::obj::StringAt(item, "kind") != "Node") continue;
    auto created = ParseRfc3339Ms(kube::obj::StringAt(item, "metadata.creationTimestamp"));
    if (created && now - *created < dec.min_node_age.count()) b.kept_young_nodes.push_back(kube::obj::Name(item));
  }
  return b;
}

// Every pod the plan moves, from the node it is on now.
std::vector<PlannedMove> MovesOf(const Plan& plan, const ClusterSnapshot& snap) {
  std::map<std::string, std::string> current;
  for (const auto& item : snap.list["items"]) {
    if (kube::obj::StringAt(item, "kind") == "Pod") current[kube::obj::Key(item)] = kube::pod::NodeName(item);
  }
  std::vector<PlannedMove> out;
  for (const auto& p : plan.placements) {
    auto it = current.find(p.pod);
    std::string from = it == current.end() ? "" : it->second;
    if (from != p.node) out.push_back({p.pod, from, p.node});
  }
  return out;
}

}  // namespace

StepDefinition MakeOptimizationStep(const ReschedulingDeps& deps) {
  StepDefinition s;
  s.name = kOptimizationStep;
  s.retry.max_attempts = 3;
  s.run = [deps](StepContext& ctx) -> StatusOr<nlohmann::json> {
    auto snap = TakeClusterSnapshot(*deps.kube);
    if (!snap.ok()) return snap.status();
    OptimizationResult r;
    r.identity = IdentityOf(snap->items());
    r.snapshot_nodes = snap->nodes;
    r.snapshot_pods = snap->pods;
    r.snapshot_taken_ms = snap->taken_ms;
    auto excluded = ApplyExclusions(deps, &snap->list);
    if (!excluded.ok()) return excluded.status();
    r.excluded_pods = *excluded;
    const nlohmann::json& prediction = ctx.ResultOf("prediction");
    r.adjusted_requests = prediction.is_object()
                              ? ApplyAdjustments(prediction.value("adjustments", nlohmann::json::object()), &snap->list)
                              : 0;
    if (prediction.is_object() && prediction.contains("podAdjustments")) {
      r.adjusted_requests += ApplyPodAdjustments(prediction["podAdjustments"], &snap->list);
    }
    if (r.adjusted_requests > 0) {
      spdlog::info("workflow {}: planning with {} predicted container request(s) from the prediction step",
                   ctx.workflow_id(), r.adjusted_requests);
    }
    InflateRequests(deps.settings.optimizer.headroom, &snap->list);
    auto parsed = ParseSnapshot(snap->list);
    if (!parsed.ok()) return Status::InvalidArgument("cluster snapshot: " + parsed.status().message());
    r.budget = BudgetFor(deps, ctx, *snap);
    const auto& oc = deps.settings.optimizer;
    PlanOptions po;
    po.time_limit_seconds = static_cast<double>(oc.time_limit.count()) / 1000.0;
    po.max_retire = std::max<int64_t>(0, r.budget.max_retire);
    po.max_moves = std::max<int64_t>(0, r.budget.max_moves);
    po.keep_nodes.insert(r.budget.kept_young_nodes.begin(), r.budget.kept_young_nodes.end());
    po.seed = oc.seed;
    po.allow_types = oc.allow_types;
    po.no_spot = oc.no_spot;
    po.zones = deps.config.cloud.zones;
    po.new_node_prefix = deps.config.cloud.instance_prefix + "-";
    // The prices: pricing.source's current snapshot, taken once for this
    // plan (live billing prices, or the catalog file's as the fallback).
    std::shared_ptr<const pricing::PriceSnapshot> priced = deps.prices ? deps.prices->Current() : nullptr;
    const Catalog& priced_catalog = priced && priced->catalog ? *priced->catalog : *deps.catalog;
    // Under gke a new node's cloud.google.com/gke-nodepool label is its
    // Kinema pool's (GKE sets it), never the catalog's: plan new nodes
    // without it, so a pod that asks for a pool by name is not promised one.
    std::optional<Catalog> gke_catalog;
    if (deps.config.cloud.provider == "gke") {
      gke_catalog = priced_catalog;
      for (auto& mt : gke_catalog->machine_types) mt.labels.erase(execute::kGkeNodePoolLabel);
    }
    const Catalog& catalog = gke_catalog ? *gke_catalog : priced_catalog;
    r.prices = priced ? priced->Provenance() : nlohmann::json{{"source", "catalog"}};
    if (priced && priced->source == "billing") {
      spdlog::info("workflow {}: planning with live prices for {} fetched at {}{}", ctx.workflow_id(), priced->region,
                   FormatRfc3339(priced->fetched_at_ms),
                   priced->file_priced_types.empty() ? "" : " (some types priced from the catalog file)");
    } else if (priced && !priced->last_error.empty()) {
      spdlog::warn("workflow {}: planning with the catalog file's prices: live prices unavailable ({})",
                   ctx.workflow_id(), priced->last_error);
    }
    auto plan = OptimizePlacement(*parsed, catalog, po);
    if (!plan.ok()) {
      if (!IsInfeasible(plan.status())) return plan.status();
      r.infeasible_reason = plan.status().message();
      return r.ToJson();
    }
    r.gap = plan->lower_bound && *plan->lower_bound > 0 ? (plan->cost_after - *plan->lower_bound) / *plan->lower_bound : -1;
    r.moves = MovesOf(*plan, *snap);
    spdlog::info("workflow {}: plan {:.4f} -> {:.4f} $/h (target {:.4f}, lower bound {}, gap {:.2f}%), {} retired of at "
                 "most {} ({}), {} moves of at most {}, solved in {:.2f} s",
                 ctx.workflow_id(), plan->cost_before, plan->cost_after,
                 plan->target ? plan->target->cost_after : plan->cost_after,
                 plan->lower_bound ? std::to_string(*plan->lower_bound) : "none", r.gap * 100,
                 plan->budget ? plan->budget->retired : 0, r.budget.max_retire, r.budget.binding, plan->moves,
                 r.budget.max_moves, plan->solve_seconds);
    r.plan = std::move(*plan);
    return r.ToJson();
  };
  s.reconcile = ReconcileByRerunning(s.run);
  s.journal_only = true;
  return s;
}

}  // namespace kinema::rescheduling
