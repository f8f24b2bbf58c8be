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
// and journal why. Source none: requests as they are.
// Source vpa: each VerticalPodAutoscaler's recommendation `target` is the
// planned request of its workload's containers (vpa_source.h; the
// recommendations with their upperBound and the skipped VPAs are journaled
// under "vpa"). Source max: both, the larger request per container and
// resource.
// Hand-offs from inplace-resize (scale-ups Deferred past
// resize.deferredTimeout, in the workflow input's `requests`) are journaled
// as "podAdjustments": the optimizer plans those pods at their wanted size.
// Journal-only: reconcile re-runs it.
#include <spdlog/spdlog.h>

#include "engine/prediction/prediction.h"
#include "engine/prometheus/client.h"
#include "engine/snapshot/cluster_snapshot.h"
#include "engine/workflow/step_context.h"
#include "steps/rescheduling/adjustments.h"
#include "steps/rescheduling/vpa_source.h"
#include "steps/rescheduling/rescheduling_workflow.h"

namespace kinema::rescheduling {

namespace {

nlohmann::json AsRequests(const std::string& workflow_id, const std::string& reason) {
  spdlog::info("workflow {}: planning on requests as they are ({})", workflow_id, reason);
  return nlohmann::json{{"source", "requests"}, {"reason", reason}, {"adjustments", nlohmann::json::object()}};
}

// Adds the VPA recommendations to `base` (prediction.source vpa: base is
// "requests as they are"; max: base is the Prometheus prediction, and the
// larger request wins per container and resource).
StatusOr<nlohmann::json> FromVpas(StepContext& ctx, const ReschedulingDeps& deps, nlohmann::json base) {
  kube::ListOptions lo;
  lo.limit = 0;
  auto list = deps.kube->List(kube::resources::kVerticalPodAutoscalers, "", lo);
  if (!list.ok()) {
    spdlog::warn("workflow {}: listing VerticalPodAutoscalers failed: {}", ctx.workflow_id(), list.status().ToString());
    base["vpa"] = {{"error", "list verticalpodautoscalers.autoscaling.k8s.io: " + list.status().ToString()}};
    return base;
  }
  VpaPrediction v = PredictFromVpas(list->items);
  base["adjustments"] = MaxAdjustments(base.value("adjustments", nlohmann::json::object()), v.adjustments);
  base["source"] = deps.settings.prediction.source;
  base["vpa"] = {{"recommendations", v.recommendations}, {"notes", v.notes}, {"objects", list->items.size()}};
  spdlog::info("workflow {}: {} VPA container recommendation(s) from {} object(s), {} note(s) (prediction.source {})",
               ctx.workflow_id(), v.recommendations.size(), list->items.size(), v.notes.size(),
               deps.settings.prediction.source);
  return base;
}

}  // namespace

StepDefinition MakePredictionStep(const ReschedulingDeps& deps) {
  StepDefinition s;
  s.name = "prediction";
  auto predict = [deps](StepContext& ctx) -> StatusOr<nlohmann::json> {
    const auto& pc = deps.settings.prediction;
    if (pc.source == "none") return AsRequests(ctx.workflow_id(), "prediction.source is none");
    if (pc.source == "vpa") return FromVpas(ctx, deps, AsRequests(ctx.workflow_id(), "prediction.source is vpa"));
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
  s.run = [deps, predict](StepContext& ctx) -> StatusOr<nlohmann::json> {
    auto out = predict(ctx);
    if (!out.ok()) return out;
    if (deps.settings.prediction.source == "max") {
      auto merged = FromVpas(ctx, deps, *out);
      if (!merged.ok()) return merged;
      out = std::move(merged);
    }
    nlohmann::json pods = PodAdjustmentsFromRequests(ctx.workflow_input());
    if (!pods.empty()) {
      spdlog::info("workflow {}: planning {} pod(s) at the size inplace-resize could not fit on their node",
                   ctx.workflow_id(), pods.size());
      (*out)["podAdjustments"] = std::move(pods);
    }
    return out;
  };
  s.reconcile = ReconcileByRerunning(s.run);
  s.journal_only = true;
  return s;
}

}  // namespace kinema::rescheduling
