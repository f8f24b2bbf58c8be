// Node boot: the typed values and the pure decisions (where to try a boot).
#include "steps/execute/node_boot.h"

#include <algorithm>

#include "engine/cloud/cloud_provider.h"
#include "engine/workflow/typed_result.h"
#include "steps/execute/marks.h"

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
    if (!b.pool.empty()) a.back()["pool"] = b.pool;
    if (!b.provider_id.empty()) a.back()["providerID"] = b.provider_id;
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
      n.pool = b.value("pool", std::string());
      n.provider_id = b.value("providerID", std::string());
      r.booted.push_back(std::move(n));
    }
    return r;
  });
}

json BootIntent::ToJson() const {
  json out = BootRequest{targets}.ToJson();
  json all = json::array();
  for (size_t i = 0; i < attempts.size(); ++i) {
    json options = json::array();
    for (const auto& a : attempts[i]) {
      json labels = json::object();
      for (const auto& [k, v] : a.spec.labels) labels[k] = v;
      options.push_back({{"key", a.spec.key}, {"instance", a.spec.instance_name}, {"zone", a.spec.zone},
                         {"machineType", a.spec.machine_type}, {"capacityType", CapacityTypeName(a.spec.capacity)},
                         {"pool", a.pool}, {"labels", labels}});
    }
    all.push_back({{"planned", i < targets.size() ? targets[i].planned : std::string()}, {"options", options}});
  }
  out["attempts"] = all;
  return out;
}

StatusOr<BootIntent> BootIntent::FromJson(const json& j) {
  return DecodeJson<BootIntent>("node-boot intent", [&]() -> StatusOr<BootIntent> {
    auto request = BootRequest::FromJson(j);
    if (!request.ok()) return request.status();
    BootIntent out;
    out.targets = std::move(request->targets);
    const json& all = j.at("attempts");
    if (!all.is_array() || all.size() != out.targets.size()) {
      return Status::InvalidArgument("node-boot intent: " + std::to_string(out.targets.size()) +
                                     " target(s) but attempts for " + std::to_string(all.is_array() ? all.size() : 0));
    }
    for (size_t i = 0; i < all.size(); ++i) {
      if (all[i].at("planned").get<std::string>() != out.targets[i].planned) {
        return Status::InvalidArgument("node-boot intent: attempts[" + std::to_string(i) + "] are for " +
                                       all[i].at("planned").get<std::string>() + ", not " + out.targets[i].planned);
      }
      std::vector<BootAttempt> attempts;
      for (const auto& o : all[i].at("options")) {
        BootAttempt a;
        a.spec.key = o.at("key").get<std::string>();
        a.spec.instance_name = o.value("instance", std::string());
        a.spec.zone = o.at("zone").get<std::string>();
        a.spec.machine_type = o.at("machineType").get<std::string>();
        std::string cap = o.value("capacityType", std::string("on-demand"));
        if (cap != "on-demand" && cap != "spot") {
          return Status::InvalidArgument("node-boot intent: capacityType \"" + cap + "\" of " + a.spec.key);
        }
        a.spec.capacity = cap == "spot" ? CapacityType::kSpot : CapacityType::kOnDemand;
        const json labels = o.value("labels", json::object());  // items() must not outlive it
        for (const auto& [k, v] : labels.items()) a.spec.labels[k] = v.get<std::string>();
        a.pool = o.value("pool", std::string());
        if (a.spec.key.empty() || a.spec.zone.empty() || a.spec.machine_type.empty()) {
          return Status::InvalidArgument("node-boot intent: an attempt of " + out.targets[i].planned +
                                         " lacks its key, zone or machine type");
        }
        attempts.push_back(std::move(a));
      }
      out.attempts.push_back(std::move(attempts));
    }
    return out;
  });
}

std::vector<BootAttempt> BootAttemptsFor(const Catalog* catalog, const BootTarget& target,
                                         const std::vector<std::string>& allowed_zones, const std::string& step_key,
                                         const std::string& workflow_id, const std::string& instance_prefix,
                                         const cloud::CloudProvider* cloud) {
  std::vector<BootOption> options =
      catalog ? BootOptionsFor(*catalog, target, allowed_zones) : std::vector<BootOption>{{target.zone, target.machine_type}};
  const CapacityType cap = target.capacity == "spot" ? CapacityType::kSpot : CapacityType::kOnDemand;
  std::vector<BootAttempt> out;
  for (size_t i = 0; i < options.size(); ++i) {
    BootAttempt a;
    a.spec.key = step_key + "/" + target.planned + "/" + options[i].zone + "/" + options[i].machine_type;
    a.spec.instance_name = i == 0 && !target.instance_name.empty()
                               ? target.instance_name
                               : cloud::InstanceNameFor(instance_prefix, a.spec.key);
    a.spec.zone = options[i].zone;
    a.spec.machine_type = options[i].machine_type;
    a.spec.capacity = cap;
    a.spec.labels[kCloudWorkflowLabel] = IterationValue(workflow_id);
    a.spec.labels[kCloudPlannedLabel] = IterationValue(target.planned);
    a.pool = cloud ? cloud->NodeGroupFor(a.spec.machine_type, cap) : std::string();
    out.push_back(std::move(a));
  }
  return out;
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
