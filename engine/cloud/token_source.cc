#include "engine/cloud/token_source.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/common/safe_json.h"
#include "engine/common/text.h"
#include "engine/http/redact.h"

namespace kinema::cloud {

namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

class NoTokenSource : public TokenSource {
 public:
  StatusOr<std::string> Token() override { return std::string(); }
  std::string Describe() const override { return "none"; }
};

class FileTokenSource : public TokenSource {
 public:
  explicit FileTokenSource(std::string path) : path_(std::move(path)) {}
  StatusOr<std::string> Token() override {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return Status::PermissionDenied("read token file " + path_ + ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = Trim(ss.str());
    if (!text.empty() && text.front() == '{') {
      auto j = safe_json::Parse(text);
      if (j.is_discarded() || !j.is_object() || !j.contains("access_token") || !j["access_token"].is_string()) {
        return Status::InvalidArgument("read token file " + path_ +
                                       ": JSON without a string \"access_token\" field");
      }
      text = Trim(j["access_token"].get<std::string>());
    }
    if (text.empty()) return Status::InvalidArgument("read token file " + path_ + ": empty");
    if (text.find_first_of(" \t\r\n") != std::string::npos) {
      return Status::InvalidArgument("read token file " + path_ + ": token contains whitespace");
    }
    return text;
  }
  std::string Describe() const override { return "file " + path_; }

 private:
  std::string path_;
};

}  // namespace

std::unique_ptr<TokenSource> NewNoTokenSource() { return std::make_unique<NoTokenSource>(); }
std::unique_ptr<TokenSource> NewFileTokenSource(std::string path) {
  return std::make_unique<FileTokenSource>(std::move(path));
}

std::string DefaultMetadataTokenUrl() {
  std::string host = "metadata.google.internal";
  if (const char* env = std::getenv("GCE_METADATA_HOST"); env != nullptr && *env != '\0') host = env;
  return "http://" + host + "/computeMetadata/v1/instance/service-accounts/default/token";
}

MetadataTokenSource::MetadataTokenSource(std::shared_ptr<const http::HttpClient> http, MetadataTokenOptions options)
    : http_(std::move(http)), options_(std::move(options)) {
  if (options_.url.empty()) options_.url = DefaultMetadataTokenUrl();
}

std::chrono::steady_clock::time_point MetadataTokenSource::Now() const {
  return options_.now ? options_.now() : std::chrono::steady_clock::now();
}

std::string MetadataTokenSource::Describe() const { return "metadata server " + http::RedactUrl(options_.url); }

int MetadataTokenSource::fetches() const {
  std::lock_guard<std::mutex> l(mu_);
  return fetches_;
}

void MetadataTokenSource::Invalidate() {
  std::lock_guard<std::mutex> l(mu_);
  token_.clear();
  refresh_at_ = {};
}

StatusOr<std::string> MetadataTokenSource::Token() {
  // Holding the lock across the fetch makes concurrent callers share one
  // request instead of stampeding the metadata server.
  std::lock_guard<std::mutex> l(mu_);
  auto now = Now();
  if (!token_.empty() && now < refresh_at_) return token_;

  const std::string what = "fetch access token from " + Describe();
  http::Request req;
  req.method = "GET";
  req.url = options_.url;
  req.headers.push_back({"Metadata-Flavor", "Google"});
  req.timeout = options_.timeout;
  req.connect_timeout = std::min(options_.timeout, std::chrono::milliseconds(3000));
  ++fetches_;
  auto resp = http_->Do(req);
  if (!resp.ok()) return resp.status().WithContext(what);
  if (resp->status != 200) {
    std::string body = http::RedactSecrets(Excerpt(resp->body, 200));
    auto code = resp->status >= 500 ? Status::Unavailable(what + ": HTTP " + std::to_string(resp->status) + ": " + body)
                                    : Status::PermissionDenied(what + ": HTTP " + std::to_string(resp->status) +
                                                               ": " + body);
    return code;
  }
  auto j = safe_json::Parse(resp->body);
  if (j.is_discarded() || !j.is_object() || !j.contains("access_token") || !j["access_token"].is_string() ||
      j["access_token"].get<std::string>().empty()) {
    return Status::Unavailable(what + ": response is not a token JSON with \"access_token\"");
  }
  int64_t expires_in = 0;
  // Bounded: a hostile expires_in must not overflow the clock arithmetic.
  if (auto e = safe_json::OptInt(j, "expires_in")) expires_in = std::clamp<int64_t>(*e, 0, 86400);
  if (auto type = safe_json::OptString(j, "token_type"); type && *type != "Bearer") {
    return Status::Unavailable(what + ": unsupported token_type " + Excerpt(*type, 64));
  }
  token_ = j["access_token"].get<std::string>();
  int64_t margin = std::min<int64_t>(options_.refresh_margin.count(), expires_in / 2);
  refresh_at_ = now + std::chrono::seconds(std::max<int64_t>(0, expires_in - margin));
  spdlog::debug("cloud: fetched access token from {} (expires in {} s, refresh in {} s)", Describe(), expires_in,
                expires_in - margin);
  return token_;
}

}  // namespace kinema::cloud
