#include "engine/cloud/google_api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <random>
#include <thread>

#include "engine/cloud/gce_wire.h"
#include "engine/common/shutdown.h"
#include "engine/kube/client.h"
#include "engine/http/redact.h"

namespace kinema::cloud {

namespace {

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

}  // namespace

milliseconds Remaining(Clock::time_point deadline) {
  if (deadline == Clock::time_point::max()) return milliseconds::max();
  return std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
}

StatusOr<bool> PageCursor::Advance(const nlohmann::json& page, const std::string& what) {
  token = page.is_object() && page.contains("nextPageToken") && page["nextPageToken"].is_string()
              ? page["nextPageToken"].get<std::string>()
              : "";
  if (token.empty()) return false;
  if (!seen.insert(token).second) return Status::Internal(what + ": server repeated pageToken; refusing to loop");
  return true;
}

GoogleApiCaller::GoogleApiCaller(std::string service, std::shared_ptr<TokenSource> tokens,
                                 std::shared_ptr<const http::HttpClient> http, kube::RetryPolicy retry,
                                 milliseconds default_timeout)
    : service_(std::move(service)),
      tokens_(tokens ? std::move(tokens) : std::shared_ptr<TokenSource>(NewNoTokenSource())),
      http_(http ? std::move(http) : std::make_shared<const http::HttpClient>()),
      retry_(retry),
      default_timeout_(default_timeout) {}

StatusOr<ApiResponse> GoogleApiCaller::Call(const std::string& method, const std::string& url,
                                            const std::string& body, const std::string& what,
                                            const CallOptions& call) const {
  const milliseconds base_timeout = call.timeout.count() > 0 ? call.timeout : default_timeout_;
  int attempts = 0;
  bool refreshed_token = false;
  while (true) {
    milliseconds remaining = Remaining(call.deadline);
    if (remaining.count() <= 0) {
      return MakeCloudError(CloudErrorKind::kDeadlineExceeded,
                            what + ": deadline passed" +
                                (attempts > 0 ? " after " + std::to_string(attempts) + " attempts" : ""));
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
        spdlog::debug("{} {} {} -> {} in {} ms (attempt {})", service_, method, http::RedactUrl(url), resp.status, ms,
                      attempts);
      }
    }
    if (transport.ok() && Is2xx(resp.status)) return ApiResponse{resp.status, std::move(resp.body)};

    if (transport.ok() && resp.status == 401 && !refreshed_token) {
      refreshed_token = true;
      tokens_->Invalidate();
      spdlog::warn("{} {}: 401 Unauthorized, refreshing the access token from {}", service_, what,
                   tokens_->Describe());
      continue;
    }
    int effective = static_cast<int>(resp.status);
    if (transport.ok() && resp.status == 403 && GceErrorKind(resp.status, resp.body) == CloudErrorKind::kRateLimited) {
      effective = 429;  // API rate limits come as 403 rateLimitExceeded
    }
    if (transport.ok() && resp.status == 400 && GceErrorKind(resp.status, resp.body) == CloudErrorKind::kUnavailable) {
      effective = 503;  // 400 resourceNotReady: an operation on the resource is still running
    }
    kube::RetryDecision d = kube::Decide(retry_, attempts, transport, effective,
                                         transport.ok() ? RetryAfter(resp) : std::nullopt, true, Jitter());
    if (d.retry && Remaining(call.deadline) > d.delay) {
      spdlog::warn("{} {}: attempt {} failed ({}), retrying in {} ms", service_, what, attempts,
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
    if (call.raw_errors) return ApiResponse{resp.status, std::move(resp.body)};
    return GceHttpError(resp.status, resp.body, ctx);
  }
}

}  // namespace kinema::cloud
