// The Kinema rescheduling iteration as a durable workflow.
//
// Steps (one file each, seed "KINEMA"):
//   0 stability-wait   stability_wait_step.cc  (decision: stability.h)
//   1 prediction       prediction_step.cc
//   2 optimization     optimization_step.cc    (the optimizer: steps/optimize)
//   3 decision         decision_step.cc        (decision: decision.h)
//   4.. node boot, labeling, deployment patch, drain-and-delete: not in this
//       build yet. Until they land the controller runs in dry-run mode only:
//       the decision step completes the iteration with outcome "dry_run"
//       when it would otherwise proceed.
// Every step's result is journaled; iterations that end early complete with
// an outcome: unstable, infeasible, discarded, no_action, dry_run.
// Thread-safety: the dependencies must outlive the workflow type; the kube
// client is thread-safe.
#pragma once

#include "engine/catalog/catalog.h"
#include "engine/config/controller_config.h"
#include "engine/kube/client.h"
#include "engine/workflow/workflow_type.h"

namespace kinema::rescheduling {

inline constexpr const char* kWorkflowType = "kinema-rescheduling";

struct ReschedulingDeps {
  kube::Client* kube = nullptr;
  const Catalog* catalog = nullptr;
  ControllerConfig config;
  bool dry_run = true;
};

WorkflowType MakeReschedulingWorkflow(const ReschedulingDeps& deps);

// The individual steps (exposed for tests).
StepDefinition MakeStabilityWaitStep(const ReschedulingDeps& deps);
StepDefinition MakePredictionStep(const ReschedulingDeps& deps);
StepDefinition MakeOptimizationStep(const ReschedulingDeps& deps);
StepDefinition MakeDecisionStep(const ReschedulingDeps& deps);

}  // namespace kinema::rescheduling
