// Step 7: drain and delete — each retiring node, once only DaemonSet pods
// remain on it: delete the Node, then its cloud instance.
//
// Per node (from the labeling step's result, which recorded uid and
// providerID while the Node existed):
//   1. drain: pods other than DaemonSet and finished pods are evicted
//      (PDB-respecting, 429 retried); wait until none is left, within
//      drain.timeout (a durable deadline). A pod that cannot be moved safely
//      (no controller, mirror pod, kinema.io/do-not-disrupt) keeps the node:
//      its retire label and taint are removed and the result says why;
//   2. delete the Node with a uid precondition (a Node of the same name
//      registered since is not ours); notFound = done;
//   3. delete the cloud instance named by the providerID (notFound = done;
//      the request id derives from the step key, so a repeated delete is
//      deduplicated by the cloud). A Node without a GCE providerID is not
//      cloud-managed: nothing to delete, and the result says so.
// Every action checks the world first: run and reconcile are the same
// procedure. Nothing to compensate: a deleted node is gone (abort during
// this step stops before the next node).
#include <spdlog/spdlog.h>

#include "engine/cloud/cloud_provider.h"
#include "engine/workflow/step_context.h"
#include "storage/event.h"
#include "steps/rescheduling/execution.h"
#include "steps/rescheduling/events.h"
#include "steps/rescheduling/rescheduling_workflow.h"

namespace kinema::rescheduling {

namespace {

using nlohmann::json;

std::string Key(const json& obj) {
  return obj["metadata"].value("namespace", "") + "/" + obj["metadata"].value("name", "");
}

// Removes the retire marks from a node the drain gives up on.
Status KeepNode(const ReschedulingDeps& deps, const std::string& node, const std::string& iteration) {
  auto updated = deps.kube->GetAndUpdate(kube::resources::kNodes, "", node, [&](json& n) -> Status {
    json& labels = n["metadata"]["labels"];
    if (labels.is_object() && labels.value(kRetireLabel, "") == iteration) labels.erase(kRetireLabel);
    n["spec"]["taints"] = TaintsWithoutRetire(n["spec"].value("taints", json::array()));
    return Status::OK();
  });
  if (!updated.ok() && updated.status().code() != Status::Code::kNotFound) return updated.status();
  return Status::OK();
}

StatusOr<json> DrainAndDelete(const ReschedulingDeps& deps, StepContext& ctx) {
  const json& lab = ctx.ResultOf("labeling");
  if (!lab.is_object()) return Status::FailedPrecondition("drain-and-delete: the labeling step left no result");
  const std::string iteration = IterationValue(ctx.workflow_id());
  json result = {{"nodes", json::array()}};
  auto cloud_deadline = std::chrono::steady_clock::now() + deps.config.drain.timeout;

  for (const auto& r : lab.value("retiring", json::array())) {
    const std::string node = r.value("node", "");
    const std::string uid = r.value("uid", "");
    json entry = {{"node", node}};
    KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());

    // 1. drain
    auto deadline = ctx.DeadlineFor("drain " + node, deps.config.drain.timeout);
    if (!deadline.ok()) return deadline.status();
    std::string keep_reason;
    bool node_gone = false;
    int evicted = 0;
    for (;;) {
      auto current = deps.kube->Get(kube::resources::kNodes, "", node);
      if (!current.ok() && current.status().code() == Status::Code::kNotFound) {
        node_gone = true;
        break;
      }
      if (!current.ok()) return current.status().WithContext("drain-and-delete: get node " + node);
      if ((*current)["metadata"].value("uid", "") != uid) {
        keep_reason = "node " + node + " was re-created since it was labelled (uid changed); not ours to delete";
        break;
      }
      kube::ListOptions lo;
      lo.field_selector = "spec.nodeName=" + node;
      auto pods = deps.kube->List(kube::resources::kPods, "", lo);
      if (!pods.ok()) return pods.status().WithContext("drain-and-delete: pods on " + node);
      std::vector<json> left;
      for (const auto& p : pods->items) {
        if (IsDaemonSetPod(p) || IsPodFinished(p)) continue;
        std::string why = WhyPodCannotMove(p);
        if (!why.empty()) {
          keep_reason = "pod " + Key(p) + " cannot be moved safely (" + why + ")";
          break;
        }
        left.push_back(p);
      }
      if (!keep_reason.empty()) break;
      if (left.empty()) break;
      if (NowMs() >= *deadline) {
        return Status::DeadlineExceeded("drain-and-delete: " + std::to_string(left.size()) + " pod(s) still on " +
                                        node + " after " + FormatDuration(deps.config.drain.timeout) + ", e.g. " +
                                        Key(left.front()));
      }
      for (const auto& p : left) {
        KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
        KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
        kube::EvictOptions eo;
        eo.precondition_uid = p["metadata"].value("uid", "");
        eo.max_wait = std::chrono::milliseconds(10000);
        Status st = deps.kube->Evict(p["metadata"].value("namespace", ""), p["metadata"].value("name", ""), eo);
        if (st.ok()) {
          ++evicted;
          spdlog::info("workflow {}: evicted pod {} from {}", ctx.workflow_id(), Key(p), node);
        } else if (st.code() == Status::Code::kResourceExhausted) {
          spdlog::info("workflow {}: eviction of {} refused by its PodDisruptionBudget for now; retrying",
                       ctx.workflow_id(), Key(p));
        } else if (st.code() != Status::Code::kNotFound && st.code() != Status::Code::kConflict) {
          return st.WithContext("drain-and-delete: evict pod " + Key(p));
        }
      }
      KINEMA_RETURN_IF_ERROR(ctx.Pause(std::chrono::milliseconds(1000)));
    }
    entry["evicted"] = evicted;
    if (!keep_reason.empty()) {
      spdlog::warn("workflow {}: keeping node {}: {}", ctx.workflow_id(), node, keep_reason);
      KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
      KINEMA_RETURN_IF_ERROR(KeepNode(deps, node, iteration).WithContext("drain-and-delete: unmark node " + node));
      entry["outcome"] = "kept";
      entry["why"] = keep_reason;
      result["nodes"].push_back(entry);
      continue;
    }

    // 2. delete the Node
    if (!node_gone) {
      AnnounceEvent(deps, json{{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", node}, {"uid", uid}}}},
                    "Normal", "KinemaNodeRetired", "drained by " + ctx.workflow_id() + "; deleting the node and its instance");
      KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
      kube::DeleteOptions dopt;
      dopt.precondition_uid = uid;
      Status st = deps.kube->Delete(kube::resources::kNodes, "", node, dopt);
      if (!st.ok() && st.code() != Status::Code::kNotFound) {
        return st.WithContext("drain-and-delete: delete node " + node);
      }
      spdlog::info("workflow {}: deleted node {}", ctx.workflow_id(), node);
    }
    ctx.Hook("after_node_delete");

    // 3. delete the cloud instance
    std::string zone, instance;
    if (!ParseGceProviderId(r.value("providerID", ""), &zone, &instance)) {
      entry["outcome"] = "node-deleted";
      entry["instance"] = "none: providerID " + r.value("providerID", std::string("(empty)")) +
                          " is not a GCE instance";
      result["nodes"].push_back(entry);
      continue;
    }
    if (!deps.cloud) return Status::FailedPrecondition("drain-and-delete: node " + node + " is a cloud instance but no cloud provider is configured");
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    Status ds = cloud::EnsureInstanceDeleted(*deps.cloud, zone, instance, ctx.idempotency_key() + "/" + instance,
                                             cloud_deadline);
    if (!ds.ok()) return ds.WithContext("drain-and-delete: delete instance " + instance + " in " + zone);
    spdlog::info("workflow {}: deleted instance {} in {}", ctx.workflow_id(), instance, zone);
    entry["outcome"] = "deleted";
    entry["instance"] = instance;
    entry["zone"] = zone;
    result["nodes"].push_back(entry);
  }
  return result;
}

}  // namespace

StepDefinition MakeDrainDeleteStep(const ReschedulingDeps& deps) {
  StepDefinition s;
  s.name = "drain-and-delete";
  s.retry.max_attempts = 5;
  s.run = [deps](StepContext& ctx) { return DrainAndDelete(deps, ctx); };
  s.reconcile = s.run;
  return s;
}

}  // namespace kinema::rescheduling
