// OptimizationResult: what the optimization step journals (step 2) and the
// decision, execution inputs and explanation read back typed.
//
// JSON fields (older journals carry a subset; absent fields take their zero
// value): plan (planning.md §3, plus target/budget for budgeted plans), gap,
// identity (ClusterIdentity), excludedPods, adjustedRequests, snapshot
// {nodes, pods, takenMs}, moves [{pod, from, to}] (every pod the plan moves,
// from the node it was on), budget {maxRetire, maxMoves, binding,
// keptYoungNodes}, prices (where the plan's prices came from: PriceSnapshot::
// Provenance() {source catalog|billing, fetchedAt, region, filePricedTypes,
// lastRefreshError}); an infeasible plan journals finishWorkflow "infeasible"
// and reason instead of a plan.
// Thread-safety: plain value.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "steps/optimize/plan.h"
#include "steps/rescheduling/decision.h"

namespace kinema::rescheduling {

inline constexpr const char* kOptimizationStep = "optimization";

struct PlannedMove {
  std::string pod;   // ns/name
  std::string from;  // "" when it was Pending
  std::string to;
};

// The budget the step planned within.
struct StepBudget {
  int64_t max_retire = -1;  // -1: unlimited
  int64_t max_moves = -1;
  std::string binding;      // what set max_retire (decision.maxNodesRetired or the shared budget)
  std::vector<std::string> kept_young_nodes;  // younger than decision.minNodeAge: not retired
};

struct OptimizationResult {
  std::optional<Plan> plan;    // absent when infeasible
  std::string infeasible_reason;
  double gap = -1;
  ClusterIdentity identity;
  int excluded_pods = 0;
  int adjusted_requests = 0;
  int snapshot_nodes = 0, snapshot_pods = 0;
  int64_t snapshot_taken_ms = 0;
  std::vector<PlannedMove> moves;
  StepBudget budget;
  nlohmann::json prices;  // price provenance (null in older journals)

  nlohmann::json ToJson() const;
  static StatusOr<OptimizationResult> FromJson(const nlohmann::json& j);
};

}  // namespace kinema::rescheduling
