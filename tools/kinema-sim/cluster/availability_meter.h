// AvailabilityMeter: the report's availability accounting
// (operations.md: availability.deploymentsBelowMinAvailable and
// secondsBelowMinAvailable). A Deployment is below its minimum when
// availableReplicas < replicas - maxUnavailable (its own rollout guarantee);
// the meter integrates "number of Deployments below" over simulated time.
//
// Invariant: stats.deployments_below_min_available == number of keys whose
// last update said "below"; seconds are added for the time between
// consecutive Advance()/Update()/Remove() calls at the count that held.
// Thread-safety: not thread-safe (owned by the Deployment controller's
// strand); writes SimStats (thread-safe).
#pragma once

#include <map>
#include <string>
#include <utility>

#include "tools/kinema-sim/sim_clock.h"
#include "tools/kinema-sim/sim_stats.h"

namespace kinema::sim::cluster {

class AvailabilityMeter {
 public:
  explicit AvailabilityMeter(SimStats* stats) : stats_(stats) {}

  void Update(const std::pair<std::string, std::string>& deployment, bool below, SimClock::TimePoint now);
  void Remove(const std::pair<std::string, std::string>& deployment, SimClock::TimePoint now);
  // Adds the elapsed simulated time at the current count.
  void Advance(SimClock::TimePoint now);
  size_t below_count() const { return below_; }

 private:
  SimStats* stats_;
  std::map<std::pair<std::string, std::string>, bool> state_;
  size_t below_ = 0;
  bool started_ = false;
  SimClock::TimePoint last_{};
};

}  // namespace kinema::sim::cluster
