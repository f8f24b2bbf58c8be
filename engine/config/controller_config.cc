#include "engine/config/controller_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

namespace kinema {

namespace {

// Edit distance, for "did you mean" hints.
size_t Distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// A schema node: either a mapping of named children or a leaf setter.
struct Field {
  std::function<Status(const YAML::Node&, const std::string& path)> set;  // leaf
  std::map<std::string, Field> children;                                   // mapping
};

Status Walk(const YAML::Node& node, const Field& schema, const std::string& path) {
  if (schema.set) return schema.set(node, path);
  if (node.IsNull()) return Status::OK();
  if (!node.IsMap()) return Status::InvalidArgument((path.empty() ? "config" : path) + ": must be a mapping");
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    std::string full = path.empty() ? key : path + "." + key;
    auto it = schema.children.find(key);
    if (it == schema.children.end()) {
      std::string best;
      size_t best_d = 3;
      for (const auto& [known, f] : schema.children) {
        size_t d = Distance(key, known);
        if (d < best_d) {
          best_d = d;
          best = known;
        }
      }
      return Status::InvalidArgument(full + ": unknown key" + (best.empty() ? "" : " (did you mean " + best + "?)"));
    }
    KINEMA_RETURN_IF_ERROR(Walk(kv.second, it->second, full));
  }
  return Status::OK();
}

Status Scalar(const YAML::Node& n, const std::string& path, std::string* out) {
  if (!n.IsScalar()) return Status::InvalidArgument(path + ": must be a string");
  *out = n.Scalar();
  return Status::OK();
}

Field Str(std::string* out) {
  return Field{[out](const YAML::Node& n, const std::string& p) { return Scalar(n, p, out); }, {}};
}

Field OneOf(std::string* out, std::set<std::string> allowed) {
  return Field{[out, allowed](const YAML::Node& n, const std::string& p) -> Status {
                 std::string v;
                 KINEMA_RETURN_IF_ERROR(Scalar(n, p, &v));
                 if (!allowed.count(v)) {
                   std::string list;
                   for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
                   return Status::InvalidArgument(p + ": '" + v + "' is not one of " + list);
                 }
                 *out = v;
                 return Status::OK();
               },
               {}};
}

Field Dur(Duration* out) {
  return Field{[out](const YAML::Node& n, const std::string& p) -> Status {
                 std::string v;
                 KINEMA_RETURN_IF_ERROR(Scalar(n, p, &v));
                 auto d = ParseConfigDuration(v);
                 if (!d.ok()) return Status::InvalidArgument(p + ": " + d.status().message());
                 if (d->count() < 0) return Status::InvalidArgument(p + ": must not be negative");
                 *out = *d;
                 return Status::OK();
               },
               {}};
}

Field Num(double* out, double lo, double hi) {
  return Field{[out, lo, hi](const YAML::Node& n, const std::string& p) -> Status {
                 std::string v;
                 KINEMA_RETURN_IF_ERROR(Scalar(n, p, &v));
                 auto d = ParseNumber(v, lo, hi);
                 if (!d.ok()) return Status::InvalidArgument(p + ": " + d.status().message());
                 *out = *d;
                 return Status::OK();
               },
               {}};
}

template <typename I>
Field Int(I* out, int64_t lo, int64_t hi) {
  return Field{[out, lo, hi](const YAML::Node& n, const std::string& p) -> Status {
                 std::string v;
                 KINEMA_RETURN_IF_ERROR(Scalar(n, p, &v));
                 auto d = ParseInteger(v, lo, hi);
                 if (!d.ok()) return Status::InvalidArgument(p + ": " + d.status().message());
                 *out = static_cast<I>(*d);
                 return Status::OK();
               },
               {}};
}

// An http(s) URL, or empty (the key's "not set").
Field Url(std::string* out) {
  return Field{[out](const YAML::Node& n, const std::string& p) -> Status {
                 std::string v;
                 KINEMA_RETURN_IF_ERROR(Scalar(n, p, &v));
                 if (!v.empty()) {
                   Status u = CheckServiceUrl(v);
                   if (!u.ok()) return Status::InvalidArgument(p + ": " + u.message());
                 }
                 *out = v;
                 return Status::OK();
               },
               {}};
}

Field Bool(bool* out) {
  return Field{[out](const YAML::Node& n, const std::string& p) -> Status {
                 std::string v;
                 KINEMA_RETURN_IF_ERROR(Scalar(n, p, &v));
                 if (v == "true") *out = true;
                 else if (v == "false") *out = false;
                 else return Status::InvalidArgument(p + ": '" + v + "' must be true or false");
                 return Status::OK();
               },
               {}};
}

Field StrList(std::vector<std::string>* out) {
  return Field{[out](const YAML::Node& n, const std::string& p) -> Status {
                 if (!n.IsSequence()) return Status::InvalidArgument(p + ": must be a list of strings");
                 out->clear();
                 for (size_t i = 0; i < n.size(); ++i) {
                   if (!n[i].IsScalar()) return Status::InvalidArgument(p + "[" + std::to_string(i) + "]: must be a string");
                   out->push_back(n[i].Scalar());
                 }
                 return Status::OK();
               },
               {}};
}

Field Map(std::map<std::string, Field> children) { return Field{nullptr, std::move(children)}; }

Field Schema(ControllerConfig* c) {
  return Map({
      {"kubeconfig", Str(&c->kubeconfig)},
      {"journal", Str(&c->journal)},
      {"catalog", Str(&c->catalog)},
      {"dryRun", Bool(&c->dry_run)},
      {"prometheus", Map({{"url", Url(&c->prometheus.url)}, {"timeout", Dur(&c->prometheus.timeout)}})},
      {"cloud", Map({{"provider", OneOf(&c->cloud.provider, {"gce"})},
                     {"endpoint", Url(&c->cloud.endpoint)},
                     {"project", Str(&c->cloud.project)},
                     {"zones", StrList(&c->cloud.zones)},
                     {"tokenFile", Str(&c->cloud.token_file)},
                     {"instancePrefix", Str(&c->cloud.instance_prefix)}})},
      {"stability", Map({{"quietWindow", Dur(&c->stability.quiet_window)},
                         {"deadline", Dur(&c->stability.deadline)},
                         {"pollInterval", Dur(&c->stability.poll_interval)},
                         {"maxHpaUtilization", Num(&c->stability.max_hpa_utilization, 0, 10)}})},
      {"prediction", Map({{"window", Dur(&c->prediction.window)},
                          {"horizon", Dur(&c->prediction.horizon)},
                          {"step", Dur(&c->prediction.step)},
                          {"rateWindow", Dur(&c->prediction.rate_window)},
                          {"factor", Num(&c->prediction.factor, 0, 1)},
                          {"headroom", Num(&c->prediction.headroom, 1, 10)},
                          {"source", OneOf(&c->prediction.source, {"prometheus", "vpa", "none"})}})},
      {"optimizer", Map({{"timeLimit", Dur(&c->optimizer.time_limit)},
                         {"maxMoves", Int(&c->optimizer.max_moves, -1, 10000000)},
                         {"headroom", Num(&c->optimizer.headroom, 0, 1)},
                         {"seed", Int(&c->optimizer.seed, 0, INT64_MAX)},
                         {"allowTypes", StrList(&c->optimizer.allow_types)},
                         {"noSpot", Bool(&c->optimizer.no_spot)}})},
      {"decision", Map({{"minSavings", Num(&c->decision.min_savings, 0, 1)},
                        {"maxChange", Num(&c->decision.max_change, 0, 1)},
                        {"maxNodesRetired", Int(&c->decision.max_nodes_retired, 0, 100000)},
                        {"maxPodsMoved", Int(&c->decision.max_pods_moved, 0, 10000000)}})},
      {"boot", Map({{"timeout", Dur(&c->boot.timeout)}, {"parallelism", Int(&c->boot.parallelism, 1, 1000)}})},
      {"rollout", Map({{"maxConcurrent", Int(&c->rollout.max_concurrent, 1, 1000)},
                       {"timeout", Dur(&c->rollout.timeout)}})},
      {"drain", Map({{"timeout", Dur(&c->drain.timeout)}})},
      {"loop", Map({{"cooldown", Dur(&c->loop.cooldown)}})},
      {"exclusions", Map({{"namespaces", StrList(&c->exclusions.namespaces)},
                          {"labelSelector", Str(&c->exclusions.label_selector)}})},
      {"server", Map({{"address", Str(&c->server.address)}})},
      {"leaderElection", Map({{"enabled", Bool(&c->leader_election.enabled)},
                              {"namespace", Str(&c->leader_election.namespace_)},
                              {"name", Str(&c->leader_election.name)},
                              {"identity", Str(&c->leader_election.identity)},
                              {"leaseDuration", Dur(&c->leader_election.lease_duration)},
                              {"renewDeadline", Dur(&c->leader_election.renew_deadline)},
                              {"retryPeriod", Dur(&c->leader_election.retry_period)}})},
      {"logging", Map({{"format", OneOf(&c->logging.format, {"text", "json"})},
                       {"level", OneOf(&c->logging.level, {"trace", "debug", "info", "warn", "error"})}})},
  });
}

}  // namespace

StatusOr<ControllerConfig> ParseControllerConfig(const std::string& yaml_text) {
  ControllerConfig c;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const std::exception& e) {
    return Status::InvalidArgument("config is not valid YAML: " + std::string(e.what()));
  }
  if (!root.IsNull() && !root.IsMap()) return Status::InvalidArgument("config: top level must be a mapping");
  try {
    KINEMA_RETURN_IF_ERROR(Walk(root, Schema(&c), ""));
  } catch (const std::exception& e) {  // yaml-cpp: non-scalar keys, bad conversions
    return Status::InvalidArgument("config: " + std::string(e.what()));
  }
  if (c.catalog.empty()) return Status::InvalidArgument("catalog: required (path to the machine-type catalog JSON)");
  if (c.journal.empty()) return Status::InvalidArgument("journal: must not be empty");
  const auto& le = c.leader_election;
  if (le.enabled && !(le.retry_period < le.renew_deadline && le.renew_deadline < le.lease_duration)) {
    return Status::InvalidArgument(
        "leaderElection: need retryPeriod < renewDeadline < leaseDuration (got " + FormatDuration(le.retry_period) +
        ", " + FormatDuration(le.renew_deadline) + ", " + FormatDuration(le.lease_duration) + ")");
  }
  return c;
}

StatusOr<ControllerConfig> LoadControllerConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("config file " + path + " cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  auto c = ParseControllerConfig(ss.str());
  if (!c.ok()) return c.status().WithContext(path);
  return c;
}

}  // namespace kinema
