// Fuzz target: the cluster snapshot as the optimizer parses it
// (steps/optimize ParseSnapshot: nodes, pods, DaemonSets, affinities,
// quantities) from arbitrary bytes. Requests and capacities must come out
// within [0, kMaxPlannableQuantity] whatever the input.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/common/safe_json.h"
#include "engine/quantity/quantity.h"
#include "steps/optimize/snapshot.h"

using namespace kinema;

namespace {
bool InRange(int64_t v) { return v >= 0 && v <= kMaxPlannableQuantity; }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = safe_json::Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (j.is_discarded()) return 0;
  auto snap = ParseSnapshot(j);
  if (!snap.ok()) return 0;
  for (const auto& n : snap->nodes) {
    if (!InRange(n.allocatable.cpu_milli) || !InRange(n.allocatable.memory_bytes)) std::abort();
  }
  for (const auto& p : snap->pods) {
    if (!InRange(p.requests.cpu_milli) || !InRange(p.requests.memory_bytes)) std::abort();
    for (const auto& t : p.anti_affinity) (void)AntiAffinityMatches(t, p.namespace_, p);
  }
  for (const auto& d : snap->daemonsets) {
    if (!InRange(d.requests.cpu_milli) || !InRange(d.requests.memory_bytes)) std::abort();
  }
  return 0;
}
