// Workload move: the effects (see workload_move.h for the contract).
#include <spdlog/spdlog.h>

#include <map>
#include <set>
#include <thread>

#include "engine/kube/object.h"
#include "engine/workflow/step_context.h"
#include "steps/execute/disruption_policy.h"
#include "steps/execute/marks.h"
#include "steps/execute/workload_move.h"

namespace kinema::execute {

namespace {

using nlohmann::json;

constexpr const char* kOriginals = "originals";

std::pair<std::string, std::string> SplitKey(const std::string& key) {
  size_t slash = key.find('/');
  return {key.substr(0, slash), key.substr(slash + 1)};
}

struct Workload {
  std::vector<std::string> deployments;  // ns/name
  std::vector<json> other_pods;          // pods to evict
};

// Pods on retiring nodes, grouped by what moves them.
StatusOr<Workload> WorkloadOnNodes(const ExecutionDeps& deps, const std::set<std::string>& retiring) {
  Workload w;
  if (retiring.empty()) return w;
  auto pods = deps.kube->List(kube::resources::kPods, "");
  if (!pods.ok()) return pods.status().WithContext("list pods");
  auto rss = deps.kube->List(kube::resources::kReplicaSets, "");
  if (!rss.ok()) return rss.status().WithContext("list replicasets");
  std::map<std::string, std::string> rs_deployment;  // ns/rs -> deployment name ("" if none)
  for (const auto& rs : rss->items) {
    rs_deployment[kube::obj::Key(rs)] =
        kube::obj::ControllerKind(rs) == "Deployment" ? kube::obj::ControllerName(rs) : std::string();
  }
  std::set<std::string> deployments;
  const int64_t now = NowMs();
  for (const auto& p : pods->items) {
    if (!retiring.count(kube::pod::NodeName(p)) || kube::pod::IsFinished(p) || kube::pod::IsDaemonSetPod(p)) continue;
    if (!WhyPodCannotMove(p, now).empty()) continue;  // the drain step reports it
    std::string ns = kube::obj::Namespace(p);
    if (kube::obj::ControllerKind(p) == "ReplicaSet") {
      auto it = rs_deployment.find(ns + "/" + kube::obj::ControllerName(p));
      if (it != rs_deployment.end() && !it->second.empty()) {
        deployments.insert(ns + "/" + it->second);
        continue;
      }
    }
    w.other_pods.push_back(p);
  }
  w.deployments.assign(deployments.begin(), deployments.end());
  return w;
}

StatusOr<Workload> WorkloadOfRequest(const ExecutionDeps& deps, const MoveInput& input, StepContext& ctx) {
  auto req = input(ctx);
  if (!req.ok()) return req.status();
  return WorkloadOnNodes(deps, std::set<std::string>(req->retiring_nodes.begin(), req->retiring_nodes.end()));
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
// the PDBs of its namespace that select its pods.
StatusOr<json> BoundedStrategy(const ExecutionDeps& deps, const std::string& ns, const json& d, const json& strategy) {
  auto pdbs = deps.kube->List(kube::resources::kPodDisruptionBudgets, ns);
  if (!pdbs.ok()) return pdbs.status().WithContext("list poddisruptionbudgets in " + ns);
  json labels = d["spec"]["template"]["metadata"].value("labels", json::object());
  std::vector<json> selecting;
  for (const auto& pdb : pdbs->items) {
    if (kube::pdb::Selects(pdb, labels)) selecting.push_back(pdb);
  }
  return RolloutStrategyWithinBudgets(strategy, d["spec"].value("replicas", int64_t{1}), selecting);
}

// Puts the original strategy back (no-op when it is already there).
Status RestoreStrategy(const ExecutionDeps& deps, const std::string& key, const json& original) {
  auto [ns, name] = SplitKey(key);
  auto updated = deps.kube->GetAndUpdate(kube::resources::kDeployments, ns, name, [&](json& d) -> Status {
    json want = original.value("strategy", json());
    if (want.is_null()) {  // the API server's default
      want = {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", "25%"}, {"maxUnavailable", "25%"}}}};
    }
    if (d["spec"].value("strategy", json()) == want) return Status::Cancelled("unchanged");
    d["spec"]["strategy"] = want;
    return Status::OK();
  });
  if (!updated.ok() && updated.status().code() != Status::Code::kCancelled &&
      updated.status().code() != Status::Code::kNotFound) {
    return updated.status().WithContext("restore the rollout strategy of deployment " + key);
  }
  return Status::OK();
}

// Patches one Deployment's template for the move. *outcome is "gone" when
// it no longer exists.
Status PatchOne(const ExecutionDeps& deps, StepContext& ctx, const std::string& key, const json& original,
                const std::string& iteration, std::string* outcome) {
  auto [ns, name] = SplitKey(key);
  auto current = deps.kube->Get(kube::resources::kDeployments, ns, name);
  if (!current.ok() && current.status().code() == Status::Code::kNotFound) {
    *outcome = "gone";
    return Status::OK();
  }
  if (!current.ok()) return current.status().WithContext("deployment-patch: get deployment " + key);
  auto strategy = BoundedStrategy(deps, ns, *current, original.value("strategy", json()));
  if (!strategy.ok()) return strategy.status().WithContext("deployment-patch: " + key);
  bool patched = false;
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
    *outcome = "gone";
    return Status::OK();
  }
  if (!updated.ok() && updated.status().code() != Status::Code::kCancelled) {
    return updated.status().WithContext("deployment-patch: patch deployment " + key);
  }
  if (patched && updated.ok()) {
    AnnounceEvent(deps.kube, *updated, "Normal", "KinemaRollout",
                  "rolling update by " + ctx.workflow_id() + " to move pods off retiring nodes (preferred " +
                      kIterationLabel + "=" + iteration + ")");
  }
  spdlog::info("workflow {}: deployment {} {} (preferred affinity {}={})", ctx.workflow_id(), key,
               patched ? "patched; rolling update started" : "already patched by this workflow", kIterationLabel,
               iteration);
  ctx.Hook("deployment_patched");
  return Status::OK();
}

// Waits until the Deployment has rolled out; *why is "gone" when it went away.
Status AwaitRollout(const ExecutionDeps& deps, StepContext& ctx, const std::string& key, std::string* why) {
  auto [ns, name] = SplitKey(key);
  auto deadline = ctx.DeadlineFor("rollout " + key, deps.settings.rollout_timeout);
  if (!deadline.ok()) return deadline.status();
  for (;;) {
    auto d = deps.kube->Get(kube::resources::kDeployments, ns, name);
    if (!d.ok() && d.status().code() == Status::Code::kNotFound) {
      *why = "gone";
      return Status::OK();
    }
    if (!d.ok()) return d.status().WithContext("deployment-patch: get deployment " + key);
    bool failed = false;
    if (DeploymentRolledOut(*d, why, &failed)) return Status::OK();
    if (failed) return Status::FailedPrecondition("deployment-patch: rollout of " + key + ": " + *why);
    if (NowMs() >= *deadline) {
      return Status::DeadlineExceeded("deployment-patch: rollout of " + key + " not done within " +
                                      FormatDuration(deps.settings.rollout_timeout) + ": " + *why);
    }
    KINEMA_RETURN_IF_ERROR(ctx.Pause(std::chrono::milliseconds(1000)));
  }
}

// Pods not owned by a Deployment: the Eviction API (PDBs respected).
Status EvictOthers(const ExecutionDeps& deps, StepContext& ctx, const std::vector<json>& pods, MoveResult* result) {
  for (const auto& p : pods) {
    KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    kube::EvictOptions eo;
    eo.precondition_uid = kube::obj::Uid(p);
    eo.max_wait = std::chrono::milliseconds(std::min<int64_t>(deps.settings.drain_timeout.count(), 120000));
    Status st = deps.kube->Evict(kube::obj::Namespace(p), kube::obj::Name(p), eo);
    if (!st.ok() && st.code() != Status::Code::kNotFound) {
      return st.WithContext("deployment-patch: evict pod " + kube::obj::Key(p));
    }
    spdlog::info("workflow {}: evicted pod {} (owner {} {})", ctx.workflow_id(), kube::obj::Key(p),
                 kube::obj::ControllerKind(p), kube::obj::ControllerName(p));
    result->evicted.push_back(kube::obj::Key(p));
  }
  return Status::OK();
}

StatusOr<json> PatchDeployments(const ExecutionDeps& deps, const MoveInput& input, StepContext& ctx) {
  const std::string iteration = IterationValue(ctx.workflow_id());
  const json& intent = ctx.IntentInput();
  if (!intent.is_object() || !intent.contains(kOriginals) || !intent[kOriginals].is_object()) {
    return Status::Unavailable("deployment-patch: the intent holds no original specs" +
                               (intent.is_object() && intent.contains("error") && intent["error"].is_string()
                                    ? ": " + intent["error"].get<std::string>()
                                    : std::string()));
  }
  const json& originals = intent[kOriginals];
  MoveResult result;
  result.iteration = iteration;
  std::vector<std::string> keys;
  for (const auto& [k, v] : originals.items()) keys.push_back(k);
  const size_t batch = static_cast<size_t>(std::max(1, deps.settings.rollout_max_concurrent));
  for (size_t start = 0; start < keys.size(); start += batch) {
    std::vector<std::string> wave(keys.begin() + start, keys.begin() + std::min(keys.size(), start + batch));
    std::set<std::string> gone;
    for (const auto& key : wave) {
      KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
      KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
      std::string outcome;
      KINEMA_RETURN_IF_ERROR(PatchOne(deps, ctx, key, originals[key], iteration, &outcome));
      if (outcome == "gone") gone.insert(key);
    }
    for (const auto& key : wave) {
      if (gone.count(key)) {
        result.deployments.push_back({key, "gone"});
        continue;
      }
      std::string why;
      KINEMA_RETURN_IF_ERROR(AwaitRollout(deps, ctx, key, &why));
      KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
      KINEMA_RETURN_IF_ERROR(RestoreStrategy(deps, key, originals[key]).WithContext("deployment-patch"));
      spdlog::info("workflow {}: deployment {} rolled out{}", ctx.workflow_id(), key, why.empty() ? "" : " (" + why + ")");
      result.deployments.push_back({key, why.empty() ? "rolled-out" : why});
    }
  }
  auto work = WorkloadOfRequest(deps, input, ctx);
  if (!work.ok()) return work.status().WithContext("deployment-patch");
  KINEMA_RETURN_IF_ERROR(EvictOthers(deps, ctx, work->other_pods, &result));
  return result.ToJson();
}

Status RestoreOne(const ExecutionDeps& deps, StepContext& ctx, const std::string& key, const json& original,
                  const std::string& iteration) {
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
    // Restoring the template rolls the pods again, within the PDBs as well;
    // the original strategy comes back right after (below).
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
  auto deadline = ctx.DeadlineFor("compensate rollout " + key, deps.settings.rollout_timeout);
  if (!deadline.ok()) return deadline.status();
  for (;;) {
    auto d = deps.kube->Get(kube::resources::kDeployments, ns, name);
    if (!d.ok()) break;  // gone, or unreadable: the strategy restore below reports it
    std::string why;
    bool failed = false;
    if (DeploymentRolledOut(*d, &why, &failed) || failed || NowMs() >= *deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return RestoreStrategy(deps, key, original).WithContext("compensate deployment-patch");
}

Status RestoreDeployments(const ExecutionDeps& deps, StepContext& ctx) {
  const std::string iteration = IterationValue(ctx.workflow_id());
  const json& intent = ctx.IntentInput();
  if (!intent.is_object() || !intent.contains(kOriginals) || !intent[kOriginals].is_object()) {
    return Status::OK();  // nothing was patched
  }
  for (const auto& [key, original] : intent[kOriginals].items()) {
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    if (!original.is_object()) continue;
    KINEMA_RETURN_IF_ERROR(RestoreOne(deps, ctx, key, original, iteration));
  }
  return Status::OK();
}

}  // namespace

StepDefinition MakeDeploymentPatchStep(const ExecutionDeps& deps, MoveInput input) {
  StepDefinition s;
  s.name = kDeploymentPatchStep;
  s.retry.max_attempts = 3;
  s.intent_input = [deps, input](StepContext& ctx) -> json {
    const json& earlier = ctx.IntentInput();
    if (earlier.is_object() && earlier.contains(kOriginals)) return earlier;  // first facts win
    auto work = WorkloadOfRequest(deps, input, ctx);
    if (!work.ok()) return json{{"error", work.status().ToString()}};
    json originals = json::object();
    for (const auto& key : work->deployments) {
      auto [ns, name] = SplitKey(key);
      auto d = deps.kube->Get(kube::resources::kDeployments, ns, name);
      if (!d.ok()) return json{{"error", d.status().WithContext("get deployment " + key).ToString()}};
      originals[key] = OriginalOf(*d);
    }
    return json{{kOriginals, originals}};
  };
  s.run = [deps, input](StepContext& ctx) { return PatchDeployments(deps, input, ctx); };
  s.reconcile = s.run;
  s.compensate = [deps](StepContext& ctx, const json&) { return RestoreDeployments(deps, ctx); };
  return s;
}

}  // namespace kinema::execute
