// spot-plan: the cycle's decision from a fresh snapshot (spot_plan.h).
#include <spdlog/spdlog.h>

#include <set>

#include "engine/kube/object.h"
#include "engine/snapshot/cluster_snapshot.h"
#include "engine/workflow/step_context.h"
#include "steps/spot/on_demand_taint.h"
#include "steps/spot/spot_workflow.h"

namespace kinema::spot {

PlanInputs PlanInputsOf(const SpotDeps& deps, int64_t now_ms) {
  PlanInputs in;
  in.rules = deps.settings.Rules(deps.catalog ? deps.catalog->spot_labels : Labels{});
  in.max_nodes = deps.settings.max_nodes_per_cycle;
  in.delete_after_drain = deps.settings.DeleteAfterDrain();
  in.excluded_namespaces = deps.config.exclusions.namespaces;
  if (!deps.config.exclusions.label_selector.empty()) {
    auto sel = ParseLabelSelectorString(deps.config.exclusions.label_selector);
    if (sel.ok()) in.excluded_pods = *sel;  // checked when the config was read
  }
  in.now_ms = now_ms;
  in.boot_spot = deps.settings.boot_spot;
  in.catalog = deps.catalog;
  in.zones = deps.config.cloud.zones;
  return in;
}

namespace {

// The on-demand taint changes the snapshot calls for: on-demand nodes
// without the taint (when taintOnDemand), other nodes with it.
void TaintChanges(const SpotDeps& deps, const SpotPlan& plan, const nlohmann::json& list,
                  std::vector<std::string>* add, std::vector<std::string>* remove) {
  std::set<std::string> on_demand;
  for (const auto& n : plan.OnDemandNodes()) on_demand.insert(n);
  for (const auto& item : list.value("items", nlohmann::json::array())) {
    if (!item.is_object() || item.value("kind", "") != "Node") continue;
    std::string name = kube::obj::Name(item);
    nlohmann::json taints = item.contains("spec") && item["spec"].is_object()
                                ? item["spec"].value("taints", nlohmann::json::array())
                                : nlohmann::json::array();
    if (!taints.is_array()) taints = nlohmann::json::array();
    bool want = deps.settings.taint_on_demand && on_demand.count(name) > 0;
    if (want && !HasOnDemandTaint(taints)) add->push_back(name);
    if (!want && TaintsWithoutOnDemand(taints).size() != taints.size()) remove->push_back(name);
  }
}

}  // namespace

StepDefinition MakePlanStep(const SpotDeps& deps) {
  StepDefinition s;
  s.name = kPlanStep;
  s.run = [deps](StepContext& ctx) -> StatusOr<nlohmann::json> {
    auto snap = TakeClusterSnapshot(*deps.kube);
    if (!snap.ok()) return snap.status().WithContext("spot-plan: snapshot");
    auto parsed = ParseSnapshot(snap->list);
    if (!parsed.ok()) return parsed.status().WithContext("spot-plan: snapshot");
    PlanStepResult r;
    r.plan = PlanSpotCycle(*parsed, snap->list, PlanInputsOf(deps, NowMs()));
    r.snapshot_nodes = snap->nodes;
    r.taken_ms = snap->taken_ms;
    TaintChanges(deps, r.plan, snap->list, &r.taint_add, &r.taint_remove);
    auto candidates = r.plan.Candidates();
    spdlog::info("workflow {}: spot plan: {} on-demand node(s), {} drain candidate(s), {} spot-tolerant pod(s) on "
                 "on-demand nodes{}",
                 ctx.workflow_id(), r.plan.OnDemandNodes().size(), candidates.size(),
                 r.plan.spot_tolerant_on_demand_pods, r.plan.blocked.empty() ? "" : "; blocked: " + r.plan.blocked);
    if (r.plan.boot) {
      spdlog::info("workflow {}: spot.bootSpot: boot a spot {} in {} for on-demand node {}: {}", ctx.workflow_id(),
                   r.plan.boot->machine_type, r.plan.boot->zone, r.plan.boot->node, r.plan.boot->reason);
    } else if (!r.plan.boot_skipped.empty()) {
      spdlog::info("workflow {}: {}", ctx.workflow_id(), r.plan.boot_skipped);
    }
    for (const auto& n : r.plan.nodes) {
      if (n.node_class == NodeClass::kOnDemand) {
        spdlog::info("workflow {}: on-demand node {} ({}m cpu requested): {}: {}", ctx.workflow_id(), n.name,
                     n.requested_cpu_milli, NodeActionName(n.action), n.reason);
      }
    }
    nlohmann::json out = r.ToJson();
    if (deps.dry_run || ctx.workflow_input().value("dryRun", false)) {
      out["finishWorkflow"] = "dry_run";
      out["reason"] = candidates.empty() ? "dry run: nothing to drain"
                      : r.plan.boot ? "dry run: would boot a spot " + r.plan.boot->machine_type + " and drain " +
                                          r.plan.boot->node + " into it (" + r.plan.boot->reason + ")"
                                    : "dry run: would drain " + candidates.front()->name + " (" +
                                          candidates.front()->reason + ")";
    } else if (candidates.empty() && r.taint_add.empty() && r.taint_remove.empty()) {
      out["finishWorkflow"] = "no_action";
      out["reason"] = NothingToDrain(r.plan, {});
    }
    return out;
  };
  s.reconcile = ReconcileByRerunning(s.run);
  s.journal_only = true;
  return s;
}

}  // namespace kinema::spot
