// The Kinema rescheduling iteration as a durable workflow.
//
// Steps (seed "KINEMA"); 0-3 are this folder's, one file each, 4-7 the
// shared execution steps of steps/execute fed from the plan
// (plan_execution.h):
//   0 stability-wait   stability_wait_step.cc  (decision: stability.h)
//   1 prediction       prediction_step.cc
//   2 optimization     optimization_step.cc    (the optimizer: steps/optimize)
//   3 decision         decision_step.cc        (decision: decision.h)
//   4 node-boot        steps/execute/node_boot.h
//   5 labeling         steps/execute/node_marking.h
//   6 deployment-patch steps/execute/workload_move.h
//   7 drain-and-delete steps/execute/node_retirement.h
// In dry-run mode the decision step completes the iteration with outcome
// "dry_run" when it would otherwise proceed (nothing is mutated).
// Every step's result is journaled; iterations that end early complete with
// an outcome: unstable, infeasible, discarded, no_action, dry_run.
// Thread-safety: the dependencies must outlive the workflow type; the kube
// client is thread-safe.
#pragma once

#include "engine/catalog/catalog.h"
#include "engine/pricing/price_book.h"
#include "engine/cloud/cloud_provider.h"
#include "engine/config/controller_config.h"
#include "engine/kube/client.h"
#include "engine/workflow/workflow_type.h"
#include "steps/rescheduling/settings.h"

namespace kinema::rescheduling {

inline constexpr const char* kWorkflowType = "kinema-rescheduling";

struct ReschedulingDeps {
  kube::Client* kube = nullptr;
  cloud::CloudProvider* cloud = nullptr;  // may be null when no plan boots or deletes an instance
  const Catalog* catalog = nullptr;
  // pricing.source: the plan's prices (Current() once per plan) and their
  // provenance, journaled with the plan; null: *catalog's own prices.
  const pricing::PriceBook* prices = nullptr;
  ControllerConfig config;                // the global settings (cloud, exclusions, leader election, ...)
  ReschedulingSettings settings;          // this kind's own
  bool dry_run = true;
};

WorkflowType MakeReschedulingWorkflow(const ReschedulingDeps& deps);

// The individual steps (exposed for tests).
StepDefinition MakeStabilityWaitStep(const ReschedulingDeps& deps);
StepDefinition MakePredictionStep(const ReschedulingDeps& deps);
StepDefinition MakeOptimizationStep(const ReschedulingDeps& deps);
StepDefinition MakeDecisionStep(const ReschedulingDeps& deps);

}  // namespace kinema::rescheduling
