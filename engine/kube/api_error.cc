#include "engine/kube/api_error.h"

#include <nlohmann/json.hpp>

#include "engine/common/safe_json.h"
#include "engine/common/text.h"
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
  namespace sj = safe_json;
  ApiError e;
  e.code = http_status;
  auto parsed = sj::Parse(body);
  if (parsed.is_object() && sj::String(parsed, "kind") == "Status") {
    // `code` in the body should equal the HTTP status; trust the wire status.
    e.reason = sj::String(parsed, "reason");
    e.message = sj::String(parsed, "message");
    if (const auto* d = sj::FindObject(parsed, "details")) {
      e.name = sj::String(*d, "name");
      e.group = sj::String(*d, "group");
      e.kind = sj::String(*d, "kind");
      if (auto ra = sj::OptInt(*d, "retryAfterSeconds"); ra && *ra >= 0 && *ra <= 86400) {
        e.retry_after_seconds = static_cast<int>(*ra);
      }
      if (const auto* cs = sj::FindArray(*d, "causes")) {
        for (const auto& c : *cs) {
          if (!c.is_object() || e.causes.size() >= kMaxCauses) continue;
          e.causes.push_back({sj::String(c, "reason"), sj::String(c, "message"), sj::String(c, "field")});
        }
      }
    }
  } else {
    e.message = Excerpt(body, 256);
    if (e.message.empty()) e.message = "no response body";
  }
  if (e.reason.empty()) e.reason = DefaultReasonForCode(http_status);
  // Bounded, valid text: a server's message ends up in Status messages and the journal.
  e.message = http::RedactSecrets(Excerpt(e.message, 4096));
  for (auto& c : e.causes) {
    c.message = http::RedactSecrets(Excerpt(c.message, 1024));
    c.reason = Excerpt(c.reason, 256);
    c.field = Excerpt(c.field, 256);
  }
  e.reason = Excerpt(e.reason, 256);
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
