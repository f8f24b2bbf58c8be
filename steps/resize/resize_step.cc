// The resize step — per planned pod, through pods/resize only.
//
// The intent journals every pod's old and new values (intent_input) before
// the first PATCH. Per pod, in plan order (scale-ups first):
//   claim (the shared ledger: a pod held by another workflow, or on a node
//   being retired, is refused) → GET → compare the spec with the intent:
//     old values   → PATCH pods/resize (strategic merge of the resources);
//     new values   → already patched (a restart between PATCH and
//                    annotation): not patched again;
//     anything else→ changed since it was observed: left alone;
//   → annotate kinema.io/last-resize (the observation's time, the seed's
//   cooldown record) and kinema.io/last-resize-workflow (this workflow) →
//   Event "Resized" on the pod.
// A pod whose annotation already names this workflow is done (reconcile
// after a crash never resizes twice). Then each hand-off (a scale-up
// Deferred/Infeasible past resize.deferredTimeout) is requested from
// kinema-rescheduling with the wanted size (ctx.RequestKind, idempotent per
// pod and resize), with a Warning Event on the pod.
// Reconcile is the same walk: every effect is checked against the world first.
#include <spdlog/spdlog.h>

#include <set>

#include "engine/quantity/quantity.h"

#include "engine/common/time.h"
#include "engine/kube/object.h"
#include "engine/workflow/step_context.h"
#include "engine/workflow/typed_result.h"
#include "steps/resize/plan.h"
#include "steps/resize/resize_workflow.h"

namespace kinema::resize {

namespace {

using nlohmann::json;

std::optional<int64_t> SpecValue(const json& pod, const std::string& container, const char* section, Resource r) {
  if (!pod.contains("spec") || !pod["spec"].contains("containers")) return std::nullopt;
  for (const auto& c : pod["spec"]["containers"]) {
    if (c.value("name", "") != container) continue;
    if (!c.contains("resources") || !c["resources"].contains(section)) return std::nullopt;
    const json& s = c["resources"][section];
    if (!s.contains(ResourceName(r)) || !s[ResourceName(r)].is_string()) return std::nullopt;
    const std::string q = s[ResourceName(r)].get<std::string>();
    auto v = r == Resource::kCpu ? ParseQuantityMilli(q) : ParseQuantityValue(q);
    if (!v.ok()) return std::nullopt;
    return *v;
  }
  return std::nullopt;
}

enum class SpecIs { kOld, kNew, kOther };

SpecIs CompareSpec(const json& pod, const PodResize& r) {
  bool all_old = true, all_new = true;
  for (const auto& c : r.changes) {
    auto req = SpecValue(pod, c.container, "requests", c.resource);
    auto lim = SpecValue(pod, c.container, "limits", c.resource);
    // A container with only a limit has its request defaulted to it.
    if (!req) req = lim;
    if (req != std::optional<int64_t>(c.old_request) || (c.old_limit && lim != c.old_limit)) all_old = false;
    if (req != std::optional<int64_t>(c.new_request) || (c.new_limit && lim != c.new_limit)) all_new = false;
  }
  if (all_new) return SpecIs::kNew;
  if (all_old) return SpecIs::kOld;
  return SpecIs::kOther;
}

std::string Describe(const PodResize& r) {
  std::string s;
  for (const auto& c : r.changes) {
    if (!s.empty()) s += ", ";
    s += c.container + " " + ResourceName(c.resource) + " request " + FormatQuantity(c.resource, c.old_request) +
         " -> " + FormatQuantity(c.resource, c.new_request);
    if (c.new_limit && c.old_limit) {
      s += " (limit " + FormatQuantity(c.resource, *c.old_limit) + " -> " + FormatQuantity(c.resource, *c.new_limit) + ")";
    }
  }
  return s;
}

json PodOutcome(const PodResize& r, const std::string& outcome, const std::string& detail, int64_t generation = 0) {
  json j{{"pod", r.key()}, {"node", r.node}, {"outcome", outcome}, {"detail", detail}};
  if (generation > 0) j["generation"] = generation;
  return j;
}

// One pod: see the file comment. Returns the pod's outcome; a non-OK status
// only for interruptions (Checkpoint/CheckEpoch), which end the step.
StatusOr<json> ResizeOne(StepContext& ctx, const ResizeDeps& deps, const PodResize& r) {
  KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
  auto pod = deps.kube->Get(kube::resources::kPods, r.ns, r.name);
  if (!pod.ok()) {
    if (pod.status().code() == Status::Code::kNotFound) return PodOutcome(r, "gone", "the pod no longer exists");
    return PodOutcome(r, "failed", "get pod: " + pod.status().ToString());
  }
  if (!r.uid.empty() && kube::obj::Uid(*pod) != r.uid) {
    return PodOutcome(r, "gone", "the pod was replaced (uid " + kube::obj::Uid(*pod) + ")");
  }
  const auto ann = kube::obj::Annotations(*pod);
  if (auto it = ann.find(kLastResizeWorkflowAnnotation); it != ann.end() && it->second == ctx.workflow_id()) {
    return PodOutcome(r, "applied", "already resized and annotated by this workflow", kube::obj::Generation(*pod));
  }
  SpecIs spec = CompareSpec(*pod, r);
  if (spec == SpecIs::kOther) {
    return PodOutcome(r, "conflict", "its resources changed since they were observed; left alone");
  }
  int64_t generation = kube::obj::Generation(*pod);
  if (spec == SpecIs::kOld) {
    ctx.Hook("resize_before_patch");
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    auto patched = deps.kube->ResizePod(r.ns, r.name, r.ResizePatch());
    if (!patched.ok()) {
      return PodOutcome(r, "failed", "PATCH pods/" + r.name + "/resize: " + patched.status().ToString());
    }
    generation = kube::obj::Generation(*patched);
    ctx.Hook("resize_patched");
  }
  KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
  json annotate{{"metadata",
                 {{"annotations",
                   {{kLastResizeAnnotation, FormatRfc3339(r.observed_ms > 0 ? r.observed_ms : NowMs())},
                    {kLastResizeWorkflowAnnotation, ctx.workflow_id()}}}}}};
  auto a = deps.kube->Patch(kube::resources::kPods, r.ns, r.name, kube::PatchType::kMerge, annotate);
  if (!a.ok()) {
    // The resize is applied; the next attempt finds the new values and annotates.
    return Status::Unavailable("annotate pod " + r.key() + " after its resize: " + a.status().ToString());
  }
  ctx.Hook("resize_annotated");
  const std::string msg = "Kinema resized in place: " + Describe(r) + " (workflow " + ctx.workflow_id() + ")";
  if (Status e = deps.kube->RecordEvent(*a, "Normal", "Resized", msg); !e.ok()) {
    spdlog::warn("workflow {}: event on pod {}: {}", ctx.workflow_id(), r.key(), e.ToString());
  }
  spdlog::info("workflow {}: {}: {}", ctx.workflow_id(), r.key(), msg);
  return PodOutcome(r, "applied", spec == SpecIs::kNew ? "found patched (resumed), annotated" : Describe(r), generation);
}

// Nodes in the cluster (the budgets' base in the claim's journal line); 0 when unknown.
int64_t NodeCount(kube::Client& kube) {
  auto nodes = kube.List(kube::resources::kNodes, "");
  return nodes.ok() ? static_cast<int64_t>(nodes->items.size()) : 0;
}

Status HandOff(StepContext& ctx, const ResizeDeps& deps, const Handoff& h, json* out) {
  KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
  json input{{"resize", {{"pods", json::array({h.ToJson()})}}}};
  const std::string key = h.RequestKey();
  KINEMA_RETURN_IF_ERROR(ctx.RequestKind(kReschedulingType, key, input));
  auto pod = deps.kube->Get(kube::resources::kPods, h.ns, h.name);
  if (pod.ok()) {
    const std::string msg = "in-place resize " + h.state + " since " + FormatRfc3339(h.since_ms) + " (" + h.message +
                            "); handed to " + kReschedulingType + " to move the pod where its size fits";
    (void)deps.kube->RecordEvent(*pod, "Warning", "ResizeHandedOff", msg);
  }
  spdlog::info("workflow {}: pod {} resize {} past resize.deferredTimeout: requested {}", ctx.workflow_id(), h.key(),
               h.state, kReschedulingType);
  out->push_back({{"pod", h.key()}, {"state", h.state}, {"requestKey", key}, {"wanted", h.wanted}});
  return Status::OK();
}

StatusOr<json> RunResize(StepContext& ctx, const ResizeDeps& deps) {
  auto plan = ResultAs<ResizePlan>(ctx, kDecideStep);
  if (!plan.ok()) return plan.status();
  json pods = json::array(), handoffs = json::array();
  json refused = json::array();
  if (!plan->resizes.empty()) {
    ClaimRequest req;
    req.reason = "resize";
    req.node_count = NodeCount(*deps.kube);
    bool restarts = false;
    for (const auto& r : plan->resizes) {
      req.pods.push_back({r.key(), r.node});
      restarts = restarts || r.restarts;
    }
    // An in-place resize is not an eviction: only resizes that restart a
    // container count against the eviction limits.
    if (restarts) {
      req.limits = deps.config.eviction_limits;
    } else {
      req.limits.per_node = -1;
      req.limits.per_namespace = -1;
      req.limits.total = deps.settings.max_pods_per_cycle;
    }
    auto grant = ctx.Claim(req);
    if (!grant.ok()) return grant.status();
    std::set<std::string> granted;
    for (const auto& p : grant->pods) granted.insert(p.key);
    for (const auto& f : grant->refused) refused.push_back({{"pod", f.item}, {"why", f.why}});
    for (const auto& r : plan->resizes) {
      if (!granted.count(r.key())) continue;
      auto one = ResizeOne(ctx, deps, r);
      if (!one.ok()) return one.status();
      pods.push_back(std::move(*one));
    }
  }
  for (const auto& h : plan->handoffs) KINEMA_RETURN_IF_ERROR(HandOff(ctx, deps, h, &handoffs));
  return json{{"pods", std::move(pods)}, {"refused", std::move(refused)}, {"handoffs", std::move(handoffs)}};
}

}  // namespace

StepDefinition MakeResizeStep(const ResizeDeps& deps) {
  StepDefinition s;
  s.name = kResizeStep;
  s.run = [deps](StepContext& ctx) { return RunResize(ctx, deps); };
  s.reconcile = s.run;  // every effect is checked against the pod first (see above)
  s.intent_input = [](StepContext& ctx) -> json {
    json in{{"resizes", json::array()}};
    auto plan = ResultAs<ResizePlan>(ctx, kDecideStep);
    if (!plan.ok()) return in;
    for (const auto& r : plan->resizes) in["resizes"].push_back(r.ToJson());
    for (const auto& h : plan->handoffs) in["handoffs"].push_back(h.key());
    return in;
  };
  return s;
}

}  // namespace kinema::resize
