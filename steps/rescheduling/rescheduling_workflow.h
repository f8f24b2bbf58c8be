// The Kinema rescheduling iteration as a durable workflow.
//
// Steps (one file each, seed "KINEMA"):
//   0 stability-wait   stability_wait_step.cc  (decision: stability.h)
//   1 prediction       prediction_step.cc
//   2 optimization     optimization_step.cc    (the optimizer: steps/optimize)
//   3 decision         decision_step.cc        (decision: decision.h)
//   4 node-boot        node_boot_step.cc       (decisions: execution.h)
//   5 labeling         labeling_step.cc
//   6 deployment-patch deployment_patch_step.cc
//   7 drain-and-delete drain_delete_step.cc
// In dry-run mode the decision step completes the iteration with outcome
// "dry_run" when it would otherwise proceed (nothing is mutated).
// Every step's result is journaled; iterations that end early complete with
// an outcome: unstable, infeasible, discarded, no_action, dry_run.
// Thread-safety: the dependencies must outlive the workflow type; the kube
// client is thread-safe.
#pragma once

#include "engine/catalog/catalog.h"
#include "engine/cloud/cloud_provider.h"
#include "engine/config/controller_config.h"
#include "engine/kube/client.h"
#include "engine/workflow/workflow_type.h"

namespace kinema::rescheduling {

inline constexpr const char* kWorkflowType = "kinema-rescheduling";

struct ReschedulingDeps {
  kube::Client* kube = nullptr;
  cloud::CloudProvider* cloud = nullptr;  // may be null when no plan boots or deletes an instance
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
StepDefinition MakeNodeBootStep(const ReschedulingDeps& deps);
StepDefinition MakeLabelingStep(const ReschedulingDeps& deps);
StepDefinition MakeDeploymentPatchStep(const ReschedulingDeps& deps);
StepDefinition MakeDrainDeleteStep(const ReschedulingDeps& deps);

}  // namespace kinema::rescheduling
