#include "steps/optimize/budget.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace kinema::opt {

bool WithinBudget(const Problem& p, const Solution& s, const BudgetLimits& b) {
  std::vector<uint8_t> open(p.num_existing, 0);
  for (const auto& bin : s.bins)
    if (!p.IsNew(bin.kind)) open[bin.kind] = 1;
  int64_t retired = 0;
  for (int j = 0; j < p.num_existing; ++j) {
    if (open[j]) continue;
    if (p.kinds[j].forced) return false;
    ++retired;
  }
  if (b.max_retire >= 0 && retired > b.max_retire) return false;
  return b.max_moves < 0 || s.Moves(p) <= b.max_moves;
}

double MoveWeight(const Problem& p) { return 1e-6 * p.cost_before; }

bool BudgetBetter(const Problem& p, const Solution& a, const Solution& b) {
  const double w = MoveWeight(p);
  const int64_t ma = a.Moves(p), mb = b.Moves(p);
  const double sa = a.Cost(p) + w * static_cast<double>(ma), sb = b.Cost(p) + w * static_cast<double>(mb);
  const double tol = 1e-9 * std::max(1.0, std::fabs(sb));
  if (sa < sb - tol) return true;
  if (sa > sb + tol) return false;
  const double na = a.NewCost(p), nb = b.NewCost(p);
  if (na < nb - tol) return true;
  if (na > nb + tol) return false;
  return ma < mb;
}

int64_t PodsOnNode(const Problem& p, int j) {
  int64_t n = 0;
  for (const auto& [d, c] : p.current[j]) n += c;
  return n;
}

namespace {

struct Item {
  double value;
  double weight;
};

// max sum (v_j - lambda)^+ x_j  s.t. sum w_j x_j <= cap, 0 <= x <= 1 (fractional knapsack).
double FractionalKnapsack(const std::vector<Item>& items, double lambda, double cap) {
  std::vector<std::pair<double, int>> ord;
  double free_value = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    double v = items[i].value - lambda;
    if (v <= 0) continue;
    if (items[i].weight <= 0)
      free_value += v;
    else
      ord.push_back({-v / items[i].weight, static_cast<int>(i)});
  }
  if (cap >= std::numeric_limits<double>::max() / 2) {
    for (auto& [r, i] : ord) free_value += items[i].value - lambda;
    return free_value;
  }
  std::sort(ord.begin(), ord.end());
  double left = cap, val = free_value;
  for (auto& [r, i] : ord) {
    if (left <= 0) break;
    double take = std::min(1.0, left / items[i].weight);
    val += take * (items[i].value - lambda);
    left -= take * items[i].weight;
  }
  return val;
}

}  // namespace

double BudgetKnapsackBound(const Problem& p, const BudgetLimits& b) {
  double base = 0;
  std::vector<Item> items;
  double max_value = 0;
  for (int j = 0; j < p.num_existing; ++j) {
    const Kind& k = p.kinds[j];
    base += k.price;
    if (k.forced) continue;
    items.push_back(Item{k.price, static_cast<double>(PodsOnNode(p, j))});
    max_value = std::max(max_value, k.price);
  }
  const double inf = std::numeric_limits<double>::max();
  double cap = b.max_moves >= 0 ? std::max<double>(0, double(b.max_moves - p.unplaced_now)) : inf;
  double r = b.max_retire >= 0 ? static_cast<double>(b.max_retire) : -1;
  auto dual = [&](double lambda) { return (r >= 0 ? lambda * r : 0) + FractionalKnapsack(items, lambda, cap); };
  double best = dual(0);
  if (r >= 0) {
    // g(lambda) is convex (lambda*R + a max of functions linear in lambda);
    // every lambda >= 0 gives a valid bound, the search only tightens it.
    double lo = 0, hi = max_value;
    for (int it = 0; it < 80; ++it) {
      double m1 = lo + (hi - lo) / 3, m2 = hi - (hi - lo) / 3;
      double g1 = dual(m1), g2 = dual(m2);
      best = std::min({best, g1, g2});
      if (g1 <= g2)
        hi = m2;
      else
        lo = m1;
    }
    best = std::min(best, dual(max_value));  // lambda = max price: only lambda*R remains
  }
  double lb = base - best;
  return std::max(0.0, lb - 1e-9 * std::max(1.0, std::fabs(lb)));
}

}  // namespace kinema::opt
