// Solution: a candidate plan at class level, and the packing heuristics that
// build and improve it (bin-centric LP-priced greedy, local search, LNS).
//
// A Solution is a list of open bins. Each bin is one node: an existing node
// (kind == snapshot node index) or a new node of a new kind, holding counts
// of pod classes. Invariants maintained by every operation here: each bin's
// used resources fit its kind's free capacity; class counts respect per-node
// caps, compatibility and class-class conflicts; every class's total equals
// its pod count once a heuristic reports success; forced existing nodes are
// always open; an existing node is open at most once.
// Thread-safety: plain values; the Packer is single-threaded.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "steps/optimize/problem.h"

namespace kinema::opt {

struct Bin {
  int kind = -1;
  Resources used;
  std::vector<std::pair<int, int>> items;  // (class, count), count > 0
  int Count(int c) const {
    for (const auto& [d, n] : items)
      if (d == c) return n;
    return 0;
  }
  int64_t Pods() const { return used.pods; }
};

struct Solution {
  std::vector<Bin> bins;
  double Cost(const Problem& p) const;
  double NewCost(const Problem& p) const;  // cost of booted nodes (secondary objective)
  int64_t Moves(const Problem& p) const;   // pods whose node changes (class-level optimum)
  int64_t Retired(const Problem& p) const; // existing nodes without a bin
};

// Lexicographic objective: cost, then cost of new nodes, then moves.
bool Better(const Problem& p, const Solution& a, const Solution& b);

class Packer {
 public:
  Packer(const Problem& p, std::vector<double> values, uint64_t seed);

  // Greedy from scratch: forced nodes first, then repeatedly open the kind
  // with the best LP value per dollar. False if some pods fit nowhere.
  bool Greedy(Solution* s);
  // The current placement (pods that cannot stay are re-placed greedily).
  bool FromCurrent(Solution* s, bool keep_all_nodes);
  // Local search: drop empty bins, empty bins into others' slack, downsize.
  void Improve(Solution* s);
  // One LNS step: destroy a few bins, repack; keeps the result only if better
  // (and within max_moves when >= 0). Returns true if improved.
  bool LnsStep(Solution* s, int64_t max_moves);
  // The same on large plans, in time independent of the plan's size: the
  // destroyed bins (same zone, same machine type, or the most expensive of a
  // sample) and `window` receiver bins are cut out, repacked alone (only new
  // kinds may open) and spliced back if better. Bin order changes.
  bool LnsStepLocal(Solution* s, int window);
  // Places `rem` counts into slack of open bins, then opens new bins greedily.
  bool Repack(Solution* s, std::vector<int>& rem, const std::vector<uint8_t>* only_new = nullptr);
  // Reduces moves at equal cost: pulls pods back onto kept existing nodes.
  void ReduceMoves(Solution* s);

  // Budget mode (budgeted plans): opening bins never re-opens (un-retires)
  // an existing node -- only new kinds are booted -- and Repack first returns
  // freed pods to their current node when it is open and has room, so no
  // move is spent where none is needed. Un-retiring is an explicit decision
  // of the budgeted search.
  void SetBudgetMode(bool on) { budget_mode_ = on; }
  bool budget_mode() const { return budget_mode_; }

  // Improve() stops early once this instant has passed.
  void SetDeadline(std::chrono::steady_clock::time_point t) { deadline_ = t; }
  bool PastDeadline() const { return std::chrono::steady_clock::now() > deadline_; }

  // Fits `t` more pods of class d into bin b? (capacity, cap, compat, conflicts)
  bool CanAdd(const Bin& b, int d, int t) const;
  // The most pods of class d that bin b can take (0 if incompatible or conflicting).
  int64_t MaxAdd(const Bin& b, int d) const;
  void Add(Bin* b, int d, int t) const;
  void Remove(Bin* b, int d, int t) const;

 private:
  // Greedy knapsack fill of an empty node of `kind` from rem; returns value.
  // `active` (optional): the classes with rem > 0, when few -- new kinds then
  // walk only those (same order as Order(kind)) instead of every class.
  double FillEmpty(int kind, const std::vector<int>& rem, std::vector<std::pair<int, int>>* out,
                   const std::vector<int>* active = nullptr);
  const std::vector<int>& ActiveOrder(int kind, const std::vector<int>& active);
  void FillBin(Bin* b, std::vector<int>& rem);
  bool OpenGreedy(Solution* s, std::vector<int>& rem, std::vector<uint8_t>& node_open);
  void ReturnHome(Solution* s, std::vector<int>& rem);
  bool Downsize(Solution* s, int bi, std::vector<uint8_t>& node_open);
  bool Eliminate(Solution* s, int bi);
  const std::vector<int>& Order(int kind);
  bool Conflicts(const Bin& b, int d) const;

  const Problem& p_;
  std::vector<double> v_;
  // Classes by density, per kind (lazy); existing nodes of one shape share one
  // (see Order). A deque: references stay valid as it grows.
  static constexpr int kShareOrdersAbove = 2000;
  std::deque<std::vector<int>> orders_;
  std::vector<int> active_order_;                     // ActiveOrder's result
  std::vector<std::pair<double, int>> active_keys_;   // its scratch
  std::vector<int> order_of_kind_;
  std::map<std::string, int> shared_order_;
  std::vector<int> group_rep_;           // group -> a node index
  std::vector<std::vector<std::pair<int, int>>> homes_;  // class -> (existing node, pods there now)
  bool budget_mode_ = false;
  std::mt19937_64 rng_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
};

}  // namespace kinema::opt
