#include "steps/rescheduling/optimization_result.h"

#include "engine/workflow/typed_result.h"

namespace kinema::rescheduling {

using nlohmann::json;

json OptimizationResult::ToJson() const {
  json out = {{"identity", identity.ToJson()},
              {"excludedPods", excluded_pods},
              {"adjustedRequests", adjusted_requests},
              {"snapshot", {{"nodes", snapshot_nodes}, {"pods", snapshot_pods}, {"takenMs", snapshot_taken_ms}}},
              {"budget",
               {{"maxRetire", budget.max_retire},
                {"maxMoves", budget.max_moves},
                {"binding", budget.binding},
                {"keptYoungNodes", budget.kept_young_nodes}}}};
  if (!prices.is_null()) out["prices"] = prices;
  if (plan) {
    out["plan"] = PlanToJson(*plan);
    out["gap"] = gap;
    json m = json::array();
    for (const auto& x : moves) m.push_back({{"pod", x.pod}, {"from", x.from}, {"to", x.to}});
    out["moves"] = m;
  } else {
    out["finishWorkflow"] = "infeasible";
    out["reason"] = infeasible_reason;
  }
  return out;
}

StatusOr<OptimizationResult> OptimizationResult::FromJson(const json& j) {
  return DecodeJson<OptimizationResult>("optimization result", [&]() -> StatusOr<OptimizationResult> {
    OptimizationResult r;
    if (j.contains("plan")) {
      auto plan = PlanFromJson(j["plan"]);
      if (!plan.ok()) return plan.status();
      r.plan = *plan;
    }
    r.infeasible_reason = j.value("reason", std::string());
    r.gap = j.value("gap", -1.0);
    if (j.contains("identity")) {
      auto id = ClusterIdentity::FromJson(j["identity"]);
      if (!id.ok()) return id.status();
      r.identity = *id;
    }
    r.excluded_pods = j.value("excludedPods", 0);
    r.adjusted_requests = j.value("adjustedRequests", 0);
    const json& snap = j.value("snapshot", json::object());
    r.snapshot_nodes = snap.value("nodes", 0);
    r.snapshot_pods = snap.value("pods", 0);
    r.snapshot_taken_ms = snap.value("takenMs", int64_t{0});
    for (const auto& m : j.value("moves", json::array())) {
      r.moves.push_back({m.at("pod").get<std::string>(), m.value("from", std::string()), m.value("to", std::string())});
    }
    r.prices = j.value("prices", json());
    const json& b = j.value("budget", json::object());
    r.budget.max_retire = b.value("maxRetire", int64_t{-1});
    r.budget.max_moves = b.value("maxMoves", int64_t{-1});
    r.budget.binding = b.value("binding", std::string());
    for (const auto& n : b.value("keptYoungNodes", json::array())) r.budget.kept_young_nodes.push_back(n.get<std::string>());
    return r;
  });
}

}  // namespace kinema::rescheduling
