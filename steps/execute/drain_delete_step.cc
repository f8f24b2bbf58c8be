// Node retirement: the effects (see node_retirement.h for the contract).
#include <spdlog/spdlog.h>

#include "engine/cloud/cloud_provider.h"
#include "engine/kube/object.h"
#include "engine/workflow/step_context.h"
#include "engine/workflow/typed_result.h"
#include "steps/execute/disruption_policy.h"
#include "steps/execute/marks.h"
#include "steps/execute/node_retirement.h"

namespace kinema::execute {

using nlohmann::json;

const char* RetireOutcomeName(RetireOutcome o) {
  switch (o) {
    case RetireOutcome::kDeleted: return "deleted";
    case RetireOutcome::kNodeDeleted: return "node-deleted";
    case RetireOutcome::kDrained: return "drained";
    case RetireOutcome::kKept: return "kept";
  }
  return "kept";
}

int RetireResult::Retired() const {
  int n = 0;
  for (const auto& r : nodes) n += r.outcome == RetireOutcome::kDeleted || r.outcome == RetireOutcome::kNodeDeleted;
  return n;
}

int RetireResult::Evicted() const {
  int n = 0;
  for (const auto& r : nodes) n += r.evicted;
  return n;
}

json RetireResult::ToJson() const {
  json a = json::array();
  for (const auto& r : nodes) {
    json e = {{"node", r.node}, {"evicted", r.evicted}, {"outcome", RetireOutcomeName(r.outcome)}};
    if (!r.why.empty()) e["why"] = r.why;
    if (!r.instance.empty()) e["instance"] = r.instance;
    if (!r.zone.empty()) e["zone"] = r.zone;
    a.push_back(e);
  }
  return {{"nodes", a}};
}

StatusOr<RetireResult> RetireResult::FromJson(const json& j) {
  return DecodeJson<RetireResult>("drain-and-delete result", [&]() -> StatusOr<RetireResult> {
    RetireResult r;
    for (const auto& e : j.at("nodes")) {
      RetiredNode n;
      n.node = e.at("node").get<std::string>();
      n.evicted = e.value("evicted", 0);
      std::string outcome = e.value("outcome", std::string("kept"));
      for (RetireOutcome o : {RetireOutcome::kDeleted, RetireOutcome::kNodeDeleted, RetireOutcome::kDrained,
                              RetireOutcome::kKept}) {
        if (outcome == RetireOutcomeName(o)) n.outcome = o;
      }
      n.why = e.value("why", std::string());
      n.instance = e.value("instance", std::string());
      n.zone = e.value("zone", std::string());
      r.nodes.push_back(std::move(n));
    }
    return r;
  });
}

bool ParseGceProviderId(const std::string& provider_id, std::string* zone, std::string* name) {
  static const std::string kPrefix = "gce://";
  if (provider_id.rfind(kPrefix, 0) != 0) return false;
  std::string rest = provider_id.substr(kPrefix.size());
  size_t a = rest.find('/');
  if (a == std::string::npos) return false;
  size_t b = rest.find('/', a + 1);
  if (b == std::string::npos || b + 1 >= rest.size()) return false;
  *zone = rest.substr(a + 1, b - a - 1);
  *name = rest.substr(b + 1);
  return !zone->empty() && name->find('/') == std::string::npos;
}

Status RetireCloudNode(const ExecutionDeps& deps, StepContext& ctx, const cloud::NodeRef& node,
                       const std::string& idempotency_key, Duration timeout) {
  const std::string what = "retire node " + node.zone + "/" + node.instance_name +
                           (node.group.empty() ? "" : " (pool " + node.group + ")");
  if (!deps.cloud) return Status::FailedPrecondition(what + ": no cloud provider is configured");
  const int64_t deadline = NowMs() + timeout.count();
  std::string last;
  for (;;) {
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    ctx.Hook("before_retire_node");
    auto st = deps.cloud->RetireNode(node, idempotency_key);
    if (!st.ok()) {
      cloud::CloudErrorKind kind = cloud::ClassifyCloudError(st.status());
      if (kind != cloud::CloudErrorKind::kUnavailable && kind != cloud::CloudErrorKind::kRateLimited) {
        return st.status().WithContext(what);
      }
      last = st.status().message();
    } else {
      if (st->state == cloud::NodeState::kAbsent) return Status::OK();
      if (st->state == cloud::NodeState::kFailed) return st->error.WithContext(what);
      last = std::string(cloud::NodeStateName(st->state)) + ": " + st->detail;
    }
    if (NowMs() >= deadline) {
      return cloud::MakeCloudError(cloud::CloudErrorKind::kDeadlineExceeded,
                                   what + ": not gone within " + FormatDuration(timeout) + " (" + last + ")");
    }
    KINEMA_RETURN_IF_ERROR(ctx.Pause(std::chrono::milliseconds(1000)));
  }
}

namespace {

// Removes the retire marks from a node the drain gives up on.
Status KeepNode(const ExecutionDeps& deps, const std::string& node, const std::string& iteration) {
  auto updated = deps.kube->GetAndUpdate(kube::resources::kNodes, "", node, [&](json& n) -> Status {
    json& labels = n["metadata"]["labels"];
    if (labels.is_object() && LabelOf(n, kRetireLabel) == iteration) labels.erase(kRetireLabel);
    n["spec"]["taints"] = TaintsWithoutRetire(n["spec"].value("taints", json::array()));
    return Status::OK();
  });
  if (!updated.ok() && updated.status().code() != Status::Code::kNotFound) return updated.status();
  return Status::OK();
}

// Evicts pods from `node` until none but DaemonSet and finished pods is left.
// Sets *keep_reason (and stops) when the node must be kept, *gone when the
// Node no longer exists.
Status Drain(const ExecutionDeps& deps, StepContext& ctx, const RetireRequest& req, const RetiringNode& r,
             std::string* keep_reason, bool* gone, int* evicted, std::string* pool) {
  auto deadline = ctx.DeadlineFor("drain " + r.node, deps.settings.drain_timeout);
  if (!deadline.ok()) return deadline.status();
  for (;;) {
    auto current = deps.kube->Get(kube::resources::kNodes, "", r.node);
    if (!current.ok() && current.status().code() == Status::Code::kNotFound) {
      *gone = true;
      return Status::OK();
    }
    if (!current.ok()) return current.status().WithContext("drain-and-delete: get node " + r.node);
    if (kube::obj::Uid(*current) != r.uid) {
      *keep_reason = "node " + r.node + " was re-created since it was labelled (uid changed); not ours to delete";
      return Status::OK();
    }
    *pool = LabelOf(*current, kGkeNodePoolLabel);
    kube::ListOptions lo;
    lo.field_selector = "spec.nodeName=" + r.node;
    auto pods = deps.kube->List(kube::resources::kPods, "", lo);
    if (!pods.ok()) return pods.status().WithContext("drain-and-delete: pods on " + r.node);
    std::vector<json> left;
    const int64_t now = NowMs();
    for (const auto& p : pods->items) {
      if (kube::pod::IsDaemonSetPod(p) || kube::pod::IsFinished(p)) continue;
      std::string why = WhyPodCannotMove(p, now);
      if (!why.empty()) {
        *keep_reason = "pod " + kube::obj::Key(p) + " cannot be moved safely (" + why + ")";
        return Status::OK();
      }
      left.push_back(p);
    }
    if (left.empty()) return Status::OK();
    if (NowMs() >= *deadline) {
      return Status::DeadlineExceeded("drain-and-delete: " + std::to_string(left.size()) + " pod(s) still on " +
                                      r.node + " after " + FormatDuration(deps.settings.drain_timeout) + ", e.g. " +
                                      kube::obj::Key(left.front()));
    }
    if (req.before_evict) {
      auto check = req.before_evict(ctx, r.node, left);
      if (!check.ok()) return check.status().WithContext("drain-and-delete: re-check before evicting from " + r.node);
      if (check->action == DrainCheck::Action::kKeep) {
        *keep_reason = check->why;
        return Status::OK();
      }
      if (check->action == DrainCheck::Action::kWait) {
        spdlog::info("workflow {}: drain of {} waits: {}", ctx.workflow_id(), r.node, check->why);
        KINEMA_RETURN_IF_ERROR(ctx.Pause(std::chrono::milliseconds(1000)));
        continue;
      }
    }
    for (size_t i = 0; i < left.size(); ++i) {
      const json& p = left[i];
      KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
      KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
      if (req.before_evict && i > 0) {
        // The kind's re-check before every eviction, not only per round:
        // the world may have changed during the previous one (an eviction
        // waits up to 10 s for its PDB).
        auto check = req.before_evict(ctx, r.node, std::vector<json>(left.begin() + i, left.end()));
        if (!check.ok()) return check.status().WithContext("drain-and-delete: re-check before evicting from " + r.node);
        if (check->action == DrainCheck::Action::kKeep) {
          *keep_reason = check->why;
          return Status::OK();
        }
        if (check->action == DrainCheck::Action::kWait) {
          spdlog::info("workflow {}: drain of {} waits: {}", ctx.workflow_id(), r.node, check->why);
          break;  // pause, then look again from the top
        }
      }
      kube::EvictOptions eo;
      eo.precondition_uid = kube::obj::Uid(p);
      eo.max_wait = std::chrono::milliseconds(10000);
      Status st = deps.kube->Evict(kube::obj::Namespace(p), kube::obj::Name(p), eo);
      if (st.ok()) {
        ++*evicted;
        spdlog::info("workflow {}: evicted pod {} from {}", ctx.workflow_id(), kube::obj::Key(p), r.node);
        ctx.Hook("drain_evicted");
      } else if (st.code() == Status::Code::kResourceExhausted) {
        spdlog::info("workflow {}: eviction of {} refused by its PodDisruptionBudget for now; retrying",
                     ctx.workflow_id(), kube::obj::Key(p));
      } else if (st.code() != Status::Code::kNotFound && st.code() != Status::Code::kConflict) {
        return st.WithContext("drain-and-delete: evict pod " + kube::obj::Key(p));
      }
    }
    KINEMA_RETURN_IF_ERROR(ctx.Pause(std::chrono::milliseconds(1000)));
  }
}

// Deletes the drained Node (uid precondition) and then its cloud instance.
Status DeleteNodeAndInstance(const ExecutionDeps& deps, StepContext& ctx, const RetiringNode& r, bool node_gone,
                             const std::string& pool, RetiredNode* entry) {
  if (!node_gone) {
    AnnounceEvent(deps.kube,
                  json{{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", r.node}, {"uid", r.uid}}}},
                  "Normal", "KinemaNodeRetired", "drained by " + ctx.workflow_id() + "; deleting the node and its instance");
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    kube::DeleteOptions dopt;
    dopt.precondition_uid = r.uid;
    Status st = deps.kube->Delete(kube::resources::kNodes, "", r.node, dopt);
    if (!st.ok() && st.code() != Status::Code::kNotFound) return st.WithContext("drain-and-delete: delete node " + r.node);
    spdlog::info("workflow {}: deleted node {}", ctx.workflow_id(), r.node);
  }
  ctx.Hook("after_node_delete");
  std::string zone, instance;
  if (!ParseGceProviderId(r.provider_id, &zone, &instance)) {
    entry->outcome = RetireOutcome::kNodeDeleted;
    entry->instance = "none: providerID " + (r.provider_id.empty() ? std::string("(empty)") : r.provider_id) +
                      " is not a GCE instance";
    return Status::OK();
  }
  if (!deps.cloud) {
    return Status::FailedPrecondition("drain-and-delete: node " + r.node +
                                      " is a cloud instance but no cloud provider is configured");
  }
  KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
  Status ds = RetireCloudNode(deps, ctx, cloud::NodeRef{zone, instance, pool}, ctx.idempotency_key() + "/" + instance,
                              deps.settings.drain_timeout);
  if (!ds.ok()) return ds.WithContext("drain-and-delete");
  spdlog::info("workflow {}: deleted instance {} in {}{}", ctx.workflow_id(), instance, zone,
               pool.empty() ? "" : " (node pool " + pool + ")");
  entry->outcome = RetireOutcome::kDeleted;
  entry->instance = instance;
  entry->zone = zone;
  return Status::OK();
}

StatusOr<json> DrainAndDelete(const ExecutionDeps& deps, const RetireInput& input, StepContext& ctx) {
  auto req = input(ctx);
  if (!req.ok()) return req.status();
  const std::string iteration = IterationValue(ctx.workflow_id());
  RetireResult result;
  for (const auto& r : req->nodes) {
    KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
    RetiredNode entry;
    entry.node = r.node;
    std::string keep_reason;
    bool node_gone = false;
    std::string pool;  // gke: the Node's pool (a hint; membership decides, also once the Node is gone)
    KINEMA_RETURN_IF_ERROR(Drain(deps, ctx, *req, r, &keep_reason, &node_gone, &entry.evicted, &pool));
    if (!keep_reason.empty()) {
      spdlog::warn("workflow {}: keeping node {}: {}", ctx.workflow_id(), r.node, keep_reason);
      KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
      KINEMA_RETURN_IF_ERROR(KeepNode(deps, r.node, iteration).WithContext("drain-and-delete: unmark node " + r.node));
      entry.outcome = RetireOutcome::kKept;
      entry.why = keep_reason;
    } else if (!req->delete_after_drain) {
      entry.outcome = RetireOutcome::kDrained;
      spdlog::info("workflow {}: node {} drained and left in place", ctx.workflow_id(), r.node);
    } else {
      KINEMA_RETURN_IF_ERROR(DeleteNodeAndInstance(deps, ctx, r, node_gone, pool, &entry));
    }
    result.nodes.push_back(std::move(entry));
  }
  return result.ToJson();
}

}  // namespace

StepDefinition MakeDrainDeleteStep(const ExecutionDeps& deps, RetireInput input) {
  StepDefinition s;
  s.name = kDrainDeleteStep;
  s.retry.max_attempts = 5;
  s.run = [deps, input](StepContext& ctx) { return DrainAndDelete(deps, input, ctx); };
  s.reconcile = s.run;
  return s;
}

}  // namespace kinema::execute
