#include "engine/pricing/live_prices.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace kinema::pricing {

double RoundPrice(double v) { return std::round(v * 1e6) / 1e6; }

LivePrices PriceMachineTypes(const RegionRates& rates, const std::vector<cloud::MachineTypeInfo>& machine_types,
                             const std::vector<std::string>& only_types) {
  LivePrices out;
  out.region = rates.region;
  out.skus_used = rates.skus_used;
  for (const auto& m : machine_types) {
    if (!only_types.empty() && std::find(only_types.begin(), only_types.end(), m.name) == only_types.end()) continue;
    LivePrice& p = out.types[m.name];
    if (p.machine_type.empty()) {
      p.machine_type = m.name;
      p.vcpu = m.guest_cpus;
      p.memory_mib = m.memory_mb;
      MachinePrice price = PriceMachine(rates, m);
      p.on_demand = price.on_demand;
      p.spot = price.spot;
      p.not_priced = price.not_priced;
    }
    if (!m.zone.empty() && std::find(p.zones.begin(), p.zones.end(), m.zone) == p.zones.end()) {
      p.zones.push_back(m.zone);
    }
  }
  for (auto& [name, p] : out.types) std::sort(p.zones.begin(), p.zones.end());
  return out;
}

StatusOr<LivePrices> FetchLivePrices(BillingCatalogClient& billing, cloud::CloudProvider& compute,
                                     const std::string& region, const std::vector<std::string>& zones,
                                     const std::vector<std::string>& only_types) {
  if (region.empty()) return Status::InvalidArgument("live prices: the region is empty");
  if (zones.empty()) return Status::InvalidArgument("live prices: no zone in region " + region);
  auto skus = billing.ListComputeSkus();
  if (!skus.ok()) return skus.status();
  RegionRates rates = RatesForRegion(*skus, region);
  if (rates.skus_used == 0) {
    return Status::FailedPrecondition("live prices: none of the " + std::to_string(skus->size()) +
                                      " Compute Engine SKUs prices a vCPU or GiB in " + region);
  }
  std::vector<cloud::MachineTypeInfo> types;
  for (const auto& zone : zones) {
    auto list = compute.ListMachineTypes(zone);
    if (!list.ok()) return list.status();
    for (auto& m : *list) {
      if (m.zone.empty()) m.zone = zone;
      types.push_back(std::move(m));
    }
  }
  LivePrices out = PriceMachineTypes(rates, types, only_types);
  out.fetched_at_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  size_t priced = 0;
  for (const auto& [n, p] : out.types) priced += p.on_demand ? 1 : 0;
  spdlog::info("pricing: {} of {} machine type(s) priced from {} SKU(s) for {}", priced, out.types.size(),
               rates.skus_used, region);
  return out;
}

nlohmann::json LiveCatalogJson(const LivePrices& prices) {
  nlohmann::json types = nlohmann::json::array();
  for (const auto& [name, p] : prices.types) {
    if (!p.on_demand) continue;
    nlohmann::json price{{"onDemand", RoundPrice(*p.on_demand)}};
    if (p.spot) price["spot"] = RoundPrice(*p.spot);
    types.push_back({{"name", name},
                     {"vcpu", p.vcpu},
                     {"memoryMiB", p.memory_mib},
                     {"zones", p.zones},
                     {"pricePerHour", price}});
  }
  return nlohmann::json{{"provider", "gce"}, {"region", prices.region}, {"currency", "USD"}, {"machineTypes", types}};
}

}  // namespace kinema::pricing
