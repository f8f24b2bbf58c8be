// Node marking (shared execution step "labeling"): mark where pods should go
// and which nodes they must leave.
//
// Input (typed, from the kind): target nodes (pods should land there) and
// nodes to retire, plus a note for the Events.
// Effect:
//   - target nodes get kinema.io/iteration=<workflow> (replacing an earlier
//     workflow's value: labels never pile up);
//   - nodes to retire get kinema.io/retire=<workflow> and the NoSchedule
//     taint kinema.io/retire=<workflow>, so nothing new is scheduled there.
//     A node to retire that is gone, or that is protected by
//     kinema.io/do-not-disrupt since the plan, is skipped and said so.
// Every write is a read-modify-write with conflict retries, and a no-op when
// the mark is already there: run and reconcile are the same procedure.
// Intent input: the iteration labels the nodes carried before this step
// (first facts win across attempts), so compensation restores them.
// Result: per node the marks set, the previous iteration label, and for
// retiring nodes their uid and providerID (retirement needs them after the
// Node is gone).
// Compensation: removes the retire label and taint, restores the previous
// iteration label (or removes it).
// Thread-safety: the step is run by one thread; see ExecutionDeps.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "engine/workflow/workflow_type.h"
#include "steps/execute/execution_deps.h"

namespace kinema::execute {

inline constexpr const char* kLabelingStep = "labeling";

struct MarkRequest {
  std::vector<std::string> targets;   // nodes moved pods should land on
  std::vector<std::string> retiring;  // nodes to drain and retire
  std::string note;                   // appended to the KinemaRetiring Event ("plan 5.36 -> 1.74 $/h")
};

struct MarkedTarget {
  std::string node;
  std::string previous_label;  // the kinema.io/iteration value it had ("" = none)
};

struct RetiringNode {
  std::string node;
  std::string uid;          // the Node's uid when it was marked (deletes are preconditioned on it)
  std::string provider_id;  // "gce://project/zone/name"
  bool operator==(const RetiringNode&) const = default;
};

struct SkippedNode {
  std::string node;
  std::string why;
};

struct MarkResult {
  std::string iteration;  // the label value
  std::vector<MarkedTarget> targets;
  std::vector<RetiringNode> retiring;
  std::vector<SkippedNode> skipped;
  nlohmann::json ToJson() const;
  static StatusOr<MarkResult> FromJson(const nlohmann::json& j);
};

using MarkInput = std::function<StatusOr<MarkRequest>(StepContext&)>;
StepDefinition MakeLabelingStep(const ExecutionDeps& deps, MarkInput input);

}  // namespace kinema::execute
