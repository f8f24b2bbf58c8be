#include "tools/kinema-sim/gce/fake_billing.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "engine/catalog/catalog.h"
#include "tools/kinema-sim/gce/gce_responses.h"
#include "tools/kinema-sim/gce/node_template.h"
#include "tools/kinema-sim/sim_server.h"

namespace kinema::sim::gce {

namespace {

using nlohmann::json;

constexpr const char* kService = "6F81-5844-456A";
constexpr double kCoreToGibRatio = 7.46;   // a vCPU-hour costs about 7.46 GiB-hours on GCE
constexpr double kGiBPerGB = 1.073741824;
constexpr size_t kMaxPage = 5000;

// The description prefix the public catalog uses for a family's SKUs.
std::string Prefix(const std::string& family) {
  static const std::map<std::string, std::string> kKnown = {
      {"e2", "E2 Instance"},       {"n1", "N1 Predefined Instance"}, {"n2", "N2 Instance"},
      {"n2d", "N2D AMD Instance"}, {"t2d", "T2D AMD Instance"},      {"c2", "Compute optimized"},
      {"c2d", "C2D AMD Instance"}, {"c3", "C3 Instance"},            {"m1", "Memory-optimized Instance"}};
  auto it = kKnown.find(family);
  if (it != kKnown.end()) return it->second;
  std::string up = family;
  for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return up + " Instance";
}

std::string LocationName(const std::string& region) {
  static const std::map<std::string, std::string> kNames = {
      {"us-central1", "Iowa"},         {"us-east1", "South Carolina"}, {"us-east4", "Virginia"},
      {"us-west1", "Oregon"},          {"europe-west1", "Belgium"},    {"europe-west4", "Netherlands"},
      {"asia-east1", "Taiwan"},        {"europe-west3", "Frankfurt"}};
  auto it = kNames.find(region);
  return it != kNames.end() ? it->second : region;
}

std::string BroadLocation(const std::string& region) {
  if (region.rfind("us-", 0) == 0 || region.rfind("northamerica-", 0) == 0 || region.rfind("southamerica-", 0) == 0) {
    return "Americas";
  }
  if (region.rfind("europe-", 0) == 0 || region.rfind("me-", 0) == 0 || region.rfind("africa-", 0) == 0) return "EMEA";
  return "APAC";
}

std::string SkuId(const std::string& seed) {
  size_t h = std::hash<std::string>{}(seed);
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04X-%04X-%04X", static_cast<unsigned>(h & 0xffff),
                static_cast<unsigned>((h >> 16) & 0xffff), static_cast<unsigned>((h >> 32) & 0xffff));
  return buf;
}

json Price(double dollars) {
  double units = std::floor(dollars);
  long long nanos = std::llround((dollars - units) * 1e9);
  if (nanos >= 1000000000LL) {
    units += 1;
    nanos -= 1000000000LL;
  }
  return json{{"currencyCode", "USD"}, {"units", std::to_string(static_cast<long long>(units))}, {"nanos", nanos}};
}

json Sku(const std::string& description, const std::string& group, const std::string& usage,
         const std::vector<std::string>& regions, const std::string& unit, double price) {
  struct Unit {
    const char* desc;
    const char* base;
    const char* base_desc;
    double factor;
  };
  Unit u = unit == "h"        ? Unit{"hour", "s", "second", 3600}
           : unit == "GiBy.h" ? Unit{"gibibyte hour", "By.s", "byte second", 3865470566400.0}
                              : Unit{"gigabyte hour", "By.s", "byte second", 3600000000000.0};
  std::string id = SkuId(description + "/" + usage + "/" + regions.front());
  return json{{"name", std::string("services/") + kService + "/skus/" + id},
              {"skuId", id},
              {"description", description},
              {"category",
               {{"serviceDisplayName", "Compute Engine"},
                {"resourceFamily", "Compute"},
                {"resourceGroup", group},
                {"usageType", usage}}},
              {"serviceRegions", regions},
              {"pricingInfo",
               json::array({{{"summary", ""},
                             {"pricingExpression",
                              {{"usageUnit", unit},
                               {"displayQuantity", 1},
                               {"tieredRates", json::array({{{"startUsageAmount", 0}, {"unitPrice", Price(price)}}})},
                               {"usageUnitDescription", u.desc},
                               {"baseUnit", u.base},
                               {"baseUnitDescription", u.base_desc},
                               {"baseUnitConversionFactor", u.factor}}},
                             {"currencyConversionRate", 1},
                             {"effectiveTime", "2026-01-01T00:00:00Z"}}})},
              {"serviceProviderName", "Google"},
              {"geoTaxonomy", {{"type", regions.size() > 1 ? "MULTI_REGIONAL" : "REGIONAL"}, {"regions", regions}}}};
}

struct Point {
  std::string type;
  double cpus, gib, price;
};

// (core, ram) rates reproducing the points' prices (see the contract).
std::pair<double, double> Fit(const std::vector<Point>& pts) {
  double sxx = 0, sxy = 0, syy = 0, sxp = 0, syp = 0;
  for (const auto& p : pts) {
    sxx += p.cpus * p.cpus;
    sxy += p.cpus * p.gib;
    syy += p.gib * p.gib;
    sxp += p.cpus * p.price;
    syp += p.gib * p.price;
  }
  double det = sxx * syy - sxy * sxy;
  if (std::fabs(det) > 1e-9 * sxx * syy) {
    double c = (sxp * syy - syp * sxy) / det;
    double r = (syp * sxx - sxp * sxy) / det;
    if (c >= 0 && r >= 0) return {c, r};
  }
  double num = 0, den = 0;
  for (const auto& p : pts) {
    double w = kCoreToGibRatio * p.cpus + p.gib;
    num += p.price * w;
    den += w * w;
  }
  double r = den > 0 ? num / den : 0;
  return {kCoreToGibRatio * r, r};
}

}  // namespace

std::optional<FaultTarget> ClassifyBillingRequest(const HttpRequest& req) {
  const std::string prefix = "/cloudbilling/v1/";
  if (req.path.rfind(prefix, 0) != 0) return std::nullopt;
  std::vector<std::string> seg = SplitPath(req.path.substr(prefix.size()));
  if (seg.size() == 3 && seg[0] == "services" && seg[2] == "skus" && req.method == "GET") {
    return FaultTarget{"list", "cloudbilling.skus"};
  }
  return std::nullopt;
}

json BillingSkusFor(const Catalog& catalog) {
  const std::string region = catalog.region.empty() ? "us-central1" : catalog.region;
  const std::string decoy = region == "europe-west1" ? "us-east1" : "europe-west1";
  std::map<std::string, std::vector<Point>> on_demand, spot;
  for (const auto& mt : catalog.machine_types) {
    if (mt.vcpu < 1) continue;  // shared-core: flat-rate billing, never priced per vCPU
    std::string family = mt.name.substr(0, mt.name.find('-'));
    double cpus = std::max(1.0, std::ceil(mt.vcpu));
    double gib = static_cast<double>(mt.memory_mib) / 1024.0;
    on_demand[family].push_back({mt.name, cpus, gib, mt.price_on_demand});
    if (mt.price_spot) spot[family].push_back({mt.name, cpus, gib, *mt.price_spot});
  }
  json skus = json::array();
  auto emit = [&](const std::string& family, const std::vector<Point>& pts, bool is_spot) {
    auto [core, ram] = Fit(pts);
    for (const auto& p : pts) {
      double fitted = p.cpus * core + p.gib * ram;
      if (std::fabs(fitted - p.price) > 1e-6) {
        spdlog::warn("billing: the {} SKUs price {} at {:.6f} $/h, the catalog says {:.6f} (its family's types "
                     "are not priced per vCPU and GiB)",
                     is_spot ? "spot" : "on-demand", p.type, fitted, p.price);
      }
    }
    const std::string prefix = (is_spot ? "Spot Preemptible " : "") + Prefix(family);
    const std::string usage = is_spot ? "Preemptible" : "OnDemand";
    const bool gby = family == "n2";
    const std::string ram_unit = gby ? "GBy.h" : "GiBy.h";
    const double ram_price = gby ? ram / kGiBPerGB : ram;
    const std::string loc = LocationName(region);
    const std::string group_cpu = family == "n1" ? "N1Standard" : "CPU";
    const std::string group_ram = family == "n1" ? "N1Standard" : "RAM";
    skus.push_back(Sku(prefix + " Core running in " + loc, group_cpu, usage, {region}, "h", core));
    skus.push_back(Sku(prefix + " Ram running in " + loc, group_ram, usage, {region}, ram_unit, ram_price));
    // Overlapping broad SKUs (lower: a client keeps the higher rate).
    std::string broad = BroadLocation(region);
    std::vector<std::string> broad_regions{region, decoy};
    skus.push_back(Sku(prefix + " Core running in " + broad, group_cpu, usage, broad_regions, "h", core * 0.97));
    skus.push_back(Sku(prefix + " Ram running in " + broad, group_ram, usage, broad_regions, ram_unit, ram_price * 0.97));
    // The same family in another region (a client filters by serviceRegions).
    skus.push_back(Sku(prefix + " Core running in " + LocationName(decoy), group_cpu, usage, {decoy}, "h", core * 1.15));
    skus.push_back(Sku(prefix + " Ram running in " + LocationName(decoy), group_ram, usage, {decoy}, ram_unit,
                       ram_price * 1.15));
    if (!is_spot) {
      skus.push_back(Sku(Prefix(family) + " Custom Instance Core running in " + loc, group_cpu, "OnDemand", {region},
                         "h", core * 1.05));
      skus.push_back(Sku("Commitment v1: " + Prefix(family) + " Cpu in " + loc + " for 1 Year", group_cpu, "Commit1Yr",
                         {region}, "h", core * 0.63));
    }
  };
  for (const auto& [family, pts] : on_demand) emit(family, pts, false);
  for (const auto& [family, pts] : spot) emit(family, pts, true);
  skus.push_back(Sku("Micro Instance with burstable CPU running in " + LocationName(region), "F1Micro", "OnDemand",
                     {region}, "h", 0.0076));
  skus.push_back(Sku("Nvidia Tesla T4 GPU running in " + LocationName(region), "GPU", "OnDemand", {region}, "h", 0.35));
  return skus;
}

void FakeBilling::Attach(SimServer& server) {
  server_ = &server;
  server.AddRoute(
      "/cloudbilling/v1/", /*require_auth=*/false, [this](const HttpRequest& req) { return Handle(req); },
      ClassifyBillingRequest);
  server.AddComponent(this);
}

Status FakeBilling::Start(SimServer& server) {
  server_ = &server;
  auto cat = ParseCatalog(server.pricer().catalog());
  if (!cat.ok()) return cat.status().WithContext("catalog (fake billing SKUs)");
  skus_ = BillingSkusFor(*cat);
  spdlog::info("billing: {} Compute Engine SKUs for {} under /cloudbilling/v1/services/{}/skus", skus_.size(),
               cat->region, kService);
  return Status::OK();
}

HttpResponse FakeBilling::Handle(const HttpRequest& req) const {
  std::optional<FaultTarget> target = ClassifyBillingRequest(req);
  ComputeFaultDecision fault;
  if (target && server_ != nullptr) fault = server_->faults().DecideCompute(target->verb, target->resource);
  if (fault.error || fault.lost_response) {
    const ComputeFault& f = fault.error ? *fault.error : *fault.lost_response;
    spdlog::info("fault: {} {} -> {} (billing {})", target->verb, target->resource, f.code, req.target);
    if (f.reason == "rateLimitExceeded") {
      return RpcError(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Requests' of service "
                                                 "'cloudbilling.googleapis.com'.");
    }
    return RpcError(f.code, f.code == 503 ? "UNAVAILABLE" : "INTERNAL",
                    f.code == 503 ? "The service is currently unavailable." : "Internal error encountered.");
  }
  std::vector<std::string> seg = SplitPath(req.path.substr(std::string("/cloudbilling/v1/").size()));
  if (seg.size() != 3 || seg[0] != "services" || seg[2] != "skus") return RpcError(404, "NOT_FOUND", "Not Found");
  if (req.method != "GET") return RpcError(405, "METHOD_NOT_ALLOWED", "Method " + req.method + " not allowed");
  if (seg[1] != kService) return RpcError(404, "NOT_FOUND", "Service services/" + seg[1] + " not found.");
  std::string currency = req.Query("currencyCode", "USD");
  if (currency != "USD") {
    return RpcError(400, "INVALID_ARGUMENT", "kinema-sim prices in USD only; currencyCode '" + currency + "'.");
  }
  size_t page = kMaxPage;
  if (req.HasQuery("pageSize")) {
    try {
      long v = std::stol(req.Query("pageSize"));
      if (v < 0 || v > static_cast<long>(kMaxPage)) throw std::out_of_range("pageSize");
      if (v > 0) page = static_cast<size_t>(v);
    } catch (...) {
      return RpcError(400, "INVALID_ARGUMENT", "Invalid page_size: " + req.Query("pageSize"));
    }
  }
  size_t begin = 0;
  if (req.HasQuery("pageToken") && !req.Query("pageToken").empty()) {
    unsigned long long off = 0;
    char tail = 0;
    if (std::sscanf(req.Query("pageToken").c_str(), "sim-skus-%llu%c", &off, &tail) != 1 || off > skus_.size()) {
      return RpcError(400, "INVALID_ARGUMENT", "Invalid page_token: " + req.Query("pageToken"));
    }
    begin = static_cast<size_t>(off);
  }
  size_t end = std::min(skus_.size(), begin + page);
  json out{{"skus", json::array()}};
  for (size_t i = begin; i < end; ++i) out["skus"].push_back(skus_[i]);
  out["nextPageToken"] = end < skus_.size() ? "sim-skus-" + std::to_string(end) : "";
  return JsonResponse(200, out);
}

}  // namespace kinema::sim::gce
