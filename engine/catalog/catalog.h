// Catalog: the machine types Kinema may keep or boot, with prices.
//
// What: the typed form of the catalog JSON in shared/spec/planning.md §2
// (provider, region, currency, machineTypes[], spot{labels,taints}).
// ParseCatalog() validates everything up front; every error names the JSON
// path ("machineTypes[3].pricePerHour.onDemand: must be a number >= 0").
//
// Allocatable: when a machine type gives `allocatable` it is used as given
// (cpu/memory are Kubernetes quantities, pods a number or quantity; a missing
// `pods` defaults to 110). When it is absent, it is derived from vcpu /
// memoryMiB with GKE's published node reservations
// (cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes):
//   CPU reserved: 6% of the first core, 1% of the next core (up to 2),
//     0.5% of the next 2 cores (up to 4), 0.25% of every core above 4.
//   Memory reserved: 255 MiB on machines with < 1 GiB; otherwise 25% of the
//     first 4 GiB, 20% of the next 4 GiB (up to 8), 10% of the next 8 GiB
//     (up to 16), 6% of the next 112 GiB (up to 128), 2% above 128 GiB;
//     plus the 100 MiB hard eviction threshold.
//   Pods: 110 (GKE Standard default max pods per node).
//   CPU is rounded down to whole millicores, memory down to whole bytes.
//
// Invariants after a successful parse: type names unique and non-empty;
// every type has >= 1 zone; prices finite and >= 0; allocatable >= 0.
// Thread-safety: immutable after construction; safe to share across threads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/common/status.h"

namespace kinema {

using Labels = std::map<std::string, std::string>;

// A Kubernetes node taint. effect is "NoSchedule", "PreferNoSchedule" or
// "NoExecute".
struct Taint {
  std::string key;
  std::string value;
  std::string effect;
  bool operator==(const Taint&) const = default;
  bool operator<(const Taint& o) const {
    return std::tie(key, value, effect) < std::tie(o.key, o.value, o.effect);
  }
};

// Parses a Kubernetes taint object {key, value?, effect}; `where` prefixes errors.
StatusOr<Taint> ParseTaint(const nlohmann::json& j, const std::string& where);

// Node resources in the units the scheduler uses.
struct Resources {
  int64_t cpu_milli = 0;
  int64_t memory_bytes = 0;
  int64_t pods = 0;
};

enum class CapacityType { kOnDemand, kSpot };
const char* CapacityTypeName(CapacityType t);  // "on-demand" / "spot"

struct MachineType {
  std::string name;
  double vcpu = 0;
  int64_t memory_mib = 0;
  Resources allocatable;
  bool allocatable_derived = false;  // true when computed from vcpu/memoryMiB
  std::vector<std::string> zones;
  double price_on_demand = 0;
  std::optional<double> price_spot;  // absent: cannot be booted as spot
  Labels labels;
  std::vector<Taint> taints;
};

// GKE reservation rules above, applied to a machine's raw size.
Resources GkeAllocatable(double vcpu, int64_t memory_mib);

class Catalog {
 public:
  std::string provider;
  std::string region;
  std::string currency;
  std::vector<MachineType> machine_types;
  Labels spot_labels;
  std::vector<Taint> spot_taints;

  // nullptr when the type is unknown.
  const MachineType* FindType(std::string_view name) const;
  // Price per hour of one node; nullopt if the type is unknown or has no
  // price for that capacity type.
  std::optional<double> Price(std::string_view type, CapacityType capacity) const;
};

StatusOr<Catalog> ParseCatalog(const nlohmann::json& j);
// Reads and parses a catalog file.
StatusOr<Catalog> LoadCatalogFile(const std::string& path);

}  // namespace kinema
