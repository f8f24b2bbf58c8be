#include "tools/bench/plan_bench/cluster_generator.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace kinema::bench {
namespace {

using json = nlohmann::json;

const char* kZones[] = {"us-central1-a", "us-central1-b", "us-central1-c"};

struct TypeInfo {
  std::string name;
  int vcpu;
  int mem_gib;
  double od, spot;
  bool explicit_alloc;
};

std::vector<TypeInfo> Types() {
  std::vector<TypeInfo> out;
  struct Fam { const char* fam; double core, ram, score, sram; };
  Fam fams[] = {{"e2", 0.02181159, 0.00292353, 0.02181159 * 0.3, 0.00292353 * 0.3},
                {"n2", 0.031611, 0.004237, 0.006655, 0.000892}};
  struct Shape { const char* name; int gib_per_cpu; };
  Shape shapes[] = {{"standard", 4}, {"highmem", 8}, {"highcpu", 1}};
  int idx = 0;
  for (const auto& f : fams)
    for (const auto& s : shapes)
      for (int c : {2, 4, 8, 16, 32}) {
        TypeInfo t;
        t.name = std::string(f.fam) + "-" + s.name + "-" + std::to_string(c);
        t.vcpu = c;
        t.mem_gib = c * s.gib_per_cpu;
        t.od = std::round((c * f.core + t.mem_gib * f.ram) * 1e6) / 1e6;
        t.spot = std::round((c * f.score + t.mem_gib * f.sram) * 1e6) / 1e6;
        t.explicit_alloc = (idx++ % 5) == 0;
        out.push_back(t);
      }
  return out;
}

// GKE reservations (same published rules the catalog documents).
void Alloc(int vcpu, int mem_gib, int64_t* cpu_milli, int64_t* mem_kib) {
  double c = vcpu;
  double rc = 0.06 * std::min(c, 1.0) + 0.01 * std::clamp(c - 1, 0.0, 1.0) + 0.005 * std::clamp(c - 2, 0.0, 2.0) +
              0.0025 * std::max(c - 4, 0.0);
  double m = mem_gib;
  double rm = 0.25 * std::min(m, 4.0) + 0.2 * std::clamp(m - 4, 0.0, 4.0) + 0.1 * std::clamp(m - 8, 0.0, 8.0) +
              0.06 * std::clamp(m - 16, 0.0, 112.0) + 0.02 * std::max(m - 128, 0.0) + 100.0 / 1024;
  *cpu_milli = static_cast<int64_t>(std::floor((c - rc) * 1000 + 1e-6));
  *mem_kib = static_cast<int64_t>(std::floor((m - rm) * 1024 * 1024));
}

std::string MemString(int64_t bytes, std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0: return std::to_string(bytes);
    case 1: return std::to_string((bytes + 1048575) / 1048576) + "Mi";
    case 2: return std::to_string((bytes + 999999) / 1000000) + "M";
    default:
      if (bytes % (int64_t{1} << 30) == 0) return std::to_string(bytes >> 30) + "Gi";
      return std::to_string((bytes + 1023) / 1024) + "Ki";
  }
}

std::string CpuString(int64_t milli, std::mt19937_64& rng) {
  if (milli % 1000 == 0 && rng() % 2) return std::to_string(milli / 1000);
  if (milli % 100 == 0 && rng() % 3 == 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", milli / 1000.0);
    return buf;
  }
  return std::to_string(milli) + "m";
}

}  // namespace

json GenerateCatalog() {
  json mts = json::array();
  for (const auto& t : Types()) {
    json m = {{"name", t.name},
              {"vcpu", t.vcpu},
              {"memoryMiB", t.mem_gib * 1024},
              {"zones", {kZones[0], kZones[1], kZones[2]}},
              {"pricePerHour", {{"onDemand", t.od}, {"spot", t.spot}}},
              {"labels", {{"cloud.google.com/machine-family", t.name.substr(0, 2)}}},
              {"taints", json::array()}};
    if (t.explicit_alloc) {
      int64_t c, k;
      Alloc(t.vcpu, t.mem_gib, &c, &k);
      m["allocatable"] = {{"cpu", std::to_string(c) + "m"}, {"memory", std::to_string(k) + "Ki"}, {"pods", 110}};
    }
    mts.push_back(m);
  }
  return {{"provider", "gce"},
          {"region", "us-central1"},
          {"currency", "USD"},
          {"machineTypes", mts},
          {"spot",
           {{"labels", {{"kinema.io/capacity-type", "spot"}}},
            {"taints", {{{"key", "kinema.io/spot"}, {"value", "true"}, {"effect", "NoSchedule"}}}}}}};
}

json GenerateCluster(const ClusterSpec& spec) {
  std::mt19937_64 rng(spec.seed * 0x9E3779B97F4A7C15ULL + 12345);
  auto uni = [&](double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); };
  auto types = Types();
  json items = json::array();
  // ---- Nodes from a few pools.
  struct N {
    std::string name, zone;
    bool spot;
    int64_t cpu, mem, pods;  // allocatable (milli, bytes)
    int64_t ucpu = 0, umem = 0, upods = 0;
    std::string family;
  };
  std::vector<N> nodes;
  const char* pool_types[] = {"e2-standard-8", "n2-standard-8", "e2-highmem-4", "e2-standard-16", "n2-highcpu-16",
                              "e2-standard-4", "n2-highmem-8", "e2-highcpu-8"};
  int pools = std::min(8, 2 + spec.nodes / 40);
  for (int i = 0; i < spec.nodes; ++i) {
    int pool = static_cast<int>(rng() % pools);
    std::string tname = pool_types[pool];
    const TypeInfo* t = nullptr;
    for (const auto& x : types)
      if (x.name == tname) t = &x;
    N n;
    n.name = "gke-pool" + std::to_string(pool) + "-" + std::to_string(i);
    n.zone = kZones[rng() % 3];
    n.spot = spec.constraints && pool % 3 == 2;
    n.family = tname.substr(0, 2);
    int64_t c, k;
    Alloc(t->vcpu, t->mem_gib, &c, &k);
    n.cpu = c;
    n.mem = k * 1024;
    n.pods = 110;
    json labels = {{"node.kubernetes.io/instance-type", tname},
                   {"topology.kubernetes.io/zone", n.zone},
                   {"kubernetes.io/hostname", n.name},
                   {"cloud.google.com/gke-nodepool", "pool" + std::to_string(pool)},
                   {"cloud.google.com/machine-family", n.family}};
    json taints = json::array();
    if (n.spot) {
      labels["cloud.google.com/gke-spot"] = "true";
      taints.push_back({{"key", "kinema.io/spot"}, {"value", "true"}, {"effect", "NoSchedule"}});
    }
    json md = {{"name", n.name}, {"labels", labels}};
    json status;
    status["allocatable"] = {{"cpu", std::to_string(c) + "m"}, {"memory", std::to_string(k) + "Ki"}, {"pods", "110"}};
    if (spec.immovable && rng() % 40 == 0) md["annotations"] = {{"kinema.io/do-not-disrupt", "true"}};
    items.push_back({{"apiVersion", "v1"},
                     {"kind", "Node"},
                     {"metadata", md},
                     {"spec", {{"taints", taints}}},
                     {"status", status}});
    nodes.push_back(n);
  }
  // ---- DaemonSets (overhead reserved on every matching node).
  struct Ds { int64_t cpu, mem; bool spot_only; };
  std::vector<Ds> dss = {{100, 200 << 20, false}, {50, 64 << 20, false}};
  if (spec.constraints) dss.push_back({30, 32 << 20, true});
  for (size_t i = 0; i < dss.size(); ++i) {
    json pspec = {{"containers",
                   {{{"name", "agent"},
                     {"resources", {{"requests", {{"cpu", std::to_string(dss[i].cpu) + "m"},
                                                  {"memory", std::to_string(dss[i].mem)}}}}}}}},
                  {"tolerations", {{{"operator", "Exists"}}}}};
    if (dss[i].spot_only) pspec["nodeSelector"] = {{"kinema.io/capacity-type", "spot"}};
    items.push_back({{"apiVersion", "apps/v1"},
                     {"kind", "DaemonSet"},
                     {"metadata", {{"name", "ds-" + std::to_string(i)}, {"namespace", "kube-system"}}},
                     {"spec", {{"template", {{"spec", pspec}}}}}});
    for (auto& n : nodes) {
      if (dss[i].spot_only) continue;  // existing spot nodes carry gke-spot, not kinema.io/capacity-type
      n.ucpu += dss[i].cpu;
      n.umem += dss[i].mem;
      n.upods += 1;
    }
  }
  // ---- Deployments until requests fill the target fraction.
  double total_cpu = 0, total_mem = 0;
  for (const auto& n : nodes) {
    total_cpu += n.cpu - n.ucpu;
    total_mem += n.mem - n.umem;
  }
  double target = spec.fill;
  double used_cpu = 0, used_mem = 0;
  int dep = 0;
  std::vector<int> order(nodes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  while (used_cpu / total_cpu < target && used_mem / total_mem < target) {
    // Heavy tails: Pareto replicas, log-normal requests.
    // Pareto(alpha ~1.2, min 2) replica counts: many small deployments, a few huge.
    int replicas = std::min<int>(spec.max_replicas, static_cast<int>(std::floor(3.0 / std::pow(uni(1e-4, 1.0), 0.83))));
    replicas = std::max(1, replicas);
    // Log-uniform requests 10m-600m, with a 10% tail of 0.5-3 CPU pods.
    int64_t cpu = static_cast<int64_t>(std::exp(uni(std::log(10.0), std::log(600.0))));
    if (rng() % 10 == 0) cpu = static_cast<int64_t>(uni(500, 3000));
    cpu = std::max<int64_t>(10, cpu / 10 * 10);
    double gib_per_core = std::exp(uni(std::log(0.5), std::log(5.0)));
    int64_t mem = static_cast<int64_t>(cpu / 1000.0 * gib_per_core * (1 << 30));
    mem = std::max<int64_t>(16 << 20, mem / (1 << 20) * (1 << 20));
    std::string ns = "ns" + std::to_string(dep % 7);
    std::string app = "app" + std::to_string(dep);
    bool tol_spot = spec.constraints && rng() % 10 < 4;
    bool anti = spec.constraints && rng() % 10 == 0;
    if (anti) replicas = std::min(replicas, 6);
    int sel = spec.constraints ? static_cast<int>(rng() % 20) : 99;
    json pspec = {{"containers",
                   {{{"name", "main"},
                     {"resources", {{"requests", {{"cpu", CpuString(cpu, rng)}, {"memory", MemString(mem, rng)}}}}}}}}};
    if (rng() % 6 == 0) {  // init container larger than the app: max-with-sum rule
      pspec["initContainers"] = {{{"name", "init"},
                                  {"resources", {{"requests", {{"cpu", CpuString(cpu + 100, rng)}}}}}}};
    }
    if (tol_spot) pspec["tolerations"] = {{{"key", "kinema.io/spot"}, {"operator", "Equal"}, {"value", "true"},
                                           {"effect", "NoSchedule"}}};
    std::string zone_req;
    if (sel == 0) {
      zone_req = kZones[rng() % 3];
      pspec["nodeSelector"] = {{"topology.kubernetes.io/zone", zone_req}};
    } else if (sel == 1) {
      pspec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] = {
          {{"matchExpressions",
            {{{"key", "cloud.google.com/machine-family"}, {"operator", "In"}, {"values", {"e2"}}}}}}};
    } else if (sel == 2) {
      pspec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] = {
          {{"matchExpressions",
            {{{"key", "topology.kubernetes.io/zone"}, {"operator", "NotIn"}, {"values", {kZones[2]}}}}}}};
    }
    if (anti)
      pspec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = {
          {{"topologyKey", "kubernetes.io/hostname"}, {"labelSelector", {{"matchLabels", {{"app", app}}}}}}};
    std::set<int> anti_used;
    for (int r = 0; r < replicas; ++r) {
      std::string name = app + "-7d9f-" + std::to_string(r);
      json md = {{"name", name}, {"namespace", ns}, {"labels", {{"app", app}}}};
      json spec_r = pspec;
      int kind = spec.immovable ? static_cast<int>(rng() % 100) : 99;
      if (kind != 0)
        md["ownerReferences"] = {{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", app + "-7d9f"},
                                  {"controller", true}}};
      if (kind == 1) spec_r["volumes"] = {{{"name", "logs"}, {"hostPath", {{"path", "/var/log"}}}}};
      if (kind == 2) md["annotations"] = {{"kinema.io/do-not-disrupt", "true"}};
      // Current placement: first fit over shuffled compatible nodes.
      int64_t eff_cpu = pspec.contains("initContainers") ? cpu + 100 : cpu;
      std::shuffle(order.begin(), order.end(), rng);
      std::string node_name;
      for (int oi : order) {
        N& n = nodes[oi];
        if (n.spot && !tol_spot) continue;
        if (sel == 0 && n.zone != zone_req) continue;
        if (sel == 1 && n.family != "e2") continue;
        if (sel == 2 && n.zone == kZones[2]) continue;
        if (n.ucpu + eff_cpu > n.cpu || n.umem + mem > n.mem || n.upods + 1 > n.pods) continue;
        if (anti && anti_used.count(oi)) continue;
        n.ucpu += eff_cpu;
        n.umem += mem;
        n.upods += 1;
        node_name = n.name;
        if (anti) anti_used.insert(oi);
        break;
      }
      json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", md}, {"spec", spec_r},
                  {"status", {{"phase", node_name.empty() ? "Pending" : "Running"}}}};
      if (!node_name.empty()) pod["spec"]["nodeName"] = node_name;
      else if (kind <= 2) continue;  // an immovable pod must have a node
      items.push_back(pod);
      used_cpu += eff_cpu;
      used_mem += mem;
    }
    ++dep;
  }
  // A few finished pods that must be ignored.
  items.push_back({{"apiVersion", "v1"},
                   {"kind", "Pod"},
                   {"metadata", {{"name", "job-done"}, {"namespace", "batch"}}},
                   {"spec", {{"containers", {{{"name", "c"}}}}}},
                   {"status", {{"phase", "Succeeded"}}}});
  return {{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
}

}  // namespace kinema::bench
