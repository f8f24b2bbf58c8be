// spot-recheck: right before any pod moves, each marked node's pods must
// still all fit on spot (a fresh snapshot; RecheckDrain). Pending pods make
// it wait (at most spot.pendingTimeout, a durable deadline). A node whose
// fit is gone (a spot node was preempted, or filled meanwhile) is kept: its
// retire label and taint are removed and the result says why; the others
// go on to the rollout and the drain. Nothing left: the workflow completes
// with outcome no_action.
// Run and reconcile are the same procedure: a node that no longer carries
// this workflow's retire label was kept by an earlier attempt and stays
// kept, so a decision once acted on is never reversed.
#include <spdlog/spdlog.h>

#include "engine/kube/object.h"
#include "engine/snapshot/cluster_snapshot.h"
#include "engine/workflow/step_context.h"
#include "engine/workflow/typed_result.h"
#include "steps/execute/marks.h"
#include "steps/spot/spot_workflow.h"

namespace kinema::spot {

using nlohmann::json;

json RecheckResult::ToJson() const {
  json p = json::array(), k = json::array();
  for (const auto& n : proceed) p.push_back({{"node", n.node}, {"uid", n.uid}, {"providerID", n.provider_id}});
  for (const auto& n : kept) k.push_back({{"node", n.node}, {"why", n.why}});
  return {{"proceed", p}, {"kept", k}};
}

StatusOr<RecheckResult> RecheckResult::FromJson(const json& j) {
  return DecodeJson<RecheckResult>("spot-recheck result", [&]() -> StatusOr<RecheckResult> {
    RecheckResult r;
    for (const auto& x : j.at("proceed")) {
      r.proceed.push_back({x.at("node").get<std::string>(), x.value("uid", std::string()),
                           x.value("providerID", std::string())});
    }
    for (const auto& x : j.value("kept", json::array())) {
      r.kept.push_back({x.at("node").get<std::string>(), x.value("why", std::string())});
    }
    return r;
  });
}

namespace {

// Removes this workflow's retire marks from `node` (gone: nothing to do).
Status Unmark(const SpotDeps& deps, StepContext& ctx, const std::string& node) {
  const std::string iteration = execute::IterationValue(ctx.workflow_id());
  KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
  auto updated = deps.kube->GetAndUpdate(kube::resources::kNodes, "", node, [&](json& n) -> Status {
    json& labels = n["metadata"]["labels"];
    if (labels.is_object() && execute::LabelOf(n, execute::kRetireLabel) == iteration) labels.erase(execute::kRetireLabel);
    n["spec"]["taints"] = execute::TaintsWithoutRetire(n["spec"].value("taints", json::array()));
    return Status::OK();
  });
  if (!updated.ok() && updated.status().code() != Status::Code::kNotFound) return updated.status();
  return Status::OK();
}

StatusOr<json> Run(const SpotDeps& deps, StepContext& ctx) {
  auto marks = ResultAs<execute::MarkResult>(ctx, execute::kLabelingStep);
  if (!marks.ok()) return marks.status();
  const std::string iteration = execute::IterationValue(ctx.workflow_id());
  const NodeClassRules rules = deps.settings.Rules(deps.catalog ? deps.catalog->spot_labels : Labels{});
  auto deadline = ctx.DeadlineFor("pending", deps.settings.pending_timeout);
  if (!deadline.ok()) return deadline.status();
  RecheckResult out;
  for (const auto& r : marks->retiring) {
    for (;;) {
      KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
      auto node = deps.kube->Get(kube::resources::kNodes, "", r.node);
      if (!node.ok() && node.status().code() == Status::Code::kNotFound) {
        out.kept.push_back({r.node, "the node is gone"});
        break;
      }
      if (!node.ok()) return node.status().WithContext("spot-recheck: get node " + r.node);
      if (execute::LabelOf(*node, execute::kRetireLabel) != iteration) {
        out.kept.push_back({r.node, "kept by an earlier attempt of this step (its retire mark is gone)"});
        break;
      }
      auto snap = TakeClusterSnapshot(*deps.kube);
      if (!snap.ok()) return snap.status().WithContext("spot-recheck: snapshot");
      auto parsed = ParseSnapshot(snap->list);
      if (!parsed.ok()) return parsed.status().WithContext("spot-recheck: snapshot");
      int pending = 0;
      for (const auto& p : parsed->pods) pending += p.node_name.empty();
      std::string why;
      if (pending > 0) {
        if (NowMs() < *deadline) {
          KINEMA_RETURN_IF_ERROR(ctx.Pause(std::chrono::milliseconds(1000)));
          continue;
        }
        why = std::to_string(pending) + " pod(s) still Pending after " + FormatDuration(deps.settings.pending_timeout);
      } else {
        why = RecheckDrain(*parsed, snap->list, r.node, rules);
        if (!why.empty()) why = "spot capacity changed: " + why;
      }
      if (why.empty()) {
        out.proceed.push_back(r);
      } else {
        spdlog::warn("workflow {}: keeping on-demand node {}: {}", ctx.workflow_id(), r.node, why);
        KINEMA_RETURN_IF_ERROR(Unmark(deps, ctx, r.node).WithContext("spot-recheck: unmark node " + r.node));
        out.kept.push_back({r.node, why});
      }
      break;
    }
  }
  json j = out.ToJson();
  if (out.proceed.empty()) {
    j["finishWorkflow"] = "no_action";
    j["reason"] = out.kept.empty() ? "no node was marked" : "every marked node was kept, e.g. " + out.kept.front().node +
                                                                ": " + out.kept.front().why;
  }
  return j;
}

}  // namespace

StepDefinition MakeRecheckStep(const SpotDeps& deps) {
  StepDefinition s;
  s.name = kRecheckStep;
  s.retry.max_attempts = 5;
  s.run = [deps](StepContext& ctx) { return Run(deps, ctx); };
  s.reconcile = s.run;
  return s;
}

}  // namespace kinema::spot
