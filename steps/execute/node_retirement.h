// Node retirement (shared execution step "drain-and-delete"): each node to
// retire, once only DaemonSet pods remain on it, loses its Node and its
// cloud instance.
//
// Input (typed, from the kind): the nodes, with the uid and providerID
// recorded while they were marked, and whether to delete them after the
// drain (`delete_after_drain`; false leaves a drained node in place,
// still tainted, for an autoscaler to remove).
// Per node:
//   1. drain: pods other than DaemonSet and finished pods are evicted
//      (PDB-respecting, 429 retried); wait until none is left, within
//      settings.drain_timeout (a durable deadline). A pod that cannot be
//      moved safely (disruption_policy.h) keeps the node: its retire label
//      and taint are removed and the result says why;
//      before each eviction (the first of a round and every later one)
//      the kind's optional `before_evict` re-check may make the drain wait,
//      or stop it and keep the node (the same way, with its reason);
//      test hook "drain_evicted" after every accepted eviction;
//   2. delete the Node with a uid precondition (a Node of the same name
//      registered since is not ours); notFound = done;
//   3. retire the cloud node named by the providerID through the provider's
//      node API (RetireNode until absent, polled against drain_timeout):
//      gce deletes the instance; gke removes the member through its own
//      node pool's group with deleteInstances (the Node's gke-nodepool label
//      is the hint, membership decides), never instances.delete on a member.
//      The request id derives from the step key, so a repeated delete is
//      deduplicated by the cloud. A Node without a GCE providerID is not
//      cloud-managed: nothing to delete, and the result says so.
// Every action checks the world first: run and reconcile are the same
// procedure. Nothing to compensate: a deleted node is gone (abort during
// this step stops before the next node).
// Thread-safety: the step is run by one thread; see ExecutionDeps.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "engine/workflow/workflow_type.h"
#include "steps/execute/execution_deps.h"
#include "steps/execute/node_marking.h"

namespace kinema::execute {

inline constexpr const char* kDrainDeleteStep = "drain-and-delete";

// A kind's re-check before each eviction of a node's drain (`left`: the
// pods still to evict in this round, the next one first): go on, wait (pause and look
// again, within the drain deadline), or stop and keep the node (its retire
// marks are removed; the result says why). Not journaled: it is recomputed
// from the world on every attempt.
struct DrainCheck {
  enum class Action { kEvict, kWait, kKeep };
  Action action = Action::kEvict;
  std::string why;  // kWait, kKeep: the reason
};
using DrainRecheck =
    std::function<StatusOr<DrainCheck>(StepContext& ctx, const std::string& node, const std::vector<nlohmann::json>& left)>;

struct RetireRequest {
  std::vector<RetiringNode> nodes;
  bool delete_after_drain = true;
  DrainRecheck before_evict = nullptr;  // optional (spot rescheduling: does spot still hold the pods?)
};

enum class RetireOutcome {
  kDeleted,      // drained, Node and instance deleted
  kNodeDeleted,  // drained, Node deleted, no cloud instance behind it
  kDrained,      // drained and left in place (delete_after_drain false)
  kKept,         // not drained: a pod cannot move safely, or the Node is not ours any more
};
const char* RetireOutcomeName(RetireOutcome o);  // "deleted", "node-deleted", "drained", "kept"

struct RetiredNode {
  std::string node;
  RetireOutcome outcome = RetireOutcome::kKept;
  int evicted = 0;
  std::string why;       // kKept: the reason
  std::string instance;  // kDeleted: the instance; kNodeDeleted: why there was none
  std::string zone;
};

struct RetireResult {
  std::vector<RetiredNode> nodes;
  int Retired() const;  // nodes whose Node was deleted (kDeleted, kNodeDeleted)
  int Evicted() const;
  nlohmann::json ToJson() const;
  static StatusOr<RetireResult> FromJson(const nlohmann::json& j);
};

using RetireInput = std::function<StatusOr<RetireRequest>(StepContext&)>;
StepDefinition MakeDrainDeleteStep(const ExecutionDeps& deps, RetireInput input);

// Retires a cloud node (RetireNode until it is absent, paused between calls
// with ctx.Pause, transient failures called again) within `timeout` of now.
// Shared by drain-and-delete and node-boot's compensation.
Status RetireCloudNode(const ExecutionDeps& deps, StepContext& ctx, const cloud::NodeRef& node,
                       const std::string& idempotency_key, Duration timeout);

// "gce://project/zone/name" → zone and name; false if not a GCE provider id.
bool ParseGceProviderId(const std::string& provider_id, std::string* zone, std::string* name);

}  // namespace kinema::execute
