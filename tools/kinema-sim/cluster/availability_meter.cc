#include "tools/kinema-sim/cluster/availability_meter.h"

namespace kinema::sim::cluster {

void AvailabilityMeter::Advance(SimClock::TimePoint now) {
  if (started_ && now > last_ && below_ > 0) {
    stats_->AddSecondsBelowMinAvailable(std::chrono::duration<double>(now - last_).count() * static_cast<double>(below_));
  }
  if (!started_ || now > last_) last_ = now;
  started_ = true;
}

void AvailabilityMeter::Update(const std::pair<std::string, std::string>& deployment, bool below,
                               SimClock::TimePoint now) {
  Advance(now);
  auto [it, inserted] = state_.emplace(deployment, below);
  if (!inserted) {
    if (it->second == below) return;
    if (it->second) below_--;
    it->second = below;
  }
  if (below) below_++;
  stats_->deployments_below_min_available.store(below_);
}

void AvailabilityMeter::Remove(const std::pair<std::string, std::string>& deployment, SimClock::TimePoint now) {
  Advance(now);
  auto it = state_.find(deployment);
  if (it == state_.end()) return;
  if (it->second) below_--;
  state_.erase(it);
  stats_->deployments_below_min_available.store(below_);
}

}  // namespace kinema::sim::cluster
