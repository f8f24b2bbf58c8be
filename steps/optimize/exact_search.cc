#include "steps/optimize/exact_search.h"

#include <algorithm>
#include <functional>

namespace kinema::opt {

bool ExactSearch(const Problem& p, Packer* pk, Solution* best, std::chrono::steady_clock::time_point deadline,
                 int64_t node_limit, const BudgetLimits* budget) {
  const bool budgeted = budget != nullptr;
  const int64_t max_moves = budgeted ? budget->max_moves : -1;
  const int64_t max_retire = budgeted ? budget->max_retire : -1;
  // Pods, largest first, grouped by class.
  std::vector<int> pods;
  std::vector<int> order(p.classes.size());
  for (size_t d = 0; d < order.size(); ++d) order[d] = static_cast<int>(d);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    const auto& ra = p.classes[a].req;
    const auto& rb = p.classes[b].req;
    return std::make_tuple(ra.cpu_milli + ra.memory_bytes / (1 << 20), a) >
           std::make_tuple(rb.cpu_milli + rb.memory_bytes / (1 << 20), b);
  });
  for (int d : order)
    for (int i = 0; i < p.classes[d].n(); ++i) pods.push_back(d);
  // Current count of class d on existing node j (budgeted moves).
  std::vector<std::vector<int>> cur;
  if (budgeted) {
    cur.assign(p.num_existing, std::vector<int>(p.classes.size(), 0));
    for (int j = 0; j < p.num_existing; ++j)
      for (const auto& [d, n] : p.current[j]) cur[j][d] = n;
  }
  Solution cur_sol;
  double cost = 0;
  int64_t moves = 0;
  std::vector<uint8_t> node_open(p.num_existing, 0);
  for (int j = 0; j < p.num_existing; ++j)
    if (p.kinds[j].forced) {
      Bin b;
      b.kind = j;
      cur_sol.bins.push_back(b);
      node_open[j] = 1;
      cost += p.kinds[j].price;
    }
  double best_cost = best->Cost(p);
  int64_t nodes = 0;
  bool aborted = false;
  std::vector<int> last_bin(p.classes.size(), 0);
  // A pod of class d added to bin b: does it use a move?
  auto is_move = [&](const Bin& b, int d) {
    return !budgeted || p.IsNew(b.kind) || b.Count(d) >= cur[b.kind][d];
  };
  // Leaf under a retire limit: keep the cheapest unopened nodes, empty.
  auto finish = [&](Solution* s, double* total) {
    *total = cost;
    if (max_retire < 0) return;
    std::vector<std::pair<double, int>> closed;
    for (int j = 0; j < p.num_existing; ++j)
      if (!node_open[j]) closed.push_back({p.kinds[j].price, j});
    int64_t extra = static_cast<int64_t>(closed.size()) - max_retire;
    if (extra <= 0) return;
    std::sort(closed.begin(), closed.end());
    for (int64_t i = 0; i < extra; ++i) {
      *total += closed[i].first;
      if (s) {
        Bin b;
        b.kind = closed[i].second;
        s->bins.push_back(b);
      }
    }
  };
  std::function<void(size_t)> dfs = [&](size_t i) {
    if (aborted) return;
    if (++nodes > node_limit || ((nodes & 1023) == 0 && std::chrono::steady_clock::now() > deadline)) {
      aborted = true;
      return;
    }
    if (cost >= best_cost - 1e-12) return;
    if (max_moves >= 0 && moves > max_moves) return;
    if (i == pods.size()) {
      double total;
      finish(nullptr, &total);
      if (total >= best_cost - 1e-12) return;
      best_cost = total;
      *best = cur_sol;
      finish(best, &total);
      return;
    }
    int d = pods[i];
    int start = (i > 0 && pods[i - 1] == d) ? last_bin[d] : 0;
    for (int b = start; b < static_cast<int>(cur_sol.bins.size()); ++b) {
      if (!pk->CanAdd(cur_sol.bins[b], d, 1)) continue;
      const int64_t dm = is_move(cur_sol.bins[b], d);
      pk->Add(&cur_sol.bins[b], d, 1);
      moves += dm;
      int saved = last_bin[d];
      last_bin[d] = b;
      dfs(i + 1);
      last_bin[d] = saved;
      moves -= dm;
      pk->Remove(&cur_sol.bins[b], d, 1);
      if (aborted) return;
    }
    // Open a new node: existing (first unopened of its group, or any forced-free
    // node without a group) or a new kind.
    std::vector<int> seen_group(p.groups.size(), 0);
    for (int k = 0; k < static_cast<int>(p.kinds.size()); ++k) {
      const Kind& kd = p.kinds[k];
      if (!kd.compat[d]) continue;
      if (!p.IsNew(k)) {
        if (node_open[k]) continue;
        if (kd.group >= 0 && !budgeted) {
          if (seen_group[kd.group]) continue;
          seen_group[kd.group] = 1;
        }
      }
      if (cost + kd.price >= best_cost - 1e-12) continue;
      Bin nb;
      nb.kind = k;
      if (!pk->CanAdd(nb, d, 1)) continue;
      const int64_t dm = is_move(nb, d);
      pk->Add(&nb, d, 1);
      cur_sol.bins.push_back(nb);
      if (!p.IsNew(k)) node_open[k] = 1;
      cost += kd.price;
      moves += dm;
      int saved = last_bin[d];
      last_bin[d] = static_cast<int>(cur_sol.bins.size()) - 1;
      dfs(i + 1);
      last_bin[d] = saved;
      moves -= dm;
      cost -= kd.price;
      if (!p.IsNew(k)) node_open[k] = 0;
      cur_sol.bins.pop_back();
      if (aborted) return;
    }
  };
  dfs(0);
  return !aborted;
}

}  // namespace kinema::opt
