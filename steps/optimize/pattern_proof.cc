#include "steps/optimize/pattern_proof.h"

#include <lp_lib.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <cstdio>
#include <cstdlib>
#include <queue>

#include "steps/optimize/pattern_master.h"
#include "steps/optimize/proof_dive.h"

namespace kinema::opt {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kInf = std::numeric_limits<double>::infinity();
// A node whose (shaved) LP bound is within this share of the incumbent holds
// no plan cheaper by more than it: the tolerance of "optimal" everywhere
// (bound equal to cost up to 1e-6 relative, plan.h), well above the shave
// (1e-7) and lp_solve's own tolerance.
constexpr double kPruneRel = 1e-6;

// An LP bound shaved by lp_solve's tolerance, so it stays a bound.
double Shave(double lb) { return lb - 1e-7 * std::max(1.0, std::fabs(lb)); }

// The best plan known and its cost (the proof's upper bound).
struct Incumbent {
  const Problem& p;
  Solution plan;
  double cost;
  bool improved = false;
  void Offer(Solution s) {
    if (s.bins.empty() || !Better(p, s, plan)) return;
    plan = std::move(s);
    cost = plan.Cost(p);
    improved = true;
  }
};

struct TreeNode {
  double lb;                        // a bound on every plan within `ranges` (parent's LP)
  std::vector<CountRange> ranges;   // one per unit
  std::vector<FlowBound> flows;     // branching where the counts were integral
  int depth = 0;
};
// Best first; among equal bounds the deepest first (degenerate subtrees of
// one bound are searched depth first, towards a plan at that bound).
struct LargerBound {
  bool operator()(const TreeNode& a, const TreeNode& b) const {
    if (std::fabs(a.lb - b.lb) > 1e-9 * std::max(1.0, std::fabs(b.lb))) return a.lb > b.lb;
    return a.depth < b.depth;
  }
};

// The non-forced unit with a fractional node count in the LP solution whose
// price times distance to the nearest integer is the largest (branching on
// it moves the bound the most; on the 337-pod cluster 4.162 vs 4.156 after
// 10 s against the plain most fractional count; ties: the dearer unit), or
// -1 when every count is integral.
int BranchingUnit(const PatternMaster& m, const ColumnPool& pool, const std::vector<double>& x, double* count) {
  std::vector<double> n(m.units.size(), 0.0);
  for (size_t c = 0; c < x.size(); ++c) n[pool.cols[c].unit] += x[c];
  int best = -1;
  double best_score = -1;
  for (size_t u = 0; u < m.units.size(); ++u) {
    if (m.units[u].forced >= 0) continue;
    const double frac = n[u] - std::floor(n[u]);
    if (std::min(frac, 1 - frac) <= 1e-6) continue;
    const double score = m.units[u].cost * std::min(frac, 1 - frac);
    if (score > best_score + 1e-12 || (best >= 0 && score > best_score - 1e-12 && m.units[u].cost > m.units[best].cost)) {
      best = static_cast<int>(u);
      best_score = score;
    }
  }
  if (best >= 0) *count = n[best];
  return best;
}

using OpenNodes = std::priority_queue<TreeNode, std::vector<TreeNode>, LargerBound>;

// Splits `node` on its most fractional unit count in the LP solution x:
// children "count <= floor" and "count >= ceil", both with bound `lb`. False
// when every count is integral (or x is empty).
bool Branch(const PatternMaster& m, const ColumnPool& pool, const std::vector<double>& x, const TreeNode& node,
            double lb, OpenNodes* open) {
  if (x.empty()) return false;
  double count = 0;
  const int u = BranchingUnit(m, pool, x, &count);
  if (u < 0) return false;
  TreeNode down{lb, node.ranges, node.flows, node.depth + 1}, up{lb, node.ranges, node.flows, node.depth + 1};
  down.ranges[u].hi = std::floor(count);
  up.ranges[u].lo = std::ceil(count);
  open->push(std::move(down));
  open->push(std::move(up));
  return true;
}

// Where every count is integral but the master is not: splits `node` on the
// most fractional total of one class on one unit's nodes (sum_{p of u}
// a_pd x_p <= floor / >= ceil; every plan lies in exactly one child), both
// children with bound `lb`. False when every such flow is integral too.
bool BranchOnFlow(const PatternMaster& m, const ColumnPool& pool, const std::vector<double>& x, const TreeNode& node,
                  double lb, OpenNodes* open) {
  std::map<std::pair<int, int>, double> flow;
  for (size_t c = 0; c < x.size(); ++c)
    if (x[c] > 1e-9)
      for (const auto& [d, n] : pool.cols[c].items) flow[{pool.cols[c].unit, d}] += n * x[c];
  std::pair<int, int> best{-1, -1};
  double best_frac = 1e-6, value = 0;
  for (const auto& [key, f] : flow) {
    const double frac = std::min(f - std::floor(f), std::ceil(f) - f);
    if (frac > best_frac) {
      best = key;
      best_frac = frac;
      value = f;
    }
  }
  if (best.first < 0) return false;
  TreeNode down{lb, node.ranges, node.flows, node.depth + 1}, up{lb, node.ranges, node.flows, node.depth + 1};
  down.flows.push_back(FlowBound{best.first, best.second, true, std::floor(value)});
  up.flows.push_back(FlowBound{best.first, best.second, false, std::ceil(value)});
  open->push(std::move(down));
  open->push(std::move(up));
  return true;
}

// Closes a node whose LP counts are integral, under the node's duals (left
// in m by ConvergeNode). Rounds with a growing delta: every plan of the node
// costs >= lb + sum_p rc_p x_p, so one cheaper than lb + delta uses only the
// maximal columns with rc <= delta; the IP over them gives z, and every plan
// of the node costs >= min(z, lb + delta). The node is closed (true) when z
// is its optimum (z <= lb + delta) or delta covers the incumbent; otherwise
// *bound is the best bound on the node's plans.
bool CloseNode(const Problem& p, const PatternMaster& m, const std::vector<CountRange>& ranges, double lb,
               Clock::time_point deadline, int64_t max_columns, Incumbent* inc, double* bound, int64_t* enumerated,
               std::string* stopped) {
  const double eps = 1e-5 * m.max_price;  // covers the rc tolerance of "converged"
  double delta = std::min(inc->cost - lb, std::max(2e-3 * lb, 10 * eps));
  int solved_rounds = 0, shrinks = 0;
  *bound = lb;
  while (Clock::now() < deadline) {
    const bool covers_ub = delta >= inc->cost - lb;
    std::vector<PatternColumn> cols;
    bool complete = EnumerateColumnsWithin(p, m, ranges, delta + eps, max_columns, &cols);
    *enumerated += static_cast<int64_t>(cols.size());
    if (!complete) {
      *stopped = "more than " + std::to_string(max_columns) + " columns within " + std::to_string(delta) +
                 " $/h of a node's LP bound";
      // A smaller delta still gives a restricted IP whose plan is a good
      // candidate; once an IP was solved, a larger delta that overflows ends it.
      if (solved_rounds > 0 || ++shrinks > 4 || delta / 4 < 10 * eps) return false;
      delta /= 4;
      continue;
    }
    Solution s;
    double z = -1;
    const int ret = SolveMasterIp(p, m, ranges, cols, deadline, &s, &z);
    inc->Offer(std::move(s));
    if (ret != OPTIMAL && ret != PRESOLVED && ret != INFEASIBLE) {
      *stopped = ret == SUBOPTIMAL ? "branch and bound stopped early"
                                   : "branch and bound status " + std::to_string(ret);
      return false;
    }
    ++solved_rounds;
    const double zz = ret == INFEASIBLE ? kInf : z;
    if (zz <= lb + delta || covers_ub) return true;
    *bound = std::max(*bound, std::min(zz, lb + delta) - eps);
    if (*bound >= inc->cost) return true;
    delta = std::min(inc->cost - lb, std::max(delta * 4, zz - lb));
  }
  *stopped = "time limit";
  return false;
}

// The plan from the LP's own columns: lp_solve's B&B over the columns the
// node's LP uses, under the node's ranges (a cheap heuristic).
void TrySupportIp(const Problem& p, const PatternMaster& m, const std::vector<CountRange>& ranges,
                  const ColumnPool& pool, const std::vector<double>& x, Clock::time_point deadline, Incumbent* inc) {
  std::vector<PatternColumn> support;
  for (size_t c = 0; c < x.size(); ++c)
    if (x[c] > 1e-9) support.push_back(pool.cols[c]);
  Solution s;
  double z = -1;
  SolveMasterIp(p, m, ranges, support, std::min(deadline, Clock::now() + std::chrono::milliseconds(500)), &s, &z);
  inc->Offer(std::move(s));
}

// The ranges that fix every non-forced unit's count at its (integral)
// value in the LP solution x.
std::vector<CountRange> CountsOf(const PatternMaster& m, const ColumnPool& pool, const std::vector<double>& x) {
  std::vector<CountRange> r(m.units.size());
  for (size_t c = 0; c < x.size(); ++c) r[pool.cols[c].unit].lo += x[c];
  for (auto& c : r) c.hi = c.lo = std::round(c.lo);
  return r;
}

// Dives at the root and then every 32nd node (an LP deep in the tree is
// closer to integral, and the tree's incumbent prunes and closes nodes),
// while the dives have taken at most a quarter of the tree's time (on the
// 576-pod cluster a dive costs as much as ~20 nodes).
bool DiveHere(int node, double dive_seconds, double seconds) {
  return node == 1 || (node % 32 == 0 && dive_seconds <= 0.25 * seconds);
}

void Dive(const Problem& p, const PatternMaster& m, const std::vector<CountRange>& ranges, Clock::time_point deadline,
          ColumnPool* pool, Incumbent* inc, PatternProofResult* res) {
  const auto t0 = Clock::now();
  DiveResult d = DiveForPlan(p, m, ranges, inc->cost, deadline, pool);
  res->dive_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  ++res->dives;
  res->dive_steps += d.steps;
  if (std::getenv("KINEMA_PROOF_TRACE"))
    std::fprintf(stderr, "dive: %d steps, %d iterations, %s (incumbent %.6f)\n", d.steps, d.iterations,
                 d.has_plan ? ("plan " + std::to_string(d.cost)).c_str() : d.stopped.c_str(), inc->cost);
  if (!d.has_plan) return;
  const double before = inc->cost;
  inc->Offer(std::move(d.plan));
  if (inc->cost < before) ++res->dive_improvements;
}

// A node whose counts are integral: closed by reduced cost (CloseNode), else
// branched on a class's total on a unit (below a flow branch, where an
// ancestor's enumeration overflowed, branched first); when those are
// integral too, a dive with its counts fixed may find the plan that closes
// it (the dives' time share of the tree's time since `t0`), and the node is left unresolved: its bound
// goes to `given_up`.
void ResolveIntegralCounts(const Problem& p, const PatternMaster& m, const TreeNode& node, const std::vector<double>& x,
                           double lb, Clock::time_point deadline, int64_t max_columns, Clock::time_point t0,
                           ColumnPool* pool, Incumbent* inc, OpenNodes* open, std::vector<double>* given_up,
                           PatternProofResult* res) {
  if (!node.flows.empty() && BranchOnFlow(m, *pool, x, node, lb, open)) {
    ++res->flow_branches;
    return;
  }
  double bound = lb;
  const bool closed = CloseNode(p, m, node.ranges, lb, deadline, max_columns, inc, &bound, &res->enumerated,
                                &res->stopped);
  if (!closed) {
    if (BranchOnFlow(m, *pool, x, node, bound, open)) {
      ++res->flow_branches;
      return;
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (res->dive_seconds <= 0.25 * seconds) Dive(p, m, CountsOf(m, *pool, x), deadline, pool, inc, res);
    given_up->push_back(bound);
  }
  if (std::getenv("KINEMA_PROOF_TRACE"))
    std::fprintf(stderr, "node %d: integral counts, %s (bound %.6f, incumbent %.6f)\n", res->nodes,
                 closed ? "closed" : "left open", bound, inc->cost);
}

// The tree's bound once it stops: the least bound of the open nodes and of
// the unresolved ones still below the incumbent; proven when none is.
void SettleBound(const OpenNodes& open, const std::vector<double>& given_up, double incumbent_cost,
                 PatternProofResult* res) {
  double lb = open.empty() ? kInf : open.top().lb;
  for (double b : given_up)
    if (b < incumbent_cost * (1 - kPruneRel)) lb = std::min(lb, b);
  res->proven = lb >= incumbent_cost * (1 - kPruneRel);
  res->lower_bound = res->proven ? incumbent_cost : std::min(incumbent_cost, lb);
  if (res->proven) res->stopped.clear();
}

}  // namespace

PatternProofResult ProvePatternOptimum(const Problem& p, const Solution& incumbent, Clock::time_point deadline,
                                       int64_t max_columns, int max_nodes) {
  const auto t0 = Clock::now();
  auto since = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  PatternProofResult res;
  Incumbent inc{p, incumbent, incumbent.Cost(p)};
  if (p.classes.empty()) {
    res.converged = res.proven = true;
    res.lower_bound = inc.cost;
    return res;
  }
  PatternMaster m = MakePatternMaster(p);
  ColumnPool pool;
  SeedPool(p, m, incumbent, &pool);
  OpenNodes open;
  open.push(TreeNode{-kInf, std::vector<CountRange>(m.units.size()), {}, 0});
  // Bounds of the nodes left unresolved. The tree goes on past them: a plan
  // found later at or below such a bound prunes that node too.
  std::vector<double> given_up;
  bool root = true;
  while (!open.empty() && open.top().lb < inc.cost * (1 - kPruneRel)) {
    if (Clock::now() >= deadline || res.nodes >= max_nodes) {
      res.stopped = res.nodes >= max_nodes ? "node limit" : "time limit";
      break;
    }
    TreeNode node = open.top();
    open.pop();
    ++res.nodes;
    NodeLpOptions lp_options;
    lp_options.flows = &node.flows;
    NodeLp lp = ConvergeNode(p, node.ranges, deadline, &m, &pool, &res.iterations, lp_options);
    if (root) res.lp_seconds = since();
    if (!lp.converged) {
      res.stopped = lp.stopped;
      if (root) {
        given_up.push_back(node.lb);
        break;
      }
      // Pricing not settled: no bound of its own, but its LP solution still
      // shows where to branch; the children keep the parent's bound.
      if (!Branch(m, pool, lp.x, node, node.lb, &open)) given_up.push_back(node.lb);
      continue;
    }
    const double lb = std::max(node.lb, Shave(lp.objective));
    if (std::getenv("KINEMA_PROOF_TRACE"))
      std::fprintf(stderr, "node %d: parent bound %.6f, LP %.6f, incumbent %.6f, open %zu, %.3f s\n", res.nodes,
                   node.lb, lp.objective, inc.cost, open.size(), since());
    if (root) {
      res.converged = true;
      res.root_bound = std::min(inc.cost, lb);
      root = false;
    }
    if (lb < inc.cost * (1 - kPruneRel) && DiveHere(res.nodes, res.dive_seconds, since())) Dive(p, m, node.ranges, deadline, &pool, &inc, &res);
    if (lb >= inc.cost * (1 - kPruneRel)) continue;  // no cheaper plan here
    if (Branch(m, pool, lp.x, node, lb, &open)) continue;
    TrySupportIp(p, m, node.ranges, pool, lp.x, deadline, &inc);
    if (lb >= inc.cost * (1 - kPruneRel)) continue;
    ResolveIntegralCounts(p, m, node, lp.x, lb, deadline, max_columns, t0, &pool, &inc, &open, &given_up, &res);
  }
  if (res.converged) SettleBound(open, given_up, inc.cost, &res);
  res.columns = static_cast<int64_t>(pool.cols.size());
  if (inc.improved) {
    res.has_solution = true;
    res.solution = std::move(inc.plan);
  }
  res.seconds = since();
  return res;
}

}  // namespace kinema::opt
