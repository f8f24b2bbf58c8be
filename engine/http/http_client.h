// HttpClient: a small, thread-safe HTTP(S) client on libcurl, shared by the
// Kubernetes, GCE and Prometheus adapters.
//
// Contract:
//   - TLS peer and host verification are ON unless TlsOptions says
//     insecure_skip_verify. The trust root is ca_file / ca_pem when given,
//     else the system bundle. Client certificates come from files or PEM data.
//   - Every request has a total timeout (Request::timeout) and a connect
//     timeout; nothing waits forever.
//   - Transport failures (DNS, connect, TLS, reset, timeout) come back as a
//     Status: kUnavailable for connection-level failures, kDeadlineExceeded for
//     timeouts, kCancelled when the caller's cancel flag was raised,
//     kInvalidArgument for bad URLs/options. Any HTTP status (including 4xx/5xx)
//     is a successful transport result: the caller interprets Response::status.
//   - Secrets (bearer token, client key) are never written into Status
//     messages or logs; URLs in messages pass through RedactUrl().
//   - Stream() delivers the body chunk by chunk (for Kubernetes watch). If the
//     status is not 2xx the body is buffered into Response::body instead, so
//     the caller can parse the error.
//   - Bounded answers: a buffered body larger than Request::max_response_bytes
//     and response headers larger than Request::max_header_bytes end the
//     transfer with kResourceExhausted (announced sizes are refused before
//     reading). Content-Encoding is never negotiated nor decoded (no
//     Accept-Encoding is sent, a gzip body stays gzip bytes), so the bytes in
//     memory are the bytes on the wire: a compressed bomb cannot expand.
//   - Only http:// and https:// URLs are followed (CheckHttpUrl); file://,
//     ftp:// and every other libcurl protocol are refused (kInvalidArgument),
//     and redirects are not followed.
// Thread-safety: one HttpClient may be used from many threads at once. Easy
// handles are pooled so keep-alive connections and TLS sessions are reused.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/status.h"

namespace kinema::http {

struct TlsOptions {
  bool insecure_skip_verify = false;
  std::string ca_file;          // PEM bundle path
  std::string ca_pem;           // PEM data (already base64-decoded)
  std::string client_cert_file;
  std::string client_cert_pem;
  std::string client_key_file;
  std::string client_key_pem;   // secret
};

struct Header {
  std::string name;
  std::string value;
};

struct Request {
  std::string method = "GET";
  std::string url;
  std::vector<Header> headers;
  std::string body;
  // Secret. Sent as "Authorization: Bearer <token>" when non-empty.
  std::string bearer_token;
  std::chrono::milliseconds timeout{30000};          // whole exchange
  std::chrono::milliseconds connect_timeout{10000};
  size_t max_response_bytes = 16u << 20;             // buffered body cap (not streamed 2xx bodies)
  size_t max_header_bytes = 256u << 10;              // all response header lines together
};

struct Response {
  long status = 0;
  std::vector<Header> headers;  // names as received
  std::string body;

  // Case-insensitive header lookup; nullptr when absent.
  const std::string* FindHeader(std::string_view name) const;
};

// OK for "http://..." and "https://..." (scheme case-insensitive) with a
// host; kInvalidArgument naming the URL (redacted) otherwise.
Status CheckHttpUrl(std::string_view url);

// Receives body bytes as they arrive; returns false to stop the transfer.
using BodyCallback = std::function<bool(std::string_view chunk)>;

class HttpClient {
 public:
  explicit HttpClient(TlsOptions tls = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs one exchange and buffers the whole body.
  StatusOr<Response> Do(const Request& request) const;

  // Performs one exchange streaming a 2xx body into on_body. Returns OK with
  // the status/headers when the server ends the body, or when on_body returns
  // false. `cancel` (optional) aborts the transfer within ~100 ms of being set
  // (Status kCancelled).
  StatusOr<Response> Stream(const Request& request, const BodyCallback& on_body,
                            const std::atomic<bool>* cancel = nullptr) const;

  const TlsOptions& tls() const { return tls_; }

 private:
  struct Pool;
  StatusOr<Response> Perform(const Request& request, const BodyCallback* on_body,
                             const std::atomic<bool>* cancel) const;

  TlsOptions tls_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace kinema::http
