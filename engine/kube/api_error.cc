#include "engine/kube/api_error.h"

#include <nlohmann/json.hpp>

#include "engine/http/redact.h"

namespace kinema::kube {

std::string DefaultReasonForCode(int code) {
  switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 408: return "Timeout";
    case 409: return "Conflict";
    case 410: return "Expired";
    case 413: return "RequestEntityTooLarge";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return code >= 500 ? "InternalError" : "Unknown";
  }
}

ApiError ApiError::Parse(int http_status, const std::string& body) {
  ApiError e;
  e.code = http_status;
  auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.value("kind", "") == "Status") {
    // `code` in the body should equal the HTTP status; trust the wire status.
    e.reason = parsed.value("reason", "");
    e.message = parsed.value("message", "");
    if (auto it = parsed.find("details"); it != parsed.end() && it->is_object()) {
      const auto& d = *it;
      e.name = d.value("name", "");
      e.group = d.value("group", "");
      e.kind = d.value("kind", "");
      if (auto ra = d.find("retryAfterSeconds"); ra != d.end() && ra->is_number_integer()) {
        e.retry_after_seconds = ra->get<int>();
      }
      if (auto cs = d.find("causes"); cs != d.end() && cs->is_array()) {
        for (const auto& c : *cs) {
          if (!c.is_object()) continue;
          e.causes.push_back({c.value("reason", ""), c.value("message", ""), c.value("field", "")});
        }
      }
    }
  } else {
    std::string trimmed = body.substr(0, 256);
    while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == ' ')) trimmed.pop_back();
    e.message = trimmed.empty() ? "no response body" : trimmed;
  }
  if (e.reason.empty()) e.reason = DefaultReasonForCode(http_status);
  e.message = http::RedactSecrets(e.message);
  for (auto& c : e.causes) c.message = http::RedactSecrets(c.message);
  return e;
}

Status::Code ApiError::StatusCode() const {
  switch (code) {
    case 400:
    case 413:
    case 415:
    case 422:
      return Status::Code::kInvalidArgument;
    case 401:
    case 403:
      return Status::Code::kPermissionDenied;
    case 404:
      return Status::Code::kNotFound;
    case 409:
      return reason == "AlreadyExists" ? Status::Code::kAlreadyExists : Status::Code::kConflict;
    case 410:
      return Status::Code::kFailedPrecondition;
    case 429:
      return Status::Code::kResourceExhausted;
    case 408:
    case 504:
      return Status::Code::kDeadlineExceeded;
    default:
      if (code >= 500) return Status::Code::kUnavailable;
      if (code == 405 || code == 406) return Status::Code::kInvalidArgument;
      return Status::Code::kInternal;
  }
}

std::string ApiError::Describe() const {
  std::string s = reason + " (HTTP " + std::to_string(code) + "): " + message;
  if (!causes.empty()) {
    s += "; causes:";
    for (const auto& c : causes) {
      s += " [";
      if (!c.field.empty()) s += c.field + ": ";
      s += c.reason.empty() ? c.message : c.reason + " " + c.message;
      s += "]";
    }
  }
  return s;
}

Status ApiError::ToStatus(const std::string& context) const {
  std::string m = context.empty() ? Describe() : context + ": " + Describe();
  switch (StatusCode()) {
    case Status::Code::kInvalidArgument: return Status::InvalidArgument(m);
    case Status::Code::kPermissionDenied: return Status::PermissionDenied(m);
    case Status::Code::kNotFound: return Status::NotFound(m);
    case Status::Code::kAlreadyExists: return Status::AlreadyExists(m);
    case Status::Code::kConflict: return Status::Conflict(m);
    case Status::Code::kFailedPrecondition: return Status::FailedPrecondition(m);
    case Status::Code::kResourceExhausted: return Status::ResourceExhausted(m);
    case Status::Code::kDeadlineExceeded: return Status::DeadlineExceeded(m);
    case Status::Code::kUnavailable: return Status::Unavailable(m);
    default: return Status::Internal(m);
  }
}

}  // namespace kinema::kube
