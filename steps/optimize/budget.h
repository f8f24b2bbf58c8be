// Budget: the limits of a budgeted plan, and the cheap bound they imply.
//
// A budgeted plan retires at most `max_retire` existing nodes and moves at
// most `max_moves` pods (a move = a pod whose node changes, Pending pods that
// get a node included); nodes protected from retirement are `forced` kinds of
// the Problem (ProtectNodes). A negative limit means "no limit".
//
// BudgetKnapsackBound: any plan keeps every existing node it does not retire,
// and retiring node j moves all P_j movable pods on it, so with S the retired
// set, |S| <= R and sum_{j in S} P_j <= M - (pods without a node now):
//   cost >= forced cost + sum_{unforced j} c_j - max_S sum_{j in S} c_j.
// The max is bounded from above by the Lagrangian relaxation of |S| <= R
// over the fractional knapsack on moves (valid for every multiplier; the
// best one is found by ternary search on the convex dual function). New
// nodes cost >= 0. Cheap (O(N log N) per multiplier) and valid whenever the
// budgeted LP (budget_lp.h) is not available.
// BudgetBetter: the budgeted search's objective. Each moved pod is weighed
// at a millionth of the cluster's cost before (MoveWeight), so a step must
// save more than that per pod it moves: catalog prices are rounded to 1e-6,
// and without a weight two half-size nodes would replace one full-size node
// (or the reverse) to save a rounding error at the price of real evictions.
// Ties then go to fewer booted node-dollars, then fewer moves.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

#include "steps/optimize/problem.h"
#include "steps/optimize/solution.h"

namespace kinema::opt {

struct BudgetLimits {
  int64_t max_moves = -1;   // -1: no limit
  int64_t max_retire = -1;  // -1: no limit
  bool Limited() const { return max_moves >= 0 || max_retire >= 0; }
};

// Every forced node open, retired <= max_retire, moves <= max_moves.
bool WithinBudget(const Problem& p, const Solution& s, const BudgetLimits& b);

// Movable pods currently on existing node j (all of them move if j retires).
int64_t PodsOnNode(const Problem& p, int j);

// $/h a moved pod must save to be worth it: 1e-6 x the cost before.
double MoveWeight(const Problem& p);
// a better than b: cost + MoveWeight x moves, then cost of booted nodes, then moves.
bool BudgetBetter(const Problem& p, const Solution& a, const Solution& b);

// A lower bound on the cost of every plan within the budget (see above).
double BudgetKnapsackBound(const Problem& p, const BudgetLimits& b);

}  // namespace kinema::opt
