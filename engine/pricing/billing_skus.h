// Compute Engine prices from the Cloud Billing Catalog: SKU pages in, per-
// family $/vCPU-hour and $/GiB-hour for one region out, and a machine type's
// hourly price from its vCPU and memory. Pure functions, tested on the
// recorded-shape pages in tests/fixtures/gcp/billing/.
//
// Contract (pitfalls from research/peers-modes.md §6):
//   - ParseSkuPage reads services.skus.list pages ({skus[], nextPageToken}):
//     description, category{resourceFamily, resourceGroup, usageType},
//     serviceRegions, and the first pricingInfo's pricingExpression
//     {usageUnit, tieredRates[]}; the unit price is the first tier whose
//     price (units + nanos·1e-9) is > 0 (zero-priced first tiers are
//     skipped). A page that is not that shape is kInternal.
//   - RatesForRegion keeps only SKUs that apply to the region
//     (serviceRegions contains it: the catalog is global), of resourceFamily
//     Compute, usageType OnDemand or Preemptible (spot: also the "Spot
//     Preemptible " description prefix), priced in USD, and whose
//     description (prefix stripped) is "<family prefix> Core running in …"
//     or "… Ram running in …" for a known machine family (e2 "E2 Instance",
//     n1 "N1 Predefined Instance", n2d "N2D AMD Instance", c2 "Compute
//     optimized", …; others "<FAMILY> Instance"). Skipped: Custom,
//     Commitment, Sole Tenancy, Reserved, DWS, Calendar, Extended, Premium,
//     Upgrade rows and the flat-rate shared-core SKUs (they match no
//     family). RAM priced per GBy.h is converted to GiB (× 1.073741824);
//     other units are skipped. When broad and regional SKUs overlap, the
//     higher rate wins.
//   - PriceMachine: vCPU × core rate + GiB × RAM rate, from Compute's
//     guestCpus and memoryMb; shared-core types (isSharedCpu) are not priced
//     (flat-rate or fractional billing); a family without both rates is not
//     priced (the reason says which rate is missing). Spot is priced when
//     both spot rates exist.
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/cloud/cloud_provider.h"
#include "engine/common/status.h"

namespace kinema::pricing {

// The Compute Engine service in the Cloud Billing Catalog.
inline constexpr const char* kComputeServiceId = "6F81-5844-456A";

struct Sku {
  std::string id;
  std::string description;
  std::string resource_family;  // "Compute"
  std::string resource_group;   // "CPU", "RAM", "N1Standard", "GPU", ...
  std::string usage_type;       // "OnDemand", "Preemptible", "Commit1Yr", ...
  std::vector<std::string> regions;
  std::string usage_unit;       // "h", "GiBy.h", "GBy.h", ...
  std::string currency;
  double unit_price = 0;        // first tier with a price > 0; 0 when none
};

struct UnitRates {
  std::optional<double> core;     // $ per vCPU-hour
  std::optional<double> ram_gib;  // $ per GiB-hour
};

struct FamilyRates {
  UnitRates on_demand;
  UnitRates spot;
};

struct RegionRates {
  std::string region;
  std::map<std::string, FamilyRates> families;  // by family ("e2", "n2d", ...)
  int skus_used = 0;
  int skus_skipped = 0;
};

struct MachinePrice {
  std::optional<double> on_demand;
  std::optional<double> spot;
  std::string not_priced;  // why on_demand is absent
};

StatusOr<std::vector<Sku>> ParseSkuPage(const nlohmann::json& page, const std::string& what);
RegionRates RatesForRegion(const std::vector<Sku>& skus, const std::string& region);

// "n2d-standard-8" → "n2d".
std::string MachineFamily(std::string_view machine_type);
MachinePrice PriceMachine(const RegionRates& rates, const cloud::MachineTypeInfo& machine);

}  // namespace kinema::pricing
