// Node boot (shared execution step "node-boot"): new nodes through the
// CloudProvider's node API (cloud_provider.h: LaunchNode, DescribeNode,
// RetireNode), the same calls for every provider — `gce` (one instance from
// the operator's template) and `gke` (a member of a node pool's managed
// instance group) — then wait until every Node is registered and Ready.
//
// Input (typed, from the kind): the nodes to boot (BootRequest).
// Intent input (BootIntent, journaled before the first cloud call; the first
// attempt's facts win across retries and restarts): the targets and, per
// target, every attempt the step may make, in order — BootOptionsFor()'s
// options (the planned type and zone, the type's other zones, then larger
// types cheapest first), each as a NodeSpec with a durable key
// "<step key>/<planned>/<zone>/<type>" and the node group it goes to
// (NodeGroupFor: gke's node pool, "" under gce).
// Effect: for each target (at most settings.boot_parallelism launching at
// once), LaunchNode on its current attempt, polled every second against the
// durable deadline settings.boot_timeout, until the node runs; then wait
// until its Node is Ready. The Node name comes from the provider (gce: the
// attempt's instance name; gke: <group base name>-k<hash of the key>) and is
// handed on in BootResult.booted[].node — later steps read it from there.
// Fallback: LaunchNode kFailed with ShouldTryAnotherOffering (stockout,
// quota, no node pool for the type, or a key spent before a restart) moves
// the target to its next attempt — the provider has already deleted a stuck
// group member and marked the offering unavailable; an attempt whose
// offering the provider lists as unavailable, and for which nothing exists,
// is skipped. No attempt left, or the deadline passed: the step aborts the
// workflow and the compensation retires what this workflow booted.
// Any other kFailed fails the step with the typed error.
// Idempotency: every request id and (gke) member name derives from the
// attempt's key, so a repeated or resumed call addresses the same node.
// Reconcile (and retries): before launching anything, DescribeNode on each
// target's attempts in order; the first one with a node being created or
// running is resumed (the ones before it count as tried), otherwise the
// attempts are walked again from the first — a spent one fails at once
// (kSpent or its recorded capacity error) and is passed.
// Compensation: DescribeNode for every attempt of the intent; whatever is not
// absent is retired (RetireNode until gone; gke: deleteInstances through its
// group) with its Node, unless the Node hosts pods other than DaemonSet pods.
// Test hooks (kill campaigns, KINEMA_TEST_DELAY): "before_launch_node" and
// "after_launch_node" around every LaunchNode call.
// Thread-safety: the step is run by one thread; see ExecutionDeps.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "engine/catalog/catalog.h"
#include "engine/cloud/cloud_provider.h"
#include "engine/workflow/workflow_type.h"
#include "steps/execute/execution_deps.h"

namespace kinema::execute {

inline constexpr const char* kNodeBootStep = "node-boot";

struct BootTarget {
  std::string planned;        // the plan's name for the node
  std::string instance_name;  // gce: the first attempt's instance (= Node) name; gke: unused
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
  std::string node;          // instance = Node name, as the provider named it
  std::string zone;          // where it was created
  std::string machine_type;  // what it was created as
  std::string capacity;
  std::string planned_zone;
  std::string planned_machine_type;
  nlohmann::json tried = nlohmann::json::array();  // [{zone, machineType, error}] options that failed first
  std::string pool;          // gke: the node pool it is a member of; gce: ""
  std::string provider_id;   // gce://<project>/<zone>/<name>
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

// One way to boot a target: what LaunchNode gets, and the group it joins.
struct BootAttempt {
  cloud::NodeSpec spec;  // key, instance_name (gce), zone, machine_type, capacity, labels (gce)
  std::string pool;      // NodeGroupFor(type, capacity): gke's node pool, "" under gce
};

// The node-boot step's intent: the targets and each one's attempts, in order.
struct BootIntent {
  std::vector<BootTarget> targets;
  std::vector<std::vector<BootAttempt>> attempts;  // attempts[i] belong to targets[i]
  // {"targets":[...as BootRequest...], "attempts":[{"planned", "options":[{key, instance, zone,
  //  machineType, capacityType, pool, labels}]}]}
  nlohmann::json ToJson() const;
  static StatusOr<BootIntent> FromJson(const nlohmann::json& j);
};

// Every attempt for `target`, in BootOptionsFor() order (without a catalog:
// the planned type and zone only). Keys: "<step_key>/<planned>/<zone>/<type>".
// gce names: the target's instance_name for the first attempt,
// cloud::InstanceNameFor(instance_prefix, key) for the others (an instance
// per attempt, so DescribeNode tells them apart); cloud labels
// kinema-workflow and kinema-planned. `cloud` (may be null) names the pool.
std::vector<BootAttempt> BootAttemptsFor(const Catalog* catalog, const BootTarget& target,
                                         const std::vector<std::string>& allowed_zones, const std::string& step_key,
                                         const std::string& workflow_id, const std::string& instance_prefix,
                                         const cloud::CloudProvider* cloud);

using BootInput = std::function<StatusOr<BootRequest>(StepContext&)>;
StepDefinition MakeNodeBootStep(const ExecutionDeps& deps, BootInput input);

}  // namespace kinema::execute
