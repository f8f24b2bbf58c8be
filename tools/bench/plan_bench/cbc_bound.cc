#include "tools/bench/plan_bench/cbc_bound.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

namespace kinema::bench {
namespace {

using opt::Problem;

// One node of the MIP: an existing node or a slot of a new kind.
struct MipNode {
  int kind = 0;
  std::string y;          // open variable
  bool forced = false;    // fixed open
  std::vector<int> x_ub;  // per class: upper bound of x (0 = no variable)
};

std::string XName(size_t n, int d) { return "x" + std::to_string(n) + "_" + std::to_string(d); }

// Most pods of class d a node of kind k can hold alone (0 if incompatible).
int64_t ClassBound(const Problem& p, int k, int d) {
  const auto& kind = p.kinds[k];
  const auto& c = p.classes[d];
  if (!kind.compat[d] || !opt::FitsEmpty(c.req, kind.free)) return 0;
  int64_t ub = std::min<int64_t>(c.cap, c.n());
  auto fit = [&](int64_t req, int64_t free) {
    if (req > 0) ub = std::min(ub, free / req);
  };
  fit(c.req.cpu_milli, kind.free.cpu_milli);
  fit(c.req.memory_bytes, kind.free.memory_bytes);
  fit(c.req.pods, kind.free.pods);
  return std::max<int64_t>(0, ub);
}

// Writes "name: t1 + t2 ... <sense> rhs" with terms wrapped over lines.
class RowWriter {
 public:
  explicit RowWriter(std::ostream* out) : out_(out) {}
  void Begin(const std::string& name) {
    *out_ << " " << name << ":";
    terms_ = 0;
  }
  void Term(double coef, const std::string& var) {
    if (coef == 0) return;
    char buf[64];
    std::snprintf(buf, sizeof buf, " %s %.12g ", coef < 0 ? "-" : "+", std::fabs(coef));
    *out_ << buf << var;
    if (++terms_ % 8 == 0) *out_ << "\n   ";
  }
  void End(const char* sense, double rhs) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " %s %.12g\n", sense, rhs);
    *out_ << buf;
    ++rows_;
  }
  int64_t rows() const { return rows_; }

 private:
  std::ostream* out_;
  int terms_ = 0;
  int64_t rows_ = 0;
};

// The nodes of the MIP: existing nodes, then `slots` per new kind (see header).
std::vector<MipNode> BuildNodes(const Problem& p, double incumbent) {
  std::vector<MipNode> nodes;
  double forced_cost = 0;
  for (int j = 0; j < p.num_existing; ++j)
    if (p.kinds[j].forced) forced_cost += p.kinds[j].price;
  for (int k = 0; k < static_cast<int>(p.kinds.size()); ++k) {
    std::vector<int> ub(p.classes.size(), 0);
    int64_t hostable = 0;
    for (int d = 0; d < static_cast<int>(p.classes.size()); ++d) {
      ub[d] = static_cast<int>(ClassBound(p, k, d));
      if (ub[d] > 0) hostable += p.classes[d].n();
    }
    if (!p.IsNew(k)) {
      nodes.push_back({k, "e" + std::to_string(k), p.kinds[k].forced, ub});
      continue;
    }
    int64_t slots = hostable;
    const double price = p.kinds[k].price;
    if (price > 0)
      slots = std::min<int64_t>(slots, static_cast<int64_t>(std::floor((incumbent - forced_cost) / price + 1e-9)));
    for (int64_t s = 0; s < slots; ++s)
      nodes.push_back({k, "n" + std::to_string(k) + "_" + std::to_string(s), false, ub});
  }
  return nodes;
}

void WriteObjective(const std::vector<MipNode>& nodes, const Problem& p, std::ostream& out) {
  out << "Minimize\n obj:";
  int terms = 0;
  for (const auto& n : nodes) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " + %.12g ", p.kinds[n.kind].price);
    out << buf << n.y;
    if (++terms % 8 == 0) out << "\n   ";
  }
  out << "\nSubject To\n";
}

// Demand, capacity, linking and conflict rows.
void WritePlacementRows(const std::vector<MipNode>& nodes, const Problem& p, RowWriter* w,
                        std::vector<std::string>* binaries) {
  for (int d = 0; d < static_cast<int>(p.classes.size()); ++d) {
    w->Begin("dem" + std::to_string(d));
    for (size_t n = 0; n < nodes.size(); ++n)
      if (nodes[n].x_ub[d] > 0) w->Term(1, XName(n, d));
    w->End("=", p.classes[d].n());
  }
  for (size_t n = 0; n < nodes.size(); ++n) {
    const auto& node = nodes[n];
    const auto& free = p.kinds[node.kind].free;
    const double mib = 1024.0 * 1024.0;
    const int64_t caps[3] = {free.cpu_milli, free.memory_bytes, free.pods};
    for (int r = 0; r < 3; ++r) {
      w->Begin("cap" + std::to_string(n) + "_" + std::to_string(r));
      bool any = false;
      for (int d = 0; d < static_cast<int>(p.classes.size()); ++d) {
        if (node.x_ub[d] == 0) continue;
        const auto& q = p.classes[d].req;
        const int64_t req = r == 0 ? q.cpu_milli : r == 1 ? q.memory_bytes : q.pods;
        w->Term(r == 1 ? req / mib : static_cast<double>(req), XName(n, d));
        any = any || req > 0;
      }
      w->Term(-(r == 1 ? caps[r] / mib : static_cast<double>(caps[r])), node.y);
      w->End("<=", 0);
      (void)any;
    }
    for (int d = 0; d < static_cast<int>(p.classes.size()); ++d) {
      if (node.x_ub[d] == 0) continue;
      w->Begin("lnk" + std::to_string(n) + "_" + std::to_string(d));
      w->Term(1, XName(n, d));
      w->Term(-node.x_ub[d], node.y);
      w->End("<=", 0);
    }
    for (int d = 0; d < static_cast<int>(p.classes.size()); ++d) {
      if (node.x_ub[d] == 0 || p.classes[d].conflicts.empty()) continue;
      const std::string u = "u" + std::to_string(n) + "_" + std::to_string(d);
      binaries->push_back(u);
      w->Begin("use" + std::to_string(n) + "_" + std::to_string(d));
      w->Term(1, XName(n, d));
      w->Term(-node.x_ub[d], u);
      w->End("<=", 0);
      for (int e : p.classes[d].conflicts) {
        if (e <= d || node.x_ub[e] == 0) continue;
        w->Begin("cf" + std::to_string(n) + "_" + std::to_string(d) + "_" + std::to_string(e));
        w->Term(1, u);
        w->Term(1, "u" + std::to_string(n) + "_" + std::to_string(e));
        w->End("<=", 1);
      }
    }
  }
}

// Budget rows (retire, moves) and symmetry-breaking rows.
void WriteBudgetAndSymmetryRows(const std::vector<MipNode>& nodes, const Problem& p, const CbcModelOptions& o,
                                RowWriter* w, std::vector<std::pair<std::string, int64_t>>* stays) {
  if (o.max_retire >= 0) {
    int64_t unforced = 0;
    w->Begin("retire");
    for (int j = 0; j < p.num_existing; ++j)
      if (!p.kinds[j].forced) {
        ++unforced;
        w->Term(1, nodes[j].y);
      }
    w->End(">=", static_cast<double>(unforced - o.max_retire));
  }
  if (o.max_moves >= 0) {
    int64_t total = 0;
    for (const auto& c : p.classes) total += c.n();
    for (int j = 0; j < p.num_existing; ++j)
      for (const auto& [d, cnt] : p.current[j]) {
        if (nodes[j].x_ub[d] == 0) continue;
        const std::string s = "s" + std::to_string(j) + "_" + std::to_string(d);
        stays->push_back({s, cnt});
        w->Begin("stay" + std::to_string(j) + "_" + std::to_string(d));
        w->Term(1, s);
        w->Term(-1, XName(j, d));
        w->End("<=", 0);
      }
    w->Begin("moves");
    for (const auto& [s, cnt] : *stays) w->Term(1, s);
    w->End(">=", static_cast<double>(total - o.max_moves));
  }
  for (size_t n = 1; n < nodes.size(); ++n)
    if (p.IsNew(nodes[n].kind) && nodes[n].kind == nodes[n - 1].kind) {
      w->Begin("sym" + std::to_string(n));
      w->Term(1, nodes[n - 1].y);
      w->Term(-1, nodes[n].y);
      w->End(">=", 0);
    }
  if (o.max_moves < 0)  // groups are interchangeable only when moves do not count
    for (size_t g = 0; g < p.groups.size(); ++g)
      for (size_t i = 1; i < p.groups[g].size(); ++i) {
        w->Begin("gsym" + std::to_string(g) + "_" + std::to_string(i));
        w->Term(1, nodes[p.groups[g][i - 1]].y);
        w->Term(-1, nodes[p.groups[g][i]].y);
        w->End(">=", 0);
      }
}

}  // namespace

Status WriteCompactMip(const Problem& p, const CbcModelOptions& o, const std::string& path, MipSize* size) {
  if (!(o.incumbent > 0)) return Status::InvalidArgument("cbc model: incumbent cost must be > 0");
  std::ofstream out(path);
  if (!out) return Status::IOError("cbc model: cannot write " + path);
  const std::vector<MipNode> nodes = BuildNodes(p, o.incumbent);
  WriteObjective(nodes, p, out);
  RowWriter w(&out);
  std::vector<std::string> binaries;
  std::vector<std::pair<std::string, int64_t>> stays;
  WritePlacementRows(nodes, p, &w, &binaries);
  WriteBudgetAndSymmetryRows(nodes, p, o, &w, &stays);
  // Bounds; every variable is integer (open flags as 0/1 or fixed 1 integers).
  int64_t cols = 0;
  out << "Bounds\n";
  std::vector<std::string> ints;
  for (size_t n = 0; n < nodes.size(); ++n) {
    out << " " << (nodes[n].forced ? 1 : 0) << " <= " << nodes[n].y << " <= 1\n";
    ints.push_back(nodes[n].y);
    for (int d = 0; d < static_cast<int>(p.classes.size()); ++d)
      if (nodes[n].x_ub[d] > 0) {
        out << " 0 <= " << XName(n, d) << " <= " << nodes[n].x_ub[d] << "\n";
        ints.push_back(XName(n, d));
      }
  }
  for (const auto& [s, cnt] : stays) out << " 0 <= " << s << " <= " << cnt << "\n";
  for (const auto& u : binaries) out << " 0 <= " << u << " <= 1\n";
  out << "General\n";
  for (const auto& v : ints) out << " " << v << "\n";
  for (const auto& u : binaries) out << " " << u << "\n";
  out << "End\n";
  cols = static_cast<int64_t>(ints.size() + binaries.size() + stays.size());
  if (size) *size = {cols, w.rows()};
  out.close();
  if (!out) return Status::IOError("cbc model: write failed: " + path);
  return Status::OK();
}

bool CbcAvailable() { return std::system("command -v cbc >/dev/null 2>&1") == 0; }

namespace {

// The number after `key` on a log line, or NaN.
double NumberAfter(const std::string& line, const std::string& key) {
  auto pos = line.find(key);
  if (pos == std::string::npos) return std::nan("");
  const char* s = line.c_str() + pos + key.size();
  char* end = nullptr;
  double v = std::strtod(s, &end);
  return end == s ? std::nan("") : v;
}

}  // namespace

StatusOr<CbcResult> ParseCbcLog(const std::string& log) {
  CbcResult r;
  bool result_seen = false;
  double best_possible = std::nan("");
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Result - ", 0) == 0) {
      result_seen = true;
      if (line.find("Optimal solution found") != std::string::npos) r.status = "optimal";
      else if (line.find("infeasible") != std::string::npos) r.status = "infeasible";
      else if (line.find("time limit") != std::string::npos) r.status = "time limit";
      else r.status = line.substr(9, line.find_last_not_of("\r\n") - 8);
    }
    if (line.rfind("Objective value:", 0) == 0) r.objective = NumberAfter(line, "Objective value:");
    if (line.rfind("Lower bound:", 0) == 0) r.bound = NumberAfter(line, "Lower bound:");
    const double bp = NumberAfter(line, "best possible ");
    if (!std::isnan(bp)) best_possible = bp;
  }
  if (!result_seen)
    return Status::Internal("cbc: no result line in its log: " + log.substr(log.size() > 400 ? log.size() - 400 : 0));
  if (!std::isnan(best_possible) && best_possible < 1e49) r.bound = best_possible;  // "Lower bound:" has 3 digits
  if (r.status == "optimal") r.bound = r.objective;
  if (r.status == "infeasible") r.objective = -1;
  return r;
}

StatusOr<CbcResult> RunCbc(const std::string& lp_path, double seconds, double cutoff) {
  char cmd[1024];
  char cut[64] = "";
  if (cutoff > 0) std::snprintf(cut, sizeof cut, "cutoff %.12g ", cutoff);
  std::snprintf(cmd, sizeof cmd, "cbc '%s' %ssec %.0f solve 2>&1", lp_path.c_str(), cut, std::max(1.0, seconds));
  const auto t0 = std::chrono::steady_clock::now();
  FILE* f = popen(cmd, "r");
  if (!f) return Status::Unavailable("cbc: cannot start: " + std::string(std::strerror(errno)));
  std::string log;
  char buf[4096];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) log.append(buf, got);
  const int rc = pclose(f);
  auto r = ParseCbcLog(log);
  if (!r.ok()) return Status::Internal("cbc on " + lp_path + " (exit " + std::to_string(rc) + "): " + r.status().ToString());
  r->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

StatusOr<CbcResult> CbcLowerBound(const Problem& p, const CbcModelOptions& o, double seconds, MipSize* size) {
  char path[] = "/tmp/plan_bench_cbc_XXXXXX.lp";
  const int fd = mkstemps(path, 3);
  if (fd < 0) return Status::IOError("cbc model: mkstemps: " + std::string(std::strerror(errno)));
  close(fd);
  Status st = WriteCompactMip(p, o, path, size);
  const double cutoff = o.cutoff ? o.incumbent * (1 + 1e-6) : -1;
  StatusOr<CbcResult> r = st.ok() ? RunCbc(path, seconds, cutoff) : StatusOr<CbcResult>(st);
  if (!std::getenv("PLAN_BENCH_KEEP_LP")) std::remove(path);
  else std::fprintf(stderr, "cbc model kept: %s\n", path);
  if (r.ok() && o.cutoff && r->status == "infeasible") {
    r->status = "no plan below ours";  // the cutoff search was exhaustive
    r->bound = o.incumbent;
  } else if (r.ok() && r->status != "infeasible") {
    // The slots admit every plan up to the incumbent, which is itself a plan.
    if (r->bound < 0 || r->bound > o.incumbent) r->bound = o.incumbent;
  }
  return r;
}

}  // namespace kinema::bench
