#include "engine/catalog/catalog.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/common/safe_json.h"
#include "engine/quantity/quantity.h"

namespace kinema {
namespace {

Status Err(const std::string& where, const std::string& what) {
  return Status::InvalidArgument("catalog " + where + ": " + what);
}

StatusOr<double> NonNegNumber(const nlohmann::json& j, const std::string& where, double max = 1e15) {
  if (!j.is_number()) return Err(where, "must be a number");
  double v = j.get<double>();
  if (!std::isfinite(v) || v < 0) return Err(where, "must be a finite number >= 0");
  if (v > max) return Err(where, "must be at most " + std::to_string(static_cast<int64_t>(max)));
  return v;
}

StatusOr<Labels> ParseLabels(const nlohmann::json& j, const std::string& where) {
  Labels out;
  if (j.is_null()) return out;
  if (!j.is_object()) return Err(where, "must be an object of string values");
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_string()) return Err(where + "." + it.key(), "must be a string");
    out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

StatusOr<std::vector<Taint>> ParseTaints(const nlohmann::json& j, const std::string& where) {
  std::vector<Taint> out;
  if (j.is_null()) return out;
  if (!j.is_array()) return Err(where, "must be an array");
  for (size_t i = 0; i < j.size(); ++i) {
    auto t = ParseTaint(j[i], "catalog " + where + "[" + std::to_string(i) + "]");
    if (!t.ok()) return t.status();
    out.push_back(*t);
  }
  return out;
}

// cpu/memory as quantity strings (numbers accepted too); pods as number or string.
StatusOr<int64_t> QuantityField(const nlohmann::json& j, const std::string& where, bool milli) {
  auto v = ParseJsonQuantity(j, milli);
  if (!v.ok()) return Err(where, v.status().message());
  if (*v > kMaxPlannableQuantity) {
    return Err(where, "must be at most " + std::to_string(kMaxPlannableQuantity) + (milli ? " millicores" : ""));
  }
  return *v;
}

StatusOr<MachineType> ParseMachineType(const nlohmann::json& j, const std::string& where) {
  MachineType mt;
  if (!j.is_object()) return Err(where, "must be an object");
  if (!j.contains("name") || !j["name"].is_string() || j["name"].get<std::string>().empty())
    return Err(where + ".name", "must be a non-empty string");
  mt.name = j["name"].get<std::string>();
  if (j.contains("vcpu") && !j["vcpu"].is_null()) {
    auto v = NonNegNumber(j["vcpu"], where + ".vcpu", 1e6);
    if (!v.ok()) return v.status();
    mt.vcpu = *v;
  }
  if (j.contains("memoryMiB") && !j["memoryMiB"].is_null()) {
    auto v = NonNegNumber(j["memoryMiB"], where + ".memoryMiB", 1e9);
    if (!v.ok()) return v.status();
    mt.memory_mib = static_cast<int64_t>(*v);
  }
  if (j.contains("allocatable") && !j["allocatable"].is_null()) {
    const auto& a = j["allocatable"];
    if (!a.is_object()) return Err(where + ".allocatable", "must be an object");
    if (!a.contains("cpu")) return Err(where + ".allocatable.cpu", "is required");
    if (!a.contains("memory")) return Err(where + ".allocatable.memory", "is required");
    auto cpu = QuantityField(a["cpu"], where + ".allocatable.cpu", true);
    if (!cpu.ok()) return cpu.status();
    auto mem = QuantityField(a["memory"], where + ".allocatable.memory", false);
    if (!mem.ok()) return mem.status();
    int64_t pods = 110;
    if (a.contains("pods")) {
      auto p = QuantityField(a["pods"], where + ".allocatable.pods", false);
      if (!p.ok()) return p.status();
      pods = *p;
    }
    mt.allocatable = Resources{*cpu, *mem, pods};
  } else {
    if (mt.vcpu <= 0 || mt.memory_mib <= 0)
      return Err(where + ".allocatable",
                 "is absent and cannot be derived: vcpu and memoryMiB must be > 0");
    mt.allocatable = GkeAllocatable(mt.vcpu, mt.memory_mib);
    mt.allocatable_derived = true;
  }
  if (!j.contains("zones") || !j["zones"].is_array() || j["zones"].empty())
    return Err(where + ".zones", "must be a non-empty array of strings");
  for (size_t i = 0; i < j["zones"].size(); ++i) {
    const auto& z = j["zones"][i];
    if (!z.is_string() || z.get<std::string>().empty())
      return Err(where + ".zones[" + std::to_string(i) + "]", "must be a non-empty string");
    mt.zones.push_back(z.get<std::string>());
  }
  if (!j.contains("pricePerHour") || !j["pricePerHour"].is_object())
    return Err(where + ".pricePerHour", "must be an object");
  const auto& p = j["pricePerHour"];
  if (!p.contains("onDemand")) return Err(where + ".pricePerHour.onDemand", "is required");
  auto od = NonNegNumber(p["onDemand"], where + ".pricePerHour.onDemand");
  if (!od.ok()) return od.status();
  mt.price_on_demand = *od;
  if (p.contains("spot") && !p["spot"].is_null()) {
    auto sp = NonNegNumber(p["spot"], where + ".pricePerHour.spot");
    if (!sp.ok()) return sp.status();
    mt.price_spot = *sp;
  }
  if (j.contains("labels")) {
    auto l = ParseLabels(j["labels"], where + ".labels");
    if (!l.ok()) return l.status();
    mt.labels = *l;
  }
  if (j.contains("taints")) {
    auto t = ParseTaints(j["taints"], where + ".taints");
    if (!t.ok()) return t.status();
    mt.taints = *t;
  }
  return mt;
}

}  // namespace

StatusOr<Taint> ParseTaint(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) return Status::InvalidArgument(where + ": taint must be an object");
  Taint t;
  if (!j.contains("key") || !j["key"].is_string() || j["key"].get<std::string>().empty())
    return Status::InvalidArgument(where + ".key: must be a non-empty string");
  t.key = j["key"].get<std::string>();
  if (j.contains("value") && !j["value"].is_null()) {
    if (!j["value"].is_string()) return Status::InvalidArgument(where + ".value: must be a string");
    t.value = j["value"].get<std::string>();
  }
  if (!j.contains("effect") || !j["effect"].is_string())
    return Status::InvalidArgument(where + ".effect: must be a string");
  t.effect = j["effect"].get<std::string>();
  if (t.effect != "NoSchedule" && t.effect != "PreferNoSchedule" && t.effect != "NoExecute")
    return Status::InvalidArgument(where + ".effect: must be NoSchedule, PreferNoSchedule or NoExecute, got \"" +
                                   t.effect + "\"");
  return t;
}

const char* CapacityTypeName(CapacityType t) {
  return t == CapacityType::kSpot ? "spot" : "on-demand";
}

Resources GkeAllocatable(double vcpu, int64_t memory_mib) {
  // CPU, in millicores.
  double cores = vcpu;
  double reserved_cores = 0;
  reserved_cores += 0.06 * std::min(cores, 1.0);
  reserved_cores += 0.01 * std::clamp(cores - 1.0, 0.0, 1.0);
  reserved_cores += 0.005 * std::clamp(cores - 2.0, 0.0, 2.0);
  reserved_cores += 0.0025 * std::max(cores - 4.0, 0.0);
  int64_t cpu_milli = static_cast<int64_t>(std::floor((cores - reserved_cores) * 1000.0 + 1e-9));
  // Memory, in bytes.
  const double kMiB = 1024.0 * 1024.0;
  const double kGiB = 1024.0 * kMiB;
  double mem = static_cast<double>(memory_mib) * kMiB;
  double reserved = 0;
  if (mem < kGiB) {
    reserved = 255 * kMiB;
  } else {
    reserved += 0.25 * std::min(mem, 4 * kGiB);
    reserved += 0.20 * std::clamp(mem - 4 * kGiB, 0.0, 4 * kGiB);
    reserved += 0.10 * std::clamp(mem - 8 * kGiB, 0.0, 8 * kGiB);
    reserved += 0.06 * std::clamp(mem - 16 * kGiB, 0.0, 112 * kGiB);
    reserved += 0.02 * std::max(mem - 128 * kGiB, 0.0);
  }
  reserved += 100 * kMiB;  // hard eviction threshold
  int64_t mem_bytes = static_cast<int64_t>(std::floor(std::max(0.0, mem - reserved)));
  return Resources{std::max<int64_t>(0, cpu_milli), mem_bytes, 110};
}

const MachineType* Catalog::FindType(std::string_view name) const {
  for (const auto& mt : machine_types)
    if (mt.name == name) return &mt;
  return nullptr;
}

std::optional<double> Catalog::Price(std::string_view type, CapacityType capacity) const {
  const MachineType* mt = FindType(type);
  if (!mt) return std::nullopt;
  if (capacity == CapacityType::kOnDemand) return mt->price_on_demand;
  return mt->price_spot;
}

StatusOr<Catalog> ParseCatalog(const nlohmann::json& j) {
  if (!j.is_object()) return Err("(root)", "must be a JSON object");
  Catalog c;
  for (const char* f : {"provider", "region", "currency"}) {
    if (j.contains(f) && !j[f].is_null()) {
      if (!j[f].is_string()) return Err(f, "must be a string");
    }
  }
  c.provider = safe_json::String(j, "provider");
  c.region = safe_json::String(j, "region");
  c.currency = safe_json::String(j, "currency", "USD");
  if (!j.contains("machineTypes") || !j["machineTypes"].is_array())
    return Err("machineTypes", "must be an array");
  std::set<std::string> seen;
  const auto& mts = j["machineTypes"];
  for (size_t i = 0; i < mts.size(); ++i) {
    std::string where = "machineTypes[" + std::to_string(i) + "]";
    auto mt = ParseMachineType(mts[i], where);
    if (!mt.ok()) return mt.status();
    if (!seen.insert(mt->name).second) return Err(where + ".name", "duplicate type \"" + mt->name + "\"");
    c.machine_types.push_back(std::move(*mt));
  }
  if (j.contains("spot") && !j["spot"].is_null()) {
    const auto& s = j["spot"];
    if (!s.is_object()) return Err("spot", "must be an object");
    if (s.contains("labels")) {
      auto l = ParseLabels(s["labels"], "spot.labels");
      if (!l.ok()) return l.status();
      c.spot_labels = *l;
    }
    if (s.contains("taints")) {
      auto t = ParseTaints(s["taints"], "spot.taints");
      if (!t.ok()) return t.status();
      c.spot_taints = *t;
    }
  }
  return c;
}

StatusOr<Catalog> LoadCatalogFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("catalog " + path + ": cannot open file");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = safe_json::Parse(text.str());
  if (j.is_discarded()) return Status::InvalidArgument("catalog " + path + ": invalid JSON (or nested too deeply)");
  auto c = ParseCatalog(j);
  if (!c.ok()) return c.status();
  return c;
}

}  // namespace kinema
