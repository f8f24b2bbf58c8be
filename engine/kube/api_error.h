// ApiError: a Kubernetes Status error ({kind:"Status", code, reason, message,
// details{name, group, kind, causes[], retryAfterSeconds}}) as a typed value.
//
// Contract:
//   - Parse() never fails: a body that is not a Status (HTML from a proxy,
//     empty, truncated) still yields code = HTTP status, a reason derived from
//     the code ("NotFound", "InternalError", ...) and a trimmed message.
//   - ToStatus() maps onto kinema::Status codes:
//       400 BadRequest, 415, 422 Invalid      -> kInvalidArgument
//       401 Unauthorized, 403 Forbidden       -> kPermissionDenied
//       404 NotFound                          -> kNotFound
//       409 AlreadyExists                     -> kAlreadyExists
//       409 Conflict (and other 409s)         -> kConflict
//       410 Gone / Expired                    -> kFailedPrecondition
//       429 TooManyRequests                   -> kResourceExhausted
//       504, 408 Timeout                      -> kDeadlineExceeded
//       500, 502, 503 and other 5xx           -> kUnavailable
//     with the message "<context>: <Reason> (HTTP <code>): <message>[; causes]".
//   - Messages are passed through RedactSecrets(): a server echoing a token
//     back cannot leak it into our logs. Every text field is bounded (at
//     most kMaxCauses causes, messages cut on a UTF-8 boundary) and valid
//     UTF-8; fields of the wrong JSON type are ignored, never thrown on.
// Thread-safety: plain value.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/common/status.h"

namespace kinema::kube {

struct StatusCause {
  std::string reason;   // e.g. "FieldValueInvalid", "DisruptionBudget"
  std::string message;
  std::string field;
};

struct ApiError {
  static constexpr size_t kMaxCauses = 20;

  int code = 0;          // HTTP status
  std::string reason;    // StatusReason: NotFound, Conflict, AlreadyExists, Invalid, Expired, ...
  std::string message;
  std::string name;      // details.name
  std::string group;     // details.group
  std::string kind;      // details.kind
  std::vector<StatusCause> causes;
  std::optional<int> retry_after_seconds;  // details.retryAfterSeconds or Retry-After header

  static ApiError Parse(int http_status, const std::string& body);

  bool IsNotFound() const { return code == 404; }
  bool IsConflict() const { return code == 409 && reason != "AlreadyExists"; }
  bool IsAlreadyExists() const { return code == 409 && reason == "AlreadyExists"; }
  bool IsGone() const { return code == 410; }  // expired resourceVersion / continue token
  bool IsTooManyRequests() const { return code == 429; }

  Status::Code StatusCode() const;
  // "<context>: <Reason> (HTTP <code>): <message>[; causes: ...]".
  Status ToStatus(const std::string& context) const;
  std::string Describe() const;
};

// Reason name Kubernetes uses for an HTTP code without a Status body.
std::string DefaultReasonForCode(int code);

}  // namespace kinema::kube
