// SimStats: the simulator's own counters for /sim/v1/report. Components bump
// them as things happen (evictions now; cloud, availability and PDB accounting
// arrive with issue 4's controllers and fake GCE).
// Thread-safety: atomics / a mutex for the double; safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

namespace kinema::sim {

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
};

}  // namespace kinema::sim
