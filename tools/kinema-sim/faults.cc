#include "tools/kinema-sim/faults.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace kinema::sim {

bool IsComputeResource(const std::string& resource) {
  return resource.rfind("compute.", 0) == 0 || resource.rfind("container.", 0) == 0 ||
         resource.rfind("cloudbilling.", 0) == 0;
}

StatusOr<std::vector<FaultRule>> FaultInjector::ParseFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("faults file " + path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = ParseText(ss.str());
  if (!r.ok()) return r.status().WithContext("faults file " + path);
  return r;
}

StatusOr<std::vector<FaultRule>> FaultInjector::ParseText(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object() || !j.contains("rules") || !j["rules"].is_array()) {
    return Status::InvalidArgument("expected an object with a \"rules\" array");
  }
  static const char* kKnown[] = {"verb",          "resource",          "error500Rate",    "error503Rate",
                                 "error429Rate",  "retryAfterSeconds", "conflictRate",    "lostResponseRate",
                                 "latencyMs",     "latencyRate",       "watchDropRate",   "watchDropAfterMs",
                                 "wrongTypeRate", "truncateRate",      "invalidUtf8Rate", "hugeBodyRate",
                                 "hugeBodyBytes", "gzipBombRate",      "gzipBombBytes",   "slowBodyRate",
                                 "slowBodyMs"};
  std::vector<FaultRule> rules;
  size_t i = 0;
  for (const auto& r : j["rules"]) {
    std::string where = "rules[" + std::to_string(i++) + "]";
    if (!r.is_object()) return Status::InvalidArgument(where + ": must be an object");
    for (auto it = r.begin(); it != r.end(); ++it) {
      bool known = false;
      for (const char* k : kKnown) known = known || it.key() == k;
      if (!known) return Status::InvalidArgument(where + ": unknown key \"" + it.key() + "\"");
    }
    FaultRule fr;
    try {
      fr.verb = r.value("verb", "*");
      fr.resource = r.value("resource", "*");
      fr.error500_rate = r.value("error500Rate", 0.0);
      fr.error503_rate = r.value("error503Rate", 0.0);
      fr.error429_rate = r.value("error429Rate", 0.0);
      fr.retry_after_seconds = r.value("retryAfterSeconds", 1);
      fr.conflict_rate = r.value("conflictRate", 0.0);
      fr.lost_response_rate = r.value("lostResponseRate", 0.0);
      fr.latency_ms = r.value("latencyMs", 0LL);
      fr.latency_rate = r.value("latencyRate", 1.0);
      fr.watch_drop_rate = r.value("watchDropRate", 0.0);
      fr.watch_drop_after_ms = r.value("watchDropAfterMs", 5000LL);
      fr.wrong_type_rate = r.value("wrongTypeRate", 0.0);
      fr.truncate_rate = r.value("truncateRate", 0.0);
      fr.invalid_utf8_rate = r.value("invalidUtf8Rate", 0.0);
      fr.huge_body_rate = r.value("hugeBodyRate", 0.0);
      fr.huge_body_bytes = r.value("hugeBodyBytes", 96LL << 20);
      fr.gzip_bomb_rate = r.value("gzipBombRate", 0.0);
      fr.gzip_bomb_bytes = r.value("gzipBombBytes", 256LL << 20);
      fr.slow_body_rate = r.value("slowBodyRate", 0.0);
      fr.slow_body_ms = r.value("slowBodyMs", 5000LL);
    } catch (const std::exception& e) {
      return Status::InvalidArgument(where + ": " + e.what());
    }
    for (double rate : {fr.error500_rate, fr.error503_rate, fr.error429_rate, fr.conflict_rate,
                        fr.lost_response_rate, fr.latency_rate, fr.watch_drop_rate, fr.wrong_type_rate,
                        fr.truncate_rate, fr.invalid_utf8_rate, fr.huge_body_rate, fr.gzip_bomb_rate,
                        fr.slow_body_rate}) {
      if (!(rate >= 0 && rate <= 1)) return Status::InvalidArgument(where + ": rates must be within [0, 1]");
    }
    if (fr.huge_body_bytes < 0 || fr.huge_body_bytes > (1LL << 31) || fr.gzip_bomb_bytes < 0 ||
        fr.gzip_bomb_bytes > (4LL << 30) || fr.slow_body_ms < 0 || fr.slow_body_ms > 600000) {
      return Status::InvalidArgument(where + ": hugeBodyBytes <= 2 GiB, gzipBombBytes <= 4 GiB, slowBodyMs <= 600000");
    }
    const bool other_api = fr.resource == kMetricsApiResource || fr.resource == kPrometheusResource;
    if (other_api && (fr.conflict_rate > 0 || fr.watch_drop_rate > 0 || fr.lost_response_rate > 0)) {
      return Status::InvalidArgument(where + ": conflictRate, watchDropRate and lostResponseRate have no meaning for " +
                                     fr.resource);
    }
    bool compute = IsComputeResource(fr.resource);
    if (compute) {
      static const char* kComputeResources[] = {"compute.*",          "compute.instances",
                                                "compute.operations", "compute.machineTypes",
                                                "compute.zones",      "compute.instanceGroupManagers",
                                                "compute.instanceTemplates", "container.*",
                                                "container.nodePools", "container.operations",
                                                "cloudbilling.*",     "cloudbilling.skus"};
      bool ok = false;
      for (const char* c : kComputeResources) ok = ok || fr.resource == c;
      if (!ok) {
        return Status::InvalidArgument(where + ": unknown Google Cloud resource \"" + fr.resource +
                                       "\" (compute.instances, compute.operations, compute.machineTypes, "
                                       "compute.zones, compute.instanceGroupManagers, compute.instanceTemplates, "
                                       "compute.*, container.nodePools, container.operations, container.*, "
                                       "cloudbilling.skus or cloudbilling.*)");
      }
      if (fr.conflict_rate > 0 || fr.watch_drop_rate > 0) {
        return Status::InvalidArgument(where + ": conflictRate and watchDropRate have no meaning for " + fr.resource);
      }
    } else if (fr.lost_response_rate > 0) {
      return Status::InvalidArgument(where + ": lostResponseRate applies to Compute resources only (compute.*), not \"" +
                                     fr.resource + "\"");
    }
    static const char* kVerbs[] = {"*", "get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"};
    static const char* kComputeVerbs[] = {"*", "get", "list", "create", "delete", "wait", "update"};
    static const char* kMetricsVerbs[] = {"*", "get", "list"};
    static const char* kPrometheusVerbs[] = {"*", "query", "query_range"};
    bool verb_ok = false;
    if (compute) {
      for (const char* v : kComputeVerbs) verb_ok = verb_ok || fr.verb == v;
    } else if (fr.resource == kMetricsApiResource) {
      for (const char* v : kMetricsVerbs) verb_ok = verb_ok || fr.verb == v;
    } else if (fr.resource == kPrometheusResource) {
      for (const char* v : kPrometheusVerbs) verb_ok = verb_ok || fr.verb == v;
    } else {
      for (const char* v : kVerbs) verb_ok = verb_ok || fr.verb == v;
    }
    if (!verb_ok) {
      return Status::InvalidArgument(where + ": unknown verb \"" + fr.verb + "\" for resource \"" + fr.resource + "\"");
    }
    rules.push_back(fr);
  }
  return rules;
}

FaultInjector::FaultInjector(std::vector<FaultRule> rules, uint64_t seed) : rules_(std::move(rules)), rng_(seed) {}

const char* HostileKindName(HostileKind k) {
  switch (k) {
    case HostileKind::kNone: return "none";
    case HostileKind::kWrongType: return "wrong JSON type";
    case HostileKind::kTruncate: return "truncated body";
    case HostileKind::kInvalidUtf8: return "invalid UTF-8";
    case HostileKind::kHugeBody: return "huge body";
    case HostileKind::kGzipBomb: return "gzip bomb";
    case HostileKind::kSlowBody: return "slow body";
  }
  return "?";
}

HostileDecision FaultInjector::DecideHostile(const std::string& verb, const std::string& resource) {
  HostileDecision d;
  if (rules_.empty()) return d;
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& r : rules_) {
    if (!r.HasHostile() || !Matches(r, verb, resource)) continue;
    if (r.wrong_type_rate > 0 && Draw() < r.wrong_type_rate) d.kind = HostileKind::kWrongType;
    else if (r.truncate_rate > 0 && Draw() < r.truncate_rate) d.kind = HostileKind::kTruncate;
    else if (r.invalid_utf8_rate > 0 && Draw() < r.invalid_utf8_rate) d.kind = HostileKind::kInvalidUtf8;
    else if (r.huge_body_rate > 0 && Draw() < r.huge_body_rate) d.kind = HostileKind::kHugeBody;
    else if (r.gzip_bomb_rate > 0 && Draw() < r.gzip_bomb_rate) d.kind = HostileKind::kGzipBomb;
    else if (r.slow_body_rate > 0 && Draw() < r.slow_body_rate) d.kind = HostileKind::kSlowBody;
    if (d.kind == HostileKind::kNone) continue;
    d.bytes = static_cast<size_t>(d.kind == HostileKind::kGzipBomb ? r.gzip_bomb_bytes : r.huge_body_bytes);
    d.slow = std::chrono::milliseconds(r.slow_body_ms);
    d.seed = rng_();
    injected_++;
    return d;
  }
  return d;
}

bool FaultInjector::Matches(const FaultRule& r, const std::string& verb, const std::string& resource) const {
  if (r.verb != "*" && r.verb != verb) return false;
  const bool other_api = resource == kMetricsApiResource || resource == kPrometheusResource;
  if (r.resource == "*") return !IsComputeResource(resource) && !other_api;  // "*": every Kubernetes resource
  if (r.resource.size() > 2 && r.resource.compare(r.resource.size() - 2, 2, ".*") == 0) {
    return resource.rfind(r.resource.substr(0, r.resource.size() - 1), 0) == 0;  // "compute.*": compute.<any>
  }
  return r.resource == resource;
}

double FaultInjector::Draw() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

std::chrono::milliseconds FaultInjector::DecideLatency(const std::string& verb, const std::string& resource) {
  if (rules_.empty()) return std::chrono::milliseconds(0);
  std::lock_guard<std::mutex> l(mu_);
  long long total = 0;
  for (const auto& r : rules_) {
    if (r.latency_ms <= 0 || !Matches(r, verb, resource)) continue;
    if (Draw() < r.latency_rate) total += r.latency_ms;
  }
  if (total > 0) injected_++;
  return std::chrono::milliseconds(total);
}

std::optional<ApiError> FaultInjector::DecideError(const std::string& verb, const std::string& resource,
                                                   const std::string& group, const std::string& name) {
  if (rules_.empty()) return std::nullopt;
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& r : rules_) {
    if (!Matches(r, verb, resource)) continue;
    if (r.error500_rate > 0 && Draw() < r.error500_rate) {
      injected_++;
      return ApiError::Internal("Internal error occurred: injected fault (kinema-sim --faults)");
    }
    if (r.error503_rate > 0 && Draw() < r.error503_rate) {
      injected_++;
      ApiError e;
      e.code = 503;
      e.reason = "ServiceUnavailable";
      e.message = "the server is currently unable to handle the request: injected fault (kinema-sim --faults)";
      return e;
    }
    if (r.error429_rate > 0 && Draw() < r.error429_rate) {
      injected_++;
      return ApiError::TooManyRequests("the server has received too many requests and has asked us to try again later",
                                       r.retry_after_seconds);
    }
    if (r.conflict_rate > 0 && (verb == "update" || verb == "patch") && Draw() < r.conflict_rate) {
      injected_++;
      ApiError e;
      e.code = 409;
      e.reason = "Conflict";
      std::string qualified = group.empty() ? resource.substr(0, resource.find('/'))
                                            : resource.substr(0, resource.find('/')) + "." + group;
      e.message = "Operation cannot be fulfilled on " + qualified + " \"" + name +
                  "\": the object has been modified; please apply your changes to the latest version and try again";
      e.name = name;
      e.group = group;
      e.kind = resource.substr(0, resource.find('/'));
      return e;
    }
  }
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> FaultInjector::DecideWatchDrop(const std::string& resource) {
  if (rules_.empty()) return std::nullopt;
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& r : rules_) {
    if (r.watch_drop_rate <= 0 || !Matches(r, "watch", resource)) continue;
    if (Draw() < r.watch_drop_rate) {
      injected_++;
      return std::chrono::milliseconds(static_cast<long long>(Draw() * static_cast<double>(r.watch_drop_after_ms)));
    }
  }
  return std::nullopt;
}

ComputeFaultDecision FaultInjector::DecideCompute(const std::string& verb, const std::string& resource) {
  ComputeFaultDecision d;
  if (rules_.empty()) return d;
  // Bodies as real Compute Engine sends them (domain "global" for server
  // errors; rate quotas are 403 rateLimitExceeded in domain usageLimits).
  static const ComputeFault kInternal{500, "backendError", "global",
                                      "Internal error. Please try again or contact Google Support."};
  static const ComputeFault kUnavailable{503, "backendError", "global", "The service is currently unavailable."};
  static const ComputeFault kRateLimited{403, "rateLimitExceeded", "usageLimits", "Rate Limit Exceeded"};
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& r : rules_) {
    if (!Matches(r, verb, resource)) continue;
    if (r.error500_rate > 0 && Draw() < r.error500_rate) d.error = kInternal;
    else if (r.error503_rate > 0 && Draw() < r.error503_rate) d.error = kUnavailable;
    else if (r.error429_rate > 0 && Draw() < r.error429_rate) d.error = kRateLimited;
    if (d.error) {
      injected_++;
      return d;
    }
  }
  for (const auto& r : rules_) {
    if (r.lost_response_rate <= 0 || !Matches(r, verb, resource)) continue;
    if (Draw() < r.lost_response_rate) {
      injected_++;
      d.lost_response = kUnavailable;
      return d;
    }
  }
  return d;
}

uint64_t FaultInjector::injected() const {
  std::lock_guard<std::mutex> l(mu_);
  return injected_;
}

}  // namespace kinema::sim
