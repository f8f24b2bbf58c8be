// GoogleApiCaller: one call to a Google Cloud REST API (Compute, GKE,
// Cloud Billing) with Kinema's retry rules. Shared by the GCE and GKE
// providers and the billing price client, so they cannot drift apart.
//
// Contract:
//   - Call() sends one request (bearer token from the TokenSource, JSON
//     body, Accept: application/json) and retries, with jittered exponential
//     backoff (options.retry, honouring Retry-After): connection failures,
//     request timeouts, 5xx (not 501), 429, 403 rateLimitExceeded/
//     userRateLimitExceeded (how Compute reports rate limits) and 400
//     resourceNotReady (another operation on the resource still runs). No
//     other 4xx is retried (callers handle e.g. GKE's FAILED_PRECONDITION
//     "cluster has an operation" themselves: it lasts minutes, not seconds).
//     One 401 drops the cached token and retries with a fresh one.
//   - Every attempt has a timeout (CallOptions::timeout, else the default);
//     no attempt starts and no backoff sleeps past CallOptions::deadline.
//   - The result is the 2xx response; otherwise a typed cloud Status
//     (GceHttpError: the kinds of cloud_provider.h, message
//     "<what>: HTTP <code> <reason>: <message>", redacted) — or, with
//     raw_errors, the final non-2xx response itself.
//   - Tokens are never logged; URLs in logs go through RedactUrl().
// Thread-safety: safe for concurrent use (HttpClient and TokenSource are).
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/cloud/cloud_provider.h"
#include "engine/cloud/token_source.h"
#include "engine/http/http_client.h"
#include "engine/http/url.h"
#include "engine/kube/retry_policy.h"

namespace kinema::cloud {

struct ApiResponse {
  long status = 0;
  std::string body;
};

struct CallOptions {
  std::chrono::milliseconds timeout{0};                   // 0 = the caller's default
  Clock::time_point deadline = Clock::time_point::max();  // no attempt/sleep beyond it
  bool raw_errors = false;  // final non-2xx returned as an ApiResponse, not a Status
};

class GoogleApiCaller {
 public:
  // `service` names the API in logs ("gce", "gke", "billing").
  GoogleApiCaller(std::string service, std::shared_ptr<TokenSource> tokens,
                  std::shared_ptr<const http::HttpClient> http, kube::RetryPolicy retry,
                  std::chrono::milliseconds default_timeout);

  StatusOr<ApiResponse> Call(const std::string& method, const std::string& url, const std::string& body,
                             const std::string& what, const CallOptions& call) const;
  StatusOr<ApiResponse> Call(const std::string& method, const std::string& url, const std::string& body,
                             const std::string& what) const {
    return Call(method, url, body, what, CallOptions{});
  }

  const TokenSource& tokens() const { return *tokens_; }
  std::shared_ptr<TokenSource> shared_tokens() const { return tokens_; }
  std::shared_ptr<const http::HttpClient> http() const { return http_; }

 private:
  std::string service_;
  std::shared_ptr<TokenSource> tokens_;
  std::shared_ptr<const http::HttpClient> http_;
  kube::RetryPolicy retry_;
  std::chrono::milliseconds default_timeout_;
};

// Milliseconds left until `deadline` (max() for an unbounded deadline).
std::chrono::milliseconds Remaining(Clock::time_point deadline);


// Reads one page of a paginated Google list response: the items under
// `items_key` (absent = none) and nextPageToken. Refuses a token seen before
// (a server that loops), naming `what`.
struct PageCursor {
  std::string token;
  std::set<std::string> seen;
  // Records the next token from `page`; false when the list is complete.
  StatusOr<bool> Advance(const nlohmann::json& page, const std::string& what);
};

}  // namespace kinema::cloud
