// The evict step — the cycle's effects, within every limit.
//
// 1. Claim the chosen pods from the shared disruption ledger (reason
//    `rebalance`, the kind's eviction limits); the grant is journaled before
//    anything is evicted; what is refused is recorded and left alone.
// 2. Per granted pod, the world first: a pod that is gone (or has another
//    uid) is `gone` — or, for a background eviction, tracked below; a pod
//    being deleted was evicted. Otherwise:
//    - ordinary pod: POST pods/NAME/eviction with a uid precondition,
//      retried on 429 for a few seconds; a PodDisruptionBudget that still
//      refuses makes it `refused` (never forced);
//    - request-evict-only pod (a VM's launcher): one POST; a 429 saying the
//      eviction triggered an evacuation is an eviction in progress (as
//      "Evacuation in progress" is after a restart: the same migration, not
//      a second one); any other 429 is a refusal.
// 3. Background evictions are tracked until finished (eviction.h:
//    BackgroundEvictionFinished) within rebalance.migrationTimeout, a
//    durable deadline; their claims hold meanwhile, so they count against
//    the limits. Past the deadline: `timed-out`.
// Run and reconcile are the same procedure: every action checks the world
// first, so a restart never evicts a pod twice nor migrates a VM twice.
#include <spdlog/spdlog.h>

#include <set>

#include "engine/common/time.h"
#include "engine/kube/api_error.h"
#include "engine/kube/object.h"
#include "engine/kube/resource.h"
#include "engine/workflow/step_context.h"
#include "engine/workflow/typed_result.h"
#include "steps/rebalance/eviction.h"
#include "steps/rebalance/rebalance_workflow.h"

namespace kinema::rebalance {

using nlohmann::json;

namespace {

std::string NsOf(const std::string& key) { return key.substr(0, key.find('/')); }
std::string NameOf(const std::string& key) { return key.substr(key.find('/') + 1); }

// One POST of the eviction, without retries (a background eviction's 429 is
// an answer, not a refusal to wait out).
EvictionAnswer PostEvictionOnce(kube::Client& kube, const PodChoice& c, std::string* message) {
  json body = {{"apiVersion", "policy/v1"},
               {"kind", "Eviction"},
               {"metadata", {{"name", NameOf(c.pod)}, {"namespace", NsOf(c.pod)}}}};
  if (!c.uid.empty()) body["deleteOptions"] = {{"preconditions", {{"uid", c.uid}}}};
  kube::RawRequest r;
  r.method = "POST";
  r.path = kube::resources::kPods.Path(NsOf(c.pod), NameOf(c.pod), "eviction");
  r.body = body.dump();
  r.what = "evict pod " + c.pod;
  r.retry_429 = false;
  kube::ApiError err;
  auto resp = kube.Do(r, &err);
  if (resp.ok()) {
    *message = "HTTP " + std::to_string(resp->status);
    return EvictionAnswer::kAccepted;
  }
  *message = err.code ? err.message : resp.status().ToString();
  if (err.code == 409) return EvictionAnswer::kNotFound;  // uid precondition: another pod of that name
  return err.code ? ReadEvictionAnswer(err.code, err.message) : EvictionAnswer::kError;
}

// Evicts (or confirms the eviction of) one granted pod.
Status EvictOne(const RebalanceDeps& deps, StepContext& ctx, EvictionEntry* e) {
  const PodChoice& c = e->choice;
  auto pod = deps.kube->Get(kube::resources::kPods, NsOf(c.pod), NameOf(c.pod));
  if (!pod.ok() && pod.status().code() != Status::Code::kNotFound) return pod.status().WithContext("evict: get pod " + c.pod);
  const bool gone = !pod.ok() || (!c.uid.empty() && kube::obj::Uid(*pod) != c.uid);
  if (e->at_ms == 0) e->at_ms = NowMs();
  if (gone) {
    if (c.evict_only) {
      e->outcome = EvictionOutcome::kInBackground;
      e->detail = "the pod is gone; checking where the VM runs";
    } else if (ctx.reconciling()) {
      // This workflow claimed it and may have evicted it before the restart
      // (the journal has the intent, not the answer).
      e->outcome = EvictionOutcome::kEvicted;
      e->detail = "gone after a restart: evicted before it";
    } else {
      e->outcome = EvictionOutcome::kGone;
      e->detail = "the pod was gone before its eviction (deleted by someone else)";
    }
    return Status::OK();
  }
  if (kube::obj::IsTerminating(*pod) && !c.evict_only) {
    e->outcome = EvictionOutcome::kEvicted;
    e->detail = "the pod is being deleted";
    return Status::OK();
  }
  KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
  if (c.evict_only) {
    std::string message;
    EvictionAnswer a = PostEvictionOnce(*deps.kube, c, &message);
    ctx.Hook("after_evict");
    switch (a) {
      case EvictionAnswer::kAccepted:
        e->outcome = EvictionOutcome::kEvicted;
        break;
      case EvictionAnswer::kEvacuationTriggered:
        e->outcome = EvictionOutcome::kInBackground;
        break;
      case EvictionAnswer::kRefused:
        e->outcome = EvictionOutcome::kRefused;
        break;
      case EvictionAnswer::kNotFound:
        e->outcome = EvictionOutcome::kInBackground;
        break;
      case EvictionAnswer::kError:
        return Status::Unavailable("evict: evict pod " + c.pod + ": " + message);
    }
    e->detail = message;
    spdlog::info("workflow {}: eviction of {} on {}: {} ({})", ctx.workflow_id(), c.pod, c.from,
                 EvictionOutcomeName(e->outcome), message);
    return Status::OK();
  }
  kube::EvictOptions eo;
  eo.precondition_uid = c.uid;
  eo.max_wait = std::chrono::milliseconds(5000);
  Status st = deps.kube->Evict(NsOf(c.pod), NameOf(c.pod), eo);
  ctx.Hook("after_evict");
  if (st.ok()) {
    e->outcome = EvictionOutcome::kEvicted;
    e->detail = "accepted";
  } else if (st.code() == Status::Code::kResourceExhausted || st.code() == Status::Code::kFailedPrecondition) {
    e->outcome = EvictionOutcome::kRefused;
    e->detail = st.message();
  } else if (st.code() == Status::Code::kNotFound || st.code() == Status::Code::kConflict) {
    e->outcome = EvictionOutcome::kGone;
    e->detail = st.message();
  } else {
    return st.WithContext("evict");
  }
  spdlog::info("workflow {}: eviction of {} from {}: {} ({})", ctx.workflow_id(), c.pod, c.from,
               EvictionOutcomeName(e->outcome), e->detail);
  return Status::OK();
}

// Waits for every background eviction to finish, within the durable deadline.
Status TrackBackground(const RebalanceDeps& deps, StepContext& ctx, EvictResult* r) {
  auto deadline = ctx.DeadlineFor("migrations", deps.settings.migration_timeout);
  if (!deadline.ok()) return deadline.status();
  while (true) {
    int pending = 0;
    for (auto& e : r->evictions) {
      if (e.outcome != EvictionOutcome::kInBackground) continue;
      const PodChoice& c = e.choice;
      auto src = deps.kube->Get(kube::resources::kPods, NsOf(c.pod), NameOf(c.pod));
      if (!src.ok() && src.status().code() != Status::Code::kNotFound) return src.status().WithContext("evict: track " + c.pod);
      std::vector<json> vm_pods;
      if (!c.vm.empty()) {
        kube::ListOptions lo;
        lo.label_selector = std::string(kVmNameLabel) + "=" + c.vm;
        auto l = deps.kube->List(kube::resources::kPods, NsOf(c.pod), lo);
        if (!l.ok()) return l.status().WithContext("evict: pods of VM " + NsOf(c.pod) + "/" + c.vm);
        vm_pods = l->items;
      }
      const json* source = src.ok() ? &*src : nullptr;
      if (BackgroundEvictionFinished(c, source, vm_pods, &e.new_pod, &e.new_node)) {
        e.outcome = EvictionOutcome::kMigrated;
        e.done_ms = NowMs();
        e.detail = c.vm.empty() ? "the pod is gone" : "VM " + c.vm + " runs on " + e.new_node + " (" + e.new_pod + ")";
        spdlog::info("workflow {}: background eviction of {} finished: {}", ctx.workflow_id(), c.pod, e.detail);
      } else {
        ++pending;
      }
    }
    if (pending == 0) return Status::OK();
    if (NowMs() >= *deadline) {
      for (auto& e : r->evictions) {
        if (e.outcome != EvictionOutcome::kInBackground) continue;
        e.outcome = EvictionOutcome::kTimedOut;
        e.detail = "not finished within rebalance.migrationTimeout " + FormatDuration(deps.settings.migration_timeout);
        spdlog::warn("workflow {}: background eviction of {} {}", ctx.workflow_id(), e.choice.pod, e.detail);
      }
      return Status::OK();
    }
    KINEMA_RETURN_IF_ERROR(ctx.Pause(std::chrono::milliseconds(1000)));
  }
}

StatusOr<json> Evict(const RebalanceDeps& deps, StepContext& ctx) {
  auto chosen = ResultAs<ChooseResult>(ctx, kChoosePodsStep);
  if (!chosen.ok()) return chosen.status();
  ClaimRequest req;
  req.reason = kDisruptionReason;
  req.node_count = chosen->node_count;
  req.limits = deps.settings.eviction_limits;
  std::set<std::string> from_nodes;
  for (const auto& c : chosen->choice.choices) {
    req.pods.push_back({c.pod, c.from});
    from_nodes.insert(c.from);
  }
  req.nodes.assign(from_nodes.begin(), from_nodes.end());
  auto grant = ctx.Claim(req);
  if (!grant.ok()) return grant.status().WithContext("evict: disruption budget");
  EvictResult r;
  r.claim = grant->ToJson();
  std::set<std::string> granted;
  for (const auto& p : grant->pods) granted.insert(p.key);
  for (const auto& ref : grant->refused) {
    std::string node;
    for (const auto& c : chosen->choice.choices) {
      if (c.pod == ref.item) node = c.from;
    }
    r.refused_by_budget.push_back({ref.item, node, ref.why});
    spdlog::info("workflow {}: not evicting {}: disruption budget: {}", ctx.workflow_id(), ref.item, ref.why);
  }
  for (const auto& c : chosen->choice.choices) {
    if (!granted.count(c.pod)) continue;
    KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
    EvictionEntry e;
    e.choice = c;
    KINEMA_RETURN_IF_ERROR(EvictOne(deps, ctx, &e));
    r.evictions.push_back(e);
  }
  KINEMA_RETURN_IF_ERROR(TrackBackground(deps, ctx, &r));
  spdlog::info("workflow {}: {} evicted, {} migrated, {} refused, {} gone, {} timed out", ctx.workflow_id(),
               r.Count(EvictionOutcome::kEvicted), r.Count(EvictionOutcome::kMigrated),
               r.Count(EvictionOutcome::kRefused), r.Count(EvictionOutcome::kGone),
               r.Count(EvictionOutcome::kTimedOut));
  return r.ToJson();
}

}  // namespace

StepDefinition MakeEvictStep(const RebalanceDeps& deps) {
  StepDefinition s;
  s.name = kEvictStep;
  s.run = [deps](StepContext& ctx) { return Evict(deps, ctx); };
  s.reconcile = s.run;  // every action checks the world first
  s.intent_input = [](StepContext& ctx) -> json {
    const json& c = ctx.ResultOf(kChoosePodsStep);
    json pods = json::array();
    if (c.is_object() && c.contains("choice") && c["choice"].contains("choices")) {
      for (const auto& p : c["choice"]["choices"]) pods.push_back(p.value("pod", ""));
    }
    return {{"pods", pods}};
  };
  return s;
}

WorkflowType MakeRebalanceWorkflow(const RebalanceDeps& deps) {
  WorkflowType t;
  t.name = kWorkflowType;
  t.steps = {MakeReadScoresStep(deps), MakeChoosePodsStep(deps), MakeEvictStep(deps)};
  return t;
}

}  // namespace kinema::rebalance
