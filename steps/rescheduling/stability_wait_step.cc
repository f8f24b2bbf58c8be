// Step 0: stability wait — a durable wait with a deadline. The cluster must
// satisfy EvaluateStability() continuously for the quiet window. The
// deadline is journaled (it survives restarts); the quiet window restarts
// after a restart, which is conservative. No effects outside the journal, so
// reconcile re-runs it.
#include <spdlog/spdlog.h>

#include "engine/snapshot/cluster_snapshot.h"
#include "engine/workflow/step_context.h"
#include "steps/rescheduling/rescheduling_workflow.h"
#include "steps/rescheduling/stability.h"
#include "storage/event.h"
#include "engine/common/time.h"

namespace kinema::rescheduling {

StepDefinition MakeStabilityWaitStep(const ReschedulingDeps& deps) {
  StepDefinition s;
  s.name = "stability-wait";
  s.retry.initial = std::chrono::milliseconds(2000);
  s.retry.max_attempts = 10;
  s.run = [deps](StepContext& ctx) -> StatusOr<nlohmann::json> {
    const auto& cfg = deps.settings.stability;
    auto deadline = ctx.DeadlineFor("deadline", cfg.deadline);
    if (!deadline.ok()) return deadline.status();
    StabilityOptions opts;
    opts.max_hpa_utilization = cfg.max_hpa_utilization;
    opts.excluded_namespaces.insert(deps.config.exclusions.namespaces.begin(),
                                    deps.config.exclusions.namespaces.end());
    int64_t stable_since = 0;
    int checks = 0;
    std::vector<std::string> last_reasons;
    while (true) {
      KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
      auto snap = TakeClusterSnapshot(*deps.kube);
      if (!snap.ok()) return snap.status();
      StabilityReport r = EvaluateStability(snap->items(), opts);
      ++checks;
      int64_t now = NowMs();
      if (r.stable) {
        if (stable_since == 0) stable_since = now;
        if (now - stable_since >= cfg.quiet_window.count()) {
          spdlog::info("workflow {}: cluster stable for {} ({} checks)", ctx.workflow_id(),
                       FormatDuration(cfg.quiet_window), checks);
          return nlohmann::json{{"stable", true}, {"quietWindowMs", cfg.quiet_window.count()},
                                {"checks", checks},  {"nodes", snap->nodes},
                                {"pods", snap->pods}};
        }
      } else {
        if (stable_since != 0 || last_reasons != r.reasons) {
          spdlog::info("workflow {}: waiting for stability: {} ({} objects unsettled)", ctx.workflow_id(),
                       r.reasons.empty() ? "" : r.reasons.front(), r.unstable_objects);
        }
        stable_since = 0;
        last_reasons = r.reasons;
      }
      if (now >= *deadline) {
        std::string why = last_reasons.empty() ? "never stable for the quiet window" : last_reasons.front();
        return nlohmann::json{{"stable", false},
                              {"checks", checks},
                              {"reasons", last_reasons},
                              {"finishWorkflow", "unstable"},
                              {"reason", "cluster not stable within " + FormatDuration(cfg.deadline) + ": " + why}};
      }
      KINEMA_RETURN_IF_ERROR(ctx.Pause(cfg.poll_interval));
    }
  };
  s.reconcile = ReconcileByRerunning(s.run);
  s.journal_only = true;
  return s;
}

}  // namespace kinema::rescheduling
