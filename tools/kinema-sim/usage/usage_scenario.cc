#include "tools/kinema-sim/usage/usage_scenario.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>

#include "engine/quantity/quantity.h"

namespace kinema::sim::usage {

namespace {

constexpr double kPi = 3.14159265358979323846;

using json = nlohmann::json;

Status Bad(const std::string& key, const std::string& why) { return Status::InvalidArgument(key + ": " + why); }

Status CheckKeys(const json& obj, const std::string& path, const std::set<std::string>& known) {
  if (!obj.is_object()) return Bad(path, "must be an object");
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!known.count(it.key())) return Bad(path + "." + it.key(), "unknown key");
  }
  return Status::OK();
}

Status ReadNumber(const json& obj, const std::string& key, const std::string& path, double lo, double* out) {
  if (!obj.contains(key)) return Status::OK();
  const json& v = obj[key];
  if (!v.is_number()) return Bad(path + "." + key, "must be a number");
  double d = v.get<double>();
  if (!std::isfinite(d) || d < lo) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", lo);
    return Bad(path + "." + key, std::string("must be >= ") + buf);
  }
  *out = d;
  return Status::OK();
}

Status ReadSeconds(const json& obj, const std::string& key, const std::string& path, double* out) {
  if (!obj.contains(key)) return Status::OK();
  auto s = ParseSeconds(obj[key]);
  if (!s.ok()) return Bad(path + "." + key, s.status().message());
  *out = *s;
  return Status::OK();
}

// A level: a quantity string or a number. cpu: cores; memory: bytes.
Status ReadLevel(const json& v, bool cpu, const std::string& path, double* out) {
  if (v.is_number()) {
    *out = v.get<double>();
  } else if (v.is_string()) {
    if (cpu) {
      auto m = ParseQuantityMilli(v.get<std::string>());
      if (!m.ok()) return Bad(path, m.status().message());
      *out = *m / 1000.0;
    } else {
      auto b = ParseQuantityValue(v.get<std::string>());
      if (!b.ok()) return Bad(path, b.status().message());
      *out = static_cast<double>(*b);
    }
  } else {
    return Bad(path, "must be a quantity string or a number");
  }
  if (!std::isfinite(*out) || *out < 0) return Bad(path, "must not be negative");
  return Status::OK();
}

Status ParseProfile(const json& obj, bool cpu, const std::string& path, ResourceProfile* p) {
  KINEMA_RETURN_IF_ERROR(CheckKeys(obj, path,
                                   {"profile", "level", "fraction", "noise", "period", "amplitude", "phase",
                                    "slopePerHour", "at", "duration", "factor"}));
  std::string shape = obj.value("profile", std::string("constant"));
  if (obj.contains("profile") && !obj["profile"].is_string()) return Bad(path + ".profile", "must be a string");
  if (shape == "constant") p->shape = ResourceProfile::Shape::kConstant;
  else if (shape == "diurnal") p->shape = ResourceProfile::Shape::kDiurnal;
  else if (shape == "trend") p->shape = ResourceProfile::Shape::kTrend;
  else if (shape == "spike") p->shape = ResourceProfile::Shape::kSpike;
  else return Bad(path + ".profile", "'" + shape + "' is not one of constant, diurnal, trend, spike");
  if (obj.contains("level")) {
    double level = 0;
    KINEMA_RETURN_IF_ERROR(ReadLevel(obj["level"], cpu, path + ".level", &level));
    p->level = level;
  }
  if (obj.contains("fraction")) {
    double f = 0;
    KINEMA_RETURN_IF_ERROR(ReadNumber(obj, "fraction", path, 0, &f));
    p->fraction = f;
  }
  if (obj.contains("noise")) {
    double n = 0;
    KINEMA_RETURN_IF_ERROR(ReadNumber(obj, "noise", path, 0, &n));
    if (n > 1) return Bad(path + ".noise", "must be <= 1");
    p->noise = n;
  }
  KINEMA_RETURN_IF_ERROR(ReadSeconds(obj, "period", path, &p->period_s));
  if (p->period_s <= 0) return Bad(path + ".period", "must be positive");
  KINEMA_RETURN_IF_ERROR(ReadNumber(obj, "amplitude", path, 0, &p->amplitude));
  KINEMA_RETURN_IF_ERROR(ReadSeconds(obj, "phase", path, &p->phase_s));
  if (obj.contains("slopePerHour")) {
    if (!obj["slopePerHour"].is_number()) return Bad(path + ".slopePerHour", "must be a number");
    p->slope_per_hour = obj["slopePerHour"].get<double>();
  }
  KINEMA_RETURN_IF_ERROR(ReadSeconds(obj, "at", path, &p->at_s));
  KINEMA_RETURN_IF_ERROR(ReadSeconds(obj, "duration", path, &p->duration_s));
  KINEMA_RETURN_IF_ERROR(ReadNumber(obj, "factor", path, 0, &p->factor));
  return Status::OK();
}

void SplitName(const std::string& key, std::string* ns, std::string* name) {
  size_t slash = key.find('/');
  if (slash == std::string::npos) {
    ns->clear();
    *name = key;
  } else {
    *ns = key.substr(0, slash);
    *name = key.substr(slash + 1);
  }
}

}  // namespace

double ResourceProfile::Multiplier(double t_s) const {
  switch (shape) {
    case Shape::kConstant:
      return 1.0;
    case Shape::kDiurnal:
      return std::max(0.0, 1.0 + amplitude * std::sin(2 * kPi * (t_s + phase_s) / period_s));
    case Shape::kTrend:
      return std::max(0.0, 1.0 + slope_per_hour * t_s / 3600.0);
    case Shape::kSpike:
      return (t_s >= at_s && t_s < at_s + duration_s) ? factor : 1.0;
  }
  return 1.0;
}

const WorkloadUsage* UsageScenario::Find(const std::string& ns, const std::string& name) const {
  const WorkloadUsage* any_ns = nullptr;
  for (const auto& w : workloads) {
    if (w.name != name) continue;
    if (w.ns == ns) return &w;
    if (w.ns.empty() && any_ns == nullptr) any_ns = &w;
  }
  return any_ns;
}

StatusOr<double> ParseSeconds(const json& v) {
  if (v.is_number()) {
    double d = v.get<double>();
    if (!std::isfinite(d) || d < 0) return Status::InvalidArgument("duration must not be negative");
    return d;
  }
  if (!v.is_string()) return Status::InvalidArgument("duration must be a number of seconds or a string like 15m");
  const std::string s = v.get<std::string>();
  if (s.empty()) return Status::InvalidArgument("empty duration");
  size_t i = 0;
  double total = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (start == i) return Status::InvalidArgument("bad duration '" + s + "' (use e.g. 500ms, 10s, 15m, 1h)");
    double n = 0;
    try {
      n = std::stod(s.substr(start, i - start));
    } catch (...) {
      return Status::InvalidArgument("bad duration '" + s + "'");
    }
    size_t ustart = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    std::string unit = s.substr(ustart, i - ustart);
    if (unit == "ms") total += n / 1000;
    else if (unit == "s") total += n;
    else if (unit == "m") total += n * 60;
    else if (unit == "h") total += n * 3600;
    else return Status::InvalidArgument("bad duration '" + s + "': unit must be ms, s, m or h");
  }
  return total;
}

Status ParseUsageScenario(const json& scenario, UsageScenario* out) {
  *out = UsageScenario{};
  if (!scenario.is_object()) return Status::InvalidArgument("scenario: must be an object");
  if (scenario.contains("usage")) {
    const json& u = scenario["usage"];
    KINEMA_RETURN_IF_ERROR(CheckKeys(u, "usage",
                                     {"cpuFraction", "memoryFraction", "noise", "memoryNoise", "oomKill",
                                      "noRequestCpu", "noRequestMemory", "deployments"}));
    KINEMA_RETURN_IF_ERROR(ReadNumber(u, "cpuFraction", "usage", 0, &out->cpu_fraction));
    KINEMA_RETURN_IF_ERROR(ReadNumber(u, "memoryFraction", "usage", 0, &out->memory_fraction));
    KINEMA_RETURN_IF_ERROR(ReadNumber(u, "noise", "usage", 0, &out->noise));
    KINEMA_RETURN_IF_ERROR(ReadNumber(u, "memoryNoise", "usage", 0, &out->memory_noise));
    if (out->noise > 1) return Bad("usage.noise", "must be <= 1");
    if (out->memory_noise > 1) return Bad("usage.memoryNoise", "must be <= 1");
    if (u.contains("noRequestCpu")) KINEMA_RETURN_IF_ERROR(ReadLevel(u["noRequestCpu"], true, "usage.noRequestCpu", &out->no_request_cpu));
    if (u.contains("noRequestMemory"))
      KINEMA_RETURN_IF_ERROR(ReadLevel(u["noRequestMemory"], false, "usage.noRequestMemory", &out->no_request_memory));
    if (u.contains("oomKill")) {
      if (!u["oomKill"].is_boolean()) return Bad("usage.oomKill", "must be a boolean");
      out->oom_kill = u["oomKill"].get<bool>();
    }
    if (u.contains("deployments")) {
      const json& ds = u["deployments"];
      if (!ds.is_object()) return Bad("usage.deployments", "must be an object keyed by namespace/name");
      for (auto it = ds.begin(); it != ds.end(); ++it) {
        std::string path = "usage.deployments." + it.key();
        KINEMA_RETURN_IF_ERROR(CheckKeys(it.value(), path, {"cpu", "memory", "shareLoad"}));
        WorkloadUsage w;
        SplitName(it.key(), &w.ns, &w.name);
        if (w.name.empty()) return Bad(path, "empty workload name");
        if (it.value().contains("cpu")) KINEMA_RETURN_IF_ERROR(ParseProfile(it.value()["cpu"], true, path + ".cpu", &w.cpu));
        if (it.value().contains("memory"))
          KINEMA_RETURN_IF_ERROR(ParseProfile(it.value()["memory"], false, path + ".memory", &w.memory));
        if (it.value().contains("shareLoad")) {
          if (!it.value()["shareLoad"].is_boolean()) return Bad(path + ".shareLoad", "must be a boolean");
          w.share_load = it.value()["shareLoad"].get<bool>();
        }
        out->workloads.push_back(std::move(w));
      }
    }
  }
  if (scenario.contains("events")) {
    const json& evs = scenario["events"];
    if (!evs.is_array()) return Bad("events", "must be an array");
    for (size_t i = 0; i < evs.size(); ++i) {
      const json& e = evs[i];
      std::string path = "events[" + std::to_string(i) + "]";
      if (!e.is_object()) return Bad(path, "must be an object");
      if (e.value("kind", std::string()) != "loadSurge") continue;
      KINEMA_RETURN_IF_ERROR(
          CheckKeys(e, path, {"kind", "deployment", "namespace", "factor", "memoryFactor", "at", "duration"}));
      LoadSurge s;
      if (!e.contains("deployment") || !e["deployment"].is_string()) return Bad(path + ".deployment", "required string");
      SplitName(e["deployment"].get<std::string>(), &s.ns, &s.name);
      if (e.contains("namespace")) {
        if (!e["namespace"].is_string()) return Bad(path + ".namespace", "must be a string");
        s.ns = e["namespace"].get<std::string>();
      }
      if (!e.contains("factor")) return Bad(path + ".factor", "required");
      KINEMA_RETURN_IF_ERROR(ReadNumber(e, "factor", path, 0, &s.factor));
      KINEMA_RETURN_IF_ERROR(ReadNumber(e, "memoryFactor", path, 0, &s.memory_factor));
      KINEMA_RETURN_IF_ERROR(ReadSeconds(e, "at", path, &s.at_s));
      if (!e.contains("duration")) return Bad(path + ".duration", "required");
      KINEMA_RETURN_IF_ERROR(ReadSeconds(e, "duration", path, &s.duration_s));
      out->surges.push_back(std::move(s));
    }
  }
  return Status::OK();
}

}  // namespace kinema::sim::usage
