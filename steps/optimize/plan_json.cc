// PlanFromJson: the journaled plan read back as a typed Plan (the inverse of
// PlanToJson for every field it writes).
#include <nlohmann/json.hpp>

#include "steps/optimize/plan.h"

namespace kinema {

StatusOr<Plan> PlanFromJson(const nlohmann::json& j) {
  try {
    if (!j.is_object()) return Status::InvalidArgument("plan: not a JSON object");
    Plan p;
    p.status = j.value("status", std::string());
    p.cost_before = j.value("costPerHourBefore", 0.0);
    p.cost_after = j.value("costPerHourAfter", 0.0);
    if (j.contains("lowerBound") && j["lowerBound"].is_number()) p.lower_bound = j["lowerBound"].get<double>();
    p.solve_seconds = j.value("solveSeconds", 0.0);
    p.bound_source = j.value("boundSource", std::string());
    for (const auto& n : j.at("nodes")) {
      p.nodes.push_back({n.at("name").get<std::string>(), n.value("machineType", std::string()),
                         n.value("zone", std::string()), n.value("capacityType", std::string("on-demand")),
                         n.value("pricePerHour", 0.0), n.at("action").get<std::string>()});
    }
    for (const auto& pl : j.value("placements", nlohmann::json::array())) {
      p.placements.push_back({pl.at("pod").get<std::string>(), pl.at("node").get<std::string>()});
    }
    p.moves = j.value("moves", int64_t{0});
    p.no_change = j.value("noChange", false);
    return p;
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("plan: ") + e.what());
  }
}

}  // namespace kinema
