// Step 6: deployment patch — move the pods off the nodes being retired.
//
// Intent input (journaled BEFORE any patch, carried across retries and
// restarts): every Deployment with pods on a retiring node and its original
// pod-template affinity and kinema.io/iteration annotation, so abort can
// restore it exactly.
// Effect, per Deployment (at most rollout.maxConcurrent at once): one update
// of the pod template — the controller's single preferred node-affinity term
// on kinema.io/iteration=<iteration> (replacing an earlier iteration's term)
// and the template annotation kinema.io/iteration=<iteration> — which starts
// an ordinary rolling update; the retire taint keeps new pods off retiring
// nodes. A rollout is not an eviction — PodDisruptionBudgets do not gate it —
// so for the move the RollingUpdate's maxUnavailable is lowered to what the
// tightest PDB selecting the pods allows at full health (never above the
// Deployment's own) and maxSurge to 0 (1 if maxUnavailable comes out 0): the
// rollout never breaks a PDB nor the Deployment's own guarantee, and each old
// pod's place is freed before its replacement is created, so the move needs
// no capacity the plan did not reserve (surge pods stalled rollouts when the
// plan packed the target nodes tightly). The original strategy is put
// back once the Deployment has rolled out (a strategy change alone starts no
// rollout). Recreate Deployments keep their strategy (their owners chose
// downtime over two versions at once).
// Then wait until it has rolled out (rollout.timeout, a durable deadline per
// Deployment; ProgressDeadlineExceeded fails the step, which pauses the
// workflow for an operator).
// Pods on retiring nodes not owned by a Deployment (StatefulSet, bare
// ReplicaSet, ...) are evicted through the Eviction API: PDBs respected, 429
// retried with backoff.
// A template already carrying this iteration's annotation is not patched
// again: run and reconcile are the same procedure.
// Compensation: Deployments whose template carries this iteration's
// annotation get their original affinity and annotation back.
#include <spdlog/spdlog.h>

#include <map>
#include <set>
#include <thread>

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

std::pair<std::string, std::string> SplitKey(const std::string& key) {
  size_t slash = key.find('/');
  return {key.substr(0, slash), key.substr(slash + 1)};
}

std::set<std::string> RetiringFromLabeling(StepContext& ctx) {
  std::set<std::string> out;
  const json& lab = ctx.ResultOf("labeling");
  if (lab.is_object()) {
    for (const auto& r : lab.value("retiring", json::array())) out.insert(r.value("node", ""));
  }
  return out;
}

struct Workload {
  std::vector<std::string> deployments;  // ns/name
  std::vector<json> other_pods;          // pods to evict
};

// Pods on retiring nodes, grouped by what moves them.
StatusOr<Workload> WorkloadOnRetiringNodes(const ReschedulingDeps& deps, const std::set<std::string>& retiring) {
  Workload w;
  if (retiring.empty()) return w;
  auto pods = deps.kube->List(kube::resources::kPods, "");
  if (!pods.ok()) return pods.status().WithContext("list pods");
  auto rss = deps.kube->List(kube::resources::kReplicaSets, "");
  if (!rss.ok()) return rss.status().WithContext("list replicasets");
  std::map<std::string, OwnerRef> rs_owner;
  for (const auto& rs : rss->items) rs_owner[Key(rs)] = ControllerOf(rs);
  std::set<std::string> deployments;
  for (const auto& p : pods->items) {
    std::string node = p.value("spec", json::object()).value("nodeName", "");
    if (!retiring.count(node) || IsPodFinished(p) || IsDaemonSetPod(p)) continue;
    if (!WhyPodCannotMove(p).empty()) continue;  // the drain step reports it
    OwnerRef owner = ControllerOf(p);
    std::string ns = p["metadata"].value("namespace", "");
    if (owner.kind == "ReplicaSet") {
      auto it = rs_owner.find(ns + "/" + owner.name);
      if (it != rs_owner.end() && it->second.kind == "Deployment") {
        deployments.insert(ns + "/" + it->second.name);
        continue;
      }
    }
    w.other_pods.push_back(p);
  }
  w.deployments.assign(deployments.begin(), deployments.end());
  return w;
}

json OriginalOf(const json& d) {
  const json& tmpl = d["spec"]["template"];
  json affinity = tmpl.value("spec", json::object()).value("affinity", json());
  json ann = tmpl.value("metadata", json::object()).value("annotations", json::object());
  json iteration_ann = ann.is_object() && ann.contains(kIterationLabel) ? ann[kIterationLabel] : json();
  return {{"affinity", affinity}, {"iterationAnnotation", iteration_ann},
          {"strategy", d["spec"].value("strategy", json())}};
}

// The strategy for moving (or moving back) Deployment `d`: its own, bounded by
// the PDBs of its namespace that select its pods (RolloutStrategyWithinBudgets).
StatusOr<json> BoundedStrategy(const ReschedulingDeps& deps, const std::string& ns, const json& d,
                               const json& strategy) {
  kube::ListOptions lo;
  auto pdbs = deps.kube->List(kube::resources::kPodDisruptionBudgets, ns, lo);
  if (!pdbs.ok()) return pdbs.status().WithContext("list poddisruptionbudgets in " + ns);
  json labels = d["spec"]["template"]["metadata"].value("labels", json::object());
  std::vector<json> selecting;
  for (const auto& pdb : pdbs->items) {
    if (PdbSelects(pdb, labels)) selecting.push_back(pdb);
  }
  return RolloutStrategyWithinBudgets(strategy, d["spec"].value("replicas", int64_t{1}), selecting);
}

// Puts the original strategy back (no-op when it is already there).
Status RestoreStrategy(const ReschedulingDeps& deps, const std::string& key, const json& original) {
  size_t slash = key.find('/');
  auto updated = deps.kube->GetAndUpdate(kube::resources::kDeployments, key.substr(0, slash), key.substr(slash + 1),
                                         [&](json& d) -> Status {
                                           json want = original.value("strategy", json());
                                           if (want.is_null()) {  // the API server's default
                                             want = {{"type", "RollingUpdate"},
                                                     {"rollingUpdate", {{"maxSurge", "25%"}, {"maxUnavailable", "25%"}}}};
                                           }
                                           json have = d["spec"].value("strategy", json());
                                           if (have == want) return Status::Cancelled("unchanged");
                                           d["spec"]["strategy"] = want;
                                           return Status::OK();
                                         });
  if (!updated.ok() && updated.status().code() != Status::Code::kCancelled &&
      updated.status().code() != Status::Code::kNotFound) {
    return updated.status().WithContext("restore the rollout strategy of deployment " + key);
  }
  return Status::OK();
}

StatusOr<json> PatchDeployments(const ReschedulingDeps& deps, StepContext& ctx) {
  const std::string iteration = IterationValue(ctx.workflow_id());
  const json& intent = ctx.IntentInput();
  if (!intent.is_object() || !intent.contains("originals")) {
    return Status::Unavailable("deployment-patch: the intent holds no original specs" +
                                      (intent.is_object() && intent.contains("error")
                                           ? ": " + intent["error"].get<std::string>()
                                           : std::string()));
  }
  const json& originals = intent["originals"];
  json result = {{"iteration", iteration}, {"deployments", json::array()}, {"evicted", json::array()}};

  std::vector<std::string> keys;
  for (const auto& [k, v] : originals.items()) keys.push_back(k);
  const size_t batch = static_cast<size_t>(std::max(1, deps.config.rollout.max_concurrent));
  for (size_t start = 0; start < keys.size(); start += batch) {
    std::vector<std::string> wave(keys.begin() + start, keys.begin() + std::min(keys.size(), start + batch));
    for (const auto& key : wave) {
      KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
      KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
      auto [ns, name] = SplitKey(key);
      bool patched = false;
      auto current = deps.kube->Get(kube::resources::kDeployments, ns, name);
      if (!current.ok() && current.status().code() == Status::Code::kNotFound) {
        result["deployments"].push_back({{"deployment", key}, {"outcome", "gone"}});
        continue;
      }
      if (!current.ok()) return current.status().WithContext("deployment-patch: get deployment " + key);
      auto strategy = BoundedStrategy(deps, ns, *current, originals[key].value("strategy", json()));
      if (!strategy.ok()) return strategy.status().WithContext("deployment-patch: " + key);
      auto updated = deps.kube->GetAndUpdate(kube::resources::kDeployments, ns, name, [&](json& d) -> Status {
        json& tmpl = d["spec"]["template"];
        json& ann = tmpl["metadata"]["annotations"];
        if (ann.is_object() && ann.value(kIterationLabel, "") == iteration) return Status::Cancelled("already patched");
        if (!ann.is_object()) ann = json::object();
        ann[kIterationLabel] = iteration;
        d["spec"]["strategy"] = *strategy;
        json& spec = tmpl["spec"];
        spec["affinity"] = AffinityPreferringIteration(spec.value("affinity", json()), iteration);
        patched = true;
        return Status::OK();
      });
      if (!updated.ok() && updated.status().code() == Status::Code::kNotFound) {
        result["deployments"].push_back({{"deployment", key}, {"outcome", "gone"}});
        continue;
      }
      if (!updated.ok() && updated.status().code() != Status::Code::kCancelled) {
        return updated.status().WithContext("deployment-patch: patch deployment " + key);
      }
      if (patched && updated.ok()) {
        AnnounceEvent(deps, *updated, "Normal", "KinemaRollout",
                      "rolling update by " + ctx.workflow_id() + " to move pods off retiring nodes (preferred " +
                          kIterationLabel + "=" + iteration + ")");
      }
      spdlog::info("workflow {}: deployment {} {} (preferred affinity {}={})", ctx.workflow_id(), key,
                   patched ? "patched; rolling update started" : "already patched by this iteration", kIterationLabel,
                   iteration);
      ctx.Hook("deployment_patched");
    }
    // Wait for the wave to roll out.
    for (const auto& key : wave) {
      auto [ns, name] = SplitKey(key);
      auto deadline = ctx.DeadlineFor("rollout " + key, deps.config.rollout.timeout);
      if (!deadline.ok()) return deadline.status();
      std::string why;
      for (;;) {
        auto d = deps.kube->Get(kube::resources::kDeployments, ns, name);
        if (!d.ok() && d.status().code() == Status::Code::kNotFound) {
          why = "gone";
          break;
        }
        if (!d.ok()) return d.status().WithContext("deployment-patch: get deployment " + key);
        bool failed = false;
        if (DeploymentRolledOut(*d, &why, &failed)) break;
        if (failed) return Status::FailedPrecondition("deployment-patch: rollout of " + key + ": " + why);
        if (NowMs() >= *deadline) {
          return Status::DeadlineExceeded("deployment-patch: rollout of " + key + " not done within " +
                                          FormatDuration(deps.config.rollout.timeout) + ": " + why);
        }
        KINEMA_RETURN_IF_ERROR(ctx.Pause(std::chrono::milliseconds(1000)));
      }
      KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
      KINEMA_RETURN_IF_ERROR(RestoreStrategy(deps, key, originals[key]).WithContext("deployment-patch"));
      spdlog::info("workflow {}: deployment {} rolled out{}", ctx.workflow_id(), key, why.empty() ? "" : " (" + why + ")");
      result["deployments"].push_back({{"deployment", key}, {"outcome", why.empty() ? "rolled-out" : why}});
    }
  }

  // Pods not owned by a Deployment: the Eviction API (PDBs respected).
  auto work = WorkloadOnRetiringNodes(deps, RetiringFromLabeling(ctx));
  if (!work.ok()) return work.status().WithContext("deployment-patch");
  for (const auto& p : work->other_pods) {
    KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    kube::EvictOptions eo;
    eo.precondition_uid = p["metadata"].value("uid", "");
    eo.max_wait = std::chrono::milliseconds(std::min<int64_t>(deps.config.drain.timeout.count(), 120000));
    Status st = deps.kube->Evict(p["metadata"].value("namespace", ""), p["metadata"].value("name", ""), eo);
    if (!st.ok() && st.code() != Status::Code::kNotFound) {
      return st.WithContext("deployment-patch: evict pod " + Key(p));
    }
    spdlog::info("workflow {}: evicted pod {} (owner {} {})", ctx.workflow_id(), Key(p), ControllerOf(p).kind,
                 ControllerOf(p).name);
    result["evicted"].push_back(Key(p));
  }
  return result;
}

Status RestoreDeployments(const ReschedulingDeps& deps, StepContext& ctx) {
  const std::string iteration = IterationValue(ctx.workflow_id());
  const json& intent = ctx.IntentInput();
  if (!intent.is_object() || !intent.contains("originals")) return Status::OK();  // nothing was patched
  for (const auto& [key, original] : intent["originals"].items()) {
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    auto [ns, name] = SplitKey(key);
    bool restored = false;
    json strategy = original.value("strategy", json());
    auto current = deps.kube->Get(kube::resources::kDeployments, ns, name);
    if (current.ok()) {
      auto bounded = BoundedStrategy(deps, ns, *current, strategy);
      if (!bounded.ok()) return bounded.status().WithContext("compensate deployment-patch: " + key);
      strategy = *bounded;
    }
    auto updated = deps.kube->GetAndUpdate(kube::resources::kDeployments, ns, name, [&](json& d) -> Status {
      json& tmpl = d["spec"]["template"];
      json& ann = tmpl["metadata"]["annotations"];
      if (!ann.is_object() || ann.value(kIterationLabel, "") != iteration) return Status::Cancelled("not ours");
      if (original["iterationAnnotation"].is_null()) {
        ann.erase(kIterationLabel);
      } else {
        ann[kIterationLabel] = original["iterationAnnotation"];
      }
      if (original["affinity"].is_null()) {
        tmpl["spec"].erase("affinity");
      } else {
        tmpl["spec"]["affinity"] = original["affinity"];
      }
      // Restoring the template rolls the pods again, within the PDBs as
      // well; the original strategy comes back right after (below).
      if (!strategy.is_null()) d["spec"]["strategy"] = strategy;
      restored = true;
      return Status::OK();
    });
    if (!updated.ok() && updated.status().code() != Status::Code::kNotFound &&
        updated.status().code() != Status::Code::kCancelled) {
      return updated.status().WithContext("compensate deployment-patch: restore deployment " + key);
    }
    if (restored) spdlog::info("workflow {}: compensation restored deployment {}", ctx.workflow_id(), key);
    // Wait for that rollback rollout, then put the original strategy back.
    auto deadline = ctx.DeadlineFor("compensate rollout " + key, deps.config.rollout.timeout);
    if (!deadline.ok()) return deadline.status();
    for (;;) {
      auto d = deps.kube->Get(kube::resources::kDeployments, ns, name);
      if (!d.ok()) break;  // gone, or unreadable: the strategy restore below reports it
      std::string why;
      bool failed = false;
      if (DeploymentRolledOut(*d, &why, &failed) || failed || NowMs() >= *deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    KINEMA_RETURN_IF_ERROR(RestoreStrategy(deps, key, original).WithContext("compensate deployment-patch"));
  }
  return Status::OK();
}

}  // namespace

StepDefinition MakeDeploymentPatchStep(const ReschedulingDeps& deps) {
  StepDefinition s;
  s.name = "deployment-patch";
  s.retry.max_attempts = 3;
  s.intent_input = [deps](StepContext& ctx) -> json {
    const json& earlier = ctx.IntentInput();
    if (earlier.is_object() && earlier.contains("originals")) return earlier;  // first facts win
    auto work = WorkloadOnRetiringNodes(deps, RetiringFromLabeling(ctx));
    if (!work.ok()) return json{{"error", work.status().ToString()}};
    json originals = json::object();
    for (const auto& key : work->deployments) {
      auto [ns, name] = SplitKey(key);
      auto d = deps.kube->Get(kube::resources::kDeployments, ns, name);
      if (!d.ok()) return json{{"error", d.status().WithContext("get deployment " + key).ToString()}};
      originals[key] = OriginalOf(*d);
    }
    return json{{"originals", originals}};
  };
  s.run = [deps](StepContext& ctx) { return PatchDeployments(deps, ctx); };
  s.reconcile = s.run;
  s.compensate = [deps](StepContext& ctx, const json&) { return RestoreDeployments(deps, ctx); };
  return s;
}

}  // namespace kinema::rescheduling
