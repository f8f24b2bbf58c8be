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
//   - Durations: ParseDuration() in engine/common/time.h (Go-style, with d;
//     at most 100 years), used by config::Dur.
//   - CheckServiceUrl(): an http:// or https:// URL with a host
//     (http::CheckHttpUrl); other schemes (file://, ...) are refused.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "engine/common/status.h"

namespace kinema {

StatusOr<double> ParseNumber(const std::string& text, double lo, double hi);
StatusOr<int64_t> ParseInteger(const std::string& text, int64_t lo, int64_t hi);
Status CheckServiceUrl(const std::string& url);

}  // namespace kinema
