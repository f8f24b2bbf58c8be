#include "steps/optimize/solution.h"

#include "steps/optimize/column_generation.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kinema::opt {
namespace {

constexpr double kEps = 1e-9;

double Size(const Resources& r, const Resources& free) {
  double s = 0;
  if (r.cpu_milli > 0) s = std::max(s, double(r.cpu_milli) / std::max<double>(1, free.cpu_milli));
  if (r.memory_bytes > 0) s = std::max(s, double(r.memory_bytes) / std::max<double>(1, free.memory_bytes));
  if (r.pods > 0) s = std::max(s, double(r.pods) / std::max<double>(1, free.pods));
  return std::max(s, 1e-12);
}

}  // namespace

double Solution::Cost(const Problem& p) const {
  double c = 0;
  for (const auto& b : bins) c += p.kinds[b.kind].price;
  return c;
}

double Solution::NewCost(const Problem& p) const {
  double c = 0;
  for (const auto& b : bins)
    if (p.IsNew(b.kind)) c += p.kinds[b.kind].price;
  return c;
}

int64_t Solution::Moves(const Problem& p) const {
  int64_t total = 0;
  for (const auto& c : p.classes) total += c.n();
  for (const auto& b : bins) {
    if (p.IsNew(b.kind)) continue;
    for (const auto& [d, n] : p.current[b.kind]) total -= std::min(n, b.Count(d));
  }
  return total;
}

int64_t Solution::Retired(const Problem& p) const {
  int64_t open = 0;
  for (const auto& b : bins) open += !p.IsNew(b.kind);
  return p.num_existing - open;
}

bool Better(const Problem& p, const Solution& a, const Solution& b) {
  double ca = a.Cost(p), cb = b.Cost(p);
  double tol = 1e-9 * std::max(1.0, std::fabs(cb));
  if (ca < cb - tol) return true;
  if (ca > cb + tol) return false;
  double na = a.NewCost(p), nb = b.NewCost(p);
  if (na < nb - tol) return true;
  if (na > nb + tol) return false;
  return a.Moves(p) < b.Moves(p);
}

Packer::Packer(const Problem& p, std::vector<double> values, uint64_t seed)
    : p_(p), v_(std::move(values)), order_of_kind_(p.kinds.size(), -1), rng_(seed) {
  // Values must be positive for the density order to be meaningful: fall back
  // to the cheapest fluid price of a class when its dual is ~0.
  const int D = static_cast<int>(p.classes.size());
  v_.resize(D, 0.0);
  for (int d = 0; d < D; ++d) {
    double cheapest = 1e18;
    for (const auto& k : p.kinds)
      if (k.compat[d]) cheapest = std::min(cheapest, k.price * Size(p.classes[d].req, k.free));
    if (cheapest >= 1e18) cheapest = 1e-6;
    v_[d] = std::max(v_[d], 1e-3 * cheapest + 1e-12);
  }
  group_rep_.resize(p.groups.size());
  for (size_t g = 0; g < p.groups.size(); ++g) group_rep_[g] = p.groups[g][0];
  homes_.resize(D);
  for (int j = 0; j < p.num_existing; ++j)
    for (const auto& [d, n] : p.current[j]) homes_[d].push_back({j, n});
}

const std::vector<int>& Packer::Order(int kind) {
  if (order_of_kind_[kind] >= 0) return orders_[order_of_kind_[kind]];
  const Kind& k = p_.kinds[kind];
  // On large clusters most existing nodes are forced open (they host an
  // immovable pod) and each has its own residual capacity: sorting every
  // class for each of thousands of nodes dominated the first plan. The order
  // only depends on compatibility and on the capacity's shape, so existing
  // nodes share it when both match (shape to ~5%).
  std::string key;
  if (!p_.IsNew(kind) && p_.num_existing > kShareOrdersAbove) {
    auto bucket = [](double a, double b) {
      return static_cast<int64_t>(std::lround(20 * std::log(std::max(1.0, a) / std::max(1.0, b))));
    };
    key.assign(k.compat.begin(), k.compat.end());
    key += "|" + std::to_string(bucket(double(k.free.cpu_milli), double(k.free.memory_bytes) / (1 << 20))) + "," +
           std::to_string(bucket(double(k.free.cpu_milli), double(k.free.pods) * 100));
    auto it = shared_order_.find(key);
    if (it != shared_order_.end()) return orders_[order_of_kind_[kind] = it->second];
  }
  std::vector<std::pair<double, int>> tmp;
  for (size_t d = 0; d < p_.classes.size(); ++d)
    if (k.compat[d]) tmp.push_back({-v_[d] / Size(p_.classes[d].req, k.free), static_cast<int>(d)});
  std::sort(tmp.begin(), tmp.end());
  std::vector<int> order;
  order.reserve(tmp.size());
  for (auto& [sz, d] : tmp) order.push_back(d);
  order_of_kind_[kind] = static_cast<int>(orders_.size());
  orders_.push_back(std::move(order));
  if (!key.empty()) shared_order_.emplace(std::move(key), order_of_kind_[kind]);
  return orders_.back();
}


bool Packer::Conflicts(const Bin& b, int d) const {
  const auto& cf = p_.classes[d].conflicts;
  if (cf.empty()) return false;
  for (const auto& [e, n] : b.items)
    if (std::find(cf.begin(), cf.end(), e) != cf.end()) return true;
  return false;
}

static int64_t MaxFit(const Problem& p, const Bin& b, int d) {
  const Kind& k = p.kinds[b.kind];
  const Resources& r = p.classes[d].req;
  int64_t t = p.classes[d].cap - b.Count(d);
  if (r.cpu_milli > 0) t = std::min(t, (k.free.cpu_milli - b.used.cpu_milli) / r.cpu_milli);
  if (r.memory_bytes > 0) t = std::min(t, (k.free.memory_bytes - b.used.memory_bytes) / r.memory_bytes);
  if (r.pods > 0) t = std::min(t, (k.free.pods - b.used.pods) / r.pods);
  return std::max<int64_t>(0, t);
}

bool Packer::CanAdd(const Bin& b, int d, int t) const {
  // Hot path of every packing heuristic: comparisons first, item scans only
  // for classes with a per-node cap or conflicts.
  const Kind& k = p_.kinds[b.kind];
  if (!k.compat[d]) return false;
  const PodClass& c = p_.classes[d];
  const Resources& r = c.req;
  if ((r.cpu_milli > 0 && b.used.cpu_milli + r.cpu_milli * t > k.free.cpu_milli) ||
      (r.memory_bytes > 0 && b.used.memory_bytes + r.memory_bytes * t > k.free.memory_bytes) ||
      (r.pods > 0 && b.used.pods + r.pods * t > k.free.pods))
    return false;
  if (c.cap < INT64_MAX || !c.conflicts.empty()) {
    const int have = b.Count(d);
    if (have + t > c.cap) return false;
    if (have == 0 && Conflicts(b, d)) return false;
  }
  return t >= 0;
}

int64_t Packer::MaxAdd(const Bin& b, int d) const {
  if (!p_.kinds[b.kind].compat[d] || (b.Count(d) == 0 && Conflicts(b, d))) return 0;
  return MaxFit(p_, b, d);
}

void Packer::Add(Bin* b, int d, int t) const {
  const Resources& r = p_.classes[d].req;
  b->used.cpu_milli += r.cpu_milli * t;
  b->used.memory_bytes += r.memory_bytes * t;
  b->used.pods += r.pods * t;
  for (auto& [e, n] : b->items)
    if (e == d) {
      n += t;
      return;
    }
  b->items.push_back({d, t});
}

void Packer::Remove(Bin* b, int d, int t) const {
  const Resources& r = p_.classes[d].req;
  b->used.cpu_milli -= r.cpu_milli * t;
  b->used.memory_bytes -= r.memory_bytes * t;
  b->used.pods -= r.pods * t;
  for (size_t i = 0; i < b->items.size(); ++i)
    if (b->items[i].first == d) {
      b->items[i].second -= t;
      if (b->items[i].second == 0) b->items.erase(b->items.begin() + i);
      return;
    }
}

void Packer::FillBin(Bin* b, std::vector<int>& rem) {
  for (int d : Order(b->kind)) {
    if (rem[d] <= 0) continue;
    if (b->Count(d) == 0 && Conflicts(*b, d)) continue;
    int64_t t = std::min<int64_t>(rem[d], MaxFit(p_, *b, d));
    if (t <= 0) continue;
    Add(b, d, static_cast<int>(t));
    rem[d] -= static_cast<int>(t);
  }
}

const std::vector<int>& Packer::ActiveOrder(int kind, const std::vector<int>& active) {
  // The same key and tie-break as Order() (new kinds never share an order).
  const Kind& k = p_.kinds[kind];
  active_keys_.clear();
  for (int d : active)
    if (k.compat[d]) active_keys_.push_back({-v_[d] / Size(p_.classes[d].req, k.free), d});
  std::sort(active_keys_.begin(), active_keys_.end());
  active_order_.clear();
  for (auto& [key, d] : active_keys_) active_order_.push_back(d);
  return active_order_;
}

double Packer::FillEmpty(int kind, const std::vector<int>& rem, std::vector<std::pair<int, int>>* out,
                         const std::vector<int>* active) {
  // FillBin's walk without touching rem: each class is visited once, so
  // taking min(rem, fit) of it is the same as FillBin on a copy.
  Bin b;
  b.kind = kind;
  for (int d : active && p_.IsNew(kind) ? ActiveOrder(kind, *active) : Order(kind)) {
    if (rem[d] <= 0) continue;
    if (b.Count(d) == 0 && Conflicts(b, d)) continue;
    int64_t t = std::min<int64_t>(rem[d], MaxFit(p_, b, d));
    if (t > 0) Add(&b, d, static_cast<int>(t));
  }
  double val = 0;
  for (auto& [d, n] : b.items) val += v_[d] * n;
  *out = b.items;
  return val;
}

bool Packer::OpenGreedy(Solution* s, std::vector<int>& rem, std::vector<uint8_t>& node_open) {
  const int K = static_cast<int>(p_.kinds.size());
  std::vector<size_t> cursor(p_.groups.size(), 0);
  auto next_free = [&](int g) -> int {
    auto& c = cursor[g];
    while (c < p_.groups[g].size() && node_open[p_.groups[g][c]]) ++c;
    return c < p_.groups[g].size() ? p_.groups[g][c] : -1;
  };
  std::vector<std::pair<int, int>> items, best_items;
  std::vector<int> active;
  while (true) {
    active.clear();
    for (size_t d = 0; d < rem.size(); ++d)
      if (rem[d] > 0) active.push_back(static_cast<int>(d));
    if (active.empty()) return true;
    // Few classes left (LNS repacks): walk only those.
    const std::vector<int>* few = active.size() * 8 < rem.size() ? &active : nullptr;
    int best_kind = -1;
    double best_score = -1;
    bool best_existing = false;
    auto consider = [&](int kind, bool existing) {
      double val = FillEmpty(kind, rem, &items, few);
      if (items.empty()) return;
      double price = p_.kinds[kind].price;
      double score = price > 0 ? val / price : 1e300;
      bool better = score > best_score * (1 + 1e-12) ||
                    (score >= best_score * (1 - 1e-12) && existing && !best_existing);
      if (best_kind < 0 || better) {
        best_kind = kind;
        best_score = score;
        best_existing = existing;
        best_items = items;
      }
    };
    if (!budget_mode_)
      for (size_t g = 0; g < p_.groups.size(); ++g) {
        int j = next_free(static_cast<int>(g));
        if (j >= 0) consider(j, true);
      }
    for (int k = p_.num_existing; k < K; ++k) consider(k, false);
    if (best_kind < 0) return false;
    {
      // Re-pack the chosen kind exactly (bounded branch and bound on the same values).
      double greedy_val = 0, exact_val = 0;
      for (auto& [d, n] : best_items) greedy_val += v_[d] * n;
      auto exact = BestFill(p_, best_kind, v_, rem, 2000, &exact_val);
      if (!exact.empty() && exact_val > greedy_val * (1 + 1e-9)) best_items = exact;
    }
    int64_t reps = INT64_MAX;
    for (auto& [d, n] : best_items) reps = std::min<int64_t>(reps, rem[d] / n);
    reps = std::max<int64_t>(1, reps);
    for (int64_t r = 0; r < reps; ++r) {
      int kind = best_kind;
      if (best_existing) {
        kind = next_free(p_.kinds[best_kind].group);
        if (kind < 0) break;
        node_open[kind] = 1;
      }
      Bin b;
      b.kind = kind;
      for (auto& [d, n] : best_items) {
        Add(&b, d, n);
        rem[d] -= n;
      }
      s->bins.push_back(std::move(b));
    }
  }
}

bool Packer::Greedy(Solution* s) {
  s->bins.clear();
  std::vector<int> rem(p_.classes.size());
  for (size_t d = 0; d < p_.classes.size(); ++d) rem[d] = p_.classes[d].n();
  std::vector<uint8_t> node_open(p_.num_existing, 0);
  for (int j = 0; j < p_.num_existing; ++j) {
    if (!p_.kinds[j].forced) continue;
    node_open[j] = 1;
    Bin b;
    b.kind = j;
    for (const auto& [d, c] : p_.current[j]) {
      if (!CanAdd(b, d, 1)) continue;
      int t = static_cast<int>(std::min<int64_t>({c, rem[d], MaxFit(p_, b, d)}));
      if (t > 0) {
        Add(&b, d, t);
        rem[d] -= t;
      }
    }
    FillBin(&b, rem);
    s->bins.push_back(std::move(b));
  }
  if (!OpenGreedy(s, rem, node_open)) return false;
  return true;
}

bool Packer::FromCurrent(Solution* s, bool keep_all_nodes) {
  s->bins.clear();
  std::vector<int> rem(p_.classes.size());
  for (size_t d = 0; d < p_.classes.size(); ++d) rem[d] = p_.classes[d].n();
  for (int j = 0; j < p_.num_existing; ++j) {
    Bin b;
    b.kind = j;
    for (const auto& [d, c] : p_.current[j]) {
      if (!p_.kinds[j].compat[d] || (b.Count(d) == 0 && Conflicts(b, d))) continue;
      int t = static_cast<int>(std::min<int64_t>(c, MaxFit(p_, b, d)));
      if (t > 0) {
        Add(&b, d, t);
        rem[d] -= t;
      }
    }
    if (!b.items.empty() || p_.kinds[j].forced || keep_all_nodes) s->bins.push_back(std::move(b));
  }
  return Repack(s, rem);
}

void Packer::ReturnHome(Solution* s, std::vector<int>& rem) {
  std::vector<int> bin_of_node(p_.num_existing, -1);
  for (size_t i = 0; i < s->bins.size(); ++i)
    if (!p_.IsNew(s->bins[i].kind)) bin_of_node[s->bins[i].kind] = static_cast<int>(i);
  for (size_t d = 0; d < rem.size(); ++d) {
    for (const auto& [j, cur] : homes_[d]) {
      if (rem[d] <= 0) break;
      int bi = bin_of_node[j];
      if (bi < 0) continue;
      Bin& b = s->bins[bi];
      int room = cur - b.Count(static_cast<int>(d));
      if (room <= 0 || !CanAdd(b, static_cast<int>(d), 1)) continue;
      int t = static_cast<int>(std::min<int64_t>({rem[d], room, MaxFit(p_, b, static_cast<int>(d))}));
      Add(&b, static_cast<int>(d), t);
      rem[d] -= t;
    }
  }
}

bool Packer::Repack(Solution* s, std::vector<int>& rem, const std::vector<uint8_t>* only_new) {
  // 0. Budget mode: back to the current node first (no move spent).
  if (budget_mode_ && !only_new) ReturnHome(s, rem);
  // 1. Slack of open bins, biggest classes first, best fit (least slack left).
  if (!only_new) {
    std::vector<int> cls;
    for (size_t d = 0; d < rem.size(); ++d)
      if (rem[d] > 0) cls.push_back(static_cast<int>(d));
    std::sort(cls.begin(), cls.end(), [&](int a, int b) {
      const auto& ra = p_.classes[a].req;
      const auto& rb = p_.classes[b].req;
      return std::tie(ra.cpu_milli, ra.memory_bytes, a) > std::tie(rb.cpu_milli, rb.memory_bytes, b);
    });
    for (int d : cls) {
      while (rem[d] > 0) {
        int best = -1;
        double best_left = 1e300;
        for (size_t bi = 0; bi < s->bins.size(); ++bi) {
          const Bin& b = s->bins[bi];
          if (!CanAdd(b, d, 1)) continue;
          const Kind& k = p_.kinds[b.kind];
          double left = double(k.free.cpu_milli - b.used.cpu_milli) / std::max<double>(1, k.free.cpu_milli) +
                        double(k.free.memory_bytes - b.used.memory_bytes) / std::max<double>(1, k.free.memory_bytes);
          if (left < best_left) {
            best_left = left;
            best = static_cast<int>(bi);
          }
        }
        if (best < 0) break;
        int t = static_cast<int>(std::min<int64_t>(rem[d], MaxFit(p_, s->bins[best], d)));
        Add(&s->bins[best], d, t);
        rem[d] -= t;
      }
    }
  }
  // 2. New bins, LP-priced greedy.
  std::vector<uint8_t> node_open(p_.num_existing, 0);
  for (const auto& b : s->bins)
    if (!p_.IsNew(b.kind)) node_open[b.kind] = 1;
  size_t first_new = s->bins.size();
  if (!OpenGreedy(s, rem, node_open)) return false;
  for (size_t bi = first_new; bi < s->bins.size(); ++bi) Downsize(s, static_cast<int>(bi), node_open);
  return true;
}

bool Packer::Downsize(Solution* s, int bi, std::vector<uint8_t>& node_open) {
  Bin& b = s->bins[bi];
  if (!p_.IsNew(b.kind) && p_.kinds[b.kind].forced) return false;
  const Kind& cur = p_.kinds[b.kind];
  int best = -1;
  double best_price = cur.price;
  bool best_existing = !p_.IsNew(b.kind);
  auto fits = [&](int kind) {
    const Kind& k = p_.kinds[kind];
    if (b.used.cpu_milli > k.free.cpu_milli || b.used.memory_bytes > k.free.memory_bytes || b.used.pods > k.free.pods)
      return false;
    for (const auto& [d, n] : b.items)
      if (!k.compat[d]) return false;
    return true;
  };
  auto consider = [&](int kind, bool existing) {
    double pr = p_.kinds[kind].price;
    bool better = pr < best_price - kEps * std::max(1.0, best_price) ||
                  (std::fabs(pr - best_price) <= kEps * std::max(1.0, best_price) && existing && !best_existing);
    if (better && fits(kind)) {
      best = kind;
      best_price = pr;
      best_existing = existing;
    }
  };
  if (!budget_mode_)
    for (size_t g = 0; g < p_.groups.size(); ++g) {
      for (int j : p_.groups[g])
        if (!node_open[j]) {
          consider(j, true);
          break;
        }
    }
  for (int k = p_.num_existing; k < static_cast<int>(p_.kinds.size()); ++k) consider(k, false);
  if (best < 0) return false;
  if (!p_.IsNew(b.kind)) node_open[b.kind] = 0;
  if (!p_.IsNew(best)) node_open[best] = 1;
  b.kind = best;
  return true;
}

bool Packer::Eliminate(Solution* s, int bi) {
  Bin& victim = s->bins[bi];
  if (!p_.IsNew(victim.kind) && p_.kinds[victim.kind].forced) return false;
  std::vector<std::pair<int, std::pair<int, int>>> plan;  // (bin, (class, count))
  std::vector<Bin> trial;  // copies of modified bins
  std::vector<int> trial_idx;
  for (const auto& [d, n0] : victim.items) {
    int n = n0;
    for (size_t oi = 0; oi < s->bins.size() && n > 0; ++oi) {
      if (static_cast<int>(oi) == bi) continue;
      // Work on the trial copy if one exists.
      Bin* target = nullptr;
      for (size_t t = 0; t < trial_idx.size(); ++t)
        if (trial_idx[t] == static_cast<int>(oi)) target = &trial[t];
      const Bin& view = target ? *target : s->bins[oi];
      if (!CanAdd(view, d, 1)) continue;
      if (!target) {
        trial.push_back(s->bins[oi]);
        trial_idx.push_back(static_cast<int>(oi));
        target = &trial.back();
      }
      int t = static_cast<int>(std::min<int64_t>(n, MaxFit(p_, *target, d)));
      Add(target, d, t);
      n -= t;
    }
    if (n > 0) return false;
  }
  for (size_t t = 0; t < trial_idx.size(); ++t) s->bins[trial_idx[t]] = std::move(trial[t]);
  s->bins.erase(s->bins.begin() + bi);
  return true;
}

void Packer::Improve(Solution* s) {
  for (int round = 0; round < 4 && !PastDeadline(); ++round) {
    bool changed = false;
    // Drop empty non-forced bins.
    auto& bins = s->bins;
    size_t before = bins.size();
    bins.erase(std::remove_if(bins.begin(), bins.end(),
                              [&](const Bin& b) {
                                return b.items.empty() && (p_.IsNew(b.kind) || !p_.kinds[b.kind].forced);
                              }),
               bins.end());
    changed = changed || bins.size() != before;
    // Try to empty the least utilised bins into the others.
    std::vector<std::pair<double, int>> util;
    for (size_t i = 0; i < bins.size(); ++i) {
      const Kind& k = p_.kinds[bins[i].kind];
      if (!p_.IsNew(bins[i].kind) && k.forced) continue;
      util.push_back({Size(bins[i].used, k.free), static_cast<int>(i)});
    }
    std::sort(util.begin(), util.end());
    if (util.size() > 300) util.resize(300);
    std::vector<int> victims;
    for (auto& [u, i] : util) victims.push_back(i);
    std::sort(victims.rbegin(), victims.rend());  // erase from the back
    for (int i : victims) {
      if (PastDeadline()) return;
      if (i < static_cast<int>(bins.size()) && Eliminate(s, i)) changed = true;
    }
    // Downsize every bin to the cheapest kind that holds it.
    std::vector<uint8_t> node_open(p_.num_existing, 0);
    for (const auto& b : bins)
      if (!p_.IsNew(b.kind)) node_open[b.kind] = 1;
    for (size_t i = 0; i < bins.size(); ++i) changed = Downsize(s, static_cast<int>(i), node_open) || changed;
    if (!changed) break;
  }
}

bool Packer::LnsStepLocal(Solution* s, int window) {
  const int nb = static_cast<int>(s->bins.size());
  if (nb < 2) return false;
  // Destroy set: 2-10 bins around a seed, chosen by one of three
  // neighbourhoods: same zone as a random seed, same machine type (family
  // and size), or the most expensive of a random sample of open bins.
  const int k = std::min(nb, 2 + static_cast<int>(rng_() % 9));
  const int strategy = static_cast<int>(rng_() % 3);
  std::vector<int> pick;
  std::vector<uint8_t> in(nb, 0);
  auto take = [&](int bi) {
    if (!in[bi]) {
      in[bi] = 1;
      pick.push_back(bi);
    }
  };
  const int seed = static_cast<int>(rng_() % nb);
  const Kind& sk = p_.kinds[s->bins[seed].kind];
  if (strategy == 2) {
    std::vector<std::pair<double, int>> sample;
    for (int i = 0; i < 8 * k; ++i) {
      int bi = static_cast<int>(rng_() % nb);
      sample.push_back({-p_.kinds[s->bins[bi].kind].price, bi});
    }
    std::sort(sample.begin(), sample.end());
    for (auto& [neg, bi] : sample)
      if (static_cast<int>(pick.size()) < k) take(bi);
  } else {
    take(seed);
    for (int tries = 0; tries < 40 * k && static_cast<int>(pick.size()) < k; ++tries) {
      int bi = static_cast<int>(rng_() % nb);
      const Kind& bk = p_.kinds[s->bins[bi].kind];
      if (strategy == 0 ? bk.zone == sk.zone : bk.type_name == sk.type_name) take(bi);
    }
  }
  const int destroyed = static_cast<int>(pick.size());
  // Receivers: a window of other bins of the seed's zone (their slack).
  for (int tries = 0; tries < 4 * window && static_cast<int>(pick.size()) < destroyed + window; ++tries) {
    int bi = static_cast<int>(rng_() % nb);
    if (p_.kinds[s->bins[bi].kind].zone == sk.zone || tries % 4 == 0) take(bi);
  }
  Solution sub;
  for (int bi : pick) sub.bins.push_back(s->bins[bi]);
  const Solution before = sub;
  std::vector<int> rem(p_.classes.size(), 0);
  for (int i = destroyed - 1; i >= 0; --i) {
    Bin& b = sub.bins[i];
    for (auto& [d, n] : b.items) rem[d] += n;
    if (!p_.IsNew(b.kind) && p_.kinds[b.kind].forced) {
      b.items.clear();
      b.used = Resources{};
    } else {
      sub.bins.erase(sub.bins.begin() + i);
    }
  }
  // Only new kinds may open (budget mode): the sub-solution does not know
  // which existing nodes are open elsewhere.
  const bool was_budget = budget_mode_;
  budget_mode_ = true;
  bool ok = Repack(&sub, rem);
  budget_mode_ = was_budget;
  if (!ok || !Better(p_, sub, before)) return false;
  // Splice: replace the picked bins by the sub-solution's bins.
  std::vector<int> order = pick;
  std::sort(order.rbegin(), order.rend());
  for (int bi : order) {  // descending: each swap-with-last keeps lower indices valid
    if (bi != static_cast<int>(s->bins.size()) - 1) s->bins[bi] = std::move(s->bins.back());
    s->bins.pop_back();
  }
  for (auto& b : sub.bins) s->bins.push_back(std::move(b));
  return true;
}

bool Packer::LnsStep(Solution* s, int64_t max_moves) {
  const int nb = static_cast<int>(s->bins.size());
  if (nb == 0) return false;
  int k = std::min(nb, 2 + static_cast<int>(rng_() % 9));
  std::vector<int> pick;
  int strategy = static_cast<int>(rng_() % 3);
  if (strategy == 0) {  // random
    std::vector<int> all(nb);
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin(), all.end(), rng_);
    pick.assign(all.begin(), all.begin() + k);
  } else if (strategy == 1) {  // low utilisation among a random sample
    std::vector<std::pair<double, int>> sample;
    for (int i = 0; i < std::min(nb, 4 * k); ++i) {
      int bi = static_cast<int>(rng_() % nb);
      sample.push_back({Size(s->bins[bi].used, p_.kinds[s->bins[bi].kind].free), bi});
    }
    std::sort(sample.begin(), sample.end());
    for (auto& [u, bi] : sample)
      if (static_cast<int>(pick.size()) < k && std::find(pick.begin(), pick.end(), bi) == pick.end())
        pick.push_back(bi);
  } else {  // bins sharing classes with a seed bin
    int seed = static_cast<int>(rng_() % nb);
    pick.push_back(seed);
    std::vector<int> all(nb);
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin(), all.end(), rng_);
    for (int bi : all) {
      if (static_cast<int>(pick.size()) >= k) break;
      if (bi == seed) continue;
      bool share = false;
      for (auto& [d, n] : s->bins[bi].items) share = share || s->bins[seed].Count(d) > 0;
      if (share) pick.push_back(bi);
    }
  }
  Solution backup = *s;
  std::vector<int> rem(p_.classes.size(), 0);
  std::sort(pick.rbegin(), pick.rend());
  for (int bi : pick) {
    Bin& b = s->bins[bi];
    for (auto& [d, n] : b.items) rem[d] += n;
    if (!p_.IsNew(b.kind) && p_.kinds[b.kind].forced) {
      b.items.clear();
      b.used = Resources{};
    } else {
      s->bins.erase(s->bins.begin() + bi);
    }
  }
  bool slack_first = (rng_() % 2) == 0;
  static const std::vector<uint8_t> kNone;
  bool ok = Repack(s, rem, slack_first ? nullptr : &kNone);
  if (ok && !slack_first) {
    // Try to absorb the freshly opened bins into slack elsewhere.
    for (int i = static_cast<int>(s->bins.size()) - 1; i >= 0 && i >= static_cast<int>(s->bins.size()) - 3; --i)
      Eliminate(s, i);
  }
  if (ok && Better(p_, *s, backup) && (max_moves < 0 || s->Moves(p_) <= max_moves)) return true;
  *s = std::move(backup);
  return false;
}

void Packer::ReduceMoves(Solution* s) {
  auto& bins = s->bins;
  auto cur = [&](int node, int d) {
    for (const auto& [e, n] : p_.current[node])
      if (e == d) return n;
    return 0;
  };
  // A unit of class d in bin o is "foreign" if o holds more of d than were there before.
  auto foreign = [&](const Bin& o, int d) { return p_.IsNew(o.kind) || o.Count(d) > cur(o.kind, d); };
  // Bins holding each class (a bin only gains a class here by a swap, which
  // appends it): the pull below visits those instead of every bin.
  std::vector<std::vector<int>> holders(p_.classes.size());
  for (size_t i = 0; i < bins.size(); ++i)
    for (const auto& [d, n] : bins[i].items) holders[d].push_back(static_cast<int>(i));
  for (size_t hi = 0; hi < bins.size(); ++hi) {
    if (p_.IsNew(bins[hi].kind)) continue;
    int home = bins[hi].kind;
    for (const auto& [d, want] : p_.current[home]) {
      int have = bins[hi].Count(d);
      for (size_t h = 0; h < holders[d].size() && have < want; ++h) {
        const size_t oi = static_cast<size_t>(holders[d][h]);
        if (oi == hi || bins[oi].Count(d) == 0 || !foreign(bins[oi], d)) continue;
        while (have < want && bins[oi].Count(d) > 0 && foreign(bins[oi], d)) {
          if (CanAdd(bins[hi], d, 1)) {
            Remove(&bins[oi], d, 1);
            Add(&bins[hi], d, 1);
            ++have;
            continue;
          }
          // Swap: send a foreign unit of another class from home to oi.
          bool swapped = false;
          for (const auto& [e, ne] : std::vector<std::pair<int, int>>(bins[hi].items)) {
            if (e == d || ne <= cur(home, e)) continue;
            Remove(&bins[hi], e, 1);
            Remove(&bins[oi], d, 1);
            if (CanAdd(bins[hi], d, 1) && CanAdd(bins[oi], e, 1)) {
              if (bins[oi].Count(e) == 0) holders[e].push_back(static_cast<int>(oi));
              Add(&bins[hi], d, 1);
              Add(&bins[oi], e, 1);
              ++have;
              swapped = true;
              break;
            }
            Add(&bins[hi], e, 1);
            Add(&bins[oi], d, 1);
          }
          if (!swapped) break;
        }
      }
    }
  }
}

}  // namespace kinema::opt
