#include "engine/kube/client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "engine/common/safe_json.h"
#include "engine/common/shutdown.h"
#include "engine/common/text.h"
#include "engine/http/redact.h"
#include "engine/common/time.h"

namespace kinema::kube {

namespace {

double Jitter() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

bool IsMutating(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

std::string ObjectRef(const ResourceKind& kind, std::string_view ns, std::string_view name) {
  std::string s = kind.QualifiedName() + " ";
  if (kind.namespaced && !ns.empty()) {
    s += ns;
    s += "/";
  }
  s += name.empty() ? std::string(kind.namespaced && ns.empty() ? "(all namespaces)" : "") : std::string(name);
  return s;
}

void AddParam(std::string& q, const char* name, const std::string& value) {
  if (value.empty()) return;
  if (!q.empty()) q += '&';
  q += name;
  q += '=';
  q += http::UrlEncode(value);
}

Status ShuttingDown(const std::string& what) {
  return Status::Cancelled(what + ": the process is shutting down (retry abandoned)");
}

StatusOr<Json> ParseObject(const RawResponse& r, const std::string& what) { return DecodeObject(r.status, r.body, what); }

}  // namespace

StatusOr<Json> DecodeObject(int http_status, std::string_view body, const std::string& what) {
  auto j = safe_json::Parse(body);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Internal(what + ": response is not a JSON object (HTTP " + std::to_string(http_status) + "): " +
                            Excerpt(body, 120));
  }
  return j;
}

StatusOr<ListPage> DecodeListPage(int http_status, std::string_view body, const ResourceKind& kind,
                                  const std::string& what) {
  auto j = DecodeObject(http_status, body, what);
  if (!j.ok()) return j.status();
  ListPage page;
  page.resource_version = obj::ResourceVersion(*j);
  page.continue_token = obj::StringAt(*j, "metadata.continue");
  auto items = j->find("items");
  if (items != j->end() && items->is_array()) {
    page.items.reserve(items->size());
    size_t i = 0;
    for (auto& item : *items) {
      if (!item.is_object()) return Status::Internal(what + ": items[" + std::to_string(i) + "] is not an object");
      // List items omit kind/apiVersion; restore them so objects are self-describing.
      if (!item.contains("kind")) item["kind"] = std::string(kind.kind);
      if (!item.contains("apiVersion")) item["apiVersion"] = kind.ApiVersion();
      page.items.push_back(std::move(item));
      ++i;
    }
  } else if (items != j->end() && !items->is_null()) {
    return Status::Internal(what + ": items is not an array");
  }
  return page;
}

WatchLineResult DecodeWatchLine(std::string_view line, const ResourceKind& kind, const std::string& what) {
  WatchLineResult out;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (line.empty()) {
    out.skip = true;
    return out;
  }
  auto ev = safe_json::Parse(line);
  const auto type = safe_json::OptString(ev, "type");
  if (!type) {
    out.error = Status::Internal(what + ": malformed watch event: " + Excerpt(line, 120));
    return out;
  }
  WatchEvent event;
  event.object = ev.contains("object") ? std::move(ev["object"]) : Json::object();
  if (*type == "ADDED") event.type = WatchEventType::kAdded;
  else if (*type == "MODIFIED") event.type = WatchEventType::kModified;
  else if (*type == "DELETED") event.type = WatchEventType::kDeleted;
  else if (*type == "BOOKMARK") event.type = WatchEventType::kBookmark;
  else if (*type == "ERROR") event.type = WatchEventType::kError;
  else {
    out.error = Status::Internal(what + ": unknown watch event type \"" + Excerpt(*type, 64) + "\"");
    return out;
  }
  if (event.type == WatchEventType::kError) {
    const int64_t code = safe_json::Int(event.object, "code", 500);
    ApiError err = ApiError::Parse(code >= 100 && code <= 599 ? static_cast<int>(code) : 500,
                                   safe_json::Dump(event.object));
    out.gone = err.code == 410;
    out.error = err.ToStatus(what);
    return out;
  }
  if (event.type != WatchEventType::kBookmark && !event.object.is_object()) {
    out.error = Status::Internal(what + ": watch event object is not a JSON object");
    return out;
  }
  if (event.object.is_object() && event.type != WatchEventType::kBookmark) {
    if (!event.object.contains("kind")) event.object["kind"] = std::string(kind.kind);
    if (!event.object.contains("apiVersion")) event.object["apiVersion"] = kind.ApiVersion();
  }
  out.event = std::move(event);
  return out;
}

std::optional<int> ParseRetryAfter(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty() || value.size() > 6) return std::nullopt;
  int v = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v > 86400) return std::nullopt;
  return v;
}

const char* PatchContentType(PatchType type) {
  switch (type) {
    case PatchType::kMerge: return "application/merge-patch+json";
    case PatchType::kStrategicMerge: return "application/strategic-merge-patch+json";
    case PatchType::kJson: return "application/json-patch+json";
    case PatchType::kApply: return "application/apply-patch+yaml";
  }
  return "application/merge-patch+json";
}

const char* WatchEventTypeName(WatchEventType t) {
  switch (t) {
    case WatchEventType::kAdded: return "ADDED";
    case WatchEventType::kModified: return "MODIFIED";
    case WatchEventType::kDeleted: return "DELETED";
    case WatchEventType::kBookmark: return "BOOKMARK";
    case WatchEventType::kError: return "ERROR";
  }
  return "?";
}

Client::Client(RestConfig config, ClientOptions options)
    : config_(std::move(config)),
      options_(std::move(options)),
      http_(config_.tls),
      credentials_(config_),
      limiter_(options_.qps, options_.burst) {}

Client::~Client() = default;

StatusOr<std::unique_ptr<Client>> Client::Create(const RestConfig& config, ClientOptions options) {
  if (config.server.empty()) return Status::InvalidArgument("kube client: no API server address");
  for (const std::string* f : {&config.tls.ca_file, &config.tls.client_cert_file, &config.tls.client_key_file}) {
    if (!f->empty() && !std::filesystem::exists(*f)) {
      return Status::NotFound("kube client: file " + *f + " does not exist");
    }
  }
  if (config.server.rfind("http://", 0) == 0 && (!config.token.empty() || !config.token_file.empty() || config.exec)) {
    spdlog::warn("kube client: sending bearer credentials over plain HTTP to {}", http::RedactUrl(config.server));
  }
  spdlog::info("kube client: {}", config.DebugString());
  return std::unique_ptr<Client>(new Client(config, std::move(options)));
}

http::Request Client::BuildRequest(const std::string& method, const std::string& path_and_query, std::string body,
                                   const std::string& content_type, std::chrono::milliseconds timeout,
                                   const std::string& token) const {
  http::Request req;
  req.method = method;
  req.url = config_.server + path_and_query;
  req.body = std::move(body);
  req.bearer_token = token;
  req.timeout = timeout;
  req.headers.push_back({"Accept", "application/json"});
  req.headers.push_back({"User-Agent", options_.user_agent});
  req.max_response_bytes = options_.max_response_bytes;
  if (!req.body.empty() || IsMutating(method)) req.headers.push_back({"Content-Type", content_type});
  return req;
}

StatusOr<RawResponse> Client::Do(const RawRequest& request, ApiError* api_error) {
  const std::string what = request.what.empty() ? request.method + " " + request.path : request.what;
  const std::string target = request.query.empty() ? request.path : request.path + "?" + request.query;
  const auto timeout = request.timeout.count() > 0 ? request.timeout : options_.request_timeout;
  const bool mutating = IsMutating(request.method);
  bool reauthenticated = false;
  int attempts = 0;
  while (true) {
    limiter_.Acquire(std::chrono::steady_clock::time_point::max());
    // Checked right before each send (after any rate-limit wait), so a lease
    // lost while waiting still stops the write.
    if (mutating && !request.bypass_mutation_gate) {
      const EpochProvider* gate = gate_.load();
      if (gate != nullptr && !gate->Current().has_value()) {
        return Status::PermissionDenied(what + ": refused: this process does not hold the leader lease");
      }
    }
    auto token = credentials_.Token();
    if (!token.ok()) return token.status().WithContext(what);
    ++attempts;
    requests_sent_.fetch_add(1);
    auto start = std::chrono::steady_clock::now();
    auto resp = http_.Do(BuildRequest(request.method, target, request.body, request.content_type, timeout, *token));
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();

    if (!resp.ok()) {
      RetryDecision d = Decide(options_.retry, attempts, resp.status(), 0, std::nullopt, true, Jitter());
      if (d.retry) {
        spdlog::warn("kube {}: attempt {} failed ({}), retrying in {} ms", what, attempts, resp.status().ToString(),
                     d.delay.count());
        if (!SleepUnlessShutdown(d.delay)) return ShuttingDown(what);
        continue;
      }
      return resp.status().WithContext(what + " (after " + std::to_string(attempts) + " attempt" +
                                        (attempts == 1 ? "" : "s") + ")");
    }
    const int code = static_cast<int>(resp->status);
    spdlog::debug("kube {} {} -> {} in {} ms (attempt {})", request.method, target, code, ms, attempts);
    if (code >= 200 && code < 300) return RawResponse{code, std::move(resp->body)};

    ApiError err = ApiError::Parse(code, resp->body);
    if (const std::string* ra = resp->FindHeader("Retry-After"); ra != nullptr) {
      if (auto secs = ParseRetryAfter(*ra)) err.retry_after_seconds = *secs;
    }
    if (code == 401 && !reauthenticated) {
      // Token may have rotated or expired: re-read / re-run the plugin once.
      reauthenticated = true;
      credentials_.Invalidate();
      --attempts;  // the refresh does not count against the retry budget
      continue;
    }
    bool retryable = (code == 429 && request.retry_429) || (code >= 500 && request.retry_5xx);
    if (retryable) {
      RetryDecision d = Decide(options_.retry, attempts, Status::OK(), code, err.retry_after_seconds,
                               request.retry_5xx, Jitter());
      if (d.retry) {
        if (code == 429 && err.retry_after_seconds) {
          limiter_.PauseUntil(std::chrono::steady_clock::now() + d.delay);
        }
        spdlog::warn("kube {}: HTTP {} {} (attempt {}), retrying in {} ms", what, code, err.reason, attempts,
                     d.delay.count());
        if (!SleepUnlessShutdown(d.delay)) return ShuttingDown(what);
        continue;
      }
    }
    if (api_error != nullptr) *api_error = err;
    std::string ctx = what;
    if (attempts > 1) ctx += " (after " + std::to_string(attempts) + " attempts)";
    return err.ToStatus(ctx);
  }
}

StatusOr<Json> Client::Get(const ResourceKind& kind, std::string_view ns, std::string_view name) {
  RawRequest r;
  r.path = kind.Path(ns, name);
  r.what = "get " + ObjectRef(kind, ns, name);
  auto resp = Do(r);
  if (!resp.ok()) return resp.status();
  return ParseObject(*resp, r.what);
}

StatusOr<ListPage> Client::ListPageOf(const ResourceKind& kind, std::string_view ns, const ListOptions& options,
                                      const std::string& continue_token) {
  RawRequest r;
  r.path = kind.Path(ns);
  r.what = "list " + ObjectRef(kind, ns, "");
  AddParam(r.query, "labelSelector", options.label_selector);
  AddParam(r.query, "fieldSelector", options.field_selector);
  if (options.limit > 0) AddParam(r.query, "limit", std::to_string(options.limit));
  AddParam(r.query, "continue", continue_token);
  if (continue_token.empty()) {
    AddParam(r.query, "resourceVersion", options.resource_version);
    AddParam(r.query, "resourceVersionMatch", options.resource_version_match);
  }
  auto resp = Do(r);
  if (!resp.ok()) return resp.status();
  return DecodeListPage(resp->status, resp->body, kind, r.what);
}

StatusOr<ObjectList> Client::List(const ResourceKind& kind, std::string_view ns, const ListOptions& options) {
  constexpr int kMaxRestarts = 3;
  ObjectList out;
  ListOptions opts = options;
  while (true) {
    out.items.clear();
    out.pages = 0;
    std::string token;
    Status failure;
    do {
      auto page = ListPageOf(kind, ns, opts, token);
      if (!page.ok()) {
        failure = page.status();
        break;
      }
      ++out.pages;
      if (out.pages == 1) out.resource_version = page->resource_version;
      for (auto& item : page->items) out.items.push_back(std::move(item));
      token = page->continue_token;
    } while (!token.empty());
    if (failure.ok()) return out;
    // An expired continue token: the snapshot is gone. Restart from a fresh
    // list; the last restart fetches everything in one response.
    bool expired = failure.code() == Status::Code::kFailedPrecondition && !token.empty();
    if (!expired || out.restarts >= kMaxRestarts) return failure;
    ++out.restarts;
    spdlog::warn("kube list {}: continue token expired, restarting the list ({} of {})", kind.QualifiedName(),
                 out.restarts, kMaxRestarts);
    opts.resource_version.clear();
    opts.resource_version_match.clear();
    if (out.restarts == kMaxRestarts) opts.limit = 0;
  }
}

StatusOr<Json> Client::Create(const ResourceKind& kind, std::string_view ns, const Json& object) {
  RawRequest r;
  r.method = "POST";
  r.path = kind.Path(ns);
  r.what = "create " + ObjectRef(kind, ns, obj::Name(object));
  Json body = object;
  if (!body.contains("apiVersion")) body["apiVersion"] = kind.ApiVersion();
  if (!body.contains("kind")) body["kind"] = std::string(kind.kind);
  r.body = body.dump();
  auto resp = Do(r);
  if (!resp.ok()) return resp.status();
  return ParseObject(*resp, r.what);
}

StatusOr<Json> Client::Update(const ResourceKind& kind, const Json& object, std::string_view subresource) {
  std::string ns = obj::Namespace(object);
  std::string name = obj::Name(object);
  std::string what = std::string(subresource.empty() ? "update " : "update " + std::string(subresource) + " of ") +
                     ObjectRef(kind, ns, name);
  if (name.empty()) return Status::InvalidArgument(what + ": object has no metadata.name");
  if (kind.namespaced && ns.empty()) return Status::InvalidArgument(what + ": object has no metadata.namespace");
  RawRequest r;
  r.method = "PUT";
  r.path = kind.Path(ns, name, subresource);
  r.what = what;
  r.body = object.dump();
  auto resp = Do(r);
  if (!resp.ok()) return resp.status();
  return ParseObject(*resp, r.what);
}

StatusOr<Json> Client::GetAndUpdate(const ResourceKind& kind, std::string_view ns, std::string_view name,
                                    const MutateFn& mutate, std::string_view subresource) {
  const int max_attempts = std::max(1, options_.conflict_retries + 1);
  Status last;
  for (int attempt = 1; attempt <= max_attempts; ++attempt) {
    auto current = Get(kind, ns, name);
    if (!current.ok()) return current.status();
    Json obj = std::move(*current);
    Status m = mutate(obj);
    if (!m.ok()) return m;
    auto updated = Update(kind, obj, subresource);
    if (updated.ok()) return updated;
    last = updated.status();
    if (last.code() != Status::Code::kConflict) return last;
    if (attempt == max_attempts) break;
    // Full jitter (5 ms .. 5 ms * 2^attempt, capped at 320 ms) so writers that
    // collided do not collide again in lockstep.
    thread_local std::mt19937 rng{std::random_device{}()};
    const int cap_ms = std::min(320, 5 << std::min(attempt, 6));
    const int wait_ms = std::uniform_int_distribution<int>(5, cap_ms)(rng);
    spdlog::info("kube update {}: conflict on attempt {} of {}, re-reading in {} ms", ObjectRef(kind, ns, name),
                 attempt, max_attempts, wait_ms);
    if (!SleepUnlessShutdown(std::chrono::milliseconds(wait_ms))) return ShuttingDown("update " + ObjectRef(kind, ns, name));
  }
  return Status::Conflict("update " + ObjectRef(kind, ns, name) + ": still conflicting after " +
                          std::to_string(max_attempts) + " attempts: " + last.message());
}

StatusOr<Json> Client::Patch(const ResourceKind& kind, std::string_view ns, std::string_view name, PatchType type,
                             const Json& patch, std::string_view subresource) {
  RawRequest r;
  r.method = "PATCH";
  r.path = kind.Path(ns, name, subresource);
  r.what = std::string(subresource.empty() ? "patch " : "patch " + std::string(subresource) + " of ") +
           ObjectRef(kind, ns, name);
  r.content_type = PatchContentType(type);
  if (type == PatchType::kJson && !patch.is_array()) {
    return Status::InvalidArgument(r.what + ": a JSON patch must be an array of operations");
  }
  if (type != PatchType::kJson && !patch.is_object()) {
    return Status::InvalidArgument(r.what + ": a merge/strategic/apply patch must be a JSON object");
  }
  if (type == PatchType::kApply) {
    AddParam(r.query, "fieldManager", options_.field_manager);
    AddParam(r.query, "force", "true");
  }
  r.body = patch.dump();  // JSON is valid YAML, so this also serves apply
  auto resp = Do(r);
  if (!resp.ok()) return resp.status();
  return ParseObject(*resp, r.what);
}

Status Client::Delete(const ResourceKind& kind, std::string_view ns, std::string_view name,
                      const DeleteOptions& options) {
  RawRequest r;
  r.method = "DELETE";
  r.path = kind.Path(ns, name);
  r.what = "delete " + ObjectRef(kind, ns, name);
  Json body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}};
  if (!options.precondition_uid.empty()) body["preconditions"]["uid"] = options.precondition_uid;
  if (!options.precondition_resource_version.empty()) {
    body["preconditions"]["resourceVersion"] = options.precondition_resource_version;
  }
  if (options.grace_period_seconds) body["gracePeriodSeconds"] = *options.grace_period_seconds;
  if (!options.propagation_policy.empty()) body["propagationPolicy"] = options.propagation_policy;
  r.body = body.dump();
  auto resp = Do(r);
  return resp.status();
}

Status Client::Evict(std::string_view ns, std::string_view pod, const EvictOptions& options) {
  const std::string what = "evict pod " + std::string(ns) + "/" + std::string(pod);
  Json body = {{"apiVersion", "policy/v1"},
               {"kind", "Eviction"},
               {"metadata", {{"name", std::string(pod)}, {"namespace", std::string(ns)}}}};
  if (options.grace_period_seconds || !options.precondition_uid.empty()) {
    Json del = Json::object();
    if (options.grace_period_seconds) del["gracePeriodSeconds"] = *options.grace_period_seconds;
    if (!options.precondition_uid.empty()) del["preconditions"]["uid"] = options.precondition_uid;
    body["deleteOptions"] = del;
  }
  RawRequest r;
  r.method = "POST";
  r.path = resources::kPods.Path(ns, pod, "eviction");
  r.what = what;
  r.body = body.dump();
  r.retry_429 = false;  // handled here: a PDB refusal must not throttle the whole client
  r.retry_5xx = false;  // handled here: "more than one PDB" is final
  const auto deadline = std::chrono::steady_clock::now() + options.max_wait;
  RetryPolicy backoff;
  backoff.initial_backoff = options.initial_backoff;
  backoff.max_backoff = options.max_backoff;
  int refusals = 0;
  int server_errors = 0;
  while (true) {
    ApiError err;
    auto resp = Do(r, &err);
    if (resp.ok()) {
      spdlog::info("kube {}: accepted (HTTP {})", what, resp->status);
      return Status::OK();
    }
    std::chrono::milliseconds delay{0};
    if (err.code == 429) {
      ++refusals;
      delay = err.retry_after_seconds && *err.retry_after_seconds > 0
                  ? std::chrono::milliseconds(std::chrono::seconds(*err.retry_after_seconds))
                  : backoff.Backoff(refusals, Jitter());
    } else if (err.code >= 500 && err.code != 501) {
      if (err.message.find("more than one PodDisruptionBudget") != std::string::npos) {
        return Status::FailedPrecondition(what + ": refused: " + err.Describe() + " (not retried)");
      }
      ++server_errors;
      if (server_errors >= options_.retry.max_attempts) return resp.status();
      delay = options_.retry.Backoff(server_errors, Jitter());
    } else {
      return resp.status();
    }
    if (std::chrono::steady_clock::now() + delay > deadline) {
      if (err.code == 429) {
        return Status::ResourceExhausted(what + ": blocked by a PodDisruptionBudget for " +
                                         std::to_string(options.max_wait.count() / 1000) + " s (" +
                                         std::to_string(refusals) + " refusals): " + err.Describe());
      }
      return resp.status();
    }
    spdlog::info("kube {}: HTTP {} {}, retrying in {} ms", what, err.code, err.reason, delay.count());
    if (!SleepUnlessShutdown(delay)) return ShuttingDown(what);
  }
}

StatusOr<Json> Client::ResizePod(std::string_view ns, std::string_view pod, const Json& strategic_patch) {
  return Patch(resources::kPods, ns, pod, PatchType::kStrategicMerge, strategic_patch, "resize");
}

Status Client::RecordEvent(const Json& involved, const std::string& type, const std::string& reason,
                           const std::string& message) {
  std::string ns = obj::Namespace(involved);
  if (ns.empty()) ns = "default";  // events about cluster-scoped objects live in "default"
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  std::string ts = FormatRfc3339(now, 0);
  std::string name = obj::Name(involved) + "." + std::to_string(secs) + std::to_string(static_cast<int>(Jitter() * 1e6));
  Json ev = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", name}, {"namespace", ns}}},
      {"involvedObject",
       {{"apiVersion", safe_json::String(involved, "apiVersion")},
        {"kind", safe_json::String(involved, "kind")},
        {"name", obj::Name(involved)},
        {"namespace", obj::Namespace(involved)},
        {"uid", obj::Uid(involved)},
        {"resourceVersion", obj::ResourceVersion(involved)}}},
      {"type", type},
      {"reason", reason},
      {"message", message},
      {"source", {{"component", "kinema"}}},
      {"firstTimestamp", ts},
      {"lastTimestamp", ts},
      {"count", 1},
  };
  return Create(resources::kEvents, ns, ev).status();
}

WatchResult Client::Watch(const ResourceKind& kind, std::string_view ns, const WatchOptions& options,
                          const std::function<bool(const WatchEvent&)>& on_event, const std::atomic<bool>* cancel) {
  WatchResult result;
  result.last_resource_version = options.resource_version;
  const std::string what = "watch " + ObjectRef(kind, ns, "");
  std::string query = "watch=1";
  AddParam(query, "resourceVersion", options.resource_version);
  AddParam(query, "labelSelector", options.label_selector);
  AddParam(query, "fieldSelector", options.field_selector);
  if (options.allow_bookmarks) AddParam(query, "allowWatchBookmarks", "true");
  if (options.timeout_seconds > 0) AddParam(query, "timeoutSeconds", std::to_string(options.timeout_seconds));

  limiter_.Acquire(std::chrono::steady_clock::time_point::max());
  auto token = credentials_.Token();
  if (!token.ok()) {
    result.status = token.status().WithContext(what);
    return result;
  }
  auto timeout = std::chrono::milliseconds(std::chrono::seconds(options.timeout_seconds > 0 ? options.timeout_seconds
                                                                                              : 3600) +
                                           std::chrono::seconds(30));
  http::Request req = BuildRequest("GET", kind.Path(ns) + "?" + query, "", "", timeout, *token);
  requests_sent_.fetch_add(1);

  std::string buffer;
  bool stop = false;
  Status stream_error;
  auto handle_line = [&](std::string_view line) {
    WatchLineResult decoded = DecodeWatchLine(line, kind, what);
    if (decoded.skip) return;
    if (!decoded.event) {
      result.gone = result.gone || decoded.gone;
      stream_error = decoded.error;
      stop = true;
      return;
    }
    WatchEvent& event = *decoded.event;
    if (event.object.is_object()) {
      std::string rv = obj::ResourceVersion(event.object);
      if (!rv.empty()) result.last_resource_version = rv;
    }
    ++result.events;
    if (!on_event(event)) stop = true;
  };

  auto resp = http_.Stream(
      req,
      [&](std::string_view chunk) {
        buffer.append(chunk);
        size_t start = 0;
        size_t nl;
        while (!stop && (nl = buffer.find('\n', start)) != std::string::npos) {
          handle_line(std::string_view(buffer).substr(start, nl - start));
          start = nl + 1;
        }
        buffer.erase(0, start);
        if (!stop && buffer.size() > kMaxWatchLineBytes) {
          stream_error = Status::ResourceExhausted(what + ": a watch event exceeds " +
                                                   std::to_string(kMaxWatchLineBytes) + " bytes");
          stop = true;
        }
        return !stop;
      },
      cancel);
  if (!stop && !buffer.empty()) handle_line(buffer);  // final line without newline

  if (!resp.ok()) {
    result.status = resp.status().WithContext(what);
    return result;
  }
  if (resp->status < 200 || resp->status >= 300) {
    ApiError err = ApiError::Parse(static_cast<int>(resp->status), resp->body);
    result.gone = err.code == 410;
    result.status = err.ToStatus(what);
    return result;
  }
  result.status = stream_error;
  return result;
}

}  // namespace kinema::kube
