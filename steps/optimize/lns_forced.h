// ForcedTrade: an LNS neighbourhood that trades pods between forced existing
// nodes and booted (or unforced) nodes.
//
// Why: on large clusters most existing nodes are forced open (they host an
// immovable pod) and cost the same whatever they hold. The greedy fills them
// one resource short: most are cpu-full with memory idle, some memory-full
// with cpu idle, while the booted nodes hold the rest in a shape that needs
// dearer machine types (e.g. e2-standard at 60 % memory where e2-highcpu
// would do if the memory-heavy pods sat on the forced nodes' idle memory).
// Destroying a few bins and repacking them first-fit (LnsStepLocal) cannot
// see this trade: it needs both sides emptied together.
//
// What: Step() picks a seed (the most wasteful of a few sampled non-forced
// bins, or a forced bin with idle cpu), 2-51 forced bins of the seed's zone
// that can take some of the seed's classes (alternately with idle memory and
// with idle cpu) and 1-6 non-forced bins of the zone, and empties them all.
// The forced bins (they stay open) are refilled one after the other, each a
// class at a time: half of what fits of the class with the highest value per
// share of the bin's *remaining* capacity. The rest goes onto new nodes only
// (RepackOntoNewKinds, then downsizing). The result replaces the picked bins
// only if the plan is Better (cost, then booted cost, then moves), so a step
// never makes a plan dearer.
// Values: per-class prices (the LP duals or aggregate prices); classes with
// no price get the cheapest per-pod cost on a new kind, by the resource it
// fills most.
// Thread-safety: single-threaded, like the Packer it uses.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "steps/optimize/problem.h"
#include "steps/optimize/solution.h"

namespace kinema::opt {

class ForcedTrade {
 public:
  // `pk` must outlive this object and is used for capacity checks and the
  // repack of the pods the forced bins do not take back.
  ForcedTrade(const Problem& p, Packer* pk, const std::vector<double>& values, uint64_t seed);

  // One step on *s: true if *s changed (and is then Better than before).
  bool Step(Solution* s);

  // Steps taken and improvements found so far.
  int64_t steps() const { return steps_; }
  int64_t improvements() const { return improvements_; }

 private:
  bool PickBins(const Solution& s, std::vector<int>* pick);
  void FillForced(Bin* b, std::vector<int>& rem, const std::vector<int>& pool) const;

  const Problem& p_;
  Packer* pk_;
  std::vector<double> v_;
  std::mt19937_64 rng_;
  int64_t steps_ = 0, improvements_ = 0;
};

// Helpers of the cut-out neighbourhoods (this one and lns_retype.h), which
// repack a few bins of a large plan apart from the rest of it.
//
// Repacks `rem` into `sub`'s slack and onto new kinds only (Packer::Repack
// in budget mode: the sub-plan does not know which existing nodes are open
// elsewhere). False if some pods fit nowhere.
bool RepackOntoNewKinds(Packer* pk, Solution* sub, std::vector<int>& rem);
// If `sub` is Better than `before` (the bins `pick` of *s), replaces those
// bins of *s by sub's (bin order changes) and returns true.
bool SpliceIfBetter(const Problem& p, const Solution& before, Solution sub, std::vector<int> pick, Solution* s);
// The free share of one resource of a bin (0 when the kind has none of it).
double FreeShare(int64_t cap, int64_t used);
// The most wasteful of six bins drawn from `candidates` (non-empty): price ×
// (free cpu share + free memory share + 0.05), so dear, half-empty bins seed
// the neighbourhood most often.
int WastefulBin(const Problem& p, const Solution& s, const std::vector<int>& candidates, std::mt19937_64& rng);

}  // namespace kinema::opt
