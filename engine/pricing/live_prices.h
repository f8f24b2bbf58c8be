// LivePrices: each machine type's on-demand and spot $/h in one region, from
// the Cloud Billing Catalog (per-vCPU and per-GiB SKUs) and Compute's
// machineTypes (vCPU and memory), plus the catalog file (planning.md §2)
// built from them by `kinemactl catalog`.
//
// Contract:
//   - FetchLivePrices lists the SKUs once, then machineTypes in each of
//     `zones` (a type's zones are those that list it), and prices every type
//     (billing_skus.h PriceMachine). `only_types` (empty: all) restricts the
//     result. Types that cannot be priced stay in the result with
//     not_priced set (so callers can say why).
//   - LiveCatalogJson: {"provider":"gce","region","currency":"USD",
//     "machineTypes":[{name, vcpu, memoryMiB, zones, pricePerHour{onDemand,
//     spot?}}]}, priced types only, sorted by name, zones sorted, prices
//     rounded to 6 decimals ($0.000001/h). No allocatable (engine/catalog
//     derives it with GKE's reservations), labels or taints.
// Thread-safety: FetchLivePrices uses the clients' own thread-safety.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/cloud/cloud_provider.h"
#include "engine/pricing/billing_client.h"

namespace kinema::pricing {

struct LivePrice {
  std::string machine_type;
  int vcpu = 0;
  int64_t memory_mib = 0;
  std::vector<std::string> zones;
  std::optional<double> on_demand;
  std::optional<double> spot;
  std::string not_priced;
};

struct LivePrices {
  std::string region;
  int64_t fetched_at_ms = 0;  // Unix ms
  int skus_used = 0;
  std::map<std::string, LivePrice> types;
};

StatusOr<LivePrices> FetchLivePrices(BillingCatalogClient& billing, cloud::CloudProvider& compute,
                                     const std::string& region, const std::vector<std::string>& zones,
                                     const std::vector<std::string>& only_types = {});

// Prices from already-fetched SKUs and machine types (what FetchLivePrices
// does after its calls; also used by tests on fixtures).
LivePrices PriceMachineTypes(const RegionRates& rates, const std::vector<cloud::MachineTypeInfo>& machine_types,
                             const std::vector<std::string>& only_types = {});

nlohmann::json LiveCatalogJson(const LivePrices& prices);

double RoundPrice(double dollars_per_hour);  // to 6 decimals

}  // namespace kinema::pricing
