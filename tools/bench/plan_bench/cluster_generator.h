// Seeded generator of realistic, over-provisioned GKE-like clusters and a
// GCE-like catalog, for the plan benchmark and the optimizer's property tests.
//
// Catalog: E2 and N2 standard/highmem/highcpu, 2-32 vCPU, on-demand and spot,
// 3 zones of us-central1; prices from per-vCPU and per-GiB rates
// (shared/research/k8s-fidelity.md §4.1: E2 core $0.02181159, RAM $0.00292353;
// N2 core $0.031611, RAM $0.004237; spot E2 at 30% of on-demand, N2 spot
// $0.006655/$0.000892). Allocatable is derived (GKE reservations) for most
// types and given explicitly for a few.
// Cluster: node pools of a few types across zones (some spot, tainted),
// deployments with heavy-tailed replica counts and request sizes until
// requests fill `fill` (30-60%) of allocatable, DaemonSets, spot-tolerating
// pods, zone selectors, node affinity, hostname anti-affinity, and some
// immovable pods (bare pods, hostPath, do-not-disrupt) and pinned nodes.
// Output is the kubectl List JSON of shared/spec/planning.md §1.
// Thread-safety: pure functions of their arguments.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

namespace kinema::bench {

struct ClusterSpec {
  int nodes = 50;
  double fill = 0.45;          // requests / allocatable, 0.3-0.6 realistic
  uint64_t seed = 1;
  bool constraints = true;     // selectors, anti-affinity, tolerations
  bool immovable = true;       // bare/hostPath/do-not-disrupt pods, pinned nodes
  int max_replicas = 300;      // heavy tail cap
};

nlohmann::json GenerateCatalog();
nlohmann::json GenerateCluster(const ClusterSpec& spec);

}  // namespace kinema::bench
