// kube::Client: the Kubernetes REST client (typed verbs over JSON objects).
//
// Contract:
//   - Every request: waits for the client-side token bucket (default 20 QPS,
//     burst 30), carries the current bearer token, and has a timeout
//     (ClientOptions::request_timeout; watches: their timeoutSeconds + 30 s).
//   - Retries (RetryPolicy): connection errors, timeouts and 5xx with jittered
//     exponential backoff; 429 after Retry-After (which also pauses the whole
//     client's rate limiter); one re-authentication after a 401. No retry for
//     other 4xx. The number of HTTP exchanges per call is therefore bounded by
//     max_attempts (+1 for the 401 refresh).
//   - Failures are kinema::Status values whose code follows ApiError::ToStatus
//     and whose message names the operation and object
//     ("patch deployments.apps shop/cart: Conflict (HTTP 409): ..."). Callers
//     that need reason/causes pass an ApiError* to Do().
//   - Mutation gate: when SetMutationGate(gate) is set, every POST/PUT/PATCH/
//     DELETE first asks gate->Current(); with no epoch it fails with
//     kPermissionDenied and sends nothing (the leader elector's own Lease
//     writes bypass the gate). Losing leadership thus stops all writes at once.
//   - Tokens and client keys never appear in Status messages or logs.
//   - Answers are untrusted: bodies are bounded (max_response_bytes, watch
//     lines kMaxWatchLineBytes), decoded by the Decode* functions below
//     (never throwing; a wrong JSON type is an error Status naming the
//     operation), and a Retry-After header that is not delta-seconds in
//     [0, 86400] is ignored.
// Thread-safety: all methods may be called concurrently from many threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/status.h"
#include "engine/http/url.h"
#include "engine/http/http_client.h"
#include "engine/kube/api_error.h"
#include "engine/kube/credentials.h"
#include "engine/kube/object.h"
#include "engine/kube/rate_limiter.h"
#include "engine/kube/resource.h"
#include "engine/kube/rest_config.h"
#include "engine/kube/retry_policy.h"
#include "engine/workflow/epoch_provider.h"

namespace kinema::kube {

struct ClientOptions {
  double qps = 20;   // <= 0 disables the client-side limiter
  int burst = 30;
  std::chrono::milliseconds request_timeout{30000};
  RetryPolicy retry;
  int conflict_retries = 5;  // GetAndUpdate: re-reads after a 409
  std::string user_agent = "kinema/0.1";
  std::string field_manager = "kinema";
  // Largest answer read into memory (a list page of 500 big objects fits
  // many times over); larger ones fail with kResourceExhausted. A watch
  // event line is bounded by kMaxWatchLineBytes.
  size_t max_response_bytes = 64u << 20;
};

inline constexpr size_t kMaxWatchLineBytes = 16u << 20;

enum class PatchType {
  kMerge,           // application/merge-patch+json (RFC 7386)
  kStrategicMerge,  // application/strategic-merge-patch+json
  kJson,            // application/json-patch+json (RFC 6902); the patch is an array
  kApply,           // application/apply-patch+yaml (server-side apply, force)
};
const char* PatchContentType(PatchType type);

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t limit = 500;                  // page size; 0 = one unpaginated list
  std::string resource_version;         // "" = most recent (consistent read)
  std::string resource_version_match;   // "", "NotOlderThan", "Exact"
};

struct ListPage {
  std::vector<Json> items;
  std::string resource_version;
  std::string continue_token;  // "" on the last page
};

struct ObjectList {
  std::vector<Json> items;
  std::string resource_version;  // the list's snapshot; start a watch from here
  int pages = 0;
  int restarts = 0;  // times an expired continue token (410) restarted the list
};

struct DeleteOptions {
  std::string precondition_uid;               // "" = none
  std::string precondition_resource_version;  // "" = none
  std::optional<int64_t> grace_period_seconds;
  std::string propagation_policy;             // "", "Foreground", "Background", "Orphan"
};

struct EvictOptions {
  std::optional<int64_t> grace_period_seconds;
  std::string precondition_uid;
  // How long to keep retrying while a PodDisruptionBudget refuses (429).
  std::chrono::milliseconds max_wait{60000};
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{10000};
};

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };
const char* WatchEventTypeName(WatchEventType t);

struct WatchEvent {
  WatchEventType type;
  Json object;  // for kError: the Status object
};

struct WatchOptions {
  std::string resource_version;  // "" or "0": synthetic ADDED for existing objects first
  std::string label_selector;
  std::string field_selector;
  bool allow_bookmarks = true;
  int timeout_seconds = 300;     // server closes the stream after this
};

struct WatchResult {
  Status status;                  // OK: closed normally (timeout) or stopped by the callback
  bool gone = false;              // 410: resourceVersion too old → relist
  std::string last_resource_version;  // resume point (from events and bookmarks)
  int events = 0;                 // events delivered, bookmarks included
};

// A raw request for anything the typed verbs do not cover.
struct RawRequest {
  std::string method = "GET";
  std::string path;         // "/api/v1/nodes"
  std::string query;        // already encoded, without '?'
  std::string body;
  std::string content_type = "application/json";
  std::string what;         // context for error messages, e.g. "get pods shop/x"
  bool retry_5xx = true;
  bool retry_429 = true;
  bool bypass_mutation_gate = false;  // only for the leader elector's Lease writes
  std::chrono::milliseconds timeout{0};  // 0 = ClientOptions::request_timeout
};

struct RawResponse {
  int status = 0;
  std::string body;
};

class Client {
 public:
  // Builds a client from a RestConfig (validates TLS files, sets up credentials).
  static StatusOr<std::unique_ptr<Client>> Create(const RestConfig& config, ClientOptions options = {});
  ~Client();

  StatusOr<Json> Get(const ResourceKind& kind, std::string_view ns, std::string_view name);

  // One page. `continue_token` "" for the first page.
  StatusOr<ListPage> ListPageOf(const ResourceKind& kind, std::string_view ns, const ListOptions& options,
                                const std::string& continue_token);
  // All pages. An expired continue token (410) restarts the list from the
  // beginning (at most 3 times, the last one unpaginated).
  StatusOr<ObjectList> List(const ResourceKind& kind, std::string_view ns, const ListOptions& options = {});

  StatusOr<Json> Create(const ResourceKind& kind, std::string_view ns, const Json& object);
  // PUT of the whole object (namespace/name from its metadata). Conditional
  // when metadata.resourceVersion is set (409 Conflict if stale).
  StatusOr<Json> Update(const ResourceKind& kind, const Json& object, std::string_view subresource = {});

  // Read-modify-write: GET, mutate(obj), PUT; on 409 Conflict re-read and
  // retry, at most conflict_retries times. A non-OK status from mutate stops
  // and is returned as is (nothing written).
  using MutateFn = std::function<Status(Json& object)>;
  StatusOr<Json> GetAndUpdate(const ResourceKind& kind, std::string_view ns, std::string_view name,
                              const MutateFn& mutate, std::string_view subresource = {});

  StatusOr<Json> Patch(const ResourceKind& kind, std::string_view ns, std::string_view name, PatchType type,
                       const Json& patch, std::string_view subresource = {});

  Status Delete(const ResourceKind& kind, std::string_view ns, std::string_view name,
                const DeleteOptions& options = {});

  // POST pods/NAME/eviction (policy/v1). 429 (a PDB refuses) is retried with
  // backoff up to max_wait, then kResourceExhausted; 500 "more than one
  // PodDisruptionBudget" is kFailedPrecondition (not retried); a missing pod is
  // kNotFound.
  Status Evict(std::string_view ns, std::string_view pod, const EvictOptions& options = {});

  // PATCH pods/NAME/resize with a strategic-merge patch of container resources.
  StatusOr<Json> ResizePod(std::string_view ns, std::string_view pod, const Json& strategic_patch);

  // Records a core/v1 Event about `involved` (type "Normal" or "Warning").
  Status RecordEvent(const Json& involved, const std::string& type, const std::string& reason,
                     const std::string& message);

  // Runs one watch stream until the server closes it, the callback returns
  // false, `cancel` is raised, or an error. Never retries by itself: the
  // caller (Informer) decides between resume (last_resource_version) and
  // relist (gone).
  WatchResult Watch(const ResourceKind& kind, std::string_view ns, const WatchOptions& options,
                    const std::function<bool(const WatchEvent&)>& on_event,
                    const std::atomic<bool>* cancel = nullptr);

  StatusOr<RawResponse> Do(const RawRequest& request, ApiError* api_error = nullptr);

  void SetMutationGate(const EpochProvider* gate) { gate_.store(gate); }

  uint64_t requests_sent() const { return requests_sent_.load(); }
  const std::string& server() const { return config_.server; }
  const std::string& default_namespace() const { return config_.default_namespace; }
  const ClientOptions& options() const { return options_; }

 private:
  Client(RestConfig config, ClientOptions options);
  http::Request BuildRequest(const std::string& method, const std::string& path_and_query, std::string body,
                             const std::string& content_type, std::chrono::milliseconds timeout,
                             const std::string& token) const;

  const RestConfig config_;
  const ClientOptions options_;
  http::HttpClient http_;
  CredentialProvider credentials_;
  TokenBucket limiter_;
  std::atomic<const EpochProvider*> gate_{nullptr};
  std::atomic<uint64_t> requests_sent_{0};
};


// ---- Decoding answers: exactly what the verbs above do with a body
// (exposed so that tests and fuzz targets exercise the client's own path).
// A body that is not a JSON object: kInternal naming `what` and the HTTP code.
StatusOr<Json> DecodeObject(int http_status, std::string_view body, const std::string& what);
// A list page: items restored to carry kind/apiVersion; an item that is not
// an object, or items that are not an array, is kInternal.
StatusOr<ListPage> DecodeListPage(int http_status, std::string_view body, const ResourceKind& kind,
                                  const std::string& what);
// One line of a watch stream: `skip` (blank line), an `event`, or an `error`
// that ends the stream (`gone` for 410 Expired).
struct WatchLineResult {
  bool skip = false;
  std::optional<WatchEvent> event;
  Status error;
  bool gone = false;
};
WatchLineResult DecodeWatchLine(std::string_view line, const ResourceKind& kind, const std::string& what);
// Retry-After as delta-seconds within [0, 86400]; nullopt otherwise (an
// HTTP date or junk: the client's own back-off applies).
std::optional<int> ParseRetryAfter(std::string_view value);

}  // namespace kinema::kube
