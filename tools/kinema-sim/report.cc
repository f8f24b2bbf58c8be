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
  double nodes_cost = 0;
  for (const auto& n : nodes) nodes_cost += pricer.PriceOf(n->body);
  // With a cloud (the fake GCE), the cost is what the cloud bills: running
  // instances, booting or not, plus Nodes no instance backs; without one,
  // the Nodes' catalog prices and no integral.
  const CloudLedger* ledger = stats.cloud_ledger();
  CloudAccount account;
  if (ledger != nullptr) account = ledger->Account();
  double cost = ledger != nullptr ? account.cost_per_hour : nodes_cost;
  auto round6 = [](double v) { return std::round(v * 1e6) / 1e6; };
  long long pending = 0, running = 0;
  for (const auto& p : store.List(pods_f).items) {
    std::string phase = p->body.contains("status") ? p->body["status"].value("phase", "") : "";
    if (phase == "Pending") pending++;
    else if (phase == "Running") running++;
  }
  return nlohmann::json{
      // With a cloud, the report's time is the account's: totalCost and time
      // are read at one instant (a busy machine runs many simulated seconds
      // between two clock reads).
      {"time", SimClock::FormatTime(ledger != nullptr ? account.at : clock.Now())},
      {"costPerHour", round6(cost)},
      {"totalCost", ledger != nullptr ? nlohmann::json(round6(account.total_cost)) : nlohmann::json(nullptr)},
      {"nodesCostPerHour", round6(nodes_cost)},
      {"nodes", nodes.size()},
      {"pendingPods", pending},
      {"runningPods", running},
      {"cloud",
       {{"instancesCreated", stats.instances_created.load()},
        {"instancesDeleted", stats.instances_deleted.load()},
        {"duplicateCreateRequests", stats.duplicate_create_requests.load()},
        {"orphanInstances", ledger != nullptr ? account.orphan_instances : stats.orphan_instances.load()},
        {"instances", account.instances},
        {"instancesPreempted", account.instances_preempted},
        {"instancesFailed", account.instances_failed},
        {"nonMemberInstances", account.non_member_instances},
        {"nodePools", account.node_pools},
        {"stuckMembers", account.stuck_members}}},
      {"evictions",
       {{"accepted", stats.evictions_accepted.load()},
        {"rejectedByPdb", stats.evictions_rejected_by_pdb.load()},
        {"inBackground", stats.evictions_in_background.load()}}},
      {"oomKills", stats.oom_kills.load()},
      {"resizes",
       {{"accepted", stats.resizes_accepted.load()},
        {"deferred", stats.resizes_deferred.load()},
        {"infeasible", stats.resizes_infeasible.load()}}},
      {"vms",
       {{"migrations", stats.vm_migrations.load()},
        {"migrationsFailed", stats.vm_migrations_failed.load()},
        {"downtimeSeconds", stats.VmDowntimeSeconds()}}},
      {"availability",
       {{"deploymentsBelowMinAvailable", stats.deployments_below_min_available.load()},
        {"secondsBelowMinAvailable", stats.SecondsBelowMinAvailable()}}},
      {"pdbViolations", stats.pdb_violations.load()}};
}

}  // namespace kinema::sim
