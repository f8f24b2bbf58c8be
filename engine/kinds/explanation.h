// Explanation: why a workflow did what it did, from the journal alone
// (`kinemactl explain ID`, operations.md "kinemactl additions"). Every kind
// explains its workflows in this one shape; kind-specific facts go in
// `extra`.
//
// JSON: {id, type, outcome, summary, nodes:[{name, action, reason,
// pricePerHour}], moves:[{pod, from, to}], budget:{allowedNodes,
// allowedPods, binding, targetCostPerHour}, ...extra}.
// Thread-safety: plain values.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/workflow_view.h"

namespace kinema {

struct NodeExplanation {
  std::string name;
  std::string action;  // keep, boot, retire, drain, kept, skipped, ...
  std::string reason;
  std::optional<double> price_per_hour;
};

struct MoveExplanation {
  std::string pod;
  std::string from;
  std::string to;
};

struct BudgetExplanation {
  std::optional<int64_t> allowed_nodes;
  std::optional<int64_t> allowed_pods;
  std::string binding;                      // the budget or limit that bounded the step
  std::optional<double> target_cost_per_hour;  // rescheduling: the unconstrained plan's cost
};

struct Explanation {
  std::string id;
  std::string type;
  std::string outcome;   // the workflow's outcome, or its status when it has none
  std::string summary;   // one or two sentences
  std::vector<NodeExplanation> nodes;
  std::vector<MoveExplanation> moves;
  BudgetExplanation budget;
  nlohmann::json extra = nlohmann::json::object();  // kind-specific fields, merged into the JSON

  nlohmann::json ToJson() const;
  // Human text: the summary, then tables of nodes and moves.
  std::string ToText() const;
};

// What every workflow can say: its status or outcome, where it stopped and
// why (pause reason, last error), its steps, and what it claimed from the
// disruption budget. Kinds start from this and add their own facts.
Explanation GenericExplanation(const WorkflowView& view);

}  // namespace kinema
