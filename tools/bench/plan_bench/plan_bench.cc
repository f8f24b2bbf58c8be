// plan_bench: placement optimizer benchmark. Prints numbers; never asserts.
//
// For each cluster size: cost before, cost after, lower bound, gap, moves,
// seconds to the first plan, to the first bound (fluid LP / aggregate
// prices; -1 when none) and to the end, CPU seconds of the solve, peak RSS (each size runs in a forked
// child so RSS is per size) -- and the same for a plain first-fit-decreasing
// repack onto existing nodes (the naive baseline). Then micro-clusters
// (<= 12 pods) whose optimum a brute-force search proves.
//
// Then, per size, the budgeted variants (planning.md "Budgeted plans"):
// retire10% (--max-retire = 10% of nodes, rounded up: the default disruption
// budget), moves5% (--max-moves = 5% of pods) and both: cost before, after,
// the unconstrained target and its bound, the budgeted bound and gap, nodes
// retired, moves, seconds, peak RSS.
//
// Usage: plan_bench [--sizes 50,300,1000,5000] [--time-limit S] [--seeds N]
//                   [--seed FIRST] [--micro N] [--budgets LIST|none]
//                   [--write-dir DIR] [--cbc SECONDS]
// --cbc: for clusters of <= 1,000 pods (and the micro-clusters), also solve
// the optimizer's own Problem as a compact MIP with the CBC solver
// (cbc_bound.h; needs `cbc` on PATH, else a one-line notice and no CBC
// columns) and print CBC's best objective and bound, the gap of our plan to
// that independent bound and CBC's seconds. Off by default; CI never runs it.
// --seed: first seed (seeds FIRST..FIRST+N-1); the ~13.7k-pod case is
// --sizes 1000 --seed 2. --budgets: comma list of retire10%,moves5%,both
// (default all three). --write-dir writes each generated snapshot and the
// catalog as JSON files.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "steps/optimize/plan.h"
#include "steps/optimize/problem.h"
#include "tools/bench/plan_bench/cbc_bound.h"
#include "tools/bench/plan_bench/cluster_generator.h"

namespace {

using kinema::bench::ClusterSpec;
using json = nlohmann::json;

// CPU seconds of this process: on a shared, loaded machine the wall-clock
// figures stretch with the load; CPU time shows the work done.
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double PeakRssMiB() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

// Naive baseline: first-fit-decreasing of all movable pods onto existing
// nodes (immovable pods stay), largest pods first; nodes left empty retire.
// Returns cost after, or -1 if some pod does not fit.
double FfdBaseline(const kinema::opt::Problem& p, int64_t* moves) {
  struct Item { int cls; };
  std::vector<int> order;
  for (size_t d = 0; d < p.classes.size(); ++d) order.push_back(static_cast<int>(d));
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    const auto& ra = p.classes[a].req;
    const auto& rb = p.classes[b].req;
    return ra.cpu_milli + ra.memory_bytes / (1 << 22) > rb.cpu_milli + rb.memory_bytes / (1 << 22);
  });
  std::vector<kinema::Resources> used(p.num_existing);
  std::vector<std::vector<int>> cnt(p.num_existing, std::vector<int>(p.classes.size(), 0));
  std::vector<uint8_t> open(p.num_existing, 0);
  for (int j = 0; j < p.num_existing; ++j) open[j] = p.kinds[j].forced;
  for (int d : order) {
    const auto& c = p.classes[d];
    for (int i = 0; i < c.n(); ++i) {
      bool placed = false;
      for (int j = 0; j < p.num_existing && !placed; ++j) {
        const auto& k = p.kinds[j];
        if (!k.compat[d] || cnt[j][d] >= c.cap) continue;
        bool conflict = false;
        for (int e : c.conflicts) conflict = conflict || cnt[j][e] > 0;
        if (conflict) continue;
        if (used[j].cpu_milli + c.req.cpu_milli > k.free.cpu_milli ||
            used[j].memory_bytes + c.req.memory_bytes > k.free.memory_bytes || used[j].pods + 1 > k.free.pods)
          continue;
        used[j].cpu_milli += c.req.cpu_milli;
        used[j].memory_bytes += c.req.memory_bytes;
        used[j].pods += 1;
        cnt[j][d]++;
        open[j] = 1;
        placed = true;
      }
      if (!placed) return -1;
    }
  }
  double cost = 0;
  int64_t stay = 0, total = 0;
  for (int j = 0; j < p.num_existing; ++j) {
    if (open[j]) cost += p.kinds[j].price;
    for (auto& [d, n] : p.current[j]) stay += std::min(n, cnt[j][d]);
  }
  for (const auto& c : p.classes) total += c.n();
  *moves = total - stay;
  return cost;
}

struct Row {
  int nodes = 0, pods = 0, classes = 0;
  double before = 0, after = 0, lb = 0, gap = 0, first = 0, secs = 0, rss = 0, cpu = 0, bound_s = -1;
  int64_t moves = 0, retired = 0;
  double target = -1, target_lb = -1;
  double ffd_after = -1;
  int64_t ffd_moves = 0;
  double ffd_secs = 0;
  std::string status;
  // --cbc: CBC on the same Problem (cbc_bound.h); -1 = not run / none.
  double cbc_obj = -1, cbc_bound = -1, cbc_secs = 0;
  std::string cbc_status;
};

// --cbc SECONDS (0 = off) and the largest cluster (pods) it is tried on.
double g_cbc_seconds = 0;
constexpr int kCbcMaxPods = 1000;

// Runs CBC on the plan's problem (incumbent = our plan's cost) and fills the
// cbc_* fields of `r`; skips (status says why) when off, too large or absent.
void RunCbcBound(const kinema::opt::Problem& p, const kinema::PlanOptions& opt, Row* r) {
  if (g_cbc_seconds <= 0) return;
  if (r->pods > kCbcMaxPods) {
    r->cbc_status = "skipped (> " + std::to_string(kCbcMaxPods) + " pods)";
    return;
  }
  kinema::bench::CbcModelOptions o;
  o.incumbent = r->after;
  o.cutoff = true;
  o.max_retire = opt.max_retire.value_or(-1);
  o.max_moves = opt.max_moves.value_or(-1);
  kinema::bench::MipSize size;
  auto res = kinema::bench::CbcLowerBound(p, o, g_cbc_seconds, &size);
  if (!res.ok()) {
    r->cbc_status = res.status().ToString();
    return;
  }
  r->cbc_obj = res->objective;
  r->cbc_bound = res->bound;
  r->cbc_secs = res->seconds;
  r->cbc_status = "cbc " + res->status + " " + std::to_string(size.columns) + "x" + std::to_string(size.rows);
  // Cross-check: a plan CBC finds can never beat our proven bound (else the
  // MIP or our bound is wrong), nor can our plan beat CBC's bound.
  if ((r->cbc_obj > 0 && r->cbc_obj < r->lb * (1 - 1e-6)) || r->after < r->cbc_bound * (1 - 1e-6))
    r->cbc_status += " INCONSISTENT WITH OUR PLAN/BOUND";
}

// "cbc_obj cbc_bnd gap_cbc%" columns (blank dashes when not run).
std::string CbcColumns(const Row& r) {
  char buf[160];
  if (g_cbc_seconds <= 0) return "";
  if (r.cbc_bound <= 0) {
    std::snprintf(buf, sizeof buf, " | %9s %9s %9s %6s", "-", "-", "-", "-");
    return buf;
  }
  char obj[32] = "-";
  if (r.cbc_obj > 0) std::snprintf(obj, sizeof obj, "%.3f", r.cbc_obj);
  std::snprintf(buf, sizeof buf, " | %9s %9.3f %9.2f %6.1f", obj, r.cbc_bound,
                100 * (r.after - r.cbc_bound) / r.cbc_bound, r.cbc_secs);
  return buf;
}

// A budget as fractions of the cluster; negative = no limit.
struct Variant {
  std::string name;
  double retire_fraction = -1;
  double moves_fraction = -1;
};

Row RunSize(int nodes, uint64_t seed, double time_limit, const std::string& write_dir, const Variant* variant) {
  Row r;
  ClusterSpec spec;
  spec.nodes = nodes;
  spec.seed = seed;
  spec.fill = 0.3 + 0.3 * ((seed * 7919) % 100) / 100.0;
  json snap_json = kinema::bench::GenerateCluster(spec);
  json cat_json = kinema::bench::GenerateCatalog();
  if (!write_dir.empty() && !variant) {
    std::ofstream(write_dir + "/snapshot-" + std::to_string(nodes) + "-" + std::to_string(seed) + ".json")
        << snap_json.dump();
    std::ofstream(write_dir + "/catalog.json") << cat_json.dump(2);
  }
  auto snap = kinema::ParseSnapshot(snap_json);
  auto cat = kinema::ParseCatalog(cat_json);
  snap_json = json();  // free the JSON before solving
  if (!snap.ok() || !cat.ok()) {
    r.status = "input error";
    return r;
  }
  r.nodes = static_cast<int>(snap->nodes.size());
  r.pods = static_cast<int>(snap->pods.size());
  kinema::PlanOptions opt;
  opt.time_limit_seconds = time_limit;
  opt.seed = seed;
  if (variant && variant->retire_fraction >= 0)
    opt.max_retire = static_cast<int64_t>(std::ceil(variant->retire_fraction * r.nodes));
  if (variant && variant->moves_fraction >= 0)
    opt.max_moves = static_cast<int64_t>(std::ceil(variant->moves_fraction * r.pods));
  const double cpu0 = CpuSeconds();
  auto plan = kinema::OptimizePlacement(*snap, *cat, opt);
  r.cpu = CpuSeconds() - cpu0;
  if (!plan.ok()) {
    r.status = plan.status().ToString();
    return r;
  }
  if (std::getenv("PLAN_BENCH_NOTES"))
    for (const auto& n : plan->notes) std::fprintf(stderr, "  [%d nodes%s] %s\n", nodes, variant ? " budgeted" : "", n.c_str());
  // Seconds to the first bound: the fluid-LP (or aggregate-prices) phase
  // note, "phase fluid-lp: <seconds since start> s, ...".
  for (const auto& n : plan->notes)
    if (n.rfind("phase fluid-lp: ", 0) == 0 && n.find(", bound ") != std::string::npos) r.bound_s = std::atof(n.c_str() + std::strlen("phase fluid-lp: "));
  r.status = kinema::PlanStatusName(plan->status);
  r.before = plan->cost_before;
  r.after = plan->cost_after;
  r.lb = plan->lower_bound.value_or(0);
  r.gap = r.lb > 0 ? (r.after - r.lb) / r.lb : -1;
  r.moves = plan->moves;
  r.first = plan->first_plan_seconds;
  r.secs = plan->solve_seconds;
  r.classes = plan->classes;
  for (const auto& n : plan->nodes) r.retired += n.action == kinema::NodeAction::kRetire;
  if (plan->target) {
    r.target = plan->target->cost_after;
    r.target_lb = plan->target->lower_bound.value_or(-1);
  }
  if (!variant) {
    auto t0 = std::chrono::steady_clock::now();
    auto problem = kinema::opt::BuildProblem(*snap, *cat, opt);
    if (problem.ok()) r.ffd_after = FfdBaseline(*problem, &r.ffd_moves);
    r.ffd_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  r.rss = PeakRssMiB();  // before CBC: RSS is the optimizer's
  if (g_cbc_seconds > 0) {
    auto problem = kinema::opt::BuildProblem(*snap, *cat, opt);
    if (problem.ok())
      RunCbcBound(*problem, opt, &r);
    else
      r.cbc_status = problem.status().ToString();
  }
  return r;
}

// Runs `fn` in a forked child (so peak RSS is per run) and returns its output line.
std::string InChild(const std::function<std::string()>& fn) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return "pipe failed\n";
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(pipefd[0]);
    std::string line = fn();
    ssize_t w = write(pipefd[1], line.data(), line.size());
    (void)w;
    _exit(0);
  }
  close(pipefd[1]);
  char buf[1024];
  ssize_t got;
  std::string out;
  while ((got = read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(got));
  close(pipefd[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  return out.empty() ? "child failed\n" : out;
}

// ---- Micro-clusters with a brute-force optimum.
struct MicroType { double price; int64_t cpu, mem; bool spot; };
struct MicroPod { int64_t cpu, mem; bool tolerates_spot; };

// Exhaustive search: assign pods in order to an open node or a new node of
// any type (new nodes opened in order of type index to break symmetry), with
// cost pruning. Independent of the optimizer's code.
double BruteForce(const std::vector<MicroType>& types, const std::vector<MicroPod>& pods) {
  struct Open { int t; int64_t cpu, mem; int pods; };
  std::vector<Open> open;
  double best = 1e18;
  std::function<void(size_t, double)> dfs = [&](size_t i, double cost) {
    if (cost >= best - 1e-12) return;
    if (i == pods.size()) {
      best = cost;
      return;
    }
    const MicroPod& p = pods[i];
    for (size_t oi = 0; oi < open.size(); ++oi) {  // by index: deeper calls push_back
      Open& o = open[oi];
      const MicroType& t = types[o.t];
      if ((t.spot && !p.tolerates_spot) || o.cpu + p.cpu > t.cpu || o.mem + p.mem > t.mem || o.pods + 1 > 110) continue;
      open[oi].cpu += p.cpu;
      open[oi].mem += p.mem;
      open[oi].pods++;
      dfs(i + 1, cost);
      open[oi].cpu -= p.cpu;
      open[oi].mem -= p.mem;
      open[oi].pods--;
    }
    for (size_t ti = 0; ti < types.size(); ++ti) {
      const MicroType& t = types[ti];
      if ((t.spot && !p.tolerates_spot) || p.cpu > t.cpu || p.mem > t.mem) continue;
      open.push_back(Open{static_cast<int>(ti), p.cpu, p.mem, 1});
      dfs(i + 1, cost + t.price);
      open.pop_back();
    }
  };
  dfs(0, 0);
  return best;
}

void RunMicro(int count, double time_limit) {
  int exact = 0, proven = 0, cbc_agree = 0;
  double worst = 0;
  for (int m = 0; m < count; ++m) {
    std::mt19937_64 rng(1000 + m);
    // A small catalog: 3 types, one zone, spot for some.
    json mts = json::array();
    std::vector<MicroType> types;
    int64_t sizes[3][2] = {{2000, 4096}, {4000, 8192}, {4000, 16384}};
    double prices[3] = {0.05, 0.09, 0.12};
    for (int t = 0; t < 3; ++t) {
      double od = prices[t] * (0.8 + 0.4 * (rng() % 100) / 100.0);
      double sp = od * 0.35;
      mts.push_back({{"name", "t" + std::to_string(t)},
                     {"zones", {"z1"}},
                     {"allocatable", {{"cpu", std::to_string(sizes[t][0]) + "m"},
                                      {"memory", std::to_string(sizes[t][1]) + "Mi"},
                                      {"pods", 110}}},
                     {"pricePerHour", {{"onDemand", od}, {"spot", sp}}}});
      types.push_back({od, sizes[t][0], sizes[t][1] * (int64_t{1} << 20), false});
      types.push_back({sp, sizes[t][0], sizes[t][1] * (int64_t{1} << 20), true});
    }
    json cat = {{"machineTypes", mts},
                {"spot", {{"taints", {{{"key", "spot"}, {"value", "true"}, {"effect", "NoSchedule"}}}}}}};
    int npods = 4 + static_cast<int>(rng() % 9);
    json items = json::array();
    std::vector<MicroPod> pods;
    for (int i = 0; i < npods; ++i) {
      int64_t cpu = 100 * (1 + static_cast<int64_t>(rng() % 20));
      int64_t mem = 256 * (1 + static_cast<int64_t>(rng() % 24));
      bool tol = rng() % 2;
      json spec = {{"containers", {{{"name", "c"}, {"resources", {{"requests", {{"cpu", std::to_string(cpu) + "m"},
                                                                               {"memory", std::to_string(mem) + "Mi"}}}}}}}}};
      if (tol) spec["tolerations"] = {{{"key", "spot"}, {"operator", "Exists"}}};
      items.push_back({{"kind", "Pod"},
                       {"metadata", {{"name", "p" + std::to_string(i)}, {"namespace", "default"},
                                     {"ownerReferences", {{{"kind", "ReplicaSet"}, {"name", "rs"}, {"controller", true}}}}}},
                       {"spec", spec},
                       {"status", {{"phase", "Pending"}}}});
      pods.push_back({cpu, mem * (int64_t{1} << 20), tol});
    }
    double opt_cost = BruteForce(types, pods);
    auto snap = kinema::ParseSnapshot({{"kind", "List"}, {"items", items}});
    auto c = kinema::ParseCatalog(cat);
    kinema::PlanOptions o;
    o.time_limit_seconds = time_limit;
    auto plan = kinema::OptimizePlacement(*snap, *c, o);
    if (!plan.ok()) {
      std::printf("micro %2d: %s\n", m, plan.status().ToString().c_str());
      continue;
    }
    std::string cbc_note;
    if (g_cbc_seconds > 0) {
      auto problem = kinema::opt::BuildProblem(*snap, *c, o);
      kinema::bench::CbcModelOptions co;
      co.incumbent = 2 * plan->cost_after;  // loose: slots admit plans up to twice our cost
      auto res = problem.ok() ? kinema::bench::CbcLowerBound(*problem, co, g_cbc_seconds, nullptr)
                              : kinema::StatusOr<kinema::bench::CbcResult>(problem.status());
      if (!res.ok()) {
        cbc_note = "  cbc: " + res.status().ToString();
      } else {
        // The MIP holds every plan up to twice our cost, so CBC's optimum must
        // be the brute-force optimum itself (independent of our plan).
        const double cbc_opt = res->objective;
        const bool agree = res->status == "optimal" && std::fabs(cbc_opt - opt_cost) <= 1e-6 * opt_cost;
        cbc_agree += agree;
        char buf[128];
        std::snprintf(buf, sizeof buf, "  cbc %s %.6f %s", res->status.c_str(), cbc_opt, agree ? "AGREES" : "DIFFERS");
        cbc_note = buf;
      }
    }
    double gap = (plan->cost_after - opt_cost) / opt_cost;
    worst = std::max(worst, gap);
    exact += gap < 1e-9;
    proven += plan->status == kinema::PlanStatus::kOptimal;
    std::printf("micro %2d: pods %2d  optimum %.6f  plan %.6f  lb %.6f  %s  %.3fs%s\n", m, npods, opt_cost,
                plan->cost_after, plan->lower_bound.value_or(0), gap < 1e-9 ? "EXACT" : "above", plan->solve_seconds,
                cbc_note.c_str());
  }
  std::printf("micro summary: exact %d/%d, proven optimal by own bound %d/%d, worst excess %.2f%%\n", exact, count,
              proven, count, worst * 100);
  if (g_cbc_seconds > 0) std::printf("micro cbc: CBC optimum equals the brute-force optimum on %d/%d\n", cbc_agree, count);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {50, 300, 1000};
  double time_limit = 30;
  int seeds = 1, micro = 20;
  uint64_t first_seed = 1;
  std::string write_dir;
  const std::vector<Variant> all_variants = {
      {"retire10%", 0.10, -1}, {"moves5%", -1, 0.05}, {"both", 0.10, 0.05}};
  std::vector<Variant> variants = all_variants;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--sizes") {
      sizes.clear();
      std::stringstream ss(next());
      std::string x;
      while (std::getline(ss, x, ',')) sizes.push_back(std::stoi(x));
    } else if (a == "--time-limit") {
      time_limit = std::stod(next());
    } else if (a == "--seeds") {
      seeds = std::stoi(next());
    } else if (a == "--seed") {
      first_seed = std::stoull(next());
    } else if (a == "--micro") {
      micro = std::stoi(next());
    } else if (a == "--budgets") {
      variants.clear();
      std::stringstream ss(next());
      std::string x;
      while (std::getline(ss, x, ','))
        for (const auto& v : all_variants)
          if (v.name == x) variants.push_back(v);
    } else if (a == "--write-dir") {
      write_dir = next();
    } else if (a == "--cbc") {
      g_cbc_seconds = std::stod(next());
    } else {
      std::fprintf(stderr,
                   "usage: plan_bench [--sizes 50,300,1000,5000] [--time-limit S] [--seeds N] [--seed FIRST] "
                   "[--micro N] [--budgets retire10%%,moves5%%,both|none] [--write-dir DIR] [--cbc SECONDS]\n");
      return 2;
    }
  }
  if (g_cbc_seconds > 0 && !kinema::bench::CbcAvailable()) {
    std::printf("--cbc: no `cbc` executable on PATH (Debian: apt-get install coinor-cbc); CBC columns skipped\n");
    g_cbc_seconds = 0;
  }
  const char* cbc_head = g_cbc_seconds > 0 ? " | cbc_obj   cbc_bnd   gap_cbc%  cbc_s  (gap_cbc% = (after - cbc_bnd) / cbc_bnd)" : "";
  std::printf("%6s %7s %6s %9s %9s %9s %7s %6s %7s %7s %7s %7s %8s | %9s %6s %6s%s\n", "nodes", "pods", "class",
              "before", "after", "lowerbnd", "gap%", "moves", "first_s", "bound_s", "solve_s", "cpu_s", "rss_MiB",
              "ffd_after", "ffd_mv", "ffd_s", cbc_head);
  for (int n : sizes)
    for (uint64_t s = first_seed; s < first_seed + static_cast<uint64_t>(seeds); ++s)
      std::fputs(InChild([&] {
                   Row r = RunSize(n, s, time_limit, write_dir, nullptr);
                   char line[512];
                   std::snprintf(line, sizeof line,
                                 "%6d %7d %6d %9.3f %9.3f %9.3f %7.2f %6lld %7.3f %7.2f %7.2f %7.2f %8.0f | %9.3f %6lld %6.2f  %s\n",
                                 r.nodes, r.pods, r.classes, r.before, r.after, r.lb, r.gap * 100,
                                 static_cast<long long>(r.moves), r.first, r.bound_s, r.secs, r.cpu, r.rss, r.ffd_after,
                                 static_cast<long long>(r.ffd_moves), r.ffd_secs, r.status.c_str());
                   std::string out(line);
                   if (g_cbc_seconds > 0) {
                     out.pop_back();
                     out += CbcColumns(r) + "  " + r.cbc_status + "\n";
                   }
                   return out;
                 }).c_str(),
                 stdout);
  if (!variants.empty()) {
    std::printf("\nbudgeted variants (retire10%% = --max-retire 10%% of nodes; moves5%% = --max-moves 5%% of pods)\n");
    std::printf("%6s %7s %-9s %9s %9s %9s %9s %9s %7s %7s %6s %7s %7s %8s%s\n", "nodes", "pods", "budget", "before",
                "after", "target", "tgt_lb", "lowerbnd", "gap%", "retired", "moves", "solve_s", "cpu_s", "rss_MiB",
                cbc_head);
    for (int n : sizes)
      for (uint64_t s = first_seed; s < first_seed + static_cast<uint64_t>(seeds); ++s)
        for (const auto& v : variants)
          std::fputs(InChild([&] {
                       Row r = RunSize(n, s, time_limit, write_dir, &v);
                       char line[512];
                       std::snprintf(line, sizeof line,
                                     "%6d %7d %-9s %9.3f %9.3f %9.3f %9.3f %9.3f %7.2f %7lld %6lld %7.2f %7.2f %8.0f  %s\n",
                                     r.nodes, r.pods, v.name.c_str(), r.before, r.after, r.target, r.target_lb, r.lb,
                                     r.gap * 100, static_cast<long long>(r.retired), static_cast<long long>(r.moves),
                                     r.secs, r.cpu, r.rss, r.status.c_str());
                       std::string out(line);
                       if (g_cbc_seconds > 0) {
                         out.pop_back();
                         out += CbcColumns(r) + "  " + r.cbc_status + "\n";
                       }
                       return out;
                     }).c_str(),
                     stdout);
  }
  std::fflush(stdout);
  if (micro > 0) RunMicro(micro, std::min(time_limit, 5.0));
  return 0;
}
