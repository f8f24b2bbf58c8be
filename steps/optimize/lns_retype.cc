#include "steps/optimize/lns_retype.h"

#include "steps/optimize/lns_forced.h"

namespace kinema::opt {
namespace {

// Bins per step: 3 to 3 + kExtraBins - 1. Measured at 102k pods (30 s, one
// step in six, the rest forced trade and LnsStepLocal): 3-7 bins 1038.2 $/h,
// 3-12 1037.1, 3-22 1038.3; without this neighbourhood 1039.3.
constexpr int kExtraBins = 10;

}  // namespace

Retype::Retype(const Problem& p, Packer* pk, uint64_t seed) : p_(p), pk_(pk), rng_(seed ^ 0x5bd1e9955bd1e995ULL) {}

bool Retype::PickBins(const Solution& s, std::vector<int>* pick) {
  const int nb = static_cast<int>(s.bins.size());
  std::vector<int> loose;
  for (int i = 0; i < nb; ++i)
    if (p_.IsNew(s.bins[i].kind) || !p_.kinds[s.bins[i].kind].forced) loose.push_back(i);
  if (loose.size() < 2) return false;
  int seed = loose[rng_() % loose.size()];
  if (rng_() % 3 != 0) seed = WastefulBin(p_, s, loose, rng_);
  const std::string& zone = p_.kinds[s.bins[seed].kind].zone;
  std::vector<uint8_t> in(nb, 0);
  in[seed] = 1;
  pick->push_back(seed);
  const int want = 3 + static_cast<int>(rng_() % kExtraBins);
  for (int t = 0; t < 30 * want && static_cast<int>(pick->size()) < want; ++t) {
    const int i = loose[rng_() % loose.size()];
    if (in[i] || p_.kinds[s.bins[i].kind].zone != zone) continue;
    in[i] = 1;
    pick->push_back(i);
  }
  return pick->size() >= 2;
}

bool Retype::Step(Solution* s) {
  ++steps_;
  std::vector<int> pick;
  if (!PickBins(*s, &pick)) return false;
  Solution before;
  std::vector<int> rem(p_.classes.size(), 0);
  for (int bi : pick) {
    before.bins.push_back(s->bins[bi]);
    for (const auto& [d, n] : s->bins[bi].items) rem[d] += n;
  }
  Solution sub;
  if (!RepackOntoNewKinds(pk_, &sub, rem) || !SpliceIfBetter(p_, before, std::move(sub), pick, s)) return false;
  ++improvements_;
  return true;
}

}  // namespace kinema::opt
