// Workload move: the typed values and the pure decisions.
#include "steps/execute/workload_move.h"

#include <algorithm>

#include "engine/kube/object.h"
#include "engine/workflow/typed_result.h"

namespace kinema::execute {

using nlohmann::json;

json MoveResult::ToJson() const {
  json d = json::array();
  for (const auto& m : deployments) d.push_back({{"deployment", m.deployment}, {"outcome", m.outcome}});
  return {{"iteration", iteration}, {"deployments", d}, {"evicted", evicted}};
}

StatusOr<MoveResult> MoveResult::FromJson(const json& j) {
  return DecodeJson<MoveResult>("deployment-patch result", [&]() -> StatusOr<MoveResult> {
    MoveResult r;
    r.iteration = j.value("iteration", std::string());
    for (const auto& d : j.value("deployments", json::array())) {
      r.deployments.push_back({d.at("deployment").get<std::string>(), d.value("outcome", std::string())});
    }
    for (const auto& e : j.value("evicted", json::array())) r.evicted.push_back(e.get<std::string>());
    return r;
  });
}

json RolloutStrategyWithinBudgets(const json& strategy, int64_t replicas, const std::vector<json>& pdbs) {
  if (strategy.is_object() && strategy.value("type", "RollingUpdate") == "Recreate") return strategy;
  json ru = strategy.is_object() ? strategy.value("rollingUpdate", json::object()) : json::object();
  if (!ru.is_object()) ru = json::object();
  json surge = ru.contains("maxSurge") ? ru["maxSurge"] : json("25%");
  int64_t unavailable = kube::intstr::Scaled(ru.contains("maxUnavailable") ? ru["maxUnavailable"] : json("25%"),
                                             replicas, /*round_up=*/false, 0);
  for (const auto& pdb : pdbs) {
    const json& spec = pdb.value("spec", json::object());
    int64_t allowed = unavailable;
    if (spec.contains("maxUnavailable")) {
      allowed = kube::intstr::Scaled(spec["maxUnavailable"], replicas, /*round_up=*/true, 0);
    } else if (spec.contains("minAvailable")) {
      allowed = replicas - kube::intstr::Scaled(spec["minAvailable"], replicas, /*round_up=*/true, replicas);
    }
    unavailable = std::min(unavailable, std::max<int64_t>(0, allowed));
  }
  unavailable = std::max<int64_t>(0, unavailable);
  // Replace-in-place when any unavailability is allowed: no surge pod needs
  // room the plan did not reserve; each old pod's place is freed first.
  if (unavailable >= 1) surge = 0;
  else if (kube::intstr::Scaled(surge, replicas, /*round_up=*/true, 1) < 1) surge = 1;
  return {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", surge}, {"maxUnavailable", unavailable}}}};
}

bool DeploymentRolledOut(const json& d, std::string* why, bool* failed) {
  *failed = false;
  const json& conditions = d.contains("status") && d["status"].is_object()
                               ? d["status"].value("conditions", json::array())
                               : json::array();
  for (const auto& c : conditions) {
    if (!c.is_object()) continue;
    if (kube::obj::StringAt(c, "type") == "Progressing" &&
        kube::obj::StringAt(c, "reason") == "ProgressDeadlineExceeded") {
      *failed = true;
      *why = "progress deadline exceeded: " + kube::obj::StringAt(c, "message");
      return false;
    }
  }
  int64_t gen = kube::obj::Generation(d);
  int64_t observed = kube::obj::IntAt(d, "status.observedGeneration");
  int64_t want = d.contains("spec") && d["spec"].is_object() && d["spec"].contains("replicas")
                     ? kube::obj::IntAt(d, "spec.replicas")
                     : 1;
  if (observed < gen) {
    *why = "controller has not observed generation " + std::to_string(gen) + " yet";
    return false;
  }
  int64_t updated = kube::obj::IntAt(d, "status.updatedReplicas");
  int64_t ready = kube::obj::IntAt(d, "status.readyReplicas");
  int64_t available = kube::obj::IntAt(d, "status.availableReplicas");
  int64_t total = kube::obj::IntAt(d, "status.replicas");
  if (updated < want || ready < want || available < want || total > want) {
    *why = std::to_string(updated) + "/" + std::to_string(want) + " updated, " + std::to_string(available) +
           " available, " + std::to_string(total) + " total";
    return false;
  }
  why->clear();
  return true;
}

}  // namespace kinema::execute
