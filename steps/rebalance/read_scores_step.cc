// The read-scores step — one score per node from Prometheus
// (rebalance.query, instant query), parsed by ScoresFromQuery (scores.h);
// `kinema:pareto_front`: the four recorded ratios, ranked by Kinema
// (ParetoScoresFromRatios);
// what was ignored and why is journaled. Prometheus not configured,
// unreachable or answering with an error: the cycle ends with outcome
// no_scores and the reason (the next cycle tries again; a failing
// Prometheus must not block the kind). Journal-only: reconcile re-runs it.
#include <spdlog/spdlog.h>

#include "engine/common/time.h"
#include "engine/prometheus/client.h"
#include "engine/workflow/step_context.h"
#include "steps/rebalance/rebalance_workflow.h"
#include "steps/rebalance/scores.h"

namespace kinema::rebalance {

namespace {

nlohmann::json NoScores(const std::string& workflow, const std::string& reason) {
  spdlog::warn("workflow {}: no node scores: {}", workflow, reason);
  return {{"finishWorkflow", "no_scores"}, {"reason", reason}};
}

}  // namespace

StepDefinition MakeReadScoresStep(const RebalanceDeps& deps) {
  StepDefinition s;
  s.name = kReadScoresStep;
  s.run = [deps](StepContext& ctx) -> StatusOr<nlohmann::json> {
    if (deps.config.prometheus.url.empty()) return NoScores(ctx.workflow_id(), "prometheus.url is not configured");
    prometheus::ClientOptions po;
    po.url = deps.config.prometheus.url;
    po.timeout = deps.config.prometheus.timeout;
    prometheus::Client prom(po);
    StatusOr<ScoresResult> scores = Status::Internal("unset");
    if (deps.settings.query == kParetoFrontQuery) {
      std::vector<prometheus::QueryResult> ratios;
      for (const char* q : {kCpuUsageSeries, kCpuPressureSeries, kMemoryUsageSeries, kMemoryPressureSeries}) {
        auto answer = prom.Query(q);
        if (!answer.ok()) return NoScores(ctx.workflow_id(), answer.status().ToString());
        ratios.push_back(*answer);
      }
      scores = ParetoScoresFromRatios(ratios, deps.settings.node_label);
    } else {
      auto answer = prom.Query(deps.settings.query);
      if (!answer.ok()) return NoScores(ctx.workflow_id(), answer.status().ToString());
      scores = ScoresFromQuery(*answer, deps.settings.node_label);
    }
    if (!scores.ok()) return NoScores(ctx.workflow_id(), "rebalance.query: " + scores.status().message());
    scores->query = deps.settings.query;
    scores->at_ms = NowMs();
    spdlog::info("workflow {}: {} node score(s) from Prometheus ({} series ignored)", ctx.workflow_id(),
                 scores->scores.size(), scores->ignored.size());
    for (const auto& i : scores->ignored) {
      spdlog::warn("workflow {}: ignored a score series ({}): {}", ctx.workflow_id(), i.node, i.why);
    }
    return scores->ToJson();
  };
  s.reconcile = ReconcileByRerunning(s.run);
  s.journal_only = true;
  return s;
}

}  // namespace kinema::rebalance
