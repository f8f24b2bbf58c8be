// The spot-rescheduling cycle as a durable workflow (seed "K8s Spot
// Rescheduler"): move pods that need no on-demand capacity off on-demand
// nodes into spot capacity, one node at a time by default.
//
// Steps (one file each; decisions in spot_plan.h, node_classes.h):
//   0 spot-plan        plan_step.cc    snapshot → SpotPlan (journal only). Dry
//                                       run: completes with outcome dry_run.
//                                       Nothing to drain and no taint to
//                                       change: completes with outcome
//                                       no_action (the workflow stays
//                                       journal-only, so retention prunes it).
//   1 on-demand-taint  taint_step.cc   kinema.io/on-demand=true:PreferNoSchedule
//                                       on on-demand nodes, removed elsewhere
//                                       (spot.taintOnDemand false: removed
//                                       everywhere). Journaled: intent = the
//                                       planned changes; compensation removes
//                                       the taints it added.
//   2 spot-claim       claim_step.cc   claims the drain candidates from the
//                                       shared budget in plan order, each node
//                                       with its pods all or nothing, up to
//                                       spot.maxNodesPerCycle. Nothing granted:
//                                       completes with outcome no_action and why.
//   3 node-boot        steps/execute/node_boot.h (spot.bootSpot): the plan's
//                                       new spot node (spot_boot.h), when its
//                                       on-demand node was granted, through
//                                       the cloud provider (gce or gke);
//                                       journaled intent (every attempt's
//                                       key) before the first cloud call;
//                                       waits until the Node is Ready. No
//                                       boot planned: does nothing. An abort
//                                       retires the booted node unless it
//                                       hosts pods.
//   4 labeling         steps/execute/node_marking.h: retire label + NoSchedule
//                                       taint on the granted nodes, iteration
//                                       label on the spot nodes planned to
//                                       receive their pods (the booted one by
//                                       its real name)
//   5 spot-recheck     recheck_step.cc fresh snapshot: Pending pods make it wait
//                                       (at most spot.pendingTimeout); a node
//                                       whose pods no longer all fit on spot (a
//                                       spot node was preempted) is kept and
//                                       unmarked; nothing left: no_action
//   6 deployment-patch steps/execute/workload_move.h: Deployments with pods on
//                                       the nodes roll within their own
//                                       guarantee and PDBs (a rollout, with a
//                                       surge when no pod may be unavailable),
//                                       preferring the planned spot nodes
//   7 drain-and-delete steps/execute/node_retirement.h: PDB-respecting
//                                       evictions of what is left (the
//                                       rollout leaves non-Deployment pods
//                                       to it); before each eviction the
//                                       spot fit is
//                                       re-checked (drain_recheck.cc): Pending
//                                       pods make it wait (at most
//                                       spot.pendingTimeout), a lost fit stops
//                                       the node's drain and keeps it.
//                                       afterDrain delete: Node and instance
//                                       deleted.
//   8 release-drained  release_step.cc afterDrain keep: the drained nodes lose
//                                       the retire label and taint (schedulable
//                                       again, for an autoscaler to remove).
// Thread-safety: the dependencies must outlive the workflow type.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "engine/catalog/catalog.h"
#include "engine/cloud/cloud_provider.h"
#include "engine/config/controller_config.h"
#include "engine/kube/client.h"
#include "engine/workflow/workflow_type.h"
#include "steps/execute/node_boot.h"
#include "steps/execute/node_retirement.h"
#include "steps/spot/settings.h"
#include "steps/spot/spot_plan.h"

namespace kinema::spot {

inline constexpr const char* kWorkflowType = "spot-rescheduling";
inline constexpr const char* kDisruptionReason = "spot";
inline constexpr const char* kPlanStep = "spot-plan";
inline constexpr const char* kTaintStep = "on-demand-taint";
inline constexpr const char* kClaimStep = "spot-claim";
inline constexpr const char* kRecheckStep = "spot-recheck";
inline constexpr const char* kReleaseStep = "release-drained";

struct SpotDeps {
  kube::Client* kube = nullptr;
  cloud::CloudProvider* cloud = nullptr;  // needed only with afterDrain: delete of cloud nodes
  const Catalog* catalog = nullptr;       // may be null (no catalog spot labels)
  ControllerConfig config;
  SpotSettings settings;
  bool dry_run = false;
};

// Result of spot-plan.
struct PlanStepResult {
  SpotPlan plan;
  int64_t snapshot_nodes = 0;
  int64_t taken_ms = 0;
  // The on-demand taint changes the snapshot calls for (what
  // on-demand-taint will do, unless the cluster changes meanwhile).
  std::vector<std::string> taint_add, taint_remove;
  nlohmann::json ToJson() const;
  static StatusOr<PlanStepResult> FromJson(const nlohmann::json& j);
};

// Result of on-demand-taint.
struct TaintResult {
  std::vector<std::string> tainted;    // taint added
  std::vector<std::string> untainted;  // taint removed
  std::vector<std::string> gone;       // nodes that vanished meanwhile
  nlohmann::json ToJson() const;
  static StatusOr<TaintResult> FromJson(const nlohmann::json& j);
};

// Result of spot-claim.
struct ClaimResult {
  std::vector<std::string> granted;  // nodes to drain, in plan order
  struct Refused {
    std::string node;
    std::string why;
  };
  std::vector<Refused> refused;
  int64_t allowed_nodes = -1;  // the budget's node allowance (-1: no ledger)
  std::string binding;
  nlohmann::json ToJson() const;
  static StatusOr<ClaimResult> FromJson(const nlohmann::json& j);
};

// Result of spot-recheck.
struct RecheckResult {
  std::vector<execute::RetiringNode> proceed;  // nodes still to empty, as marked
  struct Kept {
    std::string node;
    std::string why;
  };
  std::vector<Kept> kept;  // unmarked: their pods no longer all fit on spot
  nlohmann::json ToJson() const;
  static StatusOr<RecheckResult> FromJson(const nlohmann::json& j);
};

// Result of release-drained.
struct ReleaseResult {
  std::vector<std::string> released;  // drained nodes made schedulable again
  nlohmann::json ToJson() const;
  static StatusOr<ReleaseResult> FromJson(const nlohmann::json& j);
};

WorkflowType MakeSpotWorkflow(const SpotDeps& deps);

StepDefinition MakePlanStep(const SpotDeps& deps);
StepDefinition MakeTaintStep(const SpotDeps& deps);
StepDefinition MakeClaimStep(const SpotDeps& deps);
StepDefinition MakeRecheckStep(const SpotDeps& deps);
StepDefinition MakeReleaseStep(const SpotDeps& deps);
// The drain re-check handed to the shared drain-and-delete step.
execute::DrainRecheck MakeDrainRecheck(const SpotDeps& deps);

// Why a cycle drains nothing (no candidates, or every one refused).
std::string NothingToDrain(const SpotPlan& plan, const std::vector<std::pair<std::string, std::string>>& refused);

// spot.bootSpot: what node-boot boots — the plan's new spot node when its
// on-demand node was granted, else nothing (node-boot then does nothing).
execute::BootRequest BootRequestFor(const SpotPlan& plan, const std::vector<std::string>& granted,
                                    const std::string& instance_prefix, const std::string& workflow_id);

// The plan inputs of these deps at `now_ms`.
PlanInputs PlanInputsOf(const SpotDeps& deps, int64_t now_ms);

}  // namespace kinema::spot
