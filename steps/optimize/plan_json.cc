// PlanToJson / PlanFromJson: the plan in shared/spec/planning.md §3 format,
// plus the project's fields (boundSource, gap, noChange, target, budget, notes).
#include <cmath>

#include "steps/optimize/plan.h"

namespace kinema {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxJsonNotes = 100;

json OptionalNumber(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }
json OptionalInt(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }

// Typed field readers; each error names the JSON path.
class Reader {
 public:
  const Status& status() const { return status_; }

  const json* Field(const json& obj, const char* key, const std::string& where, bool required) {
    if (!status_.ok()) return nullptr;
    if (!obj.is_object()) {
      Fail(where, "must be an object");
      return nullptr;
    }
    auto it = obj.find(key);
    if (it == obj.end()) {
      if (required) Fail(where + "." + key, "is missing");
      return nullptr;
    }
    return &*it;
  }
  double Number(const json& obj, const char* key, const std::string& where) {
    const json* v = Field(obj, key, where, true);
    if (!v) return 0;
    if (!v->is_number() || !std::isfinite(v->get<double>())) {
      Fail(where + "." + key, "must be a finite number");
      return 0;
    }
    return v->get<double>();
  }
  std::optional<double> OptNumber(const json& obj, const char* key, const std::string& where) {
    const json* v = Field(obj, key, where, false);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_number() || !std::isfinite(v->get<double>())) {
      Fail(where + "." + key, "must be a finite number or null");
      return std::nullopt;
    }
    return v->get<double>();
  }
  int64_t Int(const json& obj, const char* key, const std::string& where, bool required = true) {
    const json* v = Field(obj, key, where, required);
    if (!v) return 0;
    if (!v->is_number_integer()) {
      Fail(where + "." + key, "must be an integer");
      return 0;
    }
    return v->get<int64_t>();
  }
  std::optional<int64_t> OptInt(const json& obj, const char* key, const std::string& where) {
    const json* v = Field(obj, key, where, false);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_number_integer()) {
      Fail(where + "." + key, "must be an integer or null");
      return std::nullopt;
    }
    return v->get<int64_t>();
  }
  std::string String(const json& obj, const char* key, const std::string& where, bool required = true) {
    const json* v = Field(obj, key, where, required);
    if (!v) return "";
    if (!v->is_string()) {
      Fail(where + "." + key, "must be a string");
      return "";
    }
    return v->get<std::string>();
  }
  bool Bool(const json& obj, const char* key, const std::string& where) {
    const json* v = Field(obj, key, where, false);
    if (!v) return false;
    if (!v->is_boolean()) {
      Fail(where + "." + key, "must be true or false");
      return false;
    }
    return v->get<bool>();
  }
  const json* Array(const json& obj, const char* key, const std::string& where, bool required = true) {
    const json* v = Field(obj, key, where, required);
    if (!v) return nullptr;
    if (!v->is_array()) {
      Fail(where + "." + key, "must be an array");
      return nullptr;
    }
    return v;
  }
  void Fail(const std::string& where, const std::string& what) {
    if (status_.ok()) status_ = Status::InvalidArgument(where + ": " + what);
  }

 private:
  Status status_;
};

}  // namespace

const char* PlanStatusName(PlanStatus s) { return s == PlanStatus::kOptimal ? "optimal" : "feasible"; }

const char* NodeActionName(NodeAction a) {
  switch (a) {
    case NodeAction::kKeep:
      return "keep";
    case NodeAction::kBoot:
      return "boot";
    case NodeAction::kRetire:
      return "retire";
  }
  return "keep";
}

json PlanToJson(const Plan& plan) {
  json j;
  j["status"] = PlanStatusName(plan.status);
  j["costPerHourBefore"] = plan.cost_before;
  j["costPerHourAfter"] = plan.cost_after;
  j["lowerBound"] = OptionalNumber(plan.lower_bound);
  j["solveSeconds"] = plan.solve_seconds;
  j["nodes"] = json::array();
  for (const auto& n : plan.nodes)
    j["nodes"].push_back({{"name", n.name},
                          {"machineType", n.machine_type},
                          {"zone", n.zone},
                          {"capacityType", CapacityTypeName(n.capacity_type)},
                          {"pricePerHour", n.price_per_hour},
                          {"action", NodeActionName(n.action)}});
  j["placements"] = json::array();
  for (const auto& pl : plan.placements) j["placements"].push_back({{"pod", pl.pod}, {"node", pl.node}});
  j["moves"] = plan.moves;
  if (!plan.bound_source.empty()) j["boundSource"] = plan.bound_source;
  if (plan.lower_bound && *plan.lower_bound > 0)
    j["gap"] = (plan.cost_after - *plan.lower_bound) / *plan.lower_bound;
  j["noChange"] = plan.no_change;
  if (plan.target)
    j["target"] = {{"costPerHourAfter", plan.target->cost_after},
                   {"lowerBound", OptionalNumber(plan.target->lower_bound)}};
  if (plan.budget)
    j["budget"] = {{"maxRetire", OptionalInt(plan.budget->max_retire)},
                   {"maxMoves", OptionalInt(plan.budget->max_moves)},
                   {"keepNodes", plan.budget->keep_nodes},
                   {"retired", plan.budget->retired},
                   {"moves", plan.budget->moves},
                   {"forcedMoves", plan.budget->forced_moves}};
  if (!plan.notes.empty()) {
    // Bounded: a snapshot can warn once per item.
    j["notes"] = json::array();
    for (size_t i = 0; i < plan.notes.size() && i < kMaxJsonNotes; ++i) j["notes"].push_back(plan.notes[i]);
    if (plan.notes.size() > kMaxJsonNotes)
      j["notes"].push_back("... " + std::to_string(plan.notes.size() - kMaxJsonNotes) + " more note(s) not shown");
  }
  return j;
}

StatusOr<Plan> PlanFromJson(const json& j) {
  Reader r;
  Plan plan;
  if (!j.is_object()) return Status::InvalidArgument("plan: must be an object");
  std::string status = r.String(j, "status", "plan");
  if (r.status().ok()) {
    if (status == "optimal")
      plan.status = PlanStatus::kOptimal;
    else if (status == "feasible")
      plan.status = PlanStatus::kFeasible;
    else
      r.Fail("plan.status", "\"" + status + "\" is not a plan status (optimal, feasible)");
  }
  plan.cost_before = r.Number(j, "costPerHourBefore", "plan");
  plan.cost_after = r.Number(j, "costPerHourAfter", "plan");
  plan.lower_bound = r.OptNumber(j, "lowerBound", "plan");
  plan.solve_seconds = r.Number(j, "solveSeconds", "plan");
  if (const json* nodes = r.Array(j, "nodes", "plan")) {
    for (size_t i = 0; i < nodes->size() && r.status().ok(); ++i) {
      const json& n = (*nodes)[i];
      const std::string where = "plan.nodes[" + std::to_string(i) + "]";
      PlanNode pn;
      pn.name = r.String(n, "name", where);
      pn.machine_type = r.String(n, "machineType", where);
      pn.zone = r.String(n, "zone", where);
      std::string cap = r.String(n, "capacityType", where);
      pn.price_per_hour = r.Number(n, "pricePerHour", where);
      std::string action = r.String(n, "action", where);
      if (!r.status().ok()) break;
      if (cap == "on-demand")
        pn.capacity_type = CapacityType::kOnDemand;
      else if (cap == "spot")
        pn.capacity_type = CapacityType::kSpot;
      else
        r.Fail(where + ".capacityType", "\"" + cap + "\" is not on-demand or spot");
      if (action == "keep")
        pn.action = NodeAction::kKeep;
      else if (action == "boot")
        pn.action = NodeAction::kBoot;
      else if (action == "retire")
        pn.action = NodeAction::kRetire;
      else
        r.Fail(where + ".action", "\"" + action + "\" is not keep, boot or retire");
      plan.nodes.push_back(std::move(pn));
    }
  }
  if (const json* pls = r.Array(j, "placements", "plan")) {
    for (size_t i = 0; i < pls->size() && r.status().ok(); ++i) {
      const std::string where = "plan.placements[" + std::to_string(i) + "]";
      PlanPlacement pp;
      pp.pod = r.String((*pls)[i], "pod", where);
      pp.node = r.String((*pls)[i], "node", where);
      plan.placements.push_back(std::move(pp));
    }
  }
  plan.moves = r.Int(j, "moves", "plan");
  plan.bound_source = r.String(j, "boundSource", "plan", false);
  plan.no_change = r.Bool(j, "noChange", "plan");
  if (const json* t = r.Field(j, "target", "plan", false); t && !t->is_null()) {
    PlanTarget target;
    target.cost_after = r.Number(*t, "costPerHourAfter", "plan.target");
    target.lower_bound = r.OptNumber(*t, "lowerBound", "plan.target");
    plan.target = target;
  }
  if (const json* b = r.Field(j, "budget", "plan", false); b && !b->is_null()) {
    PlanBudget budget;
    budget.max_retire = r.OptInt(*b, "maxRetire", "plan.budget");
    budget.max_moves = r.OptInt(*b, "maxMoves", "plan.budget");
    budget.keep_nodes = r.Int(*b, "keepNodes", "plan.budget", false);
    budget.retired = r.Int(*b, "retired", "plan.budget");
    budget.moves = r.Int(*b, "moves", "plan.budget");
    budget.forced_moves = r.Int(*b, "forcedMoves", "plan.budget", false);
    plan.budget = budget;
  }
  if (const json* notes = r.Array(j, "notes", "plan", false)) {
    for (size_t i = 0; i < notes->size() && r.status().ok(); ++i) {
      if (!(*notes)[i].is_string()) {
        r.Fail("plan.notes[" + std::to_string(i) + "]", "must be a string");
        break;
      }
      plan.notes.push_back((*notes)[i].get<std::string>());
    }
  }
  if (!r.status().ok()) return r.status();
  return plan;
}

}  // namespace kinema
