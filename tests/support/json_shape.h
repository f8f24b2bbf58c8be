// JSON shape comparison for golden fixtures: does an actual response have
// every field a recorded real one has, with the same JSON type?
//
// Contract:
//   - ShapeDiff(fixture, actual) lists, one per line, each path where the
//     fixture has a member the actual lacks ("missing"), or where the types
//     differ ("type"): objects are compared member by member, arrays by
//     their first elements (when both have one), scalars by type (integer and
//     floating-point numbers are both "number"). Empty = same shape.
//   - `optional` paths (e.g. "error", "managedInstances[].lastAttempt") are
//     skipped when the actual lacks them; paths use "[]" for array elements.
//   - Extra members in `actual` are fine (fakes may say more).
// Thread-safety: pure function.
#pragma once

#include <nlohmann/json.hpp>

#include <set>
#include <string>

namespace kinema::testing {

std::string ShapeDiff(const nlohmann::json& fixture, const nlohmann::json& actual,
                      const std::set<std::string>& optional = {});

// Reads tests/fixtures/gcp/<relative> (from $KINEMA_SOURCE_DIR); aborts the
// test binary with a message when missing or not JSON.
nlohmann::json GcpFixture(const std::string& relative);

}  // namespace kinema::testing
