#include "steps/optimize/lns_forced.h"

#include <algorithm>

namespace kinema::opt {
namespace {

// A forced bin counts as idle in a resource when this share of it is free.
constexpr double kIdleShare = 0.03;
// Neighbourhood size: 2 to 2 + kMaxForcedExtra - 1 forced bins and 1 to
// kMaxLoose non-forced ones. Measured at 102k pods (30 s, half the steps
// LnsStepLocal): up to 8 forced / 3 loose 1040.9 $/h, 13 / 3 1040.3,
// 21 / 3 1039.6, 51 / 6 1039.3, 81 / 8 1039.3, 121 / 10 1040.1 (too slow).
constexpr int kMaxForcedExtra = 50;
constexpr int kMaxLoose = 6;

// The share of the bin's remaining capacity one pod of `req` takes (its
// largest dimension); 0 when it does not fit.
double RemainingShare(const Resources& req, const Resources& free, const Resources& used) {
  double s = 1e-12;
  for (int k = 0; k < 3; ++k) {
    const double r = Dim(req, k), left = Dim(free, k) - Dim(used, k);
    if (r <= 0) continue;
    if (left < r) return 0;
    s = std::max(s, r / left);
  }
  return s;
}

// Fallback value of a class: the cheapest per-pod cost on a new kind (on any
// kind when no new kind takes it), by the resource the pod fills most.
double CheapestPodCost(const Problem& p, int d) {
  double best = 1e300;
  for (int pass = 0; pass < 2 && best >= 1e300; ++pass)
    for (int k = pass == 0 ? p.num_existing : 0; k < static_cast<int>(p.kinds.size()); ++k) {
      const Kind& kind = p.kinds[k];
      if (!kind.compat[d]) continue;
      double share = RemainingShare(p.classes[d].req, kind.free, Resources{});
      if (share > 0) best = std::min(best, kind.price * share);
    }
  return best < 1e300 ? best : 1e-6;
}

}  // namespace

ForcedTrade::ForcedTrade(const Problem& p, Packer* pk, const std::vector<double>& values, uint64_t seed)
    : p_(p), pk_(pk), v_(values), rng_(seed ^ 0x9e3779b97f4a7c15ULL) {
  v_.resize(p.classes.size(), 0.0);
  for (size_t d = 0; d < p.classes.size(); ++d)
    if (!(v_[d] > 0)) v_[d] = CheapestPodCost(p, static_cast<int>(d));
}

bool ForcedTrade::PickBins(const Solution& s, std::vector<int>* pick) {
  const int nb = static_cast<int>(s.bins.size());
  std::vector<int> idle_cpu, idle_mem, loose;
  for (int i = 0; i < nb; ++i) {
    const Bin& b = s.bins[i];
    const Kind& k = p_.kinds[b.kind];
    if (p_.IsNew(b.kind) || !k.forced) {
      loose.push_back(i);
      continue;
    }
    if (FreeShare(k.free.cpu_milli, b.used.cpu_milli) > kIdleShare) idle_cpu.push_back(i);
    if (FreeShare(k.free.memory_bytes, b.used.memory_bytes) > kIdleShare) idle_mem.push_back(i);
  }
  if (loose.empty() || (idle_cpu.empty() && idle_mem.empty())) return false;
  // Seed: the most wasteful of a few sampled non-forced bins (price x idle
  // share), or a forced bin with idle cpu.
  int seed = -1;
  if (!idle_cpu.empty() && rng_() % 3 == 0) {
    seed = idle_cpu[rng_() % idle_cpu.size()];
  } else {
    seed = WastefulBin(p_, s, loose, rng_);
  }
  const std::string& zone = p_.kinds[s.bins[seed].kind].zone;
  std::vector<uint8_t> in(nb, 0);
  auto take = [&](int i) {
    if (!in[i]) in[i] = 1, pick->push_back(i);
  };
  take(seed);
  // Forced bins of the zone that can take some of the seed's classes.
  const Bin& sb = s.bins[seed];
  auto shares_classes = [&](int i) {
    const Kind& k = p_.kinds[s.bins[i].kind];
    for (const auto& [d, n] : sb.items)
      if (k.compat[d]) return true;
    return sb.items.empty();
  };
  const int forced = 2 + static_cast<int>(rng_() % kMaxForcedExtra);
  const int loose_n = 1 + static_cast<int>(rng_() % kMaxLoose);
  for (int t = 0, got = 0; t < 40 * forced && got < forced; ++t) {
    const auto& from = (t % 2 == 0 && !idle_mem.empty()) || idle_cpu.empty() ? idle_mem : idle_cpu;
    const int i = from[rng_() % from.size()];
    if (in[i] || p_.kinds[s.bins[i].kind].zone != zone || !shares_classes(i)) continue;
    take(i);
    ++got;
  }
  for (int t = 0, got = p_.kinds[sb.kind].forced ? 0 : 1; t < 20 * loose_n && got < loose_n; ++t) {
    const int i = loose[rng_() % loose.size()];
    if (in[i] || p_.kinds[s.bins[i].kind].zone != zone) continue;
    take(i);
    ++got;
  }
  return pick->size() >= 2;
}

void ForcedTrade::FillForced(Bin* b, std::vector<int>& rem, const std::vector<int>& pool) const {
  const Kind& k = p_.kinds[b->kind];
  // The bin only fills up: a class that no longer fits never will again.
  std::vector<int> cand;
  for (int d : pool)
    if (k.compat[d]) cand.push_back(d);
  while (true) {
    int best = -1;
    double best_score = 0;
    size_t kept = 0;
    for (int d : cand) {
      if (rem[d] <= 0) continue;
      const double share = RemainingShare(p_.classes[d].req, k.free, b->used);
      if (share <= 0) continue;
      cand[kept++] = d;
      const double score = v_[d] / share;
      if (score > best_score && pk_->CanAdd(*b, d, 1)) best_score = score, best = d;
    }
    cand.resize(kept);
    if (best < 0) return;
    // Half of what fits at a time: the remaining capacity's shape, and so
    // the best class, changes as the bin fills.
    const int64_t fit = std::min<int64_t>(rem[best], pk_->MaxAdd(*b, best));
    const int t = static_cast<int>(std::max<int64_t>(1, fit / 2));
    pk_->Add(b, best, t);
    rem[best] -= t;
  }
}

bool ForcedTrade::Step(Solution* s) {
  ++steps_;
  std::vector<int> pick;
  if (!PickBins(*s, &pick)) return false;
  Solution sub;
  for (int bi : pick) sub.bins.push_back(s->bins[bi]);
  const Solution before = sub;
  std::vector<int> rem(p_.classes.size(), 0), pool;
  for (const Bin& b : sub.bins)
    for (const auto& [d, n] : b.items) {
      if (rem[d] == 0) pool.push_back(d);
      rem[d] += n;
    }
  std::vector<Bin> forced;
  for (Bin& b : sub.bins)
    if (!p_.IsNew(b.kind) && p_.kinds[b.kind].forced) forced.push_back(Bin{b.kind, Resources{}, {}});
  std::shuffle(forced.begin(), forced.end(), rng_);
  for (Bin& b : forced) FillForced(&b, rem, pool);
  sub.bins = std::move(forced);
  if (!RepackOntoNewKinds(pk_, &sub, rem) || !SpliceIfBetter(p_, before, std::move(sub), pick, s)) return false;
  ++improvements_;
  return true;
}

double FreeShare(int64_t cap, int64_t used) { return cap > 0 ? double(cap - used) / double(cap) : 0; }

int WastefulBin(const Problem& p, const Solution& s, const std::vector<int>& candidates, std::mt19937_64& rng) {
  int seed = candidates.front();  // replaced by the first draw: every waste is >= 0
  double best = -1;
  for (int t = 0; t < 6; ++t) {
    const int i = candidates[rng() % candidates.size()];
    const Bin& b = s.bins[i];
    const Kind& k = p.kinds[b.kind];
    const double waste = k.price * (FreeShare(k.free.cpu_milli, b.used.cpu_milli) +
                                    FreeShare(k.free.memory_bytes, b.used.memory_bytes) + 0.05);
    if (waste > best) best = waste, seed = i;
  }
  return seed;
}

bool RepackOntoNewKinds(Packer* pk, Solution* sub, std::vector<int>& rem) {
  const bool was_budget = pk->budget_mode();
  pk->SetBudgetMode(true);
  const bool ok = pk->Repack(sub, rem);
  pk->SetBudgetMode(was_budget);
  return ok;
}

bool SpliceIfBetter(const Problem& p, const Solution& before, Solution sub, std::vector<int> pick, Solution* s) {
  if (!Better(p, sub, before)) return false;
  std::sort(pick.rbegin(), pick.rend());
  for (int bi : pick) {  // descending: each swap-with-last keeps lower indices valid
    if (bi != static_cast<int>(s->bins.size()) - 1) s->bins[bi] = std::move(s->bins.back());
    s->bins.pop_back();
  }
  for (auto& b : sub.bins) s->bins.push_back(std::move(b));
  return true;
}

}  // namespace kinema::opt
