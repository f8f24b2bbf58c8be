// The decide step — the seed's policy over this cycle's observation and the
// usage history of earlier inplace-resize workflows (their journaled
// `observe` results), so "usage stayed low over resize.window" is judged on
// what was actually observed, durably, across restarts. Journals the plan
// (plan.h): resizes with old and new values and why, hand-offs, and why
// every other pod was left alone. Ends the workflow with outcome no_action
// when there is nothing to do, dry_run in dry-run mode.
// Journal-only: reconcile re-runs it.
#include <spdlog/spdlog.h>

#include <set>

#include "engine/common/time.h"
#include "engine/workflow/step_context.h"
#include "engine/workflow/typed_result.h"
#include "steps/resize/plan.h"
#include "steps/resize/resize_workflow.h"
#include "storage/workflow_view.h"

namespace kinema::resize {

namespace {

// Usage samples of earlier cycles, from the journal.
UsageHistory HistoryFromJournal(StepContext& ctx, const ResizeDeps& deps, std::vector<std::string>* notes,
                                std::set<std::string>* handed_off) {
  UsageHistory history;
  const int64_t since = NowMs() - 2 * deps.settings.window.count() - 2 * deps.interval.count();
  auto others = ctx.OtherWorkflowsSince(since);
  if (!others.ok()) {
    notes->push_back("usage history unavailable: " + others.status().ToString());
    return history;
  }
  for (const auto& v : *others) {
    if (v.type != kWorkflowType || v.id == ctx.workflow_id()) continue;
    for (const auto& s : v.steps) {
      if (s.name == kResizeStep && s.result.is_object() && s.result.contains("handoffs") &&
          s.result["handoffs"].is_array()) {
        for (const auto& h : s.result["handoffs"]) {
          if (h.is_object() && h.contains("requestKey") && h["requestKey"].is_string()) {
            handed_off->insert(h["requestKey"].get<std::string>());
          }
        }
      }
      if (s.name != kObserveStep || s.status != StepStatus::kSucceeded || s.result.is_null()) continue;
      auto o = Observation::FromJson(s.result);
      if (o.ok()) AddToHistory(*o, &history);
    }
  }
  return history;
}

}  // namespace

StepDefinition MakeDecideStep(const ResizeDeps& deps) {
  StepDefinition s;
  s.name = kDecideStep;
  s.run = [deps](StepContext& ctx) -> StatusOr<nlohmann::json> {
    auto o = ResultAs<Observation>(ctx, kObserveStep);
    if (!o.ok()) return o.status();
    std::vector<std::string> notes;
    std::set<std::string> handed_off;
    UsageHistory history = HistoryFromJournal(ctx, deps, &notes, &handed_off);
    ResizePlan plan = MakePlan(*o, history, deps.settings, handed_off);
    int ups = 0;
    for (const auto& r : plan.resizes) ups += r.scale_up() ? 1 : 0;
    spdlog::info("workflow {}: {} resize(s) ({} up, {} down), {} hand-off(s) to {}, {} pod(s) left alone with a reason",
                 ctx.workflow_id(), plan.resizes.size(), ups, static_cast<int>(plan.resizes.size()) - ups,
                 plan.handoffs.size(), kReschedulingType, plan.left.size());
    for (const auto& r : plan.resizes) {
      for (const auto& c : r.changes) {
        spdlog::info("workflow {}: resize {} {} {} {} -> {}: {}", ctx.workflow_id(), r.key(), c.container,
                     ResourceName(c.resource), FormatQuantity(c.resource, c.old_request),
                     FormatQuantity(c.resource, c.new_request), c.why);
      }
    }
    nlohmann::json out = plan.ToJson();
    out["historyNotes"] = notes;
    if (plan.resizes.empty() && plan.handoffs.empty()) {
      out["finishWorkflow"] = "no_action";
      out["reason"] = "no managed pod needs a resize";
    } else if (deps.dry_run) {
      out["finishWorkflow"] = "dry_run";
      out["reason"] = "dry run: the plan is journaled, nothing is patched";
    }
    return out;
  };
  s.reconcile = ReconcileByRerunning(s.run);
  s.journal_only = true;
  return s;
}

}  // namespace kinema::resize
