// TokenSource: where the GCE client gets its OAuth2 access token.
//
// Contract:
//   - Token() returns the bearer token to send, or "" for "send none" (the
//     simulator accepts any token or none). Errors say where the token was
//     looked for, never what it is: tokens are secrets and are never logged
//     or put into a Status.
//   - Invalidate() drops a cached token (the API answered 401), so the next
//     Token() fetches a fresh one.
//   - MetadataTokenSource asks the GCE metadata server
//     (GET .../instance/service-accounts/default/token, header
//     "Metadata-Flavor: Google"), parses {"access_token","expires_in",
//     "token_type"} and caches the token until `refresh_margin` before it
//     expires (or half its lifetime for very short-lived tokens). The host is
//     $GCE_METADATA_HOST when set (as Google's client libraries do), else
//     metadata.google.internal; options can override the whole URL.
//   - FileTokenSource reads the file at every call (so a sidecar can rotate
//     it): either a bare token or JSON with "access_token"; surrounding
//     whitespace is trimmed; an empty file is an error.
// Thread-safety: all implementations may be called from several threads.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "engine/common/status.h"
#include "engine/http/http_client.h"

namespace kinema::cloud {

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  virtual StatusOr<std::string> Token() = 0;
  virtual void Invalidate() {}
  virtual std::string Describe() const = 0;  // "metadata server", "file /x", "none"
};

std::unique_ptr<TokenSource> NewNoTokenSource();
std::unique_ptr<TokenSource> NewFileTokenSource(std::string path);

struct MetadataTokenOptions {
  // Empty: http://$GCE_METADATA_HOST or http://metadata.google.internal, then
  // /computeMetadata/v1/instance/service-accounts/default/token.
  std::string url;
  std::chrono::milliseconds timeout{5000};
  std::chrono::seconds refresh_margin{300};
  // Injectable clock for tests; empty = steady_clock::now.
  std::function<std::chrono::steady_clock::time_point()> now;
};

std::string DefaultMetadataTokenUrl();

class MetadataTokenSource : public TokenSource {
 public:
  MetadataTokenSource(std::shared_ptr<const http::HttpClient> http, MetadataTokenOptions options);
  StatusOr<std::string> Token() override;
  void Invalidate() override;
  std::string Describe() const override;
  int fetches() const;  // metadata requests made so far (for tests and metrics)

 private:
  std::chrono::steady_clock::time_point Now() const;

  std::shared_ptr<const http::HttpClient> http_;
  MetadataTokenOptions options_;
  mutable std::mutex mu_;
  std::string token_;  // secret
  std::chrono::steady_clock::time_point refresh_at_{};
  int fetches_ = 0;
};

}  // namespace kinema::cloud
