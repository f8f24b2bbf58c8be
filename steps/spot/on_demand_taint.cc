#include "steps/spot/on_demand_taint.h"

namespace kinema::spot {

using nlohmann::json;

namespace {
bool IsOurs(const json& t) { return t.is_object() && t.value("key", std::string()) == kOnDemandTaintKey; }
}  // namespace

bool HasOnDemandTaint(const json& taints) {
  if (!taints.is_array()) return false;
  for (const auto& t : taints) {
    if (IsOurs(t) && t.value("value", std::string()) == "true" && t.value("effect", std::string()) == "PreferNoSchedule") {
      return true;
    }
  }
  return false;
}

json TaintsWithoutOnDemand(const json& taints) {
  json out = json::array();
  if (!taints.is_array()) return out;
  for (const auto& t : taints) {
    if (!IsOurs(t)) out.push_back(t);
  }
  return out;
}

json TaintsWithOnDemand(const json& taints) {
  json out = TaintsWithoutOnDemand(taints);
  out.push_back({{"key", kOnDemandTaintKey}, {"value", "true"}, {"effect", "PreferNoSchedule"}});
  return out;
}

}  // namespace kinema::spot
