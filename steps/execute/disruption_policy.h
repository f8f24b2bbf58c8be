// Which pods and nodes a workflow may disrupt (evict, move, drain, retire),
// shared by every workflow kind. Pure functions of the object and the time.
//
// Rules:
//   - kinema.io/do-not-disrupt: "true" protects a pod or node for good; a
//     duration ("30m", "2h", as Karpenter's karpenter.sh/do-not-disrupt)
//     protects it until it is that old (metadata.creationTimestamp +
//     duration); any other value protects it (fail safe) and the reason
//     says the value is not understood.
//   - A pod cannot be moved by evicting it when it is a mirror (static) pod,
//     is protected as above, or has no controller that would recreate it.
// Thread-safety: stateless functions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace kinema::execute {

inline constexpr const char* kDoNotDisrupt = "kinema.io/do-not-disrupt";

// Why `object` (pod or node) must not be disrupted at `now_ms`; "" when it
// may be.
std::string DoNotDisruptReason(const nlohmann::json& object, int64_t now_ms);

// Why a pod cannot be moved by evicting it ("" = it can).
std::string WhyPodCannotMove(const nlohmann::json& pod, int64_t now_ms);

}  // namespace kinema::execute
