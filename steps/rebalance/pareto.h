// ParetoFrontScores: the seed's algorithm #8, "Pareto Front (NSGA-II)", the
// one node score PromQL cannot express (it compares every pair of nodes).
// The shipped rules record the four per-node ratios; the load-rebalancing
// workflow reads them (node_ratios.h) and scores the nodes with this.
//
// Definition (the seed's reference Python, tiraboschi/descheduler-sim
// algorithms.py at 24bb64f), over x = (u_c, p_c, u_m, p_m) per node:
//   1. a dominates b when a ≤ b in all four and a < b in at least one (a is
//      less loaded); a fast non-dominated sort gives fronts 0 .. F−1, front 0
//      being the nodes nobody dominates;
//   2. front score = f / (F − 1), or 0 when there is one front;
//   3. NSGA-II crowding distance inside each front: a front of ≤ 2 nodes is
//      all boundary (∞); otherwise, per dimension, the nodes with the lowest
//      and highest value get ∞ and every other node adds the gap between its
//      neighbours divided by the front's range in that dimension;
//   4. bonus = 0 for ∞, else 0.1 × (1 − cd / the front's largest finite cd),
//      or 0.05 when that largest is 0;
//   5. score = clamp(front score + bonus, 0, 1).
// Ties keep the input order (as the reference's stable sorts do): pass the
// nodes in a fixed order (e.g. by name) for reproducible scores.
//
// Cost: O(n²) time and memory (the domination lists); 1,000 nodes take a
// few milliseconds.
// Thread-safety: a pure function.
#pragma once

#include <vector>

#include "engine/common/status.h"
#include "steps/rebalance/node_ratios.h"

namespace kinema::rebalance {

// One score per node, in input order. InvalidArgument naming the node and
// the ratio when a ratio is not a number in [0, 1] or a node name repeats.
// No nodes: no scores.
StatusOr<std::vector<NodeScore>> ParetoFrontScores(const std::vector<NodeRatios>& nodes);

}  // namespace kinema::rebalance
