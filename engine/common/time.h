// Time helpers shared by every layer: durations as the config writes them,
// wall-clock milliseconds, and RFC 3339 timestamps as Kubernetes and the
// journal write them.
//
// Contract:
//   - ParseDuration accepts Go-style strings ("500ms", "10s", "15m", "1h30m",
//     "7d"; fractions allowed: "1.5h") and nothing else: no sign, no bare
//     number, no overflow (InvalidArgument naming the text otherwise).
//   - FormatDuration(ParseDuration(x)) is the shortest exact rendering.
//   - ParseRfc3339 accepts "2030-01-02T03:04:05Z", an optional fraction and a
//     Z or ±hh:mm offset; nullopt when malformed. Far futures are clamped to
//     2200-01-01 (system_clock's 64-bit nanoseconds end in 2262).
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "engine/common/status.h"

namespace kinema {

using Duration = std::chrono::milliseconds;

StatusOr<Duration> ParseDuration(const std::string& text);
std::string FormatDuration(Duration d);

// Milliseconds since the Unix epoch, from the system clock.
int64_t NowMs();

// RFC 3339 UTC with millisecond precision: "2026-11-22T10:00:00.123Z".
std::string FormatRfc3339(int64_t ms);
// "2030-01-02T03:04:05Z" (fraction_digits 0) or "2030-01-02T03:04:05.123456Z" (6).
std::string FormatRfc3339(std::chrono::system_clock::time_point t, int fraction_digits);
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(const std::string& text);
// The same as milliseconds since the Unix epoch.
std::optional<int64_t> ParseRfc3339Ms(const std::string& text);

}  // namespace kinema
