// How a rescheduling plan becomes the inputs of the shared execution steps
// (steps/execute): which nodes to boot, which to mark as targets, which to
// retire. Pure functions of the plan and the pods' current nodes, plus the
// typed step inputs built from the journal.
// Thread-safety: stateless functions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "steps/execute/node_boot.h"
#include "steps/execute/node_marking.h"
#include "steps/execute/node_retirement.h"
#include "steps/execute/workload_move.h"
#include "steps/optimize/plan.h"
#include "steps/rescheduling/rescheduling_workflow.h"

namespace kinema::rescheduling {

// The plan's `boot` nodes, each with a deterministic instance name
// (execute::BootInstanceName(prefix, workflow id, planned name)), in plan order.
std::vector<execute::BootTarget> BootTargetsOf(const Plan& plan, const std::string& workflow_id,
                                               const std::string& prefix);
// Nodes the plan retires, in plan order.
std::vector<std::string> RetiringNodesOf(const Plan& plan);
// Kept nodes that receive at least one moved pod in the plan; `current_node`
// maps "ns/pod" to the pod's node now (pods missing from it are not moved).
std::vector<std::string> KeptNodesReceivingPods(const Plan& plan,
                                                const std::map<std::string, std::string>& current_node);
// The plan's placements ("ns/pod" -> node) with booted nodes' planned names
// replaced by the names they were booted as; placements on planned nodes
// that were not booted are dropped.
std::map<std::string, std::string> PlacementsOnRealNodes(const Plan& plan, const execute::BootResult& boot);

// The journaled plan of this workflow's optimization step.
StatusOr<Plan> JournaledPlan(const StepContext& ctx);

// Inputs of the shared execution steps for a rescheduling workflow.
execute::BootInput BootInputFromPlan(const ReschedulingDeps& deps);
execute::MarkInput MarkInputFromPlan(const ReschedulingDeps& deps);
// The nodes being retired (from the marks) and where the plan puts each pod
// (planned names of booted nodes resolved to the nodes booted; pods planned
// on a node that was not booted are left out): per-workload steering.
execute::MoveInput MoveInputFromPlan();
execute::RetireInput RetireInputFromMarks();

}  // namespace kinema::rescheduling
