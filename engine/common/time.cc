#include "engine/common/time.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace kinema {

StatusOr<Duration> ParseDuration(const std::string& s) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("bad duration '" + s + "'" + (why.empty() ? "" : ": " + why) +
                                   " (use e.g. 500ms, 10s, 15m, 1h30m, 7d)");
  };
  if (s.empty()) return Status::InvalidArgument("empty duration (use e.g. 500ms, 10s, 15m, 1h30m, 7d)");
  if (s.size() > 64) return bad("too long");
  size_t i = 0;
  double total_ms = 0;
  while (i < s.size()) {
    size_t start = i;
    int dots = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) {
      dots += s[i] == '.';
      ++i;
    }
    if (start == i || dots > 1 || (i - start == 1 && s[start] == '.')) return bad("");
    std::string number = s.substr(start, i - start);
    char* end = nullptr;
    double v = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size() || !std::isfinite(v)) return bad("");
    size_t ustart = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    std::string unit = s.substr(ustart, i - ustart);
    double mult;
    if (unit == "ms") mult = 1;
    else if (unit == "s") mult = 1000;
    else if (unit == "m") mult = 60000;
    else if (unit == "h") mult = 3600000;
    else if (unit == "d") mult = 86400000;
    else return bad("unit must be ms, s, m, h or d");
    total_ms += v * mult;
  }
  // A century is more than any timeout or retention means; beyond it the
  // millisecond count would lose meaning (and overflow int64 far later).
  if (!std::isfinite(total_ms) || total_ms > 100.0 * 365 * 86400000) return bad("longer than 100 years");
  return Duration(static_cast<int64_t>(total_ms + 0.5));
}

std::string FormatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms > 0 && ms % 86400000 == 0 && ms >= 2 * 86400000) return std::to_string(ms / 86400000) + "d";
  if (ms % 3600000 == 0 && ms > 0) return std::to_string(ms / 3600000) + "h";
  if (ms % 60000 == 0 && ms > 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatRfc3339(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::optional<std::chrono::system_clock::time_point> ParseRfc3339(const std::string& text) {
  int y, mo, d, h, mi, s;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) != 6) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  size_t pos = static_cast<size_t>(consumed);
  int64_t micros = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (digits < 6) micros = micros * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 6; ++i) micros *= 10;
  }
  int offset_s = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh, om;
    if (std::sscanf(text.c_str() + pos + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    offset_s = (oh * 3600 + om * 60) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  time_t t = timegm(&tm);
  constexpr time_t kMax = 7258118400;  // 2200-01-01T00:00:00Z
  if (t - offset_s > kMax) return std::chrono::system_clock::from_time_t(kMax);
  return std::chrono::system_clock::from_time_t(t - offset_s) + std::chrono::microseconds(micros);
}

std::optional<int64_t> ParseRfc3339Ms(const std::string& text) {
  auto t = ParseRfc3339(text);
  if (!t) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
}

std::string FormatRfc3339(std::chrono::system_clock::time_point t, int fraction_digits) {
  auto secs = std::chrono::floor<std::chrono::seconds>(t);
  time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (fraction_digits > 0) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(t - secs).count();
    char frac[32];
    std::snprintf(frac, sizeof(frac), ".%06lld", static_cast<long long>(us));
    out += frac;
  }
  return out + "Z";
}

}  // namespace kinema
