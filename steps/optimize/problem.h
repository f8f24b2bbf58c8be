// Problem: the optimizer's internal model of one planning instance.
//
// What: BuildProblem() turns a Snapshot + Catalog + options into
//   - kinds: every existing node (index == snapshot node index) followed by
//     the new-node types that may be booted (machine type x zone x capacity
//     type), after zone merging and dropping dominated types;
//   - classes: movable pods grouped by identical requests, node constraints
//     and anti-affinity relations (so pods of one class are interchangeable);
//   - compat[kind][class], per-node caps (hostname anti-affinity) and
//     class-class conflicts;
//   - fixed load: immovable pods stay where they are; their nodes are forced
//     open and only their residual capacity is offered to classes.
// Every kind's `free` capacity already has DaemonSet overhead (and fixed
// load) subtracted. Cordoned nodes carry the node.kubernetes.io/unschedulable
// taint for planning purposes.
// Thread-safety: immutable value after BuildProblem.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/catalog/catalog.h"
#include "engine/common/status.h"
#include "steps/optimize/plan.h"
#include "steps/optimize/snapshot.h"

namespace kinema::opt {

struct Kind {
  bool existing = false;
  int node = -1;          // snapshot node index (existing)
  int machine = -1;       // catalog machine type index (new)
  std::string type_name;  // machine type name ("" if unknown for existing)
  std::string zone;
  CapacityType capacity = CapacityType::kOnDemand;
  double price = 0;
  Resources free;          // capacity left for movable pods
  bool forced = false;     // existing node that must be kept (pinned or hosts immovable pods)
  int group = -1;          // existing, not forced: equivalence group of interchangeable nodes
  std::vector<uint8_t> compat;  // per class
  Labels labels;           // new kinds: labels a booted node gets (hostname excluded)
  std::vector<Taint> taints;
};

struct PodClass {
  Resources req;
  std::vector<int> pods;        // snapshot pod indices
  int64_t cap = INT64_MAX;      // max pods of this class per node
  std::vector<int> conflicts;   // other classes that may not share a node
  int n() const { return static_cast<int>(pods.size()); }
};

struct Problem {
  std::vector<Kind> kinds;
  int num_existing = 0;
  std::vector<PodClass> classes;
  std::vector<std::vector<std::pair<int, int>>> current;  // per existing node: (class, count) now there
  std::vector<std::vector<int>> groups;                   // group -> existing node indices
  std::vector<std::vector<int>> fixed_pods;               // per existing node: immovable pods
  double cost_before = 0;
  int64_t unplaced_now = 0;  // movable pods without a current node
  int64_t protected_nodes = 0;  // existing nodes forced open by ProtectNodes (not by pinning/immovable pods)
  std::vector<std::string> notes;
  bool IsNew(int k) const { return k >= num_existing; }
};

StatusOr<Problem> BuildProblem(const Snapshot& snap, const Catalog& cat, const PlanOptions& opt);

// Marks the named existing nodes as kept (forced open; their movable pods may
// still move) and rebuilds the groups of interchangeable nodes without them.
// Names not in the snapshot are reported in p->notes and otherwise ignored.
void ProtectNodes(const Snapshot& snap, const std::set<std::string>& names, Problem* p);

// Resource k of r as a number: 0 cpu (milli), 1 memory (bytes), 2 pods.
inline double Dim(const Resources& r, int k) {
  return k == 0 ? double(r.cpu_milli) : k == 1 ? double(r.memory_bytes) : double(r.pods);
}

// Does a pod of class `c` fit alone into `free` (all three dimensions)?
inline bool FitsEmpty(const Resources& req, const Resources& free) {
  return req.cpu_milli <= free.cpu_milli && req.memory_bytes <= free.memory_bytes && req.pods <= free.pods;
}

}  // namespace kinema::opt
