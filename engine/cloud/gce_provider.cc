#include "engine/cloud/gce_provider.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include "engine/cloud/request_id.h"
#include "engine/common/safe_json.h"
#include "engine/common/shutdown.h"
#include "engine/http/redact.h"
#include "engine/kube/client.h"

namespace kinema::cloud {

namespace {

using nlohmann::json;
using std::chrono::milliseconds;

double Jitter() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

bool Is2xx(long s) { return s >= 200 && s < 300; }

std::optional<int> RetryAfter(const http::Response& r) {
  const std::string* v = r.FindHeader("Retry-After");
  if (v == nullptr) return std::nullopt;
  return kube::ParseRetryAfter(*v);
}

bool Matches(const Instance& in, const InstanceFilter& f) {
  if (!f.name_prefix.empty() && in.name.rfind(f.name_prefix, 0) != 0) return false;
  for (const auto& [k, v] : f.labels) {
    auto it = in.labels.find(k);
    if (it == in.labels.end() || it->second != v) return false;
  }
  return true;
}

milliseconds Remaining(Clock::time_point deadline) {
  if (deadline == Clock::time_point::max()) return milliseconds::max();
  return std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
}

}  // namespace

std::string UrlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::unique_ptr<TokenSource> ChooseTokenSource(const std::string& endpoint, const std::string& token_file,
                                               std::shared_ptr<const http::HttpClient> http) {
  if (!token_file.empty()) return NewFileTokenSource(token_file);
  std::string host = endpoint;
  if (size_t p = host.find("://"); p != std::string::npos) host = host.substr(p + 3);
  host = host.substr(0, host.find('/'));
  host = host.substr(0, host.find(':'));
  const std::string suffix = "googleapis.com";
  bool google = endpoint.empty() ||
                (host.size() >= suffix.size() && host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0);
  if (google) return std::make_unique<MetadataTokenSource>(std::move(http), MetadataTokenOptions{});
  return NewNoTokenSource();
}

StatusOr<std::unique_ptr<GceCloudProvider>> GceCloudProvider::Create(GceOptions options,
                                                                     std::unique_ptr<TokenSource> tokens,
                                                                     std::shared_ptr<const http::HttpClient> http) {
  if (options.project.empty()) return Status::InvalidArgument("cloud.project: required for the gce provider");
  if (options.endpoint.empty()) options.endpoint = kDefaultGceEndpoint;
  if (options.endpoint.rfind("http://", 0) != 0 && options.endpoint.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("cloud.endpoint: \"" + http::RedactUrl(options.endpoint) +
                                   "\" is not an http(s) URL");
  }
  while (!options.endpoint.empty() && options.endpoint.back() == '/') options.endpoint.pop_back();
  if (!tokens) tokens = NewNoTokenSource();
  if (!http) http = std::make_shared<http::HttpClient>();
  if (options.endpoint.rfind("http://", 0) == 0 && tokens->Describe() != "none") {
    spdlog::warn("cloud: sending GCE credentials over plain HTTP to {}", http::RedactUrl(options.endpoint));
  }
  auto p = std::unique_ptr<GceCloudProvider>(new GceCloudProvider(std::move(options), std::move(tokens), std::move(http)));
  spdlog::info("cloud: {}", p->Describe());
  return p;
}

GceCloudProvider::GceCloudProvider(GceOptions options, std::unique_ptr<TokenSource> tokens,
                                   std::shared_ptr<const http::HttpClient> http)
    : options_(std::move(options)), tokens_(std::move(tokens)), http_(std::move(http)) {}

std::string GceCloudProvider::Describe() const {
  std::string zones;
  for (const auto& z : options_.zones) zones += (zones.empty() ? "" : ",") + z;
  return "gce project=" + options_.project + " endpoint=" + http::RedactUrl(options_.endpoint) +
         " zones=" + (zones.empty() ? "any" : zones) + " token=" + tokens_->Describe();
}

std::string GceCloudProvider::ZoneUrl(const std::string& zone) const {
  return options_.endpoint + "/projects/" + UrlEncode(options_.project) + "/zones/" + UrlEncode(zone);
}

Status GceCloudProvider::CheckZone(const std::string& zone, const std::string& what) const {
  if (zone.empty()) return Status::InvalidArgument(what + ": zone is empty");
  if (!options_.zones.empty() && std::find(options_.zones.begin(), options_.zones.end(), zone) == options_.zones.end()) {
    std::string list;
    for (const auto& z : options_.zones) list += (list.empty() ? "" : ", ") + z;
    return Status::InvalidArgument(what + ": zone " + zone + " is not one of the configured zones (" + list + ")");
  }
  return Status::OK();
}

StatusOr<GceCloudProvider::CallResult> GceCloudProvider::Call(const std::string& method, const std::string& url,
                                                              const std::string& body, const std::string& what,
                                                              const CallOptions& call) {
  const milliseconds base_timeout = call.timeout.count() > 0 ? call.timeout : options_.request_timeout;
  int attempts = 0;
  bool refreshed_token = false;
  while (true) {
    milliseconds remaining = Remaining(call.deadline);
    if (remaining.count() <= 0) {
      return MakeCloudError(CloudErrorKind::kDeadlineExceeded,
                            what + ": deadline passed" + (attempts > 0 ? " after " + std::to_string(attempts) + " attempts" : ""));
    }
    ++attempts;
    Status transport;
    http::Response resp;
    auto token = tokens_->Token();
    if (!token.ok()) {
      transport = token.status();
    } else {
      http::Request req;
      req.method = method;
      req.url = url;
      req.body = body;
      req.bearer_token = *token;
      req.timeout = std::min(base_timeout, remaining);
      req.connect_timeout = std::min(req.timeout, milliseconds(10000));
      if (!body.empty()) req.headers.push_back({"Content-Type", "application/json"});
      req.headers.push_back({"Accept", "application/json"});
      auto start = Clock::now();
      auto r = http_->Do(req);
      auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
      if (!r.ok()) {
        transport = r.status();
      } else {
        resp = std::move(*r);
        spdlog::debug("gce {} {} -> {} in {} ms (attempt {})", method, http::RedactUrl(url), resp.status, ms, attempts);
      }
    }
    if (transport.ok() && Is2xx(resp.status)) return CallResult{resp.status, std::move(resp.body)};

    if (transport.ok() && resp.status == 401 && !refreshed_token) {
      refreshed_token = true;
      tokens_->Invalidate();
      spdlog::warn("gce {}: 401 Unauthorized, refreshing the access token from {}", what, tokens_->Describe());
      continue;
    }
    int effective = static_cast<int>(resp.status);
    if (transport.ok() && resp.status == 403 && GceErrorKind(resp.status, resp.body) == CloudErrorKind::kRateLimited) {
      effective = 429;  // API rate limits come as 403 rateLimitExceeded
    }
    if (transport.ok() && resp.status == 400 && GceErrorKind(resp.status, resp.body) == CloudErrorKind::kUnavailable) {
      effective = 503;  // 400 resourceNotReady: an operation on the resource is still running
    }
    kube::RetryDecision d = kube::Decide(options_.retry, attempts, transport, effective,
                                         transport.ok() ? RetryAfter(resp) : std::nullopt, true, Jitter());
    if (d.retry && Remaining(call.deadline) > d.delay) {
      spdlog::warn("gce {}: attempt {} failed ({}), retrying in {} ms", what, attempts,
                   transport.ok() ? "HTTP " + std::to_string(resp.status) + " " + GceErrorReason(resp.body)
                                  : transport.ToString(),
                   d.delay.count());
      if (!SleepUnlessShutdown(d.delay)) {
        return Status::Cancelled(what + ": the process is shutting down (retry abandoned)");
      }
      continue;
    }
    std::string ctx = what + (attempts > 1 ? " (after " + std::to_string(attempts) + " attempts)" : "");
    if (!transport.ok()) {
      if (transport.code() == Status::Code::kUnavailable) {
        return MakeCloudError(CloudErrorKind::kUnavailable, ctx + ": " + transport.message());
      }
      if (transport.code() == Status::Code::kDeadlineExceeded) {
        return MakeCloudError(CloudErrorKind::kDeadlineExceeded, ctx + ": " + transport.message());
      }
      return transport.WithContext(ctx);
    }
    if (call.raw_errors) return CallResult{resp.status, std::move(resp.body)};
    return GceHttpError(resp.status, resp.body, ctx);
  }
}

StatusOr<Operation> GceCloudProvider::InsertInstance(const InstanceSpec& spec) {
  const std::string what = "gce insert instance " + spec.zone + "/" + spec.name + " (" + spec.machine_type + ", " +
                           CapacityTypeName(spec.capacity) + ")";
  KINEMA_RETURN_IF_ERROR(CheckZone(spec.zone, what));
  if (Status s = ValidateInstanceName(spec.name); !s.ok()) return s.WithContext(what);
  if (Status s = ValidateCloudLabels(spec.labels); !s.ok()) return s.WithContext(what);
  if (spec.machine_type.empty()) return Status::InvalidArgument(what + ": machine type is empty");
  if (spec.idempotency_key.empty()) return Status::InvalidArgument(what + ": idempotency key is empty");
  std::string request_id = RequestIdFor("instances.insert", spec.idempotency_key);
  std::string url = ZoneUrl(spec.zone) + "/instances?requestId=" + request_id;
  spdlog::info("gce: inserting instance {}/{} type={} capacity={} requestId={}", spec.zone, spec.name,
               spec.machine_type, CapacityTypeName(spec.capacity), request_id);
  auto r = Call("POST", url, BuildInsertBody(spec, options_.boot).dump(), what);
  if (!r.ok()) return r.status();
  auto j = safe_json::Parse(r->body);
  return ParseOperation(j, what);
}

StatusOr<Instance> GceCloudProvider::GetInstance(const std::string& zone, const std::string& name) {
  const std::string what = "gce get instance " + zone + "/" + name;
  if (zone.empty()) return Status::InvalidArgument(what + ": zone is empty");
  if (Status s = ValidateInstanceName(name); !s.ok()) return s.WithContext(what);
  auto r = Call("GET", ZoneUrl(zone) + "/instances/" + UrlEncode(name), "", what);
  if (!r.ok()) return r.status();
  return ParseInstance(safe_json::Parse(r->body), what);
}

StatusOr<std::vector<Instance>> GceCloudProvider::ListZone(const std::string& zone, const InstanceFilter& filter) {
  const std::string what = "gce list instances in " + zone;
  std::vector<Instance> out;
  std::string page_token;
  std::set<std::string> seen_tokens;
  while (true) {
    std::string url = ZoneUrl(zone) + "/instances?maxResults=500";
    if (!filter.labels.empty()) url += "&filter=" + UrlEncode(LabelFilter(filter.labels));
    if (!page_token.empty()) url += "&pageToken=" + UrlEncode(page_token);
    auto r = Call("GET", url, "", what);
    if (!r.ok()) return r.status();
    auto j = safe_json::Parse(r->body);
    if (j.is_discarded() || !j.is_object()) return Status::Internal(what + ": response is not a JSON object");
    if (j.contains("items") && j["items"].is_array()) {
      for (const auto& item : j["items"]) {
        auto in = ParseInstance(item, what);
        if (!in.ok()) return in.status();
        if (in->zone.empty()) in->zone = zone;
        if (Matches(*in, filter)) out.push_back(std::move(*in));
      }
    }
    page_token = j.contains("nextPageToken") && j["nextPageToken"].is_string() ? j["nextPageToken"].get<std::string>()
                                                                                : "";
    if (page_token.empty()) break;
    if (!seen_tokens.insert(page_token).second) {
      return Status::Internal(what + ": server repeated pageToken; refusing to loop");
    }
  }
  return out;
}

StatusOr<std::vector<Instance>> GceCloudProvider::ListAggregated(const InstanceFilter& filter) {
  const std::string what = "gce list instances in all zones";
  std::vector<Instance> out;
  std::string page_token;
  std::set<std::string> seen_tokens;
  while (true) {
    std::string url = options_.endpoint + "/projects/" + UrlEncode(options_.project) + "/aggregated/instances?maxResults=500";
    if (!filter.labels.empty()) url += "&filter=" + UrlEncode(LabelFilter(filter.labels));
    if (!page_token.empty()) url += "&pageToken=" + UrlEncode(page_token);
    auto r = Call("GET", url, "", what);
    if (!r.ok()) return r.status();
    auto j = safe_json::Parse(r->body);
    if (j.is_discarded() || !j.is_object()) return Status::Internal(what + ": response is not a JSON object");
    if (j.contains("items") && j["items"].is_object()) {
      for (auto& [scope, list] : j["items"].items()) {
        if (!list.is_object() || !list.contains("instances") || !list["instances"].is_array()) continue;
        for (const auto& item : list["instances"]) {
          auto in = ParseInstance(item, what);
          if (!in.ok()) return in.status();
          if (in->zone.empty()) in->zone = LastPathSegment(scope);
          if (Matches(*in, filter)) out.push_back(std::move(*in));
        }
      }
    }
    page_token = j.contains("nextPageToken") && j["nextPageToken"].is_string() ? j["nextPageToken"].get<std::string>()
                                                                                : "";
    if (page_token.empty()) break;
    if (!seen_tokens.insert(page_token).second) {
      return Status::Internal(what + ": server repeated pageToken; refusing to loop");
    }
  }
  return out;
}

StatusOr<std::vector<Instance>> GceCloudProvider::ListInstances(const InstanceFilter& filter) {
  const std::vector<std::string>& zones = filter.zones.empty() ? options_.zones : filter.zones;
  if (zones.empty()) return ListAggregated(filter);
  std::vector<Instance> out;
  for (const auto& zone : zones) {
    auto part = ListZone(zone, filter);
    if (!part.ok()) return part.status();
    for (auto& in : *part) out.push_back(std::move(in));
  }
  return out;
}

StatusOr<Operation> GceCloudProvider::DeleteInstance(const std::string& zone, const std::string& name,
                                                     const std::string& idempotency_key) {
  const std::string what = "gce delete instance " + zone + "/" + name;
  KINEMA_RETURN_IF_ERROR(CheckZone(zone, what));
  if (Status s = ValidateInstanceName(name); !s.ok()) return s.WithContext(what);
  if (idempotency_key.empty()) return Status::InvalidArgument(what + ": idempotency key is empty");
  std::string request_id = RequestIdFor("instances.delete", idempotency_key);
  spdlog::info("gce: deleting instance {}/{} requestId={}", zone, name, request_id);
  auto r = Call("DELETE", ZoneUrl(zone) + "/instances/" + UrlEncode(name) + "?requestId=" + request_id, "", what);
  if (!r.ok()) return r.status();
  return ParseOperation(safe_json::Parse(r->body), what);
}

StatusOr<Operation> GceCloudProvider::WaitOperation(const Operation& op, Clock::time_point deadline) {
  const std::string what = "gce wait for operation " + op.name + " (" + op.operation_type + " " +
                           (op.target_name.empty() ? "?" : op.target_name) + " in " + op.zone + ")";
  if (op.done()) return op;
  if (op.name.empty() || op.zone.empty()) return Status::InvalidArgument(what + ": operation has no name or zone");
  const std::string op_url = ZoneUrl(op.zone) + "/operations/" + UrlEncode(op.name);
  Operation current = op;
  bool poll_with_get = false;
  while (true) {
    milliseconds remaining = Remaining(deadline);
    if (remaining.count() <= 0) {
      return MakeCloudError(CloudErrorKind::kDeadlineExceeded,
                            what + ": not DONE by the deadline (status " + current.status + ", progress " +
                                std::to_string(current.progress) + "%)");
    }
    auto started = Clock::now();
    StatusOr<CallResult> r = Status::OK();
    if (!poll_with_get) {
      CallOptions call;
      call.timeout = std::min(options_.wait_request_timeout, remaining);
      call.deadline = deadline;
      call.raw_errors = true;
      r = Call("POST", op_url + "/wait", "", what, call);
      if (r.ok() && !Is2xx(r->status)) {
        long code = r->status;
        if (code == 404 || code == 405 || code == 501) {
          // Maybe the endpoint has no .../wait: fall back to polling get.
          CallOptions get;
          get.deadline = deadline;
          auto g = Call("GET", op_url, "", what, get);
          if (!g.ok()) return g.status();
          spdlog::info("gce: {} answered HTTP {} to zoneOperations.wait; polling zoneOperations.get instead",
                       http::RedactUrl(options_.endpoint), code);
          poll_with_get = true;
          r = std::move(g);
        } else {
          return GceHttpError(code, r->body, what);
        }
      }
    } else {
      CallOptions get;
      get.deadline = deadline;
      r = Call("GET", op_url, "", what, get);
    }
    if (!r.ok()) return r.status();
    auto parsed = ParseOperation(safe_json::Parse(r->body), what);
    if (!parsed.ok()) return parsed.status();
    current = std::move(*parsed);
    if (current.zone.empty()) current.zone = op.zone;
    if (current.done()) {
      if (!current.error.ok()) {
        spdlog::warn("gce: operation {} ({} {}) failed: {}", current.name, current.operation_type, current.target_name,
                     current.error.ToString());
      }
      return current;
    }
    // zoneOperations.wait may return at once; never spin.
    auto elapsed = Clock::now() - started;
    if (poll_with_get || elapsed < options_.poll_interval) {
      auto pause = std::min<milliseconds>(options_.poll_interval, Remaining(deadline));
      if (pause.count() > 0 && !SleepUnlessShutdown(pause)) {
        return Status::Cancelled(what + ": the process is shutting down (operation still running)");
      }
    }
  }
}

StatusOr<std::vector<MachineTypeInfo>> GceCloudProvider::ListMachineTypes(const std::string& zone) {
  const std::string what = "gce list machine types in " + zone;
  if (zone.empty()) return Status::InvalidArgument(what + ": zone is empty");
  std::vector<MachineTypeInfo> out;
  std::string page_token;
  std::set<std::string> seen_tokens;
  while (true) {
    std::string url = ZoneUrl(zone) + "/machineTypes?maxResults=500";
    if (!page_token.empty()) url += "&pageToken=" + UrlEncode(page_token);
    auto r = Call("GET", url, "", what);
    if (!r.ok()) return r.status();
    auto j = safe_json::Parse(r->body);
    if (j.is_discarded() || !j.is_object()) return Status::Internal(what + ": response is not a JSON object");
    if (j.contains("items") && j["items"].is_array()) {
      for (const auto& item : j["items"]) {
        auto m = ParseMachineType(item, what);
        if (!m.ok()) return m.status();
        if (m->zone.empty()) m->zone = zone;
        out.push_back(std::move(*m));
      }
    }
    page_token = j.contains("nextPageToken") && j["nextPageToken"].is_string() ? j["nextPageToken"].get<std::string>()
                                                                                : "";
    if (page_token.empty()) break;
    if (!seen_tokens.insert(page_token).second) {
      return Status::Internal(what + ": server repeated pageToken; refusing to loop");
    }
  }
  return out;
}

StatusOr<MachineTypeInfo> GceCloudProvider::GetMachineType(const std::string& zone, const std::string& name) {
  const std::string what = "gce get machine type " + zone + "/" + name;
  if (zone.empty() || name.empty()) return Status::InvalidArgument(what + ": zone and name are required");
  auto r = Call("GET", ZoneUrl(zone) + "/machineTypes/" + UrlEncode(name), "", what);
  if (!r.ok()) return r.status();
  auto m = ParseMachineType(safe_json::Parse(r->body), what);
  if (m.ok() && m->zone.empty()) m->zone = zone;
  return m;
}

}  // namespace kinema::cloud
