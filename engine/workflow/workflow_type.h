// WorkflowType: an ordered list of named steps, and the registry of types.
//
// Each step declares:
//   run        — performs the step. Called after its INTENT is durable. Must
//                use ctx.idempotency_key() (or preconditions) for any effect
//                outside the journal, and call ctx.Checkpoint() inside long
//                loops.
//   reconcile  — called instead of run when the journal holds an intent
//                without a result (the process died mid-step): look at the
//                world, finish what is missing, return the result. Never a
//                blind re-execution. Steps with no effects outside the
//                journal may use ReconcileByRerunning.
//   compensate — undoes the step on abort (optional). Runs for steps that
//                succeeded or were interrupted, in reverse order; must be
//                idempotent and tolerate a partially applied step.
//   intent_input — optional: the inputs recorded in the intent (audit).
//   journal_only — the step has no effect outside the journal (pure
//                computation, durable waits). A workflow whose every
//                started step is journal-only may be pruned after
//                journal.retention; any other step keeps it for good.
// A step result that is a JSON object with "finishWorkflow": "<outcome>"
// (and optionally "reason") completes the workflow right after that step;
// the remaining steps are recorded as skipped.
// Invariant: step names are unique within a type; positions are what the
// determinism guard compares against the journal.
// Thread-safety: immutable after registration.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "engine/workflow/retry_policy.h"

namespace kinema {

class StepContext;

using StepFunction = std::function<StatusOr<nlohmann::json>(StepContext&)>;
using CompensateFunction = std::function<Status(StepContext&, const nlohmann::json& result)>;

struct StepDefinition {
  std::string name;
  StepFunction run;
  StepFunction reconcile;
  CompensateFunction compensate;  // may be empty: nothing to undo
  RetryPolicy retry;
  std::function<nlohmann::json(StepContext&)> intent_input;  // may be empty
  bool journal_only = false;  // see above; ReconcileByRerunning steps usually are
};

// For steps whose only effects are in the journal (pure computation, durable
// waits): re-running them is their reconcile.
StepFunction ReconcileByRerunning(StepFunction run);

struct WorkflowType {
  std::string name;
  std::vector<StepDefinition> steps;
};

class WorkflowRegistry {
 public:
  // InvalidArgument on a duplicate type or step name, or a step without run
  // or reconcile.
  Status Register(WorkflowType type);
  const WorkflowType* Find(const std::string& name) const;

 private:
  std::map<std::string, WorkflowType> types_;
};

}  // namespace kinema
