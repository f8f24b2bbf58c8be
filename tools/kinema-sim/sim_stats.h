// SimStats: the simulator's own counters for /sim/v1/report. Components bump
// them as things happen (evictions now; cloud, availability and PDB accounting
// arrive with issue 4's controllers and fake GCE).
//
// CloudLedger: what the fake cloud computes at report time rather than
// counts (cost of what is billed, the integral of that cost over simulated
// time, orphan instances). The fake GCE registers itself with
// SetCloudLedger() for its lifetime; without one the report prices Nodes.
// Thread-safety: atomics / a mutex for the double; safe from any thread.
// CloudLedger::Account() must be thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace kinema::sim {

struct CloudAccount {
  // The simulated instant the account was taken at: totalCost is the integral
  // up to exactly this instant, so a report states this as its time.
  std::chrono::system_clock::time_point at{};
  double cost_per_hour = 0;        // billed instances + Nodes no instance backs
  double nodes_cost_per_hour = 0;  // catalog price of the current Nodes alone
  double total_cost = 0;           // integral of cost_per_hour over simulated time
  uint64_t orphan_instances = 0;   // exist, no Node, not booting/joining/stopping
  uint64_t instances = 0;          // existing instances, any status
  uint64_t instances_preempted = 0;  // spot preemptions (scenario events)
  uint64_t instances_failed = 0;     // host failures (scenario events)
  uint64_t non_member_instances = 0; // cloud.mode gke: instances that could never join (no pool group)
  uint64_t node_pools = 0;           // cloud.mode gke: node pools that exist
  uint64_t stuck_members = 0;        // group members stuck in CREATING with errors
};

class CloudLedger {
 public:
  virtual ~CloudLedger() = default;
  virtual CloudAccount Account() const = 0;
};

struct SimStats {
  std::atomic<uint64_t> evictions_accepted{0};
  std::atomic<uint64_t> evictions_rejected_by_pdb{0};
  std::atomic<uint64_t> instances_created{0};
  std::atomic<uint64_t> instances_deleted{0};
  std::atomic<uint64_t> duplicate_create_requests{0};
  std::atomic<uint64_t> orphan_instances{0};
  std::atomic<uint64_t> deployments_below_min_available{0};
  std::atomic<uint64_t> pdb_violations{0};
  std::atomic<uint64_t> requests{0};
  // -- workflow-mode accounting (operations.md "Report additions")
  std::atomic<uint64_t> oom_kills{0};            // containers killed for passing their memory limit
  std::atomic<uint64_t> resizes_accepted{0};     // in-place resizes the kubelet admitted (per pod generation)
  std::atomic<uint64_t> resizes_deferred{0};     // resizes that went PodResizePending/Deferred
  std::atomic<uint64_t> resizes_infeasible{0};   // resizes that went PodResizePending/Infeasible
  std::atomic<uint64_t> evictions_in_background{0};  // evictions answered "Eviction triggered evacuation"
  std::atomic<uint64_t> vm_migrations{0};        // live migrations completed
  std::atomic<uint64_t> vm_migrations_failed{0}; // live migrations abandoned (target never bound)
  void AddVmDowntime(double s) {
    std::lock_guard<std::mutex> l(mu);
    vm_downtime_seconds += s;
  }
  double VmDowntimeSeconds() const {
    std::lock_guard<std::mutex> l(mu);
    return vm_downtime_seconds;
  }
  // -- workflow-mode accounting end

  // Registered by the fake cloud (nullptr to unregister).
  void SetCloudLedger(const CloudLedger* ledger) { cloud_ledger_.store(ledger); }
  const CloudLedger* cloud_ledger() const { return cloud_ledger_.load(); }

  void AddSecondsBelowMinAvailable(double s) {
    std::lock_guard<std::mutex> l(mu);
    seconds_below_min_available += s;
  }
  double SecondsBelowMinAvailable() const {
    std::lock_guard<std::mutex> l(mu);
    return seconds_below_min_available;
  }

 private:
  mutable std::mutex mu;
  double seconds_below_min_available = 0;
  double vm_downtime_seconds = 0;  // simulated seconds VMs had no running launcher pod
  std::atomic<const CloudLedger*> cloud_ledger_{nullptr};
};

}  // namespace kinema::sim
