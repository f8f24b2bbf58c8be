#include "engine/pricing/billing_skus.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace kinema::pricing {

namespace {

using nlohmann::json;

constexpr double kGiBPerGB = 1.073741824;  // $/GB × this = $/GiB

struct FamilyPrefix {
  const char* family;
  const char* prefix;  // description before " Core running in" / " Ram running in"
};

// Machine family → SKU description prefixes (the public catalog's wording).
constexpr FamilyPrefix kPrefixes[] = {
    {"e2", "E2 Instance"},
    {"n1", "N1 Predefined Instance"},
    {"n2", "N2 Instance"},
    {"n2d", "N2D AMD Instance"},
    {"n4", "N4 Instance"},
    {"t2d", "T2D AMD Instance"},
    {"t2a", "T2A Arm Instance"},
    {"c2", "Compute optimized"},
    {"c2", "Compute optimized Instance"},
    {"c2d", "C2D AMD Instance"},
    {"c3", "C3 Instance"},
    {"c3d", "C3D Instance"},
    {"c4", "C4 Instance"},
    {"c4a", "C4A Arm Instance"},
    {"c4d", "C4D Instance"},
    {"m1", "Memory-optimized Instance"},
    {"m3", "M3 Memory-optimized Instance"},
    {"a2", "A2 Instance"},
    {"g2", "G2 Instance"},
};

constexpr const char* kSkipWords[] = {"Custom", "Commitment", "Sole Tenancy", "Reserved", "DWS",
                                      "Calendar", "Extended", "Premium", "Upgrade"};

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

double Money(const json& price) {
  if (!price.is_object()) return 0;
  double units = 0;
  if (price.contains("units")) {
    const json& u = price["units"];
    if (u.is_string()) {
      try {
        units = std::stod(u.get<std::string>());
      } catch (...) {
        units = 0;
      }
    } else if (u.is_number()) {
      units = u.get<double>();
    }
  }
  double nanos = price.contains("nanos") && price["nanos"].is_number() ? price["nanos"].get<double>() : 0;
  return units + nanos * 1e-9;
}

std::string Upper(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return o;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// (family, is_cpu) of a description without its spot prefix.
std::optional<std::pair<std::string, bool>> MatchFamily(std::string_view desc) {
  std::optional<std::pair<std::string, bool>> best;
  size_t best_len = 0;
  auto consider = [&](const std::string& family, const std::string& prefix) {
    for (bool cpu : {true, false}) {
      std::string want = prefix + (cpu ? " Core running in " : " Ram running in ");
      if (StartsWith(desc, want) && want.size() > best_len) {
        best = std::make_pair(family, cpu);
        best_len = want.size();
      }
    }
  };
  for (const auto& fp : kPrefixes) consider(fp.family, fp.prefix);
  // Families not in the table: "<FAMILY> Instance Core running in ...".
  size_t space = desc.find(' ');
  if (space != std::string_view::npos) {
    std::string family(desc.substr(0, space));
    bool plain = !family.empty() && std::all_of(family.begin(), family.end(), [](char c) {
      return std::isupper(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c));
    });
    if (plain) {
      std::string lower = family;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      consider(lower, family + " Instance");
    }
  }
  return best;
}

void KeepHigher(std::optional<double>* slot, double v) {
  if (!slot->has_value() || v > **slot) *slot = v;
}

}  // namespace

StatusOr<std::vector<Sku>> ParseSkuPage(const json& page, const std::string& what) {
  if (!page.is_object()) return Status::Internal(what + ": SKU page is not a JSON object");
  std::vector<Sku> out;
  if (!page.contains("skus")) return out;
  if (!page["skus"].is_array()) return Status::Internal(what + ": skus is not an array");
  for (const auto& s : page["skus"]) {
    if (!s.is_object()) return Status::Internal(what + ": a SKU is not an object");
    Sku sku;
    sku.id = Str(s, "skuId");
    sku.description = Str(s, "description");
    if (s.contains("category") && s["category"].is_object()) {
      const json& c = s["category"];
      sku.resource_family = Str(c, "resourceFamily");
      sku.resource_group = Str(c, "resourceGroup");
      sku.usage_type = Str(c, "usageType");
    }
    if (s.contains("serviceRegions") && s["serviceRegions"].is_array()) {
      for (const auto& r : s["serviceRegions"]) {
        if (r.is_string()) sku.regions.push_back(r.get<std::string>());
      }
    }
    if (s.contains("pricingInfo") && s["pricingInfo"].is_array() && !s["pricingInfo"].empty()) {
      const json& pi = s["pricingInfo"][0];
      if (pi.is_object() && pi.contains("pricingExpression") && pi["pricingExpression"].is_object()) {
        const json& pe = pi["pricingExpression"];
        sku.usage_unit = Str(pe, "usageUnit");
        if (pe.contains("tieredRates") && pe["tieredRates"].is_array()) {
          for (const auto& tier : pe["tieredRates"]) {
            if (!tier.is_object() || !tier.contains("unitPrice")) continue;
            double p = Money(tier["unitPrice"]);
            if (sku.currency.empty()) sku.currency = Str(tier["unitPrice"], "currencyCode");
            if (p > 0 && std::isfinite(p)) {
              sku.unit_price = p;
              sku.currency = Str(tier["unitPrice"], "currencyCode");
              break;
            }
          }
        }
      }
    }
    if (sku.description.empty()) return Status::Internal(what + ": SKU " + sku.id + " has no description");
    out.push_back(std::move(sku));
  }
  return out;
}

RegionRates RatesForRegion(const std::vector<Sku>& skus, const std::string& region) {
  RegionRates out;
  out.region = region;
  for (const auto& sku : skus) {
    bool skip = sku.resource_family != "Compute" || sku.unit_price <= 0 ||
                std::find(sku.regions.begin(), sku.regions.end(), region) == sku.regions.end() ||
                (sku.usage_type != "OnDemand" && sku.usage_type != "Preemptible") ||
                (!sku.currency.empty() && sku.currency != "USD");
    for (const char* w : kSkipWords) skip = skip || sku.description.find(w) != std::string::npos;
    if (skip) {
      ++out.skus_skipped;
      continue;
    }
    std::string_view desc = sku.description;
    bool spot = sku.usage_type == "Preemptible";
    for (std::string_view p : {std::string_view("Spot Preemptible "), std::string_view("Preemptible ")}) {
      if (StartsWith(desc, p)) {
        desc.remove_prefix(p.size());
        spot = true;
        break;
      }
    }
    auto match = MatchFamily(desc);
    if (!match) {
      ++out.skus_skipped;
      continue;
    }
    double rate = sku.unit_price;
    bool is_cpu = match->second;
    if (is_cpu && sku.usage_unit != "h") {
      ++out.skus_skipped;
      continue;
    }
    if (!is_cpu) {
      if (sku.usage_unit == "GBy.h") {
        rate *= kGiBPerGB;
      } else if (sku.usage_unit != "GiBy.h") {
        ++out.skus_skipped;
        continue;
      }
    }
    UnitRates& r = spot ? out.families[match->first].spot : out.families[match->first].on_demand;
    KeepHigher(is_cpu ? &r.core : &r.ram_gib, rate);
    ++out.skus_used;
  }
  return out;
}

std::string MachineFamily(std::string_view machine_type) {
  std::string f(machine_type.substr(0, machine_type.find('-')));
  for (auto& c : f) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return f;
}

MachinePrice PriceMachine(const RegionRates& rates, const cloud::MachineTypeInfo& m) {
  MachinePrice out;
  if (m.is_shared_cpu) {
    out.not_priced = "shared-core type (flat-rate or fractional-vCPU billing is not modelled)";
    return out;
  }
  if (m.guest_cpus <= 0 || m.memory_mb <= 0) {
    out.not_priced = "Compute reports no vCPU or memory for it";
    return out;
  }
  std::string family = MachineFamily(m.name);
  auto it = rates.families.find(family);
  if (it == rates.families.end()) {
    out.not_priced = "no SKU for family " + Upper(family) + " in " + rates.region;
    return out;
  }
  const FamilyRates& f = it->second;
  double gib = static_cast<double>(m.memory_mb) / 1024.0;
  if (!f.on_demand.core || !f.on_demand.ram_gib) {
    out.not_priced = std::string("family ") + Upper(family) + " has no on-demand " +
                     (!f.on_demand.core ? "core" : "RAM") + " SKU in " + rates.region;
    return out;
  }
  out.on_demand = m.guest_cpus * *f.on_demand.core + gib * *f.on_demand.ram_gib;
  if (f.spot.core && f.spot.ram_gib) out.spot = m.guest_cpus * *f.spot.core + gib * *f.spot.ram_gib;
  return out;
}

}  // namespace kinema::pricing
