// The load-rebalancing cycle as a durable workflow (seed "Kubernetes
// Descheduler with Prometheus Integration"), type `load-rebalancing`.
//
// Steps, one file each; decisions in decision.h, scores.h, eviction.h:
//   0 read-scores  read_scores_step.cc  rebalance.query, one score per node
//                                       (journal-only)
//   1 choose-pods  choose_pods_step.cc  snapshot + metrics.k8s.io usage +
//                                       the journal's earlier evictions ->
//                                       classes, choices, skips, ping-pongs
//                                       (journal-only)
//   2 evict        evict_step.cc        claim the pods from the shared
//                                       ledger, evict within the limits
//                                       (PDBs), track background evictions
//                                       (VM live migrations) to completion
// Cycles that end early complete with an outcome: no_scores (Prometheus
// not configured or failing), no_action (a class is empty, or no pod can
// move), dry_run.
// Thread-safety: the dependencies must outlive the workflow type.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "engine/config/controller_config.h"
#include "engine/kube/client.h"
#include "engine/workflow/workflow_type.h"
#include "steps/rebalance/decision.h"
#include "steps/rebalance/settings.h"

namespace kinema::rebalance {

inline constexpr const char* kWorkflowType = "load-rebalancing";
inline constexpr const char* kDisruptionReason = "rebalance";
inline constexpr const char* kReadScoresStep = "read-scores";
inline constexpr const char* kChoosePodsStep = "choose-pods";
inline constexpr const char* kEvictStep = "evict";

struct RebalanceDeps {
  kube::Client* kube = nullptr;
  ControllerConfig config;
  RebalanceSettings settings;
  bool dry_run = true;
};

// The choose-pods step's result.
struct ChooseResult {
  Classification classes;
  ChoiceResult choice;
  int64_t node_count = 0;            // nodes in the cluster (the budgets' base)
  EvictionLimits limits{2, 5, 5};    // the cycle's eviction limits (rebalance.evictionLimits)
  std::vector<std::string> unselected;  // scored nodes outside rebalance.nodeSelector or the cluster
  std::string usage_source;          // "metrics.k8s.io", or why usage is missing
  std::string finish;                // outcome when the cycle ends here ("" = go on)
  std::string reason;
  nlohmann::json ToJson() const;
  static StatusOr<ChooseResult> FromJson(const nlohmann::json& j);
};

WorkflowType MakeRebalanceWorkflow(const RebalanceDeps& deps);
StepDefinition MakeReadScoresStep(const RebalanceDeps& deps);
StepDefinition MakeChoosePodsStep(const RebalanceDeps& deps);
StepDefinition MakeEvictStep(const RebalanceDeps& deps);

// Pod usage from a metrics.k8s.io PodMetricsList (sum over containers);
// malformed items are skipped.
std::map<std::string, PodUsage> PodUsageFromMetrics(const nlohmann::json& list);

}  // namespace kinema::rebalance
