#include "tools/kinema-sim/gce/cloud_scenario.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

#include "engine/common/time.h"

namespace kinema::sim::gce {

namespace {

using nlohmann::json;

Status Bad(const std::string& key, const std::string& why) { return Status::InvalidArgument(key + ": " + why); }

Status CheckKeys(const json& obj, const std::string& where, const std::set<std::string>& allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!allowed.count(it.key())) return Bad(where + "." + it.key(), "unknown key");
  }
  return Status::OK();
}

Status ReadDelay(const json& obj, const char* key, const std::string& where, double* out) {
  if (!obj.contains(key)) return Status::OK();
  auto v = ParseSeconds(obj[key], where + "." + key);
  if (!v.ok()) return v.status();
  *out = *v;
  return Status::OK();
}

Status ReadString(const json& obj, const char* key, const std::string& where, std::string* out) {
  if (!obj.contains(key)) return Status::OK();
  if (!obj[key].is_string()) return Bad(where + "." + key, "must be a string");
  *out = obj[key].get<std::string>();
  return Status::OK();
}

}  // namespace

bool Stockout::Covers(const std::string& z, const std::string& type, bool spot, double t_s) const {
  if (z != zone) return false;
  if (!machine_type.empty() && machine_type != type) return false;
  if (capacity_type == "spot" && !spot) return false;
  if (capacity_type == "on-demand" && spot) return false;
  return t_s >= from_s && t_s < until_s;
}

StatusOr<double> ParseSeconds(const json& v, const std::string& key) {
  if (v.is_number()) {
    double s = v.get<double>();
    if (!std::isfinite(s) || s < 0) return Bad(key, "must be >= 0 seconds");
    return s;
  }
  if (v.is_string()) {
    auto d = ParseDuration(v.get<std::string>());
    if (!d.ok()) return Bad(key, "bad duration '" + v.get<std::string>() + "' (e.g. \"30s\", \"2m\")");
    if (d->count() < 0) return Bad(key, "must not be negative");
    return static_cast<double>(d->count()) / 1000.0;
  }
  return Bad(key, "must be seconds (a number) or a duration string");
}

StatusOr<CloudScenario> ParseCloudScenario(const json& scenario) {
  CloudScenario out;
  if (!scenario.is_object()) return out;
  if (scenario.contains("cloud")) {
    const json& c = scenario["cloud"];
    if (!c.is_object()) return Bad("cloud", "must be an object");
    KINEMA_RETURN_IF_ERROR(CheckKeys(c, "cloud",
                                     {"project", "bootDelay", "joinDelay", "deleteDelay", "nodeNotReadyDelay",
                                      "nodeRemoveDelay", "operationErrorDelay", "quotas", "stockouts", "mode",
                                      "cluster", "nodePoolCreateDelay", "nodePoolDeleteDelay"}));
    KINEMA_RETURN_IF_ERROR(ReadString(c, "mode", "cloud", &out.mode));
    if (out.mode != "gce" && out.mode != "gke") return Bad("cloud.mode", "must be \"gce\" or \"gke\"");
    KINEMA_RETURN_IF_ERROR(ReadString(c, "cluster", "cloud", &out.cluster));
    static const std::regex kPoolName("[a-z]([-a-z0-9]{0,38}[a-z0-9])?");
    if (!std::regex_match(out.cluster, kPoolName)) {
      return Bad("cloud.cluster", "'" + out.cluster + "' is not a valid cluster name ([a-z]([-a-z0-9]{0,38}[a-z0-9])?)");
    }
    KINEMA_RETURN_IF_ERROR(ReadDelay(c, "nodePoolCreateDelay", "cloud", &out.node_pool_create_delay_s));
    KINEMA_RETURN_IF_ERROR(ReadDelay(c, "nodePoolDeleteDelay", "cloud", &out.node_pool_delete_delay_s));
    KINEMA_RETURN_IF_ERROR(ReadString(c, "project", "cloud", &out.project));
    if (out.project.empty()) return Bad("cloud.project", "must not be empty");
    out.project_set = c.contains("project");
    KINEMA_RETURN_IF_ERROR(ReadDelay(c, "bootDelay", "cloud", &out.boot_delay_s));
    KINEMA_RETURN_IF_ERROR(ReadDelay(c, "joinDelay", "cloud", &out.join_delay_s));
    KINEMA_RETURN_IF_ERROR(ReadDelay(c, "deleteDelay", "cloud", &out.delete_delay_s));
    KINEMA_RETURN_IF_ERROR(ReadDelay(c, "nodeNotReadyDelay", "cloud", &out.node_not_ready_delay_s));
    KINEMA_RETURN_IF_ERROR(ReadDelay(c, "nodeRemoveDelay", "cloud", &out.node_remove_delay_s));
    KINEMA_RETURN_IF_ERROR(ReadDelay(c, "operationErrorDelay", "cloud", &out.operation_error_delay_s));
    if (c.contains("quotas")) {
      const json& q = c["quotas"];
      if (!q.is_object()) return Bad("cloud.quotas", "must be an object like {\"instances\": 50, \"cpus\": 400}");
      KINEMA_RETURN_IF_ERROR(CheckKeys(q, "cloud.quotas", {"instances", "cpus", "familyCpus"}));
      for (const char* k : {"instances", "cpus"}) {
        if (!q.contains(k)) continue;
        if (!q[k].is_number_integer() || q[k].get<int64_t>() < 0) {
          return Bad(std::string("cloud.quotas.") + k, "must be an integer >= 0");
        }
        (std::string(k) == "instances" ? out.quota_instances : out.quota_cpus) = q[k].get<int64_t>();
      }
      if (q.contains("familyCpus")) {
        const json& fc = q["familyCpus"];
        if (!fc.is_object()) return Bad("cloud.quotas.familyCpus", "must be an object like {\"n2\": 16}");
        for (auto it = fc.begin(); it != fc.end(); ++it) {
          if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0) {
            return Bad("cloud.quotas.familyCpus." + it.key(), "must be an integer >= 0");
          }
          out.quota_family_cpus[it.key()] = it.value().get<int64_t>();
        }
      }
    }
    if (c.contains("stockouts")) {
      const json& so = c["stockouts"];
      if (!so.is_array()) return Bad("cloud.stockouts", "must be an array");
      for (size_t i = 0; i < so.size(); ++i) {
        std::string where = "cloud.stockouts[" + std::to_string(i) + "]";
        const json& e = so[i];
        if (!e.is_object()) return Bad(where, "must be an object");
        KINEMA_RETURN_IF_ERROR(CheckKeys(e, where, {"zone", "machineType", "capacityType", "from", "until"}));
        Stockout s;
        if (!e.contains("zone") || !e["zone"].is_string() || e["zone"].get<std::string>().empty()) {
          return Bad(where + ".zone", "required string");
        }
        s.zone = e["zone"].get<std::string>();
        KINEMA_RETURN_IF_ERROR(ReadString(e, "machineType", where, &s.machine_type));
        KINEMA_RETURN_IF_ERROR(ReadString(e, "capacityType", where, &s.capacity_type));
        if (!s.capacity_type.empty() && s.capacity_type != "spot" && s.capacity_type != "on-demand") {
          return Bad(where + ".capacityType", "must be \"spot\" or \"on-demand\"");
        }
        KINEMA_RETURN_IF_ERROR(ReadDelay(e, "from", where, &s.from_s));
        KINEMA_RETURN_IF_ERROR(ReadDelay(e, "until", where, &s.until_s));
        if (s.until_s <= s.from_s) return Bad(where + ".until", "must be after from");
        out.stockouts.push_back(std::move(s));
      }
    }
  }
  if (scenario.contains("events")) {
    const json& evs = scenario["events"];
    if (!evs.is_array()) return Bad("events", "must be an array");
    for (size_t i = 0; i < evs.size(); ++i) {
      const json& e = evs[i];
      std::string where = "events[" + std::to_string(i) + "]";
      if (!e.is_object()) return Bad(where, "must be an object");
      std::string kind = e.value("kind", std::string());
      if (kind != "nodeFailure" && kind != "spotPreemption") continue;
      KINEMA_RETURN_IF_ERROR(CheckKeys(e, where, {"kind", "at", "node", "count"}));
      CloudEvent ev;
      ev.kind = kind == "nodeFailure" ? CloudEvent::Kind::kNodeFailure : CloudEvent::Kind::kSpotPreemption;
      if (!e.contains("at")) return Bad(where + ".at", "required");
      auto at = ParseSeconds(e["at"], where + ".at");
      if (!at.ok()) return at.status();
      ev.at_s = *at;
      KINEMA_RETURN_IF_ERROR(ReadString(e, "node", where, &ev.node));
      if (e.contains("count")) {
        if (!e["count"].is_number_integer() || e["count"].get<int64_t>() < 1) {
          return Bad(where + ".count", "must be an integer >= 1");
        }
        ev.count = static_cast<int>(e["count"].get<int64_t>());
      }
      if (ev.kind == CloudEvent::Kind::kNodeFailure && ev.node.empty()) return Bad(where + ".node", "required");
      if (ev.kind == CloudEvent::Kind::kSpotPreemption && ev.node.empty() == (ev.count == 0)) {
        return Bad(where, "spotPreemption needs exactly one of node or count");
      }
      out.events.push_back(std::move(ev));
    }
    std::stable_sort(out.events.begin(), out.events.end(),
                     [](const CloudEvent& a, const CloudEvent& b) { return a.at_s < b.at_s; });
  }
  return out;
}

}  // namespace kinema::sim::gce
