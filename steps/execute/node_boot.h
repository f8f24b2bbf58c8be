// Node boot (shared execution step "node-boot"): new nodes through the
// CloudProvider, then wait until every Node is registered and Ready.
//
// Input (typed, from the kind): the nodes to boot, each with a
// deterministic instance name. Intent input: those targets.
// Effect: for each target, insert the instance (at most
// settings.boot_parallelism inserts in flight) and wait for its operation;
// then wait until every Node has registered and is Ready, within
// settings.boot_timeout (a durable deadline: a restart does not extend it).
// Idempotency: instance names derive from the workflow id and the planned
// name, and every insert carries a request id derived from the step's
// idempotency key, the zone and the type: a retried or resumed boot finds
// the instance (alreadyExists = done) instead of creating a second one.
// Capacity: a quota or stockout error moves the target to its next option
// (BootOptionsFor: same type in another zone, then a larger type); when no
// option is left, or the deadline passes, the step aborts the workflow —
// the compensation deletes what this workflow booted.
// Reconcile: the same procedure; it first lists the instances labelled with
// this workflow, so instances an earlier run created are adopted.
// Compensation: deletes this workflow's instances (found by cloud label) and
// their Nodes, unless a Node hosts pods other than DaemonSet pods.
// Thread-safety: the step is run by one thread; see ExecutionDeps.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "engine/catalog/catalog.h"
#include "engine/workflow/workflow_type.h"
#include "steps/execute/execution_deps.h"

namespace kinema::execute {

inline constexpr const char* kNodeBootStep = "node-boot";

struct BootTarget {
  std::string planned;        // the plan's name for the node
  std::string instance_name;  // cloud instance = Node name
  std::string machine_type;
  std::string zone;
  std::string capacity;       // "on-demand" | "spot"
  bool operator==(const BootTarget&) const = default;
};

struct BootRequest {
  std::vector<BootTarget> targets;
  nlohmann::json ToJson() const;  // {"targets":[{planned, instance, machineType, zone, capacityType}]}
  static StatusOr<BootRequest> FromJson(const nlohmann::json& j);
};

struct BootedNode {
  std::string planned;
  std::string node;          // instance = Node name
  std::string zone;          // where it was created
  std::string machine_type;  // what it was created as
  std::string capacity;
  std::string planned_zone;
  std::string planned_machine_type;
  nlohmann::json tried = nlohmann::json::array();  // [{zone, machineType, error}] options that failed first
};

struct BootResult {
  std::vector<BootedNode> booted;
  std::string reason;  // set when nothing was booted
  nlohmann::json ToJson() const;  // {"booted":[...], "reason"?}
  static StatusOr<BootResult> FromJson(const nlohmann::json& j);
};

// The instance name of a planned node of a workflow:
// InstanceNameFor(prefix, "<workflow id>/<planned>").
std::string BootInstanceName(const std::string& prefix, const std::string& workflow_id, const std::string& planned);

struct BootOption {
  std::string zone;
  std::string machine_type;
  bool operator==(const BootOption&) const = default;
};

// Where to try a boot, in order: the planned type and zone; the same type in
// its other offered zones; then types at least as large (allocatable cpu,
// memory and pods) that offer the capacity type, cheapest first, each in its
// zones (the planned zone first). `allowed_zones` filters zones when
// non-empty.
std::vector<BootOption> BootOptionsFor(const Catalog& catalog, const BootTarget& target,
                                       const std::vector<std::string>& allowed_zones);

using BootInput = std::function<StatusOr<BootRequest>(StepContext&)>;
StepDefinition MakeNodeBootStep(const ExecutionDeps& deps, BootInput input);

}  // namespace kinema::execute
