// DisruptionLedger: the one disruption budget all workflow kinds share.
//
// Every kind asks the ledger before it disrupts: to retire (drain, taint
// for retirement, delete) nodes, or to evict, move or resize pods. The
// ledger decides from the budgets (disruption_budget.h) and from what every
// unfinished workflow already holds, and the decision is journaled as a
// `disruption_claimed` event on the asking workflow before the caller acts
// (Claim() runs the caller's journal callback under the ledger's lock, so
// two workflows can never both be granted the last unit of budget).
//
// Rules of a claim by workflow W for reason R:
//   nodes to retire   at most AllowedNodes(R, node count at W's first claim)
//                     in total for W, and at most AllowedNodes(R, nodes now)
//                     held for retirement by all workflows together; a node
//                     another workflow holds (retiring, acting on it, or one
//                     of its pods) is refused.
//   pods to disrupt   within W's eviction limits (per node, per namespace,
//                     total, counting every pod W ever claimed); a pod held
//                     by another workflow, or on a node another workflow
//                     retires, is refused.
//   nodes to act on   refused when another workflow retires them.
// `all_or_nothing` refuses the whole claim when any part is refused.
// Grants are released when the workflow ends (Forget) or by a
// disruption_released event.
// The ledger is rebuilt at start-up from the journal (Load): the journal is
// the record, the ledger a cache of it.
// Thread-safety: all methods are thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "engine/budget/disruption_budget.h"
#include "storage/workflow_view.h"

namespace kinema {

struct PodRef {
  std::string key;   // "ns/name"
  std::string node;  // where it runs
};

struct ClaimRequest {
  std::string reason;                  // the kind's disruption reason
  int64_t node_count = 0;              // nodes in the cluster now
  std::vector<std::string> retire;     // nodes to retire, in order of preference
  std::vector<std::string> nodes;      // nodes to act on without retiring them
  std::vector<PodRef> pods;            // pods to evict, move or resize, in order of preference
  EvictionLimits limits;               // the kind's eviction limits
  bool all_or_nothing = false;
};

struct Refusal {
  std::string item;  // node name or pod key
  std::string why;
};

struct ClaimGrant {
  std::vector<std::string> retire;
  std::vector<std::string> nodes;
  std::vector<PodRef> pods;
  std::vector<Refusal> refused;
  int64_t allowed_nodes = 0;   // the node allowance that applied
  std::string binding;         // which budget or limit bound it
  bool complete() const { return refused.empty(); }
  // The journaled detail of a disruption_claimed event.
  nlohmann::json ToJson(const ClaimRequest& request) const;
  // A summary for step results: granted counts, refusals, the binding budget.
  nlohmann::json ToJson() const;
};

struct LedgerOptions {
  std::vector<NodeBudget> budgets = DefaultNodeBudgets();
  EvictionLimits default_limits;
};

class DisruptionLedger {
 public:
  explicit DisruptionLedger(LedgerOptions options);

  // Replaces what the ledger knows with the holds of these (unfinished)
  // workflows' views.
  void Load(const std::vector<WorkflowView>& unfinished);

  // Decides `request` for `workflow_id` (whose current holds are `mine`),
  // then calls `journal(grant)` under the lock; the grant is recorded only
  // if it returns OK (it is the caller's job to journal the
  // disruption_claimed event there).
  StatusOr<ClaimGrant> Claim(const std::string& workflow_id, const DisruptionHolds& mine, const ClaimRequest& request,
                             const std::function<Status(const ClaimGrant&)>& journal, int64_t now_ms);

  // Folds a journaled release into the ledger.
  void Release(const std::string& workflow_id, const nlohmann::json& released);
  // Drops everything `workflow_id` holds (it ended).
  void Forget(const std::string& workflow_id);

  // Read-only: nodes `reason` may retire now out of `node_count`, after what
  // every workflow other than `workflow_id` holds (for planning).
  NodeAllowance NodesAvailable(const std::string& reason, int64_t node_count, const std::string& workflow_id,
                               int64_t now_ms) const;
  const LedgerOptions& options() const { return options_; }
  // Who holds what, for /readyz and kinemactl: workflow id -> holds.
  std::map<std::string, DisruptionHolds> Snapshot() const;

 private:
  // The workflow other than `self` holding `node` (retiring or acting on it,
  // or one of its pods), or "".
  std::string NodeHolder(const std::string& node, const std::string& self) const;
  std::string PodHolder(const std::string& pod, const std::string& self) const;
  int64_t RetiringByAll() const;

  LedgerOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, DisruptionHolds> holds_;  // guarded by mu_
};

}  // namespace kinema
