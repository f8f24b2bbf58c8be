#include "steps/rebalance/pareto.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <unordered_set>

namespace kinema::rebalance {

namespace {

using Point = std::array<double, 4>;
constexpr double kInf = std::numeric_limits<double>::infinity();

Status Validate(const std::vector<NodeRatios>& nodes, std::vector<Point>* points) {
  std::unordered_set<std::string> seen;
  for (const auto& n : nodes) {
    if (!seen.insert(n.node).second) {
      return Status::InvalidArgument("pareto front: node " + n.node + " appears twice");
    }
    const std::pair<const char*, double> fields[] = {{"cpu_usage", n.cpu_usage},
                                                     {"cpu_pressure", n.cpu_pressure},
                                                     {"memory_usage", n.memory_usage},
                                                     {"memory_pressure", n.memory_pressure}};
    for (const auto& [name, v] : fields) {
      if (!(v >= 0 && v <= 1)) {  // also NaN
        return Status::InvalidArgument("pareto front: node " + n.node + ": " + name + " = " + std::to_string(v) +
                                       " is not a ratio in [0, 1]");
      }
    }
    points->push_back({n.cpu_usage, n.cpu_pressure, n.memory_usage, n.memory_pressure});
  }
  return Status::OK();
}

bool Dominates(const Point& a, const Point& b) {
  bool strictly = false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] > b[i]) return false;
    strictly |= a[i] < b[i];
  }
  return strictly;
}

// Fast non-dominated sort: fronts of indices, front 0 first; inside a front
// the order in which the reference discovers its members.
std::vector<std::vector<size_t>> NonDominatedFronts(const std::vector<Point>& x) {
  const size_t n = x.size();
  std::vector<std::vector<size_t>> dominated(n);  // the nodes i dominates
  std::vector<size_t> dominators(n, 0);           // how many dominate i
  std::vector<std::vector<size_t>> fronts(1);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      if (i == j) continue;
      if (Dominates(x[i], x[j])) {
        dominated[i].push_back(j);
      } else if (Dominates(x[j], x[i])) {
        dominators[i]++;
      }
    }
    if (dominators[i] == 0) fronts[0].push_back(i);
  }
  for (size_t f = 0; f < fronts.size() && !fronts[f].empty(); ++f) {
    std::vector<size_t> next;
    for (size_t i : fronts[f]) {
      for (size_t j : dominated[i]) {
        if (--dominators[j] == 0) next.push_back(j);
      }
    }
    if (!next.empty()) fronts.push_back(std::move(next));
  }
  return fronts;
}

// NSGA-II crowding distance of each member of `front` (same order).
std::vector<double> CrowdingDistances(const std::vector<Point>& x, const std::vector<size_t>& front) {
  const size_t m = front.size();
  if (m <= 2) return std::vector<double>(m, kInf);
  std::vector<double> dist(m, 0.0);
  for (size_t k = 0; k < 4; ++k) {
    std::vector<size_t> order(m);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[front[a]][k] < x[front[b]][k]; });
    dist[order.front()] = kInf;
    dist[order.back()] = kInf;
    const double range = x[front[order.back()]][k] - x[front[order.front()]][k];
    if (range <= 0) continue;
    for (size_t t = 1; t + 1 < m; ++t) {
      dist[order[t]] += (x[front[order[t + 1]]][k] - x[front[order[t - 1]]][k]) / range;
    }
  }
  return dist;
}

}  // namespace

StatusOr<std::vector<NodeScore>> ParetoFrontScores(const std::vector<NodeRatios>& nodes) {
  std::vector<Point> x;
  x.reserve(nodes.size());
  KINEMA_RETURN_IF_ERROR(Validate(nodes, &x));
  std::vector<NodeScore> scores(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) scores[i].node = nodes[i].node;
  if (nodes.empty()) return scores;

  const auto fronts = NonDominatedFronts(x);
  const double levels = static_cast<double>(fronts.size());
  for (size_t f = 0; f < fronts.size(); ++f) {
    const std::vector<double> dist = CrowdingDistances(x, fronts[f]);
    const double front_score = levels > 1 ? static_cast<double>(f) / (levels - 1) : 0.0;
    double max_finite = -1;
    for (double d : dist) {
      if (d != kInf) max_finite = std::max(max_finite, d);
    }
    for (size_t t = 0; t < fronts[f].size(); ++t) {
      double bonus = 0;  // boundary nodes (∞)
      if (dist[t] != kInf) bonus = max_finite > 0 ? 0.1 * (1.0 - dist[t] / max_finite) : 0.05;
      scores[fronts[f][t]].score = std::clamp(front_score + bonus, 0.0, 1.0);
    }
  }
  return scores;
}

}  // namespace kinema::rebalance
