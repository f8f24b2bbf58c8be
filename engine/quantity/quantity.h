// Kubernetes resource.Quantity parsing, exact.
//
// What: converts the string forms the Kubernetes API accepts for quantities
// ("250m", "1.5", "2Gi", "512M", "1e3", "+.5Ki", ...) into integers, with the
// same semantics as apimachinery's Quantity.MilliValue() / Value(): the exact
// decimal value, rounded UP (towards +infinity) to the requested unit.
//
// Grammar (k8s.io/apimachinery/pkg/api/resource/quantity.go):
//   quantity        ::= signedNumber suffix
//   signedNumber    ::= [+-] number
//   number          ::= digits | digits "." digits | digits "." | "." digits
//   suffix          ::= binarySI | decimalSI | decimalExponent
//   binarySI        ::= Ki | Mi | Gi | Ti | Pi | Ei
//   decimalSI       ::= n | u | m | "" | k | M | G | T | P | E
//   decimalExponent ::= ("e" | "E") [+-] digits
// Note "1E" is 10^18 (exa) while "1E3" is 1000 (exponent).
//
// Invariants: arithmetic is exact (decimal digit strings, no floating point);
// any value whose rounded result does not fit in int64 is an error, as is
// every malformed string (empty, spaces, "1.2.3", "Ki", "1K", "1e", "1ei").
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/common/status.h"

namespace kinema {

// The largest resource quantity the planner works with: 2^44 (16 TiB of
// memory in bytes; 17.6 million cores in millicores) — more than any machine
// has. Parsers of outside data (snapshot, catalog) cap requests and
// capacities here (a request above it fits no machine either way) and a
// snapshot holds at most kMaxPlannableItems items, so every sum the planner
// forms (2^44 x 2^19 = 2^63) stays within int64.
inline constexpr int64_t kMaxPlannableQuantity = int64_t{1} << 44;
inline constexpr int64_t kMaxPlannableItems = int64_t{1} << 19;

// min(a + b, kMaxPlannableQuantity) for non-negative a and b (no overflow).
int64_t AddQuantitiesCapped(int64_t a, int64_t b);

// The quantity in thousandths, rounded up: "250m" -> 250, "1" -> 1000,
// "0.0001" -> 1 (CPU millicores).
StatusOr<int64_t> ParseQuantityMilli(std::string_view s);

// The quantity in whole units, rounded up: "2Gi" -> 2147483648, "1.5" -> 2,
// "512M" -> 512000000, "110" -> 110 (bytes, pod counts).
StatusOr<int64_t> ParseQuantityValue(std::string_view s);

// Canonical short forms: 2000 -> "2", 1500 -> "1500m".
std::string FormatMilliCpu(int64_t milli);
// Largest exact binary suffix: 2147483648 -> "2Gi", 1000 -> "1000".
std::string FormatBytes(int64_t bytes);

// A quantity as JSON carries it: a string ("250m", "1.5Gi", "2") or a JSON
// number. `milli` parses like ParseQuantityMilli (cpu), else like
// ParseQuantityValue. Negative values are refused. The error message says
// what is wrong, without where (callers add the field path).
StatusOr<int64_t> ParseJsonQuantity(const nlohmann::json& v, bool milli);

}  // namespace kinema
