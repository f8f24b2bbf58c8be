#include "tools/kinema-sim/report.h"

#include <cmath>

namespace kinema::sim {

nlohmann::json BuildReport(const ObjectStore& store, const NodePricer& pricer, const SimClock& clock,
                           const SimStats& stats) {
  const auto& reg = ResourceRegistry::Default();
  WatchFilter nodes_f;
  nodes_f.resource = reg.Find("", "v1", "nodes");
  WatchFilter pods_f;
  pods_f.resource = reg.Find("", "v1", "pods");
  auto nodes = store.List(nodes_f).items;
  double cost = 0;
  for (const auto& n : nodes) cost += pricer.PriceOf(n->body);
  long long pending = 0, running = 0;
  for (const auto& p : store.List(pods_f).items) {
    std::string phase = p->body.contains("status") ? p->body["status"].value("phase", "") : "";
    if (phase == "Pending") pending++;
    else if (phase == "Running") running++;
  }
  return nlohmann::json{
      {"time", SimClock::FormatTime(clock.Now())},
      {"costPerHour", std::round(cost * 1e6) / 1e6},
      {"nodes", nodes.size()},
      {"pendingPods", pending},
      {"runningPods", running},
      {"cloud",
       {{"instancesCreated", stats.instances_created.load()},
        {"instancesDeleted", stats.instances_deleted.load()},
        {"duplicateCreateRequests", stats.duplicate_create_requests.load()},
        {"orphanInstances", stats.orphan_instances.load()}}},
      {"evictions",
       {{"accepted", stats.evictions_accepted.load()}, {"rejectedByPdb", stats.evictions_rejected_by_pdb.load()}}},
      {"availability",
       {{"deploymentsBelowMinAvailable", stats.deployments_below_min_available.load()},
        {"secondsBelowMinAvailable", stats.SecondsBelowMinAvailable()}}},
      {"pdbViolations", stats.pdb_violations.load()}};
}

}  // namespace kinema::sim
