// /sim/v1/report (operations.md): the simulator's own account of the cluster
// — simulated time, cost per hour of the current nodes (catalog prices),
// node and pod counts, and the counters in SimStats (evictions now; cloud,
// availability and PDB accounting filled in by issue 4's components).
// Thread-safety: BuildReport() is thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include "tools/kinema-sim/object_store.h"
#include "tools/kinema-sim/pricing.h"
#include "tools/kinema-sim/sim_clock.h"
#include "tools/kinema-sim/sim_stats.h"

namespace kinema::sim {

nlohmann::json BuildReport(const ObjectStore& store, const NodePricer& pricer, const SimClock& clock,
                           const SimStats& stats);

}  // namespace kinema::sim
