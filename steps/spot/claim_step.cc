// spot-claim: the drain candidates claimed from the shared disruption
// budget, in plan order, each node with all its pods (all or nothing), until
// spot.maxNodesPerCycle nodes are granted. The grants are journaled by the
// ledger (disruption_claimed) before they return; re-running the step
// re-claims what the workflow already holds (idempotent).
// Nothing granted: the workflow completes with outcome no_action and why.
#include <spdlog/spdlog.h>

#include "engine/workflow/step_context.h"
#include "engine/workflow/typed_result.h"
#include "steps/spot/spot_workflow.h"

namespace kinema::spot {

namespace {

StatusOr<nlohmann::json> Run(const SpotDeps& deps, StepContext& ctx) {
  auto r = ResultAs<PlanStepResult>(ctx, kPlanStep);
  if (!r.ok()) return r.status();
  ClaimResult out;
  EvictionLimits limits = deps.settings.EffectiveLimits(deps.config.eviction_limits);
  for (const PlannedNode* n : r->plan.Candidates()) {
    if (static_cast<int>(out.granted.size()) >= deps.settings.max_nodes_per_cycle) break;
    KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
    if (ctx.ledger_options() == nullptr) {
      out.granted.push_back(n->name);
      continue;
    }
    ClaimRequest req;
    req.reason = kDisruptionReason;
    req.node_count = r->snapshot_nodes;
    req.retire = {n->name};
    for (const auto& p : n->placements) req.pods.push_back({p.pod, n->name});
    req.limits = limits;
    req.all_or_nothing = true;
    auto grant = ctx.Claim(req);
    if (!grant.ok()) return grant.status();
    out.allowed_nodes = grant->allowed_nodes;
    if (!grant->binding.empty()) out.binding = grant->binding;
    if (grant->complete()) {
      out.granted.push_back(n->name);
      spdlog::info("workflow {}: claimed on-demand node {} and its {} pod(s) under the '{}' budget", ctx.workflow_id(),
                   n->name, n->placements.size(), kDisruptionReason);
    } else {
      const Refusal& x = grant->refused.front();
      out.refused.push_back({n->name, x.item + ": " + x.why});
      spdlog::info("workflow {}: budget refused on-demand node {}: {}: {}", ctx.workflow_id(), n->name, x.item, x.why);
    }
  }
  nlohmann::json j = out.ToJson();
  if (out.granted.empty()) {
    j["finishWorkflow"] = "no_action";
    std::vector<std::pair<std::string, std::string>> refused;
    for (const auto& x : out.refused) refused.emplace_back(x.node, x.why);
    j["reason"] = NothingToDrain(r->plan, refused);
  }
  return j;
}

}  // namespace

std::string NothingToDrain(const SpotPlan& plan, const std::vector<std::pair<std::string, std::string>>& refused) {
  if (!plan.blocked.empty()) return plan.blocked;
  if (!refused.empty()) {
    return "the shared disruption budget refused every candidate, e.g. " + refused.front().first + ": " +
           refused.front().second;
  }
  if (plan.OnDemandNodes().empty()) return "no on-demand nodes";
  return "no on-demand node can be emptied into spot (see the plan's reasons per node)";
}

StepDefinition MakeClaimStep(const SpotDeps& deps) {
  StepDefinition s;
  s.name = kClaimStep;
  s.run = [deps](StepContext& ctx) { return Run(deps, ctx); };
  s.reconcile = ReconcileByRerunning(s.run);
  s.journal_only = true;
  return s;
}

}  // namespace kinema::spot
