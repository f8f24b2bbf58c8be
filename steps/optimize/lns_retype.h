// Retype: an LNS neighbourhood that re-chooses the machine types of a few
// non-forced nodes of one zone together.
//
// Why: the nodes a large plan boots end up full in one resource only -- at
// 102k pods, e2-standard nodes cpu-full at ~60 % memory next to e2-highcpu
// nodes memory-full -- because each was opened for the pods left at the
// time. Repacking their pods together onto new kinds lets the greedy open a
// better-matched mix (a fully used highcpu node first, the memory-heavy rest
// on standard/highmem). LnsStepLocal cannot: it first pours the pods into
// its receivers' slack.
//
// What: Step() picks a seed (the most wasteful -- price x idle share -- of
// a few sampled non-forced bins, or a random one), then 3-12 non-forced bins
// of its zone in all, empties them and repacks their pods onto new kinds
// only (lns_forced.h: RepackOntoNewKinds); the result replaces them only if
// the plan is Better (cost, then booted cost, then moves), so a step never
// makes a plan dearer. Forced nodes are never touched.
// Thread-safety: single-threaded, like the Packer it uses.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "steps/optimize/problem.h"
#include "steps/optimize/solution.h"

namespace kinema::opt {

class Retype {
 public:
  // `pk` must outlive this object; it repacks the emptied bins' pods.
  Retype(const Problem& p, Packer* pk, uint64_t seed);

  // One step on *s: true if *s changed (and is then Better than before).
  bool Step(Solution* s);

  // Steps taken and improvements found so far.
  int64_t steps() const { return steps_; }
  int64_t improvements() const { return improvements_; }

 private:
  bool PickBins(const Solution& s, std::vector<int>* pick);

  const Problem& p_;
  Packer* pk_;
  std::mt19937_64 rng_;
  int64_t steps_ = 0, improvements_ = 0;
};

}  // namespace kinema::opt
