// JSON forms of the spot workflow's typed step results (spot_workflow.h).
#include "engine/workflow/typed_result.h"
#include "steps/spot/spot_workflow.h"

namespace kinema::spot {

using nlohmann::json;

namespace {
// A list of strings (absent: empty); anything else throws, which
// DecodeJson turns into InvalidArgument.
std::vector<std::string> Strings(const json& j, const char* key) {
  return j.value(key, json::array()).get<std::vector<std::string>>();
}
}  // namespace

json PlanStepResult::ToJson() const {
  return {{"plan", plan.ToJson()},
          {"snapshotNodes", snapshot_nodes},
          {"snapshotTakenMs", taken_ms},
          {"taintAdd", taint_add},
          {"taintRemove", taint_remove}};
}

StatusOr<PlanStepResult> PlanStepResult::FromJson(const json& j) {
  return DecodeJson<PlanStepResult>("spot-plan result", [&]() -> StatusOr<PlanStepResult> {
    PlanStepResult r;
    auto plan = SpotPlan::FromJson(j.at("plan"));
    if (!plan.ok()) return plan.status();
    r.plan = std::move(*plan);
    r.snapshot_nodes = j.value("snapshotNodes", int64_t{0});
    r.taken_ms = j.value("snapshotTakenMs", int64_t{0});
    r.taint_add = Strings(j, "taintAdd");
    r.taint_remove = Strings(j, "taintRemove");
    return r;
  });
}

json TaintResult::ToJson() const { return {{"tainted", tainted}, {"untainted", untainted}, {"gone", gone}}; }

StatusOr<TaintResult> TaintResult::FromJson(const json& j) {
  return DecodeJson<TaintResult>("on-demand-taint result", [&]() -> StatusOr<TaintResult> {
    return TaintResult{Strings(j, "tainted"), Strings(j, "untainted"), Strings(j, "gone")};
  });
}

json ClaimResult::ToJson() const {
  json r = json::array();
  for (const auto& x : refused) r.push_back({{"node", x.node}, {"why", x.why}});
  return {{"granted", granted}, {"refused", r}, {"allowedNodes", allowed_nodes}, {"binding", binding}};
}

StatusOr<ClaimResult> ClaimResult::FromJson(const json& j) {
  return DecodeJson<ClaimResult>("spot-claim result", [&]() -> StatusOr<ClaimResult> {
    ClaimResult c;
    c.granted = Strings(j, "granted");
    for (const auto& x : j.value("refused", json::array())) {
      c.refused.push_back({x.at("node").get<std::string>(), x.value("why", std::string())});
    }
    c.allowed_nodes = j.value("allowedNodes", int64_t{-1});
    c.binding = j.value("binding", std::string());
    return c;
  });
}

json ReleaseResult::ToJson() const { return {{"released", released}}; }

StatusOr<ReleaseResult> ReleaseResult::FromJson(const json& j) {
  return DecodeJson<ReleaseResult>("release-drained result", [&]() -> StatusOr<ReleaseResult> {
    return ReleaseResult{Strings(j, "released")};
  });
}

}  // namespace kinema::spot
