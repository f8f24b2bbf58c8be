// RFC 3339 timestamps as Kubernetes writes them (Time: seconds; MicroTime:
// 6 fractional digits), always UTC on output.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace kinema::kube {

// Accepts "2030-01-02T03:04:05Z", an optional fraction, and a Z or ±hh:mm
// offset. nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(const std::string& text);

// "2030-01-02T03:04:05Z" (fraction_digits 0) or "2030-01-02T03:04:05.123456Z" (6).
std::string FormatRfc3339(std::chrono::system_clock::time_point t, int fraction_digits);

}  // namespace kinema::kube
