#include "engine/prometheus/client.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "engine/common/safe_json.h"
#include "engine/common/text.h"

namespace kinema::prometheus {

namespace {

using json = nlohmann::json;
namespace sj = safe_json;

std::string Shorten(const std::string& s, size_t n) { return Excerpt(s, n); }

Status::Code CodeForErrorType(const std::string& type, long http_status) {
  if (type == "bad_data") return Status::Code::kInvalidArgument;
  if (type == "timeout") return Status::Code::kDeadlineExceeded;
  if (type == "canceled") return Status::Code::kCancelled;
  if (type == "execution") return Status::Code::kFailedPrecondition;
  if (type == "not_found") return Status::Code::kNotFound;
  if (http_status == 401 || http_status == 403) return Status::Code::kPermissionDenied;
  if (http_status == 429) return Status::Code::kResourceExhausted;
  if (http_status == 400) return Status::Code::kInvalidArgument;
  if (http_status == 422) return Status::Code::kFailedPrecondition;
  if (http_status == 404) return Status::Code::kNotFound;
  return Status::Code::kUnavailable;
}

Status MakeStatus(Status::Code code, std::string msg) {
  switch (code) {
    case Status::Code::kInvalidArgument: return Status::InvalidArgument(std::move(msg));
    case Status::Code::kDeadlineExceeded: return Status::DeadlineExceeded(std::move(msg));
    case Status::Code::kCancelled: return Status::Cancelled(std::move(msg));
    case Status::Code::kFailedPrecondition: return Status::FailedPrecondition(std::move(msg));
    case Status::Code::kNotFound: return Status::NotFound(std::move(msg));
    case Status::Code::kPermissionDenied: return Status::PermissionDenied(std::move(msg));
    case Status::Code::kResourceExhausted: return Status::ResourceExhausted(std::move(msg));
    default: return Status::Unavailable(std::move(msg));
  }
}

StatusOr<double> ParseValue(const json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "NaN") return std::nan("");
    if (s == "+Inf" || s == "Inf") return HUGE_VAL;
    if (s == "-Inf") return -HUGE_VAL;
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || std::isspace(static_cast<unsigned char>(s[0]))) {
      return Status::Corruption("bad sample value '" + Excerpt(s, 64) + "'");
    }
    return d;  // may be ±Inf or NaN ("nan", "1e999"): consumers check finiteness
  }
  if (v.is_number()) return v.get<double>();
  return Status::Corruption("sample value is not a string");
}

StatusOr<Sample> ParsePair(const json& p) {
  if (!p.is_array() || p.size() != 2) return Status::Corruption("sample is not [time, \"value\"]");
  auto t = sj::AsNumber(p[0]);
  if (!t) return Status::Corruption("sample time is not a finite number");
  auto v = ParseValue(p[1]);
  if (!v.ok()) return v.status();
  return Sample{*t, *v};
}

StatusOr<Series> ParseSeries(const json& item, bool matrix) {
  if (!item.is_object()) return Status::Corruption("result item is not an object");
  Series s;
  if (const json* metric = sj::FindObject(item, "metric")) {
    for (auto it = metric->begin(); it != metric->end(); ++it) {
      if (it.value().is_string()) s.labels[it.key()] = it.value().get<std::string>();
    }
  }
  if (matrix) {
    const json* values = sj::FindArray(item, "values");
    if (values == nullptr) return Status::Corruption("matrix item without values");
    s.samples.reserve(values->size());
    for (const auto& p : *values) {
      auto smp = ParsePair(p);
      if (!smp.ok()) return smp.status();
      s.samples.push_back(*smp);
    }
  } else {
    const json* value = sj::Find(item, "value");
    if (value == nullptr) return Status::Corruption("vector item without value");
    auto smp = ParsePair(*value);
    if (!smp.ok()) return smp.status();
    s.samples.push_back(*smp);
  }
  return s;
}

}  // namespace

const char* ResultTypeName(QueryResult::Type t) {
  switch (t) {
    case QueryResult::Type::kVector: return "vector";
    case QueryResult::Type::kMatrix: return "matrix";
    case QueryResult::Type::kScalar: return "scalar";
    case QueryResult::Type::kString: return "string";
  }
  return "?";
}

std::string FormatTimestamp(TimePoint t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ms / 1000),
                static_cast<long long>(ms % 1000));
  return buf;
}

StatusOr<QueryResult> ParseQueryResponse(long http_status, const std::string& body, const std::string& what) {
  json doc = sj::Parse(body);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("status")) {
    Status::Code code = CodeForErrorType("", http_status);
    if (http_status >= 200 && http_status < 300) code = Status::Code::kUnavailable;
    return MakeStatus(code, what + ": HTTP " + std::to_string(http_status) +
                                ": not a Prometheus API answer: " + Shorten(body, 200));
  }
  std::string status = sj::String(doc, "status");
  if (status != "success") {
    std::string type = Excerpt(sj::String(doc, "errorType"), 64);
    std::string error = Excerpt(sj::String(doc, "error"), 1000);
    return MakeStatus(CodeForErrorType(type, http_status),
                      what + ": HTTP " + std::to_string(http_status) + " " + (type.empty() ? "error" : type) + ": " +
                          (error.empty() ? "(no error text)" : error));
  }
  const json* data_p = sj::FindObject(doc, "data");
  if (data_p == nullptr) return Status::Unavailable(what + ": success answer without data");
  const json& data = *data_p;
  QueryResult r;
  if (const json* warnings = sj::FindArray(doc, "warnings")) {
    for (const auto& w : *warnings) {
      if (w.is_string() && r.warnings.size() < 100) r.warnings.push_back(Excerpt(w.get<std::string>(), 1000));
    }
  }
  std::string type = Excerpt(sj::String(data, "resultType"), 64);
  static const json kNull;
  const json* result_p = sj::Find(data, "result");
  const json& result = result_p != nullptr ? *result_p : kNull;
  auto corrupt = [&](const Status& s) { return Status::Unavailable(what + ": malformed " + type + " result: " + s.message()); };
  if (type == "vector" || type == "matrix") {
    r.type = type == "vector" ? QueryResult::Type::kVector : QueryResult::Type::kMatrix;
    if (!result.is_array()) return Status::Unavailable(what + ": " + type + " result is not an array");
    r.series.reserve(result.size());
    for (const auto& item : result) {
      auto s = ParseSeries(item, type == "matrix");
      if (!s.ok()) return corrupt(s.status());
      r.series.push_back(std::move(*s));
    }
  } else if (type == "scalar") {
    r.type = QueryResult::Type::kScalar;
    auto s = ParsePair(result);
    if (!s.ok()) return corrupt(s.status());
    r.scalar = *s;
  } else if (type == "string") {
    r.type = QueryResult::Type::kString;
    if (!result.is_array() || result.size() != 2 || !sj::AsNumber(result[0]) || !result[1].is_string()) {
      return Status::Unavailable(what + ": malformed string result");
    }
    r.scalar.t = *sj::AsNumber(result[0]);
    r.string_value = result[1].get<std::string>();
  } else {
    return Status::Unavailable(what + ": unknown resultType '" + type + "'");
  }
  return r;
}

Client::Client(ClientOptions options)
    : options_(std::move(options)), http_(std::make_unique<http::HttpClient>(options_.tls)) {
  while (!options_.url.empty() && options_.url.back() == '/') options_.url.pop_back();
}

Client::~Client() = default;

StatusOr<QueryResult> Client::Query(const std::string& promql, std::optional<TimePoint> at) const {
  std::vector<std::pair<std::string, std::string>> params = {{"query", promql}};
  if (at) params.push_back({"time", FormatTimestamp(*at)});
  return Call("query", promql, params);
}

StatusOr<QueryResult> Client::QueryRange(const std::string& promql, TimePoint start, TimePoint end,
                                         std::chrono::milliseconds step) const {
  if (step.count() <= 0) return Status::InvalidArgument("prometheus query_range: step must be positive");
  if (end < start) return Status::InvalidArgument("prometheus query_range: end before start");
  char step_text[32];
  std::snprintf(step_text, sizeof step_text, "%.3f", step.count() / 1000.0);
  return Call("query_range", promql,
              {{"query", promql}, {"start", FormatTimestamp(start)}, {"end", FormatTimestamp(end)}, {"step", step_text}});
}

StatusOr<QueryResult> Client::Call(const char* endpoint, const std::string& promql,
                                   const std::vector<std::pair<std::string, std::string>>& params) const {
  std::string what = std::string("prometheus ") + endpoint + " \"" + Shorten(promql, 160) + "\"";
  if (options_.url.empty()) return Status::InvalidArgument(what + ": no Prometheus URL configured");
  std::string form;
  for (const auto& [k, v] : params) {
    if (!form.empty()) form += '&';
    form += http::UrlEncode(k) + "=" + http::UrlEncode(v);
  }
  http::Request req;
  req.url = options_.url + "/api/v1/" + endpoint;
  if (options_.use_get) {
    req.method = "GET";
    req.url += "?" + form;
  } else {
    req.method = "POST";
    req.body = form;
    req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
  }
  req.headers.push_back({"Accept", "application/json"});
  req.bearer_token = options_.bearer_token;
  req.timeout = options_.timeout;
  req.connect_timeout = std::min(options_.timeout, std::chrono::milliseconds(10000));
  auto resp = http_->Do(req);
  if (!resp.ok()) return resp.status().WithContext(what);
  return ParseQueryResponse(resp->status, resp->body, what);
}

}  // namespace kinema::prometheus
