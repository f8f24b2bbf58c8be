#include "tools/kinema-sim/cluster/scale_events.h"

#include <spdlog/spdlog.h>

#include "tools/kinema-sim/cluster/kinds.h"

namespace kinema::sim::cluster {

StatusOr<std::vector<ScaleEvents::Event>> ScaleEvents::Parse(const nlohmann::json& scenario) {
  std::vector<Event> out;
  if (!scenario.contains("events")) return out;
  const auto& events = scenario["events"];
  if (!events.is_array()) return Status::InvalidArgument("scenario events: must be an array");
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    std::string where = "events[" + std::to_string(i) + "]";
    if (!e.is_object()) return Status::InvalidArgument("scenario " + where + ": must be an object");
    if (e.value("kind", "") != "scale") continue;
    Event ev;
    if (!e.contains("at")) return Status::InvalidArgument("scenario " + where + ".at: required");
    auto at = ParseSeconds(e["at"], where + ".at");
    if (!at.ok()) return Status::InvalidArgument("scenario " + at.status().message());
    ev.at_seconds = at.value();
    std::string target;
    if (e.contains("deployment") && e["deployment"].is_string()) {
      target = e["deployment"].get<std::string>();
    } else if (e.contains("statefulset") && e["statefulset"].is_string()) {
      target = e["statefulset"].get<std::string>();
      ev.statefulset = true;
    } else {
      return Status::InvalidArgument("scenario " + where + ".deployment: required string \"namespace/name\"");
    }
    size_t slash = target.find('/');
    ev.ns = slash == std::string::npos ? "default" : target.substr(0, slash);
    ev.name = slash == std::string::npos ? target : target.substr(slash + 1);
    if (ev.ns.empty() || ev.name.empty()) {
      return Status::InvalidArgument("scenario " + where + ".deployment: expected \"namespace/name\"");
    }
    if (!e.contains("replicas") || !e["replicas"].is_number_integer() || e["replicas"].get<long long>() < 0) {
      return Status::InvalidArgument("scenario " + where + ".replicas: required non-negative integer");
    }
    ev.replicas = e["replicas"].get<long long>();
    out.push_back(ev);
  }
  return out;
}

Status ScaleEvents::Setup(SimServer& server) {
  auto events = Parse(server.scenario());
  if (!events.ok()) return events.status();
  for (const auto& e : events.value()) After(e.at_seconds, [this, e] { Fire(e); });
  if (!events.value().empty()) spdlog::info("scale-events: {} scale event(s) scheduled", events.value().size());
  return Status::OK();
}

void ScaleEvents::Fire(const Event& e) {
  const ResourceType& rt = e.statefulset ? StatefulSetsType() : DeploymentsType();
  auto r = server().registry().Modify(
      rt, e.ns, e.name,
      [&](nlohmann::json& obj) -> std::optional<ApiError> {
        obj["spec"]["replicas"] = e.replicas;
        return std::nullopt;
      },
      "");
  if (r.ok()) {
    spdlog::info("scenario event: scaled {} {}/{} to {} replicas", rt.singular, e.ns, e.name, e.replicas);
  } else {
    spdlog::warn("scenario event: scale {} {}/{} to {}: {}", rt.singular, e.ns, e.name, e.replicas, r.error().message);
  }
}

}  // namespace kinema::sim::cluster
