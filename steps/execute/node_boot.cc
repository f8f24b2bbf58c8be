// Node boot: the typed values and the pure decisions (where to try a boot).
#include "steps/execute/node_boot.h"

#include <algorithm>

#include "engine/cloud/cloud_provider.h"
#include "engine/workflow/typed_result.h"

namespace kinema::execute {

using nlohmann::json;

json BootRequest::ToJson() const {
  json a = json::array();
  for (const auto& t : targets) {
    a.push_back({{"planned", t.planned}, {"instance", t.instance_name}, {"machineType", t.machine_type},
                 {"zone", t.zone}, {"capacityType", t.capacity}});
  }
  return json{{"targets", a}};
}

StatusOr<BootRequest> BootRequest::FromJson(const json& j) {
  return DecodeJson<BootRequest>("boot request", [&]() -> StatusOr<BootRequest> {
    BootRequest r;
    for (const auto& t : j.at("targets")) {
      r.targets.push_back({t.at("planned").get<std::string>(), t.at("instance").get<std::string>(),
                           t.at("machineType").get<std::string>(), t.at("zone").get<std::string>(),
                           t.value("capacityType", std::string("on-demand"))});
    }
    return r;
  });
}

json BootResult::ToJson() const {
  json a = json::array();
  for (const auto& b : booted) {
    a.push_back({{"planned", b.planned}, {"node", b.node}, {"zone", b.zone}, {"machineType", b.machine_type},
                 {"capacityType", b.capacity}, {"plannedZone", b.planned_zone},
                 {"plannedMachineType", b.planned_machine_type}, {"tried", b.tried}});
  }
  json out = {{"booted", a}};
  if (!reason.empty()) out["reason"] = reason;
  return out;
}

StatusOr<BootResult> BootResult::FromJson(const json& j) {
  return DecodeJson<BootResult>("node-boot result", [&]() -> StatusOr<BootResult> {
    BootResult r;
    r.reason = j.value("reason", std::string());
    for (const auto& b : j.at("booted")) {
      BootedNode n;
      n.planned = b.at("planned").get<std::string>();
      n.node = b.at("node").get<std::string>();
      n.zone = b.value("zone", std::string());
      n.machine_type = b.value("machineType", std::string());
      n.capacity = b.value("capacityType", std::string("on-demand"));
      n.planned_zone = b.value("plannedZone", std::string());
      n.planned_machine_type = b.value("plannedMachineType", std::string());
      n.tried = b.value("tried", json::array());
      r.booted.push_back(std::move(n));
    }
    return r;
  });
}

std::string BootInstanceName(const std::string& prefix, const std::string& workflow_id, const std::string& planned) {
  return cloud::InstanceNameFor(prefix, workflow_id + "/" + planned);
}

std::vector<BootOption> BootOptionsFor(const Catalog& catalog, const BootTarget& target,
                                       const std::vector<std::string>& allowed_zones) {
  auto allowed = [&](const std::string& z) {
    return allowed_zones.empty() || std::find(allowed_zones.begin(), allowed_zones.end(), z) != allowed_zones.end();
  };
  CapacityType cap = target.capacity == "spot" ? CapacityType::kSpot : CapacityType::kOnDemand;
  std::vector<BootOption> out;
  auto add = [&](const std::string& zone, const std::string& type) {
    BootOption o{zone, type};
    if (allowed(zone) && std::find(out.begin(), out.end(), o) == out.end()) out.push_back(o);
  };
  add(target.zone, target.machine_type);
  const MachineType* planned = catalog.FindType(target.machine_type);
  if (!planned) return out;
  for (const auto& z : planned->zones) add(z, planned->name);
  std::vector<const MachineType*> bigger;
  for (const auto& mt : catalog.machine_types) {
    if (mt.name == planned->name || !catalog.Price(mt.name, cap)) continue;
    if (mt.allocatable.cpu_milli < planned->allocatable.cpu_milli ||
        mt.allocatable.memory_bytes < planned->allocatable.memory_bytes ||
        mt.allocatable.pods < planned->allocatable.pods) {
      continue;
    }
    bigger.push_back(&mt);
  }
  std::stable_sort(bigger.begin(), bigger.end(), [&](const MachineType* a, const MachineType* b) {
    return *catalog.Price(a->name, cap) < *catalog.Price(b->name, cap);
  });
  for (const MachineType* mt : bigger) {
    // The planned zone first (pods may have zone constraints), then the others.
    if (std::find(mt->zones.begin(), mt->zones.end(), target.zone) != mt->zones.end()) add(target.zone, mt->name);
    for (const auto& z : mt->zones) add(z, mt->name);
  }
  return out;
}

}  // namespace kinema::execute
