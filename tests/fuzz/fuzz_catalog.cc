// Fuzz target: the machine-type catalog (planning.md §2) as the controller
// and the planner parse it (engine/catalog ParseCatalog).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/catalog/catalog.h"
#include "engine/common/safe_json.h"
#include "engine/quantity/quantity.h"

using namespace kinema;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = safe_json::Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (j.is_discarded()) return 0;
  auto c = ParseCatalog(j);
  if (!c.ok()) return 0;
  for (const auto& mt : c->machine_types) {
    if (mt.allocatable.cpu_milli < 0 || mt.allocatable.memory_bytes < 0) std::abort();
    if (mt.allocatable.cpu_milli > kMaxPlannableQuantity || mt.allocatable.memory_bytes > kMaxPlannableQuantity) {
      std::abort();
    }
    (void)c->Price(mt.name, CapacityType::kSpot);
    (void)c->FindType(mt.name);
  }
  return 0;
}
