// Budgeted search: the cheapest plan within a budget, built step by step
// from the current placement.
//
// The search state is always a valid plan within the budget (WithinBudget);
// every operator works on a copy and the copy replaces the state only when
// it is BudgetBetter (cost plus a tiny weight per move, then cost of booted
// nodes, then moves; budget.h) and still within the budget. Pods that moved already are free to move again: the move count
// is "pods not on their current node", so re-packing them costs no budget,
// and returning them home gives budget back.
//
// Operators:
//   RetireGreedy   retire nodes one at a time, each time the candidate with
//                  the most $/h saved per share of the remaining budget it
//                  uses (savings / (pods moved / moves left + 1 / retirements
//                  left)): $/h per pod moved when moves are scarce, $/h per
//                  node when retirements are -- Karpenter's "Balanced" ratio
//                  with both budgets. Each candidate is evaluated exactly (its
//                  pods re-placed: home, best fit into the slack of open
//                  nodes, new nodes) when it reaches the top of a lazy queue
//                  that starts from upper bounds (price over the least share
//                  of the budgets it can use), so few nodes are evaluated per
//                  retirement; a full re-ranking every max(8, max_retire / 4).
//   ConsolidateNew re-pack every pod on booted nodes (home first, then slack,
//                  then the cheapest new nodes).
//   Step           one LNS step: destroy and repair a few bins, swap a
//                  retired node for another, retire one or two more (two
//                  nodes that do not pay alone may pay together on one new
//                  node), or re-pack pods that moved already (free) on a few
//                  booted and kept nodes.
// Thread-safety: single-threaded; owns its random generator.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "steps/optimize/budget.h"
#include "steps/optimize/problem.h"
#include "steps/optimize/solution.h"

namespace kinema::opt {

class BudgetSearch {
 public:
  // `pk` must be in budget mode and outlive the search.
  BudgetSearch(const Problem& p, Packer* pk, const BudgetLimits& b, uint64_t seed);

  bool Within(const Solution& s) const { return WithinBudget(p_, s, b_); }

  // Returns the number of nodes retired. `keep_hint` (per existing node, may
  // be empty) breaks ties toward nodes the budgeted LP retires.
  int RetireGreedy(Solution* s, const std::vector<double>& keep_hint, std::chrono::steady_clock::time_point deadline);
  bool ConsolidateNew(Solution* s);
  // Retires, in increasing order of the LP's keep value, every node the LP
  // retires at least half of, while each saves money within the budget.
  int RetireByLp(Solution* s, const std::vector<double>& keep, std::chrono::steady_clock::time_point deadline);
  bool Step(Solution* s);

 private:
  // Removes bin `bi` (an unforced existing node: it retires) and re-places
  // its pods. False when some pod fits nowhere.
  bool RetireBin(Solution* s, int bi);
  // The effect of retiring bin `bi` of *s, computed in place (pods re-placed
  // home first, then best fit into open bins, then onto new nodes) and undone
  // unless `commit`. No copy of the solution; `idx` must describe *s.
  struct RetireEffect {
    bool ok = false;
    double cost_delta = 0;
    int64_t moves_delta = 0;
  };
  // What RetireInPlace reads of the plan, rebuilt after each commit: the bin
  // of each existing node, and every bin by slack (best fit walks it up to
  // the first bin that takes the pod instead of scanning every bin).
  struct RetireIndex {
    std::vector<int> bin_of_node;
    std::vector<std::pair<double, int>> by_slack;  // (Slack, bin index), ascending
  };
  struct Change {
    int bin, d, t;
  };
  RetireEffect RetireInPlace(Solution* s, int bi, bool commit, const RetireIndex& idx);
  // Prices the pods left over onto new nodes; commits or undoes `log`.
  RetireEffect Settle(Solution* s, int bi, bool commit, int64_t stays_delta,
                      const std::vector<std::pair<int, int>>& leftovers, const std::vector<Change>& log);
  void BuildIndex(const Solution& s, RetireIndex* idx) const;
  double Slack(const Bin& b) const;  // free cpu + free memory, each as a share of the kind's
  int BestFit(const Solution& s, int bi, int d, const RetireIndex& idx, const std::vector<int>& touched) const;
  // Per class: pods missing from open existing nodes against the current
  // placement (pods that could return home). Only shrinks as nodes retire.
  std::vector<int> HomeDeficits(const Solution& s) const;
  // An upper bound on RetireGreedy's key for retiring bin `bi`; *moves_lb:
  // the fewest moves that retirement can take.
  double KeyBound(const Solution& s, int bi, const std::vector<int>& deficit, double w_moves, double w_retire,
                  int64_t* moves_lb) const;
  int64_t StaysOf(const Bin& b) const;  // pods of an existing bin that are on their current node
  // Re-opens retired node `node` and pulls its current pods back to it.
  void Unretire(Solution* s, int node);
  bool Accept(Solution* s, Solution&& t);
  int BinOfNode(const Solution& s, int node) const;
  std::vector<int> RetireCandidates(const Solution& s) const;
  bool DestroyRepair(Solution* s);
  bool Swap(Solution* s);
  bool RetireSome(Solution* s, int count);  // retire `count` random nodes at once
  bool RepackMoved(Solution* s);

  const Problem& p_;
  Packer* pk_;
  BudgetLimits b_;
  std::mt19937_64 rng_;
  std::vector<std::vector<std::pair<int, int>>> homes_;  // class -> (existing node, pods there now)
  std::vector<double> inv_cpu_, inv_mem_;               // per kind: 1 / free capacity (best-fit scores)
};

}  // namespace kinema::opt
