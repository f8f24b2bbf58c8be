#include "tools/kinema-sim/sim_clock.h"

#include <cstdio>
#include <ctime>

namespace kinema::sim {

SimClock::SimClock(double time_scale)
    : time_scale_(time_scale > 0 ? time_scale : 1.0),
      wall_start_(std::chrono::steady_clock::now()),
      sim_start_(std::chrono::system_clock::now()) {}

SimClock::TimePoint SimClock::Now() const {
  auto wall = std::chrono::steady_clock::now() - wall_start_;
  auto sim = std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::duration<double>(std::chrono::duration<double>(wall).count() * time_scale_));
  return sim_start_ + sim;
}

std::chrono::milliseconds SimClock::WallDuration(double sim_seconds) const {
  return std::chrono::milliseconds(static_cast<long long>(sim_seconds * 1000.0 / time_scale_));
}

std::string SimClock::FormatTime(TimePoint t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string SimClock::FormatMicroTime(TimePoint t) {
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  if (secs > t) secs -= std::chrono::seconds(1);
  long long micros = std::chrono::duration_cast<std::chrono::microseconds>(t - secs).count();
  std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[48];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[96];
  std::snprintf(out, sizeof(out), "%s.%06lldZ", buf, micros);
  return out;
}

bool SimClock::ParseTime(const std::string& s, TimePoint* out) {
  std::tm tm{};
  int year, mon, day, hh, mm, ss;
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &mon, &day, &hh, &mm, &ss, &consumed) < 6) {
    return false;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  std::time_t tt = timegm(&tm);
  TimePoint t = std::chrono::system_clock::from_time_t(tt);
  size_t i = static_cast<size_t>(consumed);
  if (i < s.size() && s[i] == '.') {
    ++i;
    double frac = 0, scale = 0.1;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      frac += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    t += std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(frac));
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) >= 1) {
      auto off = std::chrono::hours(oh) + std::chrono::minutes(om);
      t = s[i] == '+' ? t - off : t + off;
    }
  }
  *out = t;
  return true;
}

}  // namespace kinema::sim
