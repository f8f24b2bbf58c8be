#include "engine/http/http_client.h"

#include <curl/curl.h>

#include <cctype>
#include <mutex>

#include "engine/common/text.h"
#include "engine/http/redact.h"

namespace kinema::http {

namespace {

std::once_flag g_curl_init;

void EnsureCurlInit() {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// State shared with libcurl callbacks during one transfer.
struct Transfer {
  CURL* easy = nullptr;
  Response* response = nullptr;
  const BodyCallback* on_body = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  size_t max_body = 0;
  size_t max_headers = 0;
  size_t header_bytes = 0;
  bool body_too_large = false;
  bool headers_too_large = false;
  bool stopped_by_callback = false;
  bool status_known = false;
  bool stream_body = false;  // status is 2xx and a callback exists
};

size_t OnHeader(char* data, size_t size, size_t nitems, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nitems;
  t->header_bytes += n;
  if (t->header_bytes > t->max_headers) {
    t->headers_too_large = true;
    return 0;  // makes libcurl stop
  }
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (e.g. after 100-continue or a redirect): reset headers.
    t->response->headers.clear();
    return n;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    t->response->headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
  }
  return n;
}

size_t OnWrite(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nmemb;
  if (!t->status_known) {
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    t->response->status = code;
    t->status_known = true;
    t->stream_body = t->on_body != nullptr && code >= 200 && code < 300;
  }
  if (t->stream_body) {
    if (!(*t->on_body)(std::string_view(data, n))) {
      t->stopped_by_callback = true;
      return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
    }
    return n;
  }
  if (t->response->body.size() + n > t->max_body) {
    t->body_too_large = true;
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  t->response->body.append(data, n);
  return n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->cancel != nullptr && t->cancel->load(std::memory_order_relaxed)) return 1;
  return 0;
}

}  // namespace

Status CheckHttpUrl(std::string_view url) {
  auto refuse = [&](const char* why) {
    return Status::InvalidArgument("URL \"" + RedactUrl(url) + "\" " + why);
  };
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return refuse("has no scheme (want http:// or https://)");
  if (!EqualsIgnoreCase(url.substr(0, sep), "http") && !EqualsIgnoreCase(url.substr(0, sep), "https")) {
    return refuse("has a scheme other than http or https");
  }
  std::string_view rest = url.substr(sep + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  if (authority.empty() || authority.front() == ':') return refuse("has no host");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return refuse("contains spaces or control characters");
  }
  return Status::OK();
}

const std::string* Response::FindHeader(std::string_view name) const {
  for (const auto& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return &h.value;
  }
  return nullptr;
}

// A stack of idle easy handles. curl_easy_reset() keeps a handle's
// connection cache, so reuse gives keep-alive and TLS session reuse.
struct HttpClient::Pool {
  std::mutex mu;
  std::vector<CURL*> idle;

  CURL* Take() {
    {
      std::lock_guard<std::mutex> l(mu);
      if (!idle.empty()) {
        CURL* c = idle.back();
        idle.pop_back();
        curl_easy_reset(c);
        return c;
      }
    }
    return curl_easy_init();
  }
  void Give(CURL* c) {
    std::lock_guard<std::mutex> l(mu);
    if (idle.size() < 16) {
      idle.push_back(c);
    } else {
      curl_easy_cleanup(c);
    }
  }
  ~Pool() {
    for (CURL* c : idle) curl_easy_cleanup(c);
  }
};

HttpClient::HttpClient(TlsOptions tls) : tls_(std::move(tls)), pool_(std::make_unique<Pool>()) {
  EnsureCurlInit();
}

HttpClient::~HttpClient() = default;

StatusOr<Response> HttpClient::Do(const Request& request) const { return Perform(request, nullptr, nullptr); }

StatusOr<Response> HttpClient::Stream(const Request& request, const BodyCallback& on_body,
                                      const std::atomic<bool>* cancel) const {
  return Perform(request, &on_body, cancel);
}

StatusOr<Response> HttpClient::Perform(const Request& request, const BodyCallback* on_body,
                                       const std::atomic<bool>* cancel) const {
  const std::string what = request.method + " " + RedactUrl(request.url);
  if (Status u = CheckHttpUrl(request.url); !u.ok()) return u.WithContext(request.method);
  CURL* easy = pool_->Take();
  if (easy == nullptr) return Status::Internal(what + ": curl_easy_init failed");

  Response response;
  Transfer t;
  t.easy = easy;
  t.response = &response;
  t.on_body = on_body;
  t.cancel = cancel;
  t.max_body = request.max_response_bytes;
  t.max_headers = request.max_header_bytes;
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  // No CURLOPT_ACCEPT_ENCODING and no decoding: nothing is decompressed (see the contract).
  curl_easy_setopt(easy, CURLOPT_HTTP_CONTENT_DECODING, 0L);
  curl_easy_setopt(easy, CURLOPT_HTTP_TRANSFER_DECODING, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  if (on_body == nullptr) {
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_response_bytes));
  }
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnWrite);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
  if (cancel != nullptr) {
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &OnProgress);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  }

  // Method and body.
  if (request.method == "GET") {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
        request.method == "PATCH") {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    }
  }

  // TLS.
  if (tls_.insecure_skip_verify) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  } else {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  }
  curl_blob ca_blob{const_cast<char*>(tls_.ca_pem.data()), tls_.ca_pem.size(), CURL_BLOB_NOCOPY};
  if (!tls_.ca_pem.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &ca_blob);
  } else if (!tls_.ca_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, tls_.ca_file.c_str());
  }
  curl_blob cert_blob{const_cast<char*>(tls_.client_cert_pem.data()), tls_.client_cert_pem.size(),
                      CURL_BLOB_NOCOPY};
  curl_blob key_blob{const_cast<char*>(tls_.client_key_pem.data()), tls_.client_key_pem.size(),
                     CURL_BLOB_NOCOPY};
  if (!tls_.client_cert_pem.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cert_blob);
    curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
  } else if (!tls_.client_cert_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLCERT, tls_.client_cert_file.c_str());
  }
  if (!tls_.client_key_pem.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &key_blob);
    curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
  } else if (!tls_.client_key_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLKEY, tls_.client_key_file.c_str());
  }

  // Headers. The Authorization header holds a secret; it lives only in the
  // slist for the duration of the call.
  curl_slist* headers = nullptr;
  bool has_expect = false;
  for (const auto& h : request.headers) {
    headers = curl_slist_append(headers, (h.name + ": " + h.value).c_str());
    has_expect = has_expect || EqualsIgnoreCase(h.name, "Expect");
  }
  if (!has_expect) headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  if (!request.bearer_token.empty()) {
    std::string auth = "Authorization: Bearer " + request.bearer_token;
    headers = curl_slist_append(headers, auth.c_str());
    std::fill(auth.begin(), auth.end(), '\0');
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);

  CURLcode rc = curl_easy_perform(easy);
  if (!t.status_known) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response.status);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  std::string detail = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
  pool_->Give(easy);

  if (rc == CURLE_OK) return response;
  if (rc == CURLE_WRITE_ERROR && t.stopped_by_callback) return response;
  if (t.body_too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    return Status::ResourceExhausted(what + ": HTTP " + std::to_string(response.status) + " response body exceeds " +
                                     std::to_string(request.max_response_bytes) + " bytes; refused");
  }
  if (t.headers_too_large) {
    return Status::ResourceExhausted(what + ": response headers exceed " + std::to_string(request.max_header_bytes) +
                                     " bytes; refused");
  }
  detail = RedactSecrets(detail);
  switch (rc) {
    case CURLE_ABORTED_BY_CALLBACK:
      return Status::Cancelled(what + ": cancelled");
    case CURLE_OPERATION_TIMEDOUT:
      return Status::DeadlineExceeded(what + ": timed out after " + std::to_string(request.timeout.count()) +
                                      " ms: " + detail);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return Status::InvalidArgument(what + ": " + detail);
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
      // Local TLS configuration problems: retrying will not help.
      return Status::InvalidArgument(what + ": TLS configuration: " + detail);
    case CURLE_PEER_FAILED_VERIFICATION:
      return Status::PermissionDenied(what + ": server certificate not trusted: " + detail);
    default:
      return Status::Unavailable(what + ": " + detail + " (curl " + std::to_string(static_cast<int>(rc)) + ")");
  }
}

}  // namespace kinema::http
