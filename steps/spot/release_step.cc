// release-drained: with afterDrain keep, the nodes drain-and-delete left in
// place lose this workflow's retire label and NoSchedule taint, so they are
// schedulable again (the seed leaves removal to an autoscaler; the
// PreferNoSchedule on-demand taint stays and keeps new pods on spot first).
// A no-op with afterDrain delete. Run and reconcile are the same procedure
// (each node is checked first); nothing to compensate.
#include <spdlog/spdlog.h>

#include "engine/kube/object.h"
#include "engine/workflow/step_context.h"
#include "engine/workflow/typed_result.h"
#include "steps/execute/marks.h"
#include "steps/spot/spot_workflow.h"

namespace kinema::spot {

using nlohmann::json;

namespace {

StatusOr<json> Run(const SpotDeps& deps, StepContext& ctx) {
  ReleaseResult out;
  if (deps.settings.DeleteAfterDrain()) return out.ToJson();
  auto drained = ResultAs<execute::RetireResult>(ctx, execute::kDrainDeleteStep);
  if (!drained.ok()) return drained.status();
  const std::string iteration = execute::IterationValue(ctx.workflow_id());
  for (const auto& n : drained->nodes) {
    if (n.outcome != execute::RetireOutcome::kDrained) continue;
    KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    auto updated = deps.kube->GetAndUpdate(kube::resources::kNodes, "", n.node, [&](json& node) -> Status {
      json& labels = node["metadata"]["labels"];
      if (labels.is_object() && execute::LabelOf(node, execute::kRetireLabel) == iteration) {
        labels.erase(execute::kRetireLabel);
      }
      node["spec"]["taints"] = execute::TaintsWithoutRetire(node["spec"].value("taints", json::array()));
      return Status::OK();
    });
    if (!updated.ok() && updated.status().code() == Status::Code::kNotFound) continue;  // removed meanwhile
    if (!updated.ok()) return updated.status().WithContext("release-drained: node " + n.node);
    spdlog::info("workflow {}: drained node {} is schedulable again (afterDrain: keep)", ctx.workflow_id(), n.node);
    out.released.push_back(n.node);
  }
  return out.ToJson();
}

}  // namespace

StepDefinition MakeReleaseStep(const SpotDeps& deps) {
  StepDefinition s;
  s.name = kReleaseStep;
  s.retry.max_attempts = 5;
  s.run = [deps](StepContext& ctx) { return Run(deps, ctx); };
  s.reconcile = s.run;
  return s;
}

}  // namespace kinema::spot
