// SimClock: simulated time. Simulated time starts at the wall-clock time of
// process start and advances `time_scale` times faster than wall time
// (--time-scale). Every timestamp the simulator writes (creationTimestamp,
// deletionTimestamp, the report's "time") is simulated time.
//
// Thread-safety: immutable after construction; all methods are const and safe
// from any thread.
#pragma once

#include <chrono>
#include <string>

namespace kinema::sim {

class SimClock {
 public:
  using TimePoint = std::chrono::system_clock::time_point;

  explicit SimClock(double time_scale);

  double time_scale() const { return time_scale_; }
  TimePoint Now() const;
  // Wall-clock duration that corresponds to `sim_seconds` of simulated time.
  std::chrono::milliseconds WallDuration(double sim_seconds) const;

  // RFC 3339, second precision ("2026-11-22T10:00:00Z").
  static std::string FormatTime(TimePoint t);
  // RFC 3339 with microseconds ("2026-11-22T10:00:00.123456Z"): MicroTime.
  static std::string FormatMicroTime(TimePoint t);
  // Parses RFC 3339 (with optional fraction and Z/offset); false on error.
  static bool ParseTime(const std::string& s, TimePoint* out);

 private:
  double time_scale_;
  std::chrono::steady_clock::time_point wall_start_;
  TimePoint sim_start_;
};

}  // namespace kinema::sim
