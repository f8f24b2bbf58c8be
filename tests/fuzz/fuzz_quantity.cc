// Fuzz target: Kubernetes quantities ("250m", "2Gi", "1e3", ...) and the
// capped sum the planner uses. Properties checked beyond "no crash/UB":
// a parsed value formats back to a string that parses to the same value,
// and capped sums stay within [0, kMaxPlannableQuantity].
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/quantity/quantity.h"

using namespace kinema;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  auto milli = ParseQuantityMilli(s);
  auto value = ParseQuantityValue(s);
  if (milli.ok()) {
    auto again = ParseQuantityMilli(FormatMilliCpu(*milli));
    if (!again.ok() || *again != *milli) std::abort();
    int64_t sum = AddQuantitiesCapped(*milli, *milli);
    if (sum < 0 || sum > kMaxPlannableQuantity) std::abort();
  }
  if (value.ok()) {
    auto again = ParseQuantityValue(FormatBytes(*value));
    if (!again.ok() || *again != *value) std::abort();
  }
  return 0;
}
