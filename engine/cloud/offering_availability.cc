#include "engine/cloud/offering_availability.h"

#include <spdlog/spdlog.h>

namespace kinema::cloud {

OfferingAvailability::OfferingAvailability(std::function<Clock::time_point()> now) : now_(std::move(now)) {}

Clock::time_point OfferingAvailability::Now() const { return now_ ? now_() : Clock::now(); }

void OfferingAvailability::Mark(const std::string& machine_type, const std::string& zone, CapacityType capacity,
                                std::chrono::milliseconds ttl, const std::string& reason) {
  std::lock_guard<std::mutex> l(mu_);
  Key key{machine_type, zone, static_cast<int>(capacity)};
  Clock::time_point until = Now() + ttl;
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.until >= until) return;
  entries_[key] = UnavailableOffering{machine_type, zone, capacity, reason, until};
  spdlog::warn("cloud: offering {} {} in {} marked unavailable for {} s: {}", machine_type,
               CapacityTypeName(capacity), zone, std::chrono::duration_cast<std::chrono::seconds>(ttl).count(),
               reason);
}

bool OfferingAvailability::Available(const std::string& machine_type, const std::string& zone,
                                     CapacityType capacity) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(Key{machine_type, zone, static_cast<int>(capacity)});
  if (it == entries_.end()) return true;
  if (it->second.until <= Now()) {
    entries_.erase(it);
    return true;
  }
  return false;
}

std::vector<UnavailableOffering> OfferingAvailability::List() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<UnavailableOffering> out;
  Clock::time_point now = Now();
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.until <= now) {
      it = entries_.erase(it);
      continue;
    }
    out.push_back(it->second);
    ++it;
  }
  return out;
}

}  // namespace kinema::cloud
