// prometheus::Client: the Prometheus HTTP API (v1) over engine/http —
// instant queries (/api/v1/query) and range queries (/api/v1/query_range).
//
// Contract:
//   - Queries are sent as POST application/x-www-form-urlencoded by default
//     (long PromQL fits; Prometheus accepts both), or GET with the
//     parameters in the URL; either way every parameter is percent-encoded.
//   - A successful answer ({"status":"success"}) becomes a QueryResult of
//     type vector, matrix, scalar or string; values "NaN", "+Inf", "-Inf" are
//     parsed; warnings are kept.
//   - Failures are Status values naming the endpoint and the query:
//       transport (connect, DNS, reset)            kUnavailable
//       client-side timeout, errorType "timeout"   kDeadlineExceeded
//       errorType "bad_data" (HTTP 400)            kInvalidArgument
//       errorType "execution" (HTTP 422)           kFailedPrecondition
//       errorType "canceled"                       kCancelled
//       HTTP 401/403                               kPermissionDenied
//       HTTP 429                                   kResourceExhausted
//       other 5xx, "unavailable", "internal"       kUnavailable
//       a body that is not the API's JSON          kUnavailable (with the HTTP code)
//     The message carries the HTTP code, errorType and Prometheus's error text:
//     "prometheus query_range \"rate(x[1m])\": HTTP 400 bad_data: 1:6: parse error: ...".
//   - The bearer token (optional) is a secret: never in messages or logs.
// Thread-safety: a Client may be used from many threads at once.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/status.h"
#include "engine/http/url.h"
#include "engine/http/http_client.h"

namespace kinema::prometheus {

using TimePoint = std::chrono::system_clock::time_point;

struct ClientOptions {
  std::string url;                        // base URL, e.g. http://127.0.0.1:9090 (a path prefix is kept)
  std::string bearer_token;               // secret; empty: none
  std::chrono::milliseconds timeout{10000};
  bool use_get = false;                   // GET instead of POST
  http::TlsOptions tls;
};

struct Sample {
  double t = 0;  // seconds since the Unix epoch
  double v = 0;
};

struct Series {
  std::map<std::string, std::string> labels;  // the metric's labels (incl. __name__ when kept)
  std::vector<Sample> samples;                // one for a vector, many for a matrix
  std::string Label(const std::string& name) const {
    auto it = labels.find(name);
    return it == labels.end() ? "" : it->second;
  }
};

struct QueryResult {
  enum class Type { kVector, kMatrix, kScalar, kString };
  Type type = Type::kVector;
  std::vector<Series> series;  // vector and matrix
  Sample scalar;               // scalar (and string's timestamp)
  std::string string_value;    // string
  std::vector<std::string> warnings;
};

const char* ResultTypeName(QueryResult::Type t);

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();

  // Instant query at `at` (default: Prometheus's now).
  StatusOr<QueryResult> Query(const std::string& promql, std::optional<TimePoint> at = std::nullopt) const;
  // Range query over [start, end] every `step`.
  StatusOr<QueryResult> QueryRange(const std::string& promql, TimePoint start, TimePoint end,
                                   std::chrono::milliseconds step) const;

  const ClientOptions& options() const { return options_; }

 private:
  StatusOr<QueryResult> Call(const char* endpoint, const std::string& promql,
                             const std::vector<std::pair<std::string, std::string>>& params) const;

  ClientOptions options_;
  std::unique_ptr<http::HttpClient> http_;
};

// Parses an API answer (any HTTP status). `what` prefixes error messages.
StatusOr<QueryResult> ParseQueryResponse(long http_status, const std::string& body, const std::string& what);


// Seconds since the epoch with millisecond precision ("1700000000.123").
std::string FormatTimestamp(TimePoint t);

}  // namespace kinema::prometheus
