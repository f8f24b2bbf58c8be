// The re-check the shared drain-and-delete step runs before each eviction
// of a spot drain (see spot_workflow.h): from a fresh snapshot,
//   - Pending pods (the replacements of pods just evicted, or anyone's):
//     wait, at most spot.pendingTimeout per node and attempt, then keep the
//     node (the seed: the next node only once the evicted pods run);
//   - the pods left on the node must still all fit on spot (RecheckDrain):
//     when a spot node was preempted or filled meanwhile, the node's drain
//     stops and the node is kept (its retire marks removed), cleanly.
#include <spdlog/spdlog.h>

#include <map>
#include <memory>

#include "engine/snapshot/cluster_snapshot.h"
#include "engine/workflow/step_context.h"
#include "steps/spot/spot_workflow.h"

namespace kinema::spot {

execute::DrainRecheck MakeDrainRecheck(const SpotDeps& deps) {
  // Since when each (workflow, node) drain has been waiting for Pending
  // pods, in this process (a restart waits afresh, bounded by the drain's
  // durable deadline). One spot workflow runs at a time.
  auto waiting_since = std::make_shared<std::map<std::string, int64_t>>();
  return [deps, waiting_since](StepContext& ctx, const std::string& node,
                               const std::vector<nlohmann::json>&) -> StatusOr<execute::DrainCheck> {
    using Action = execute::DrainCheck::Action;
    auto snap = TakeClusterSnapshot(*deps.kube);
    if (!snap.ok()) return snap.status();
    auto parsed = ParseSnapshot(snap->list);
    if (!parsed.ok()) return parsed.status();
    int pending = 0;
    std::string example;
    for (const auto& p : parsed->pods) {
      if (p.node_name.empty() && pending++ == 0) example = p.FullName();
    }
    const int64_t now = NowMs();
    if (pending > 0) {
      auto [it, fresh] = waiting_since->emplace(ctx.workflow_id() + "/" + node, now);
      int64_t waited = now - it->second;
      if (waited >= deps.settings.pending_timeout.count()) {
        return execute::DrainCheck{Action::kKeep, std::to_string(pending) + " pod(s) still Pending after " +
                                                      FormatDuration(deps.settings.pending_timeout) + " (e.g. " +
                                                      example + "); drain stopped"};
      }
      return execute::DrainCheck{Action::kWait, std::to_string(pending) + " pod(s) Pending (e.g. " + example + ")"};
    }
    waiting_since->erase(ctx.workflow_id() + "/" + node);
    std::string why = RecheckDrain(*parsed, snap->list, node, deps.settings.Rules(
                                                                 deps.catalog ? deps.catalog->spot_labels : Labels{}));
    if (!why.empty()) {
      spdlog::warn("workflow {}: spot capacity changed while draining {}: {}", ctx.workflow_id(), node, why);
      return execute::DrainCheck{Action::kKeep, "spot capacity changed: " + why};
    }
    return execute::DrainCheck{Action::kEvict, ""};
  };
}

}  // namespace kinema::spot
