// Scalar config values: the parsing and range checks every config key
// shares, whichever section (the controller's or a workflow kind's) declares
// it. A section's schema calls these instead of std::stod & co., so every
// number and duration key gets the same guarantees.
//
// Contract:
//   - Errors are kInvalidArgument with a message naming the offending text
//     (callers prefix the key path), never exceptions.
//   - ParseNumber(): a finite decimal number ("0.1", "1e3", "+2"); "nan",
//     "inf", hex floats and trailing junk are errors; the value must lie in
//     [lo, hi] (lo and hi finite).
//   - ParseInteger(): a decimal int64 within [lo, hi].
//   - ParseDuration(): Go-style "500ms", "10s", "15m", "1h30m", "1.5s"; each
//     part is digits with an optional fraction and a unit ms|s|m|h; the
//     total is finite and at most 10^15 ms (no int64 overflow).
//   - ParseConfigDuration(): ParseDuration, and at most kMaxConfigDuration
//     (168h), so every duration of the controller's config also fits an
//     `int` of milliseconds (what waits take).
//   - ParseServiceUrl(): an http:// or https:// URL with a host
//     (http::CheckHttpUrl); other schemes (file://, ...) are refused.
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "engine/common/status.h"

namespace kinema {

using Duration = std::chrono::milliseconds;

inline constexpr Duration kMaxConfigDuration{7LL * 24 * 3600 * 1000};

StatusOr<double> ParseNumber(const std::string& text, double lo, double hi);
StatusOr<int64_t> ParseInteger(const std::string& text, int64_t lo, int64_t hi);
StatusOr<Duration> ParseDuration(const std::string& s);
StatusOr<Duration> ParseConfigDuration(const std::string& s);
std::string FormatDuration(Duration d);
Status CheckServiceUrl(const std::string& url);

}  // namespace kinema
