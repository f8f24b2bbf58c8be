// Step 1: prediction — planning requests per workload from observed usage.
//
// Source prometheus (prometheus.url set): cAdvisor series over
// prediction.window via query_range, a least-squares line per container, a
// forecast at prediction.horizon; planning requests move toward the
// forecast by prediction.factor and never go below the observed peak ×
// prediction.headroom (engine/prediction). The whole explanation (per
// container: request, peak, slope, forecast, planned, why) is journaled, and
// the optimization step applies the journaled `adjustments`, not a new query.
// Prometheus unreachable or a query failing: plan on requests as they are,
// and journal why. Source none: requests as they are. Source vpa: not in
// this build (journaled as the reason).
// Journal-only: reconcile re-runs it.
#include <spdlog/spdlog.h>

#include "engine/prediction/prediction.h"
#include "engine/prometheus/client.h"
#include "engine/snapshot/cluster_snapshot.h"
#include "engine/workflow/step_context.h"
#include "steps/rescheduling/rescheduling_workflow.h"

namespace kinema::rescheduling {

namespace {

nlohmann::json AsRequests(const std::string& workflow_id, const std::string& reason) {
  spdlog::info("workflow {}: planning on requests as they are ({})", workflow_id, reason);
  return nlohmann::json{{"source", "requests"}, {"reason", reason}, {"adjustments", nlohmann::json::object()}};
}

}  // namespace

StepDefinition MakePredictionStep(const ReschedulingDeps& deps) {
  StepDefinition s;
  s.name = "prediction";
  s.run = [deps](StepContext& ctx) -> StatusOr<nlohmann::json> {
    const auto& pc = deps.settings.prediction;
    if (pc.source == "none") return AsRequests(ctx.workflow_id(), "prediction.source is none");
    if (pc.source == "vpa") {
      return AsRequests(ctx.workflow_id(), "prediction.source vpa: VPA recommendations are not read by this build");
    }
    if (deps.config.prometheus.url.empty()) return AsRequests(ctx.workflow_id(), "prometheus.url is not configured");
    auto snap = TakeClusterSnapshot(*deps.kube);
    if (!snap.ok()) return snap.status();
    prometheus::ClientOptions po;
    po.url = deps.config.prometheus.url;
    po.timeout = deps.config.prometheus.timeout;
    prometheus::Client prom(po);
    prediction::PredictionOptions o;
    o.window = pc.window;
    o.horizon = pc.horizon;
    o.step = pc.step;
    o.rate_window = std::min(pc.rate_window, pc.window);
    o.factor = pc.factor;
    o.headroom = pc.headroom;
    auto p = prediction::PredictFromPrometheus(prom, *snap, o, std::chrono::system_clock::now());
    if (!p.ok()) {
      spdlog::warn("workflow {}: prediction from Prometheus failed: {}", ctx.workflow_id(), p.status().ToString());
      return AsRequests(ctx.workflow_id(), "Prometheus at " + po.url + " failed: " + p.status().ToString());
    }
    nlohmann::json out = p->ToJson();
    int containers = 0;
    for (const auto& w : p->workloads) containers += static_cast<int>(w.containers.size());
    spdlog::info("workflow {}: predicted planning requests for {} workload(s), {} container(s) from Prometheus "
                 "(window {}, horizon {}, factor {}, headroom {}); {} note(s)",
                 ctx.workflow_id(), p->workloads.size(), containers, FormatDuration(pc.window),
                 FormatDuration(pc.horizon), pc.factor, pc.headroom, p->notes.size());
    return out;
  };
  s.reconcile = ReconcileByRerunning(s.run);
  s.journal_only = true;
  return s;
}

}  // namespace kinema::rescheduling
