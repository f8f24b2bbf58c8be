// The persist step — with resize.persist: template, carry the actuated
// resizes into the owners' pod templates (Deployment through its
// ReplicaSet, or StatefulSet), so the next rollout keeps them.
//
// A template change starts a rollout that replaces every pod of the
// workload, so it goes through the shared disruption budget: the
// workload's pods are claimed all-or-nothing under the eviction limits
// (reason resize) before the template is written; a refused workload is
// journaled with the reason and left for a later cycle. Per workload the
// largest new values of its resized pods are written (template.h); an
// unchanged template is not written again (reconcile = run). An Event
// `ResizePersisted` goes on the workload. With resize.persist: pod (the
// default) the step only journals that nothing is persisted.
#include <spdlog/spdlog.h>

#include <set>

#include "engine/kube/object.h"
#include "engine/workflow/step_context.h"
#include "engine/workflow/typed_result.h"
#include "steps/resize/plan.h"
#include "steps/resize/resize_workflow.h"
#include "steps/resize/template.h"

namespace kinema::resize {

namespace {

using nlohmann::json;

// "Deployment/name", "StatefulSet/name" or "" for a pod's persistable owner.
std::string OwnerOf(kube::Client& kube, const std::string& ns, const std::string& pod_name) {
  auto pod = kube.Get(kube::resources::kPods, ns, pod_name);
  if (!pod.ok()) return "";
  const std::string kind = kube::obj::ControllerKind(*pod), name = kube::obj::ControllerName(*pod);
  if (kind == "StatefulSet") return "StatefulSet/" + name;
  if (kind != "ReplicaSet") return "";
  auto rs = kube.Get(kube::resources::kReplicaSets, ns, name);
  if (!rs.ok() || kube::obj::ControllerKind(*rs) != "Deployment") return "";
  return "Deployment/" + kube::obj::ControllerName(*rs);
}

// The pods a rollout of the workload replaces.
StatusOr<std::vector<PodRef>> WorkloadPods(kube::Client& kube, const TemplateChange& t) {
  std::set<std::string> owners;  // controller names of the pods: the StatefulSet, or the Deployment's ReplicaSets
  if (t.kind == "StatefulSet") {
    owners.insert(t.name);
  } else {
    auto rss = kube.List(kube::resources::kReplicaSets, t.ns);
    if (!rss.ok()) return rss.status().WithContext("list replicasets in " + t.ns);
    for (const auto& rs : rss->items) {
      if (kube::obj::ControllerKind(rs) == "Deployment" && kube::obj::ControllerName(rs) == t.name) {
        owners.insert(kube::obj::Name(rs));
      }
    }
  }
  auto pods = kube.List(kube::resources::kPods, t.ns);
  if (!pods.ok()) return pods.status().WithContext("list pods in " + t.ns);
  std::vector<PodRef> out;
  const std::string want_kind = t.kind == "StatefulSet" ? "StatefulSet" : "ReplicaSet";
  for (const auto& p : pods->items) {
    if (kube::pod::IsActive(p) && kube::obj::ControllerKind(p) == want_kind &&
        owners.count(kube::obj::ControllerName(p))) {
      out.push_back({kube::obj::Key(p), kube::pod::NodeName(p)});
    }
  }
  return out;
}

StatusOr<json> PersistOne(StepContext& ctx, const ResizeDeps& deps, const TemplateChange& t) {
  json out = t.ToJson();
  auto pods = WorkloadPods(*deps.kube, t);
  if (!pods.ok()) return pods.status();
  ClaimRequest req;
  req.reason = "resize";
  req.pods = *pods;
  req.limits = deps.config.eviction_limits;
  req.all_or_nothing = true;
  auto grant = ctx.Claim(req);
  if (!grant.ok()) return grant.status();
  if (!grant->complete()) {
    out["outcome"] = "refused";
    out["detail"] = "the rollout would replace " + std::to_string(pods->size()) + " pod(s); the disruption budget refused: " +
                    (grant->refused.empty() ? std::string() : grant->refused[0].item + ": " + grant->refused[0].why);
    return out;
  }
  KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
  const kube::ResourceKind& kind = t.kind == "StatefulSet" ? kube::resources::kStatefulSets : kube::resources::kDeployments;
  bool changed = false;
  auto updated = deps.kube->GetAndUpdate(kind, t.ns, t.name, [&](json& w) -> Status {
    changed = ApplyToTemplate(t, &w);
    if (!changed) return Status::FailedPrecondition("template already holds the values");
    return Status::OK();
  });
  if (!updated.ok() && changed) {
    return Status::Unavailable("update " + t.key() + " template: " + updated.status().ToString());
  }
  if (!changed) {
    const bool same = !updated.ok() && updated.status().code() == Status::Code::kFailedPrecondition;
    out["outcome"] = same ? "unchanged" : "failed";
    out["detail"] = same ? "the template already holds these values" : "update " + t.key() + ": " + updated.status().ToString();
    return out;
  }
  const std::string msg = "Kinema persisted in-place resizes of " + std::to_string(t.pods.size()) +
                          " pod(s) into the pod template (resize.persist: template; workflow " + ctx.workflow_id() + ")";
  if (Status e = deps.kube->RecordEvent(*updated, "Normal", "ResizePersisted", msg); !e.ok()) {
    spdlog::warn("workflow {}: event on {}: {}", ctx.workflow_id(), t.key(), e.ToString());
  }
  spdlog::info("workflow {}: {}: {}", ctx.workflow_id(), t.key(), msg);
  out["outcome"] = "patched";
  out["detail"] = "rollout of " + std::to_string(pods->size()) + " pod(s) claimed from the disruption budget";
  return out;
}

}  // namespace

StepDefinition MakePersistStep(const ResizeDeps& deps) {
  StepDefinition s;
  s.name = kPersistStep;
  s.run = [deps](StepContext& ctx) -> StatusOr<json> {
    if (deps.settings.persist != "template") {
      return json{{"persist", deps.settings.persist},
                  {"reason", "resize.persist is pod: resizes stay on the pods; a rollout brings back the template's values"}};
    }
    auto plan = ResultAs<ResizePlan>(ctx, kDecideStep);
    if (!plan.ok()) return plan.status();
    std::set<std::string> actuated;
    const json& verified = ctx.ResultOf(kVerifyStep);
    if (verified.is_object() && verified.contains("pods")) {
      for (const auto& p : verified["pods"]) {
        if (p.value("state", "") == "actuated") actuated.insert(p.value("pod", ""));
      }
    }
    std::vector<PodResize> applied;
    std::map<std::string, std::string> owners;
    for (const auto& r : plan->resizes) {
      if (!actuated.count(r.key())) continue;
      KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
      applied.push_back(r);
      owners[r.key()] = OwnerOf(*deps.kube, r.ns, r.name);
    }
    json workloads = json::array(), unowned = json::array();
    for (const auto& [pod, owner] : owners) {
      if (owner.empty()) unowned.push_back(pod);
    }
    for (const auto& t : TemplateChanges(applied, owners)) {
      KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
      auto one = PersistOne(ctx, deps, t);
      if (!one.ok()) return one.status();
      workloads.push_back(std::move(*one));
    }
    return json{{"persist", "template"}, {"workloads", std::move(workloads)}, {"withoutTemplate", std::move(unowned)}};
  };
  s.reconcile = s.run;  // an unchanged template is not written again
  return s;
}

}  // namespace kinema::resize
