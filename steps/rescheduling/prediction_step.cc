// Step 1: prediction — planning requests per Deployment.
//
// This build plans on the requests as they are: the Prometheus/VPA sources
// land with the Prometheus adapter. The step journals which source was used
// and why, so every plan is explainable from the journal. Journal-only:
// reconcile re-runs it.
#include <spdlog/spdlog.h>

#include "engine/workflow/step_context.h"
#include "steps/rescheduling/rescheduling_workflow.h"

namespace kinema::rescheduling {

StepDefinition MakePredictionStep(const ReschedulingDeps& deps) {
  StepDefinition s;
  s.name = "prediction";
  s.run = [deps](StepContext& ctx) -> StatusOr<nlohmann::json> {
    std::string reason;
    if (deps.config.prediction.source == "none") {
      reason = "prediction.source is none";
    } else if (deps.config.prometheus.url.empty() && deps.config.prediction.source == "prometheus") {
      reason = "prometheus.url is not configured";
    } else {
      reason = "usage-based prediction (" + deps.config.prediction.source + ") is not in this build";
    }
    spdlog::info("workflow {}: planning on requests as they are ({})", ctx.workflow_id(), reason);
    return nlohmann::json{{"source", "requests"}, {"reason", reason}, {"adjustments", nlohmann::json::object()}};
  };
  s.reconcile = ReconcileByRerunning(s.run);
  return s;
}

}  // namespace kinema::rescheduling
