// The PreferNoSchedule taint Kinema keeps on on-demand nodes so the
// scheduler prefers spot for new pods (the seed asks operators to register
// kubelets with such a taint; Kinema applies and removes it instead).
//   kinema.io/on-demand=true:PreferNoSchedule
// Pure functions over a node's spec.taints.
// Thread-safety: stateless.
#pragma once

#include <nlohmann/json.hpp>

namespace kinema::spot {

inline constexpr const char* kOnDemandTaintKey = "kinema.io/on-demand";

bool HasOnDemandTaint(const nlohmann::json& taints);
// taints with the on-demand taint (added once; an existing one with another
// value or effect is replaced).
nlohmann::json TaintsWithOnDemand(const nlohmann::json& taints);
nlohmann::json TaintsWithoutOnDemand(const nlohmann::json& taints);

}  // namespace kinema::spot
