// The in-place resize cycle as a durable workflow (type inplace-resize,
// seed "Kubernetes Dynamic Resource Manager"), one file per step:
//   0 observe  observe_step.cc  managed pods, requests, limits, usage
//                               (metrics.k8s.io or Prometheus); journal-only
//   1 decide   decide_step.cc   the seed's policy (policy.h) over the
//                               observation and the usage history of earlier
//                               cycles in the journal (plan.h); journal-only
//   2 resize   resize_step.cc   per pod, through pods/resize only: claim,
//                               PATCH, kinema.io/last-resize annotation,
//                               Event; Deferred/Infeasible pods past
//                               resize.deferredTimeout are handed to
//                               kinema-rescheduling (ctx.RequestKind)
//   3 verify   verify_step.cc   polls (with backoff) until the kubelet
//                               actuated each resize or reported it
//                               Deferred/Infeasible; journaled per pod
//   4 persist  persist_step.cc  resize.persist: template — the actuated
//                               values into the owners' pod templates
//                               (a rollout, claimed from the budget)
// Nothing to do ends the workflow after `decide` with outcome no_action; in
// dry-run mode with outcome dry_run.
// Thread-safety: the dependencies must outlive the workflow type.
#pragma once

#include "engine/config/controller_config.h"
#include "engine/kube/client.h"
#include "engine/workflow/workflow_type.h"
#include "steps/resize/settings.h"

namespace kinema::resize {

inline constexpr const char* kWorkflowType = "inplace-resize";
inline constexpr const char* kObserveStep = "observe";
inline constexpr const char* kDecideStep = "decide";
inline constexpr const char* kResizeStep = "resize";
inline constexpr const char* kVerifyStep = "verify";
inline constexpr const char* kPersistStep = "persist";
// The kind a Deferred scale-up is handed to, and the key of its input.
inline constexpr const char* kReschedulingType = "kinema-rescheduling";

struct ResizeDeps {
  kube::Client* kube = nullptr;
  ControllerConfig config;
  ResizeSettings settings;
  Duration interval{30000};
  bool dry_run = false;
};

WorkflowType MakeResizeWorkflow(const ResizeDeps& deps);

StepDefinition MakeObserveStep(const ResizeDeps& deps);
StepDefinition MakeDecideStep(const ResizeDeps& deps);
StepDefinition MakeResizeStep(const ResizeDeps& deps);
StepDefinition MakeVerifyStep(const ResizeDeps& deps);
StepDefinition MakePersistStep(const ResizeDeps& deps);

}  // namespace kinema::resize
