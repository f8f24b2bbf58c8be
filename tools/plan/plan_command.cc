#include "tools/plan/plan_command.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "engine/catalog/catalog.h"
#include "steps/optimize/plan.h"
#include "steps/optimize/snapshot.h"

namespace kinema {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitInternal = 1;
constexpr int kExitInvalid = 2;
constexpr int kExitInfeasible = 3;

const char* kUsage =
    "usage: kinemactl plan --snapshot FILE --catalog FILE [--json] [--time-limit SECONDS] [--max-moves N] "
    "[--max-retire N] [--keep-nodes N1,N2] [--min-savings FRACTION] [--unknown-node-price P] [--seed N] [--allow-types T1,T2] [--no-spot] "
    "[--zones Z1,Z2] [--max-iterations N]";

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

bool ParseDouble(const std::string& s, double* out) {
  try {
    size_t pos = 0;
    double v = std::stod(s, &pos);
    if (pos != s.size() || !std::isfinite(v)) return false;
    *out = v;
    return true;
  } catch (...) {
    return false;
  }
}

bool ParseInt(const std::string& s, int64_t* out) {
  try {
    size_t pos = 0;
    long long v = std::stoll(s, &pos);
    if (pos != s.size()) return false;
    *out = v;
    return true;
  } catch (...) {
    return false;
  }
}

int Usage(const std::string& msg) {
  std::cerr << "kinemactl plan: " << msg << "\n" << kUsage << "\n";
  return kExitInvalid;
}

std::string Money(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

void PrintHuman(const Plan& plan, const std::string& currency) {
  int keep = 0, retire = 0, boot = 0;
  for (const auto& n : plan.nodes) {
    keep += n.action == NodeAction::kKeep;
    retire += n.action == NodeAction::kRetire;
    boot += n.action == NodeAction::kBoot;
  }
  double saving = plan.cost_before > 0 ? (plan.cost_before - plan.cost_after) / plan.cost_before * 100 : 0;
  char line[512];
  std::snprintf(line, sizeof line, "Plan: %s%s\nCost: %s -> %s %s/h (%.1f%% saved)\n", PlanStatusName(plan.status),
                plan.no_change ? " (no change: saving below --min-savings)" : "", Money(plan.cost_before).c_str(),
                Money(plan.cost_after).c_str(), currency.c_str(), saving);
  std::cout << line;
  if (plan.target) {
    // How far this step goes toward the unconstrained plan.
    double way = plan.cost_before - plan.target->cost_after;
    double share = way > 0 ? (plan.cost_before - plan.cost_after) / way * 100 : 100;
    std::snprintf(line, sizeof line, "Target (no budget): %s %s/h, bound %s; this step covers %.1f%% of the way\n",
                  Money(plan.target->cost_after).c_str(), currency.c_str(),
                  plan.target->lower_bound ? Money(*plan.target->lower_bound).c_str() : "none", share);
    std::cout << line;
  }
  if (plan.budget) {
    const PlanBudget& b = *plan.budget;
    std::string retired = std::to_string(b.retired) + (b.max_retire ? " of " + std::to_string(*b.max_retire) : "");
    std::string moved = std::to_string(b.moves) + (b.max_moves ? " of " + std::to_string(*b.max_moves) : "");
    std::cout << "Budget: retired " << retired << " node(s), moved " << moved << " pod(s) (" << b.forced_moves
              << " forced)" << (b.keep_nodes ? ", " + std::to_string(b.keep_nodes) + " node(s) protected" : "")
              << "\n";
  }
  if (plan.lower_bound) {
    double gap = *plan.lower_bound > 0 ? (plan.cost_after - *plan.lower_bound) / *plan.lower_bound * 100 : 0;
    std::snprintf(line, sizeof line, "Lower bound: %s %s/h (gap %.2f%%, from %s)\n", Money(*plan.lower_bound).c_str(),
                  currency.c_str(), gap, plan.bound_source.c_str());
    std::cout << line;
  } else {
    std::cout << "Lower bound: none computed\n";
  }
  std::snprintf(line, sizeof line, "Nodes: keep %d, retire %d, boot %d; moves %lld; solved in %.2f s\n", keep, retire,
                boot, static_cast<long long>(plan.moves), plan.solve_seconds);
  std::cout << line;
  for (NodeAction action : {NodeAction::kBoot, NodeAction::kRetire}) {
    bool header = false;
    for (const auto& n : plan.nodes) {
      if (n.action != action) continue;
      if (!header) std::cout << (action == NodeAction::kBoot ? "Boot:\n" : "Retire:\n");
      header = true;
      std::cout << "  " << n.name << "  " << n.machine_type << "  " << n.zone << "  " << CapacityTypeName(n.capacity_type) << "  "
                << Money(n.price_per_hour) << "/h\n";
    }
  }
}

}  // namespace

int RunPlanCommand(const std::vector<std::string>& raw) {
  std::string snapshot_path, catalog_path;
  bool json = false;
  PlanOptions opt;
  // Accept both "--flag value" and "--flag=value".
  std::vector<std::string> args;
  for (const auto& a : raw) {
    auto eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
      args.push_back(a.substr(0, eq));
      args.push_back(a.substr(eq + 1));
    } else {
      args.push_back(a);
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--json") {
      json = true;
    } else if (a == "--no-spot") {
      opt.no_spot = true;
    } else if (a == "--help" || a == "-h") {
      std::cout << kUsage << "\n";
      return kExitOk;
    } else if (a == "--snapshot") {
      if (!value(&snapshot_path)) return Usage("--snapshot needs a file");
    } else if (a == "--catalog") {
      if (!value(&catalog_path)) return Usage("--catalog needs a file");
    } else if (a == "--time-limit") {
      double t;
      if (!value(&v) || !ParseDouble(v, &t) || t <= 0) return Usage("--time-limit needs a number of seconds > 0");
      opt.time_limit_seconds = t;
    } else if (a == "--max-moves") {
      int64_t n;
      if (!value(&v) || !ParseInt(v, &n) || n < 0) return Usage("--max-moves needs an integer >= 0");
      opt.max_moves = n;
    } else if (a == "--max-retire") {
      int64_t n;
      if (!value(&v) || !ParseInt(v, &n) || n < 0) return Usage("--max-retire needs an integer >= 0");
      opt.max_retire = n;
    } else if (a == "--keep-nodes") {
      if (!value(&v)) return Usage("--keep-nodes needs a comma-separated list of node names");
      for (auto& n : SplitList(v)) opt.keep_nodes.insert(n);
    } else if (a == "--min-savings") {
      double f;
      if (!value(&v) || !ParseDouble(v, &f) || f < 0 || f > 1) return Usage("--min-savings needs a fraction in [0,1]");
      opt.min_savings = f;
    } else if (a == "--unknown-node-price") {
      double pr;
      if (!value(&v) || !ParseDouble(v, &pr) || pr < 0) return Usage("--unknown-node-price needs a price >= 0");
      opt.unknown_node_price = pr;
    } else if (a == "--seed") {
      int64_t s;
      if (!value(&v) || !ParseInt(v, &s)) return Usage("--seed needs an integer");
      opt.seed = static_cast<uint64_t>(s);
    } else if (a == "--max-iterations") {
      int64_t n;
      if (!value(&v) || !ParseInt(v, &n) || n < 0) return Usage("--max-iterations needs an integer >= 0");
      opt.max_iterations = n;
    } else if (a == "--allow-types") {
      if (!value(&v)) return Usage("--allow-types needs a comma-separated list");
      for (auto& t : SplitList(v)) opt.allow_types.push_back(t);
    } else if (a == "--zones") {
      if (!value(&v)) return Usage("--zones needs a comma-separated list");
      for (auto& z : SplitList(v)) opt.zones.push_back(z);
    } else {
      return Usage("unknown argument \"" + a + "\"");
    }
  }
  if (snapshot_path.empty()) return Usage("--snapshot is required");
  if (catalog_path.empty()) return Usage("--catalog is required");
  auto catalog = LoadCatalogFile(catalog_path);
  if (!catalog.ok()) {
    std::cerr << "kinemactl plan: invalid input: " << catalog.status().message() << "\n";
    return kExitInvalid;
  }
  for (const auto& t : opt.allow_types)
    if (!catalog->FindType(t)) return Usage("--allow-types: \"" + t + "\" is not a catalog machine type");
  auto snapshot = LoadSnapshotFile(snapshot_path);
  if (!snapshot.ok()) {
    std::cerr << "kinemactl plan: invalid input: snapshot " << snapshot.status().message() << "\n";
    return kExitInvalid;
  }
  auto plan = OptimizePlacement(*snapshot, *catalog, opt);
  if (!plan.ok()) {
    const Status& st = plan.status();
    if (IsInfeasible(st)) {
      std::cerr << "kinemactl plan: " << st.message() << "\n";
      if (json) std::cout << nlohmann::json{{"status", "infeasible"}, {"reason", st.message()}}.dump(2) << "\n";
      return kExitInfeasible;
    }
    if (st.code() == Status::Code::kInvalidArgument) {
      std::cerr << "kinemactl plan: invalid input: snapshot " << st.message() << "\n";
      return kExitInvalid;
    }
    std::cerr << "kinemactl plan: " << st.ToString() << "\n";
    return kExitInternal;
  }
  for (const auto& n : plan->notes) std::cerr << "warning: " << n << "\n";
  if (json) {
    std::cout << PlanToJson(*plan).dump(2) << "\n";
  } else {
    PrintHuman(*plan, catalog->currency);
  }
  return kExitOk;
}

}  // namespace kinema
