// Workload move (shared execution step "deployment-patch"): move the pods
// off the nodes being retired, within every budget their owners declare.
//
// Input (typed, from the kind): the nodes being retired.
// Intent input (journaled BEFORE any patch, carried across retries and
// restarts): every Deployment with pods on those nodes and its original
// pod-template affinity, kinema.io/iteration annotation and strategy, so
// abort can restore it exactly.
// Effect, per Deployment (at most settings.rollout_max_concurrent at once):
// one update of the pod template — the controller's single preferred
// node-affinity term on kinema.io/iteration=<workflow> (replacing an earlier
// term) and the template annotation kinema.io/iteration=<workflow> — which
// starts an ordinary rolling update; the retire taint keeps new pods off
// retiring nodes. A rollout is not an eviction — PodDisruptionBudgets do not
// gate it — so the strategy for the move is RolloutStrategyWithinBudgets():
// the rollout never breaks a PDB nor the Deployment's own guarantee, and each
// old pod's place is freed before its replacement is created. The original
// strategy is put back once the Deployment has rolled out. Recreate
// Deployments keep their strategy.
// Then wait until it has rolled out (settings.rollout_timeout, a durable
// deadline per Deployment; ProgressDeadlineExceeded fails the step, which
// pauses the workflow for an operator).
// Pods on retiring nodes not owned by a Deployment (StatefulSet, bare
// ReplicaSet, ...) are evicted through the Eviction API: PDBs respected.
// A template already carrying this workflow's annotation is not patched
// again: run and reconcile are the same procedure.
// Compensation: Deployments whose template carries this workflow's
// annotation get their original affinity and annotation back (rolled
// within their PDBs), then their original strategy.
// Thread-safety: the step is run by one thread; see ExecutionDeps.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "engine/workflow/workflow_type.h"
#include "steps/execute/execution_deps.h"

namespace kinema::execute {

inline constexpr const char* kDeploymentPatchStep = "deployment-patch";

struct MoveRequest {
  std::vector<std::string> retiring_nodes;
};

struct MovedDeployment {
  std::string deployment;  // ns/name
  std::string outcome;     // "rolled-out" | "gone"
};

struct MoveResult {
  std::string iteration;
  std::vector<MovedDeployment> deployments;
  std::vector<std::string> evicted;  // ns/name of pods evicted
  nlohmann::json ToJson() const;
  static StatusOr<MoveResult> FromJson(const nlohmann::json& j);
};

using MoveInput = std::function<StatusOr<MoveRequest>(StepContext&)>;
StepDefinition MakeDeploymentPatchStep(const ExecutionDeps& deps, MoveInput input);

// ---------------------------------------------------------------- pure decisions

// The RollingUpdate strategy a move uses for a Deployment with `replicas`
// replicas whose pods the given PDBs select: maxUnavailable = the smaller of
// the Deployment's own and what the tightest PDB allows at full health, so a
// rollout is never a PDB violation; maxSurge 0 when maxUnavailable >= 1
// (each pod's place is freed before its replacement is created, so the move
// needs no capacity the plan did not reserve), else the Deployment's, at
// least 1. A Recreate strategy is returned unchanged.
nlohmann::json RolloutStrategyWithinBudgets(const nlohmann::json& strategy, int64_t replicas,
                                            const std::vector<nlohmann::json>& pdbs);

// True when the Deployment has finished rolling out its current template:
// observedGeneration >= generation, and updated, ready, available and total
// replicas all equal spec.replicas. Otherwise *why says what is missing.
// ProgressDeadlineExceeded sets *failed.
bool DeploymentRolledOut(const nlohmann::json& deployment, std::string* why, bool* failed);

}  // namespace kinema::execute
