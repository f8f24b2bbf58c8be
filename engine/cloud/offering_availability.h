// OfferingAvailability: the (machine type, zone, capacity) offerings the
// cloud recently could not provide (stockout, quota), each remembered until
// a time-to-live passes, so that callers fall back (another zone, then
// another type) instead of asking again at once. Karpenter keeps the same
// kind of cache for "insufficient capacity" errors.
//
// Contract:
//   - Mark() records or extends an entry (the later expiry wins) with a
//     reason for logs and the journal.
//   - Available() is false while an unexpired entry matches; List() returns
//     the unexpired entries, sorted by type, zone, capacity.
//   - In memory only: after a restart every offering is available again (the
//     next attempt that fails marks it again).
//   - `now` is injectable for tests.
// Thread-safety: all methods are thread-safe.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "engine/cloud/cloud_provider.h"

namespace kinema::cloud {

class OfferingAvailability {
 public:
  explicit OfferingAvailability(std::function<Clock::time_point()> now = nullptr);

  void Mark(const std::string& machine_type, const std::string& zone, CapacityType capacity,
            std::chrono::milliseconds ttl, const std::string& reason);
  bool Available(const std::string& machine_type, const std::string& zone, CapacityType capacity) const;
  std::vector<UnavailableOffering> List() const;

 private:
  using Key = std::tuple<std::string, std::string, int>;
  Clock::time_point Now() const;

  std::function<Clock::time_point()> now_;
  mutable std::mutex mu_;
  mutable std::map<Key, UnavailableOffering> entries_;
};

}  // namespace kinema::cloud
