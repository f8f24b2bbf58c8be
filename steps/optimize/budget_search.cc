#include "steps/optimize/budget_search.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>
#include <tuple>

namespace kinema::opt {
namespace {

constexpr double kEps = 1e-9;

int CurrentCount(const Problem& p, int node, int d) {
  for (const auto& [e, n] : p.current[node])
    if (e == d) return n;
  return 0;
}

double Utilisation(const Problem& p, const Bin& b) {
  const Resources& f = p.kinds[b.kind].free;
  double u = 0;
  if (f.cpu_milli > 0) u = std::max(u, double(b.used.cpu_milli) / f.cpu_milli);
  if (f.memory_bytes > 0) u = std::max(u, double(b.used.memory_bytes) / f.memory_bytes);
  if (f.pods > 0) u = std::max(u, double(b.used.pods) / f.pods);
  return u;
}

}  // namespace

BudgetSearch::BudgetSearch(const Problem& p, Packer* pk, const BudgetLimits& b, uint64_t seed)
    : p_(p), pk_(pk), b_(b), rng_(seed) {
  for (const auto& k : p.kinds) {
    inv_cpu_.push_back(1.0 / std::max<double>(1, k.free.cpu_milli));
    inv_mem_.push_back(1.0 / std::max<double>(1, k.free.memory_bytes));
  }
  homes_.resize(p.classes.size());
  for (int j = 0; j < p.num_existing; ++j)
    for (const auto& [d, n] : p.current[j]) homes_[d].push_back({j, n});
}

int BudgetSearch::BinOfNode(const Solution& s, int node) const {
  for (size_t i = 0; i < s.bins.size(); ++i)
    if (s.bins[i].kind == node) return static_cast<int>(i);
  return -1;
}

std::vector<int> BudgetSearch::RetireCandidates(const Solution& s) const {
  std::vector<int> out;
  for (const auto& b : s.bins)
    if (!p_.IsNew(b.kind) && !p_.kinds[b.kind].forced) out.push_back(b.kind);
  return out;
}

bool BudgetSearch::RetireBin(Solution* s, int bi) {
  const int kind = s->bins[bi].kind;
  if (p_.IsNew(kind) || p_.kinds[kind].forced) return false;
  std::vector<int> rem(p_.classes.size(), 0);
  for (const auto& [d, n] : s->bins[bi].items) rem[d] += n;
  s->bins.erase(s->bins.begin() + bi);
  return pk_->Repack(s, rem);
}

void BudgetSearch::Unretire(Solution* s, int node) {
  Bin home;
  home.kind = node;
  for (const auto& [d, cur] : p_.current[node]) {
    int need = cur;
    // Pods of class d that are away from home: everything on booted nodes,
    // and the surplus over the current count on other existing nodes.
    for (int pass = 0; pass < 2 && need > 0; ++pass) {
      for (auto& o : s->bins) {
        if (need <= 0) break;
        const bool is_new = p_.IsNew(o.kind);
        if ((pass == 0) != is_new) continue;
        int have = o.Count(d);
        int away = is_new ? have : have - CurrentCount(p_, o.kind, d);
        if (away <= 0) continue;
        const int t = static_cast<int>(std::min<int64_t>(std::min(need, away), pk_->MaxAdd(home, d)));
        if (t <= 0) continue;
        pk_->Remove(&o, d, t);
        pk_->Add(&home, d, t);
        need -= t;
      }
    }
  }
  s->bins.erase(std::remove_if(s->bins.begin(), s->bins.end(),
                               [&](const Bin& b) { return b.items.empty() && p_.IsNew(b.kind); }),
                s->bins.end());
  s->bins.push_back(std::move(home));
}

bool BudgetSearch::Accept(Solution* s, Solution&& t) {
  if (!Within(t) || !BudgetBetter(p_, t, *s)) return false;
  *s = std::move(t);
  return true;
}

int64_t BudgetSearch::StaysOf(const Bin& b) const {
  if (p_.IsNew(b.kind)) return 0;
  int64_t n = 0;
  for (const auto& [d, c] : p_.current[b.kind]) n += std::min(c, b.Count(d));
  return n;
}

double BudgetSearch::Slack(const Bin& b) const {
  const Kind& k = p_.kinds[b.kind];
  return double(k.free.cpu_milli - b.used.cpu_milli) * inv_cpu_[b.kind] +
         double(k.free.memory_bytes - b.used.memory_bytes) * inv_mem_[b.kind];
}

void BudgetSearch::BuildIndex(const Solution& s, RetireIndex* idx) const {
  idx->bin_of_node.assign(p_.num_existing, -1);
  idx->by_slack.clear();
  for (size_t i = 0; i < s.bins.size(); ++i) {
    if (!p_.IsNew(s.bins[i].kind)) idx->bin_of_node[s.bins[i].kind] = static_cast<int>(i);
    idx->by_slack.push_back({Slack(s.bins[i]), static_cast<int>(i)});
  }
  std::sort(idx->by_slack.begin(), idx->by_slack.end());
}

int BudgetSearch::BestFit(const Solution& s, int bi, int d, const RetireIndex& idx,
                          const std::vector<int>& touched) const {
  // The open bin (not bi) with the least slack that takes one pod of d, ties
  // to the lower index. Bins touched in this evaluation changed since the
  // index was built: they are scored apart and skipped in the sorted walk.
  std::pair<double, int> best{1e300, -1};
  for (int o : touched)
    if (o != bi && pk_->CanAdd(s.bins[o], d, 1)) best = std::min(best, std::make_pair(Slack(s.bins[o]), o));
  for (const auto& e : idx.by_slack) {
    if (e >= best) break;
    if (e.second == bi || std::find(touched.begin(), touched.end(), e.second) != touched.end()) continue;
    if (pk_->CanAdd(s.bins[e.second], d, 1)) {
      best = e;
      break;
    }
  }
  return best.second;
}

BudgetSearch::RetireEffect BudgetSearch::RetireInPlace(Solution* s, int bi, bool commit, const RetireIndex& idx) {
  RetireEffect e;
  const int kind = s->bins[bi].kind;
  if (p_.IsNew(kind) || p_.kinds[kind].forced) return e;
  std::vector<std::pair<int, int>> victim = s->bins[bi].items;
  std::sort(victim.begin(), victim.end(), [&](const auto& a, const auto& b) {
    const auto& ra = p_.classes[a.first].req;
    const auto& rb = p_.classes[b.first].req;
    return std::tie(ra.cpu_milli, ra.memory_bytes, a.first) > std::tie(rb.cpu_milli, rb.memory_bytes, b.first);
  });
  int64_t stays_delta = -StaysOf(s->bins[bi]);
  std::vector<Change> log;
  std::vector<int> touched;
  auto add = [&](int o, int d, int t) {
    Bin& b = s->bins[o];
    if (!p_.IsNew(b.kind)) {
      int cur = CurrentCount(p_, b.kind, d);
      int have = b.Count(d);
      stays_delta += std::min(cur, have + t) - std::min(cur, have);
    }
    pk_->Add(&b, d, t);
    log.push_back(Change{o, d, t});
    if (std::find(touched.begin(), touched.end(), o) == touched.end()) touched.push_back(o);
  };
  std::vector<std::pair<int, int>> rem;  // (class, pods) that fit nowhere open
  for (auto [d, n] : victim) {
    // Home first: a node where fewer pods of d run than do now.
    for (const auto& [j, cur] : homes_[d]) {
      if (n <= 0) break;
      int o = idx.bin_of_node[j];
      if (o < 0 || o == bi) continue;
      int room = cur - s->bins[o].Count(d);
      if (room <= 0 || !pk_->CanAdd(s->bins[o], d, 1)) continue;
      int t = std::min(n, room);
      while (t > 0 && !pk_->CanAdd(s->bins[o], d, t)) --t;
      if (t <= 0) continue;
      add(o, d, t);
      n -= t;
    }
    // Best fit: the open bin left with the least slack.
    for (int best; n > 0 && (best = BestFit(*s, bi, d, idx, touched)) >= 0;) {
      int t = static_cast<int>(std::min<int64_t>(n, pk_->MaxAdd(s->bins[best], d)));
      add(best, d, t);
      n -= t;
    }
    if (n > 0) rem.push_back({d, n});
  }
  return Settle(s, bi, commit, stays_delta, rem, log);
}

BudgetSearch::RetireEffect BudgetSearch::Settle(Solution* s, int bi, bool commit, int64_t stays_delta,
                                                const std::vector<std::pair<int, int>>& leftovers,
                                                const std::vector<Change>& log) {
  RetireEffect e;
  Solution fresh;  // new nodes for what fits nowhere open
  bool ok = true;
  if (!leftovers.empty()) {
    static const std::vector<uint8_t> kNewOnly;
    std::vector<int> rem(p_.classes.size(), 0);
    for (const auto& [d, n] : leftovers) rem[d] += n;
    ok = pk_->Repack(&fresh, rem, &kNewOnly);
  }
  if (ok) {
    e.ok = true;
    e.cost_delta = fresh.Cost(p_) - p_.kinds[s->bins[bi].kind].price;
    e.moves_delta = -stays_delta;
  }
  if (commit && ok) {
    s->bins.erase(s->bins.begin() + bi);
    for (auto& b : fresh.bins) s->bins.push_back(std::move(b));
    return e;
  }
  for (auto it = log.rbegin(); it != log.rend(); ++it) pk_->Remove(&s->bins[it->bin], it->d, it->t);
  return e;
}

std::vector<int> BudgetSearch::HomeDeficits(const Solution& s) const {
  std::vector<int> deficit(p_.classes.size(), 0);
  for (const auto& b : s.bins) {
    if (p_.IsNew(b.kind)) continue;
    for (const auto& [d, cur] : p_.current[b.kind]) deficit[d] += std::max(0, cur - b.Count(d));
  }
  return deficit;
}

double BudgetSearch::KeyBound(const Solution& s, int bi, const std::vector<int>& deficit, double w_moves,
                              double w_retire, int64_t* moves_lb_out) const {
  // Retiring saves at most the node's price. Its pods that stay now move,
  // except those that fill a home deficit elsewhere (a pod of d returns to
  // a node that lost pods of d), so moves >= stays - sum_d min(n_d, deficit_d).
  const Bin& b = s.bins[bi];
  int64_t moves_lb = StaysOf(b);
  for (const auto& [d, n] : b.items) moves_lb -= std::min(n, deficit[d]);
  *moves_lb_out = moves_lb;
  const double price = p_.kinds[b.kind].price;
  const double denom_lb = double(std::max<int64_t>(0, moves_lb)) * w_moves + w_retire;
  if (denom_lb > 0) return price / denom_lb;
  return price * std::max(1e6, w_moves > 0 ? 1.0 / w_moves : 0.0);  // key = savings x 1e6 or / (moves x w_moves)
}

int BudgetSearch::RetireGreedy(Solution* s, const std::vector<double>& keep_hint,
                               std::chrono::steady_clock::time_point deadline) {
  struct Entry {
    double eff;
    double hint;
    int node;
    int version;  // commits when eff was computed; -1: an upper bound only
    int64_t moves_lb;  // the fewest moves retiring it takes (KeyBound)
    bool operator<(const Entry& o) const {
      return eff != o.eff ? eff < o.eff : hint != o.hint ? hint > o.hint : node > o.node;
    }
  };
  auto hint = [&](int j) { return keep_hint.empty() ? 0.0 : keep_hint[j]; };
  int64_t moves = s->Moves(p_);
  int64_t retired_now = s->Retired(p_);
  // Savings of retiring `node` per share of the remaining budget it uses;
  // false if it does not pay or does not fit the budget.
  // Weights of the two budgets: 1 / what is left of each, fixed for a whole
  // ranking round so that keys of one round stay comparable (keys that
  // shrank only because the budget did would all look stale at once).
  double w_moves = 0, w_retire = 0;
  const double move_weight = MoveWeight(p_);
  RetireIndex idx;  // rebuilt after each commit
  BuildIndex(*s, &idx);
  double min_saving = kEps * std::max(1.0, s->Cost(p_));
  auto evaluate = [&](int node, double* eff) {
    int bi = idx.bin_of_node[node];
    if (bi < 0) return false;
    RetireEffect e = RetireInPlace(s, bi, false, idx);
    if (!e.ok || -e.cost_delta <= move_weight * static_cast<double>(std::max<int64_t>(0, e.moves_delta)) + min_saving)
      return false;
    if (b_.max_moves >= 0 && moves + e.moves_delta > b_.max_moves) return false;
    const double denom = double(std::max<int64_t>(0, e.moves_delta)) * w_moves + w_retire;
    *eff = denom > 0 ? -e.cost_delta / denom : -e.cost_delta * 1e6;
    return true;
  };
  // Moves are checked per candidate: an empty node retires without any.
  auto budget_left = [&] { return b_.max_retire < 0 || retired_now < b_.max_retire; };
  int retired = 0;
  const int full_every = std::max<int>(8, static_cast<int>(b_.max_retire / 4));  // full re-ranking: new nodes' slack
  while (budget_left() && std::chrono::steady_clock::now() < deadline) {
    w_moves = b_.max_moves >= 0 ? 1.0 / double(std::max<int64_t>(1, b_.max_moves - moves)) : 0.0;
    w_retire = b_.max_retire >= 0 ? 1.0 / double(std::max<int64_t>(1, b_.max_retire - retired_now)) : 0.0;
    // Lazy ranking: every node enters with an upper bound on its key (see
    // KeyBound) and is evaluated only once it reaches the top.
    std::priority_queue<Entry> queue;
    const std::vector<int> deficit = HomeDeficits(*s);
    for (int j : RetireCandidates(*s)) {
      int64_t moves_lb = 0;
      const double key = KeyBound(*s, idx.bin_of_node[j], deficit, w_moves, w_retire, &moves_lb);
      if (b_.max_moves < 0 || moves + moves_lb <= b_.max_moves) queue.push(Entry{key, hint(j), j, -1, moves_lb});
    }
    int commits = 0;
    while (!queue.empty() && commits < full_every && budget_left() && std::chrono::steady_clock::now() < deadline) {
      Entry top = queue.top();
      queue.pop();
      if (b_.max_moves >= 0 && moves + top.moves_lb > b_.max_moves) continue;  // no longer fits the moves left
      if (top.version != retired) {  // an upper bound, or computed before the last commit
        double eff;
        if (!evaluate(top.node, &eff)) continue;
        if (!queue.empty() && eff < queue.top().eff * (1 - 1e-12)) {
          queue.push(Entry{eff, top.hint, top.node, retired, top.moves_lb});  // re-rank
          continue;
        }
      }
      RetireEffect e = RetireInPlace(s, idx.bin_of_node[top.node], true, idx);
      if (!e.ok) continue;
      BuildIndex(*s, &idx);
      min_saving = kEps * std::max(1.0, s->Cost(p_));
      moves += e.moves_delta;
      ++retired_now;
      ++retired;
      ++commits;
    }
    if (commits == 0) break;
  }
  return retired;
}

int BudgetSearch::RetireByLp(Solution* s, const std::vector<double>& keep,
                             std::chrono::steady_clock::time_point deadline) {
  if (keep.empty()) return 0;
  std::vector<std::pair<double, int>> order;
  for (int j : RetireCandidates(*s))
    if (keep[j] < 0.5) order.push_back({keep[j], j});
  std::sort(order.begin(), order.end());
  int retired = 0;
  for (auto& [y, j] : order) {
    if (std::chrono::steady_clock::now() > deadline) break;
    int bi = BinOfNode(*s, j);
    if (bi < 0) continue;
    Solution t = *s;
    if (RetireBin(&t, bi) && Accept(s, std::move(t))) ++retired;
  }
  return retired;
}

bool BudgetSearch::ConsolidateNew(Solution* s) {
  Solution t = *s;
  std::vector<int> rem(p_.classes.size(), 0);
  bool any = false;
  for (const auto& b : t.bins)
    if (p_.IsNew(b.kind))
      for (const auto& [d, n] : b.items) {
        rem[d] += n;
        any = true;
      }
  if (!any) return false;
  t.bins.erase(std::remove_if(t.bins.begin(), t.bins.end(), [&](const Bin& b) { return p_.IsNew(b.kind); }),
               t.bins.end());
  if (!pk_->Repack(&t, rem)) return false;
  return Accept(s, std::move(t));
}

bool BudgetSearch::DestroyRepair(Solution* s) {
  const int nb = static_cast<int>(s->bins.size());
  if (nb == 0) return false;
  const int k = std::min(nb, 2 + static_cast<int>(rng_() % 7));
  std::vector<int> pick;
  if (rng_() % 2 == 0) {  // random
    std::vector<int> all(nb);
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin(), all.end(), rng_);
    pick.assign(all.begin(), all.begin() + k);
  } else {  // lowest utilisation in a random sample
    std::vector<std::pair<double, int>> sample;
    for (int i = 0; i < std::min(nb, 4 * k); ++i) {
      int bi = static_cast<int>(rng_() % nb);
      sample.push_back({Utilisation(p_, s->bins[bi]), bi});
    }
    std::sort(sample.begin(), sample.end());
    for (auto& [u, bi] : sample)
      if (static_cast<int>(pick.size()) < k && std::find(pick.begin(), pick.end(), bi) == pick.end())
        pick.push_back(bi);
  }
  Solution t = *s;
  std::vector<int> rem(p_.classes.size(), 0);
  std::sort(pick.rbegin(), pick.rend());
  for (int bi : pick) {
    Bin& b = t.bins[bi];
    for (const auto& [d, n] : b.items) rem[d] += n;
    const bool keep_open = !p_.IsNew(b.kind) && (p_.kinds[b.kind].forced || rng_() % 2 == 0);
    if (keep_open) {
      b.items.clear();
      b.used = Resources{};
    } else {
      t.bins.erase(t.bins.begin() + bi);
    }
  }
  if (!pk_->Repack(&t, rem)) return false;
  // Existing nodes left empty retire while the budget allows.
  for (int i = static_cast<int>(t.bins.size()) - 1; i >= 0; --i) {
    const Bin& b = t.bins[i];
    if (!b.items.empty() || p_.kinds[b.kind].forced) continue;
    if (p_.IsNew(b.kind) || b_.max_retire < 0 || t.Retired(p_) < b_.max_retire) t.bins.erase(t.bins.begin() + i);
  }
  return Accept(s, std::move(t));
}

bool BudgetSearch::Swap(Solution* s) {
  std::vector<uint8_t> open(p_.num_existing, 0);
  for (const auto& b : s->bins)
    if (!p_.IsNew(b.kind)) open[b.kind] = 1;
  std::vector<int> retired;
  for (int j = 0; j < p_.num_existing; ++j)
    if (!open[j]) retired.push_back(j);
  std::vector<int> cands = RetireCandidates(*s);
  if (retired.empty() || cands.empty()) return false;
  Solution t = *s;
  Unretire(&t, retired[rng_() % retired.size()]);
  // Retire the best of a few random candidates.
  Solution best;
  bool have = false;
  for (int tries = 0; tries < 4; ++tries) {
    int j = cands[rng_() % cands.size()];
    int bi = BinOfNode(t, j);
    if (bi < 0) continue;
    Solution u = t;
    if (!RetireBin(&u, bi)) continue;
    if (!have || BudgetBetter(p_, u, best)) {
      best = std::move(u);
      have = true;
    }
  }
  if (!have) return false;
  if (Accept(s, Solution(best))) return true;
  // Retiring a node often leaves booted nodes half empty: consolidate before judging.
  if (!Within(best)) return false;
  Solution c = best;
  std::vector<int> rem(p_.classes.size(), 0);
  for (const auto& b : c.bins)
    if (p_.IsNew(b.kind))
      for (const auto& [d, n] : b.items) rem[d] += n;
  c.bins.erase(std::remove_if(c.bins.begin(), c.bins.end(), [&](const Bin& b) { return p_.IsNew(b.kind); }),
               c.bins.end());
  if (!pk_->Repack(&c, rem)) return false;
  return Accept(s, std::move(c));
}

bool BudgetSearch::RetireSome(Solution* s, int count) {
  if (b_.max_retire >= 0 && s->Retired(p_) + count > b_.max_retire) return false;
  std::vector<int> cands = RetireCandidates(*s);
  if (static_cast<int>(cands.size()) < count) return false;
  std::shuffle(cands.begin(), cands.end(), rng_);
  Solution t = *s;
  for (int i = 0; i < count; ++i)
    if (!RetireBin(&t, BinOfNode(t, cands[i]))) return false;
  if (Accept(s, Solution(t))) return true;
  // Two retired nodes often share one new node: consolidate before judging.
  return count > 1 && Within(t) && ConsolidateNew(&t) && Accept(s, std::move(t));
}

bool BudgetSearch::RepackMoved(Solution* s) {
  // Pods already away from home move again for free: re-pack those on a few
  // booted nodes and a few kept nodes (cheaper or fewer new nodes).
  std::vector<int> fresh, kept;
  for (size_t i = 0; i < s->bins.size(); ++i) (p_.IsNew(s->bins[i].kind) ? fresh : kept).push_back(static_cast<int>(i));
  if (fresh.empty()) return false;
  std::shuffle(fresh.begin(), fresh.end(), rng_);
  std::shuffle(kept.begin(), kept.end(), rng_);
  fresh.resize(std::min<size_t>(fresh.size(), 2 + rng_() % 5));
  kept.resize(std::min<size_t>(kept.size(), rng_() % 4));
  Solution t = *s;
  std::vector<int> rem(p_.classes.size(), 0);
  for (int bi : kept) {
    Bin& b = t.bins[bi];
    for (const auto& [d, n] : std::vector<std::pair<int, int>>(b.items)) {
      int away = n - std::min(n, CurrentCount(p_, b.kind, d));
      if (away <= 0) continue;
      pk_->Remove(&b, d, away);
      rem[d] += away;
    }
  }
  std::sort(fresh.rbegin(), fresh.rend());
  for (int bi : fresh) {
    for (const auto& [d, n] : t.bins[bi].items) rem[d] += n;
    t.bins.erase(t.bins.begin() + bi);
  }
  static const std::vector<uint8_t> kNewOnly;
  if (!pk_->Repack(&t, rem, rng_() % 2 ? nullptr : &kNewOnly)) return false;
  return Accept(s, std::move(t));
}

bool BudgetSearch::Step(Solution* s) {
  int op = static_cast<int>(rng_() % 12);
  if (op < 4) return DestroyRepair(s);
  if (op < 6) return Swap(s);
  if (op < 8) return RetireSome(s, 1 + static_cast<int>(rng_() % 2));
  if (op < 11) return RepackMoved(s);
  return ConsolidateNew(s);
}

}  // namespace kinema::opt
