#include "engine/config/controller_config.h"

namespace kinema {

using namespace config;

namespace {

// `journal: PATH` or `journal: {path: PATH, retention: 7d}`.
Field JournalField(ControllerConfig* c) {
  Field mapping = Map({{"path", Str(&c->journal)}, {"retention", Dur(&c->journal_retention)}});
  return Custom([c, mapping](const YAML::Node& n, const std::string& p) -> Status {
    if (n.IsScalar()) return ScalarAt(n, p, &c->journal);
    return Walk(n, mapping, p);
  });
}

Status ParseBudget(const YAML::Node& n, const std::string& p, NodeBudget* out) {
  if (!n.IsMap()) return Status::InvalidArgument(p + ": must be a mapping with nodes, reasons, schedule, duration");
  std::string nodes = "10%", schedule;
  std::vector<std::string> reasons;
  Duration duration{0};
  bool has_nodes = false, has_duration = false;
  Field schema = Map({{"nodes", Custom([&](const YAML::Node& v, const std::string& vp) {
                         has_nodes = true;
                         return ScalarAt(v, vp, &nodes);
                       })},
                      {"reasons", StrList(&reasons)},
                      {"schedule", Str(&schedule)},
                      {"duration", Custom([&](const YAML::Node& v, const std::string& vp) {
                         has_duration = true;
                         return Walk(v, Dur(&duration), vp);
                       })}});
  KINEMA_RETURN_IF_ERROR(Walk(n, schema, p));
  if (!has_nodes) return Status::InvalidArgument(p + ".nodes: required (a count such as 3 or a percent such as \"10%\")");
  auto b = NodeBudget::FromNodes(nodes);
  if (!b.ok()) return Status::InvalidArgument(p + ".nodes: " + b.status().message());
  for (const auto& r : reasons) {
    if (!KnownDisruptionReasons().count(r)) {
      std::vector<std::string> known(KnownDisruptionReasons().begin(), KnownDisruptionReasons().end());
      std::string hint = ClosestName(r, known);
      return Status::InvalidArgument(p + ".reasons: unknown reason '" + r + "'" +
                                     (hint.empty() ? " (rescheduling, spot, rebalance, resize)" : " (did you mean " + hint + "?)"));
    }
    b->reasons.insert(r);
  }
  if (!schedule.empty()) {
    auto cron = CronSchedule::Parse(schedule);
    if (!cron.ok()) return Status::InvalidArgument(p + ".schedule: " + cron.status().message());
    if (!has_duration || duration.count() <= 0) {
      return Status::InvalidArgument(p + ".duration: required with schedule (how long the budget applies after each firing)");
    }
    b->schedule = *cron;
    b->duration = duration;
  } else if (has_duration) {
    return Status::InvalidArgument(p + ".duration: only meaningful with schedule");
  }
  *out = *b;
  return Status::OK();
}

}  // namespace

Field BudgetsField(std::vector<NodeBudget>* out) {
  return Custom([out](const YAML::Node& n, const std::string& p) -> Status {
    if (!n.IsSequence()) return Status::InvalidArgument(p + ": must be a list of budgets ({nodes: \"10%\", ...})");
    std::vector<NodeBudget> budgets;
    for (size_t i = 0; i < n.size(); ++i) {
      NodeBudget b;
      KINEMA_RETURN_IF_ERROR(ParseBudget(n[i], p + "[" + std::to_string(i) + "]", &b));
      budgets.push_back(std::move(b));
    }
    *out = std::move(budgets);
    return Status::OK();
  });
}

Field EvictionLimitsField(EvictionLimits* out) {
  return Map({{"perNode", Int64(&out->per_node, -1, 1000000)},
              {"perNamespace", Int64(&out->per_namespace, -1, 1000000)},
              {"total", Int64(&out->total, -1, 10000000)}});
}

Fields GlobalConfigFields(ControllerConfig* c) {
  return {
      {"kubeconfig", Str(&c->kubeconfig)},
      {"journal", JournalField(c)},
      {"catalog", Str(&c->catalog)},
      {"dryRun", Bool(&c->dry_run)},
      {"prometheus", Map({{"url", Url(&c->prometheus.url)}, {"timeout", Dur(&c->prometheus.timeout)}})},
      // ---- cloud and pricing (operations.md "Cloud providers")
      {"cloud", Map({{"provider", OneOf(&c->cloud.provider, {"gce", "gke"})},
                     {"endpoint", Url(&c->cloud.endpoint)},
                     {"project", Str(&c->cloud.project)},
                     {"zones", StrList(&c->cloud.zones)},
                     {"tokenFile", Str(&c->cloud.token_file)},
                     {"instancePrefix", Str(&c->cloud.instance_prefix)},
                     {"instanceTemplate", Str(&c->cloud.instance_template)},
                     {"location", Str(&c->cloud.location)},
                     {"cluster", Str(&c->cloud.cluster)},
                     {"containerEndpoint", Str(&c->cloud.container_endpoint)},
                     {"nodePools", OneOf(&c->cloud.node_pools, {"create", "existing"})}})},
      {"pricing", Map({{"source", OneOf(&c->pricing.source, {"catalog", "billing"})},
                       {"endpoint", Str(&c->pricing.endpoint)},
                       {"refresh", Dur(&c->pricing.refresh)}})},
      // ---- end of cloud and pricing
      {"exclusions", Map({{"namespaces", StrList(&c->exclusions.namespaces)},
                          {"labelSelector", Str(&c->exclusions.label_selector)}})},
      {"budgets", BudgetsField(&c->budgets)},
      {"evictionLimits", EvictionLimitsField(&c->eviction_limits)},
      {"scheduler", Map({{"workers", Int(&c->scheduler.workers, 1, 64)}})},
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
  };
}

namespace {

// Cross-key rules of the cloud and pricing sections.
Status ValidateCloudAndPricing(const ControllerConfig& c) {
  const auto& cl = c.cloud;
  auto url = [](const std::string& key, const std::string& v) -> Status {
    if (v.empty() || v.rfind("http://", 0) == 0 || v.rfind("https://", 0) == 0) return Status::OK();
    return Status::InvalidArgument(key + ": '" + v + "' is not an http(s) URL");
  };
  KINEMA_RETURN_IF_ERROR(url("cloud.endpoint", cl.endpoint));
  KINEMA_RETURN_IF_ERROR(url("cloud.containerEndpoint", cl.container_endpoint));
  KINEMA_RETURN_IF_ERROR(url("pricing.endpoint", c.pricing.endpoint));
  if (cl.provider == "gke") {
    if (cl.project.empty()) return Status::InvalidArgument("cloud.project: required with cloud.provider gke");
    if (cl.location.empty()) {
      return Status::InvalidArgument("cloud.location: required with cloud.provider gke (the cluster's region or zone)");
    }
    if (cl.cluster.empty()) return Status::InvalidArgument("cloud.cluster: required with cloud.provider gke");
    if (!cl.instance_template.empty()) {
      return Status::InvalidArgument(
          "cloud.instanceTemplate: only for cloud.provider gce (under gke, nodes come from their node pool's template)");
    }
  } else {
    for (const auto& [key, v] : {std::pair<const char*, const std::string*>{"cloud.location", &cl.location},
                                 {"cloud.cluster", &cl.cluster},
                                 {"cloud.containerEndpoint", &cl.container_endpoint}}) {
      if (!v->empty()) return Status::InvalidArgument(std::string(key) + ": only for cloud.provider gke");
    }
  }
  if (c.pricing.source == "billing" && c.pricing.refresh < Duration(60000)) {
    return Status::InvalidArgument("pricing.refresh: " + FormatDuration(c.pricing.refresh) +
                                   " is too short (at least 1m; prices change at most daily)");
  }
  if (c.pricing.source == "billing" && cl.project.empty()) {
    return Status::InvalidArgument(
        "pricing.source: billing needs cloud.project (machine types' vCPU and memory come from Compute)");
  }
  return Status::OK();
}

}  // namespace

Status ValidateGlobalConfig(const ControllerConfig& c) {
  if (c.catalog.empty()) return Status::InvalidArgument("catalog: required (path to the machine-type catalog JSON)");
  if (c.journal.empty()) return Status::InvalidArgument("journal: must not be empty");
  KINEMA_RETURN_IF_ERROR(ValidateCloudAndPricing(c));
  const auto& le = c.leader_election;
  if (le.enabled && !(le.retry_period < le.renew_deadline && le.renew_deadline < le.lease_duration)) {
    return Status::InvalidArgument(
        "leaderElection: need retryPeriod < renewDeadline < leaseDuration (got " + FormatDuration(le.retry_period) +
        ", " + FormatDuration(le.renew_deadline) + ", " + FormatDuration(le.lease_duration) + ")");
  }
  return Status::OK();
}

}  // namespace kinema
