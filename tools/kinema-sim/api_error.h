// ApiError / ApiResult<T>: a Kubernetes API failure carried as a value, and
// rendered as the real apiserver's metav1.Status body.
//
// Contract:
//   - An ApiError always has an HTTP code and a Status reason ("NotFound",
//     "Conflict", "AlreadyExists", "Invalid", "TooManyRequests", "Expired", ...).
//   - Factory functions produce the exact messages the real apiserver writes
//     (kubectl and client libraries print or match them).
//   - ApiResult<T> holds either a T or an ApiError; value() on an error is a bug.
// Thread-safety: plain values.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kinema::sim {

struct ResourceType;

struct StatusCause {
  std::string type;     // "FieldValueRequired", "DisruptionBudget", ...
  std::string message;
  std::string field;
};

struct ApiError {
  int code = 500;
  std::string reason;   // metav1.StatusReason
  std::string message;
  // details
  std::string name;
  std::string group;
  std::string kind;
  std::string uid;
  std::vector<StatusCause> causes;
  int retry_after_seconds = 0;  // also sent as the Retry-After header when > 0

  nlohmann::json ToStatusJson() const;

  static ApiError NotFound(const ResourceType& rt, const std::string& name);
  static ApiError NotFoundRaw(const std::string& qualified, const std::string& name);
  static ApiError AlreadyExists(const ResourceType& rt, const std::string& name);
  // Optimistic concurrency lost ("the object has been modified ...").
  static ApiError Conflict(const ResourceType& rt, const std::string& name, const std::string& why);
  static ApiError StaleResourceVersion(const ResourceType& rt, const std::string& name);
  static ApiError Invalid(const ResourceType& rt, const std::string& name,
                          std::vector<StatusCause> causes);
  static ApiError BadRequest(const std::string& message);
  static ApiError MethodNotAllowed(const std::string& message);
  static ApiError UnsupportedMediaType(const std::string& content_type);
  static ApiError Gone(const std::string& message);  // 410 Expired
  static ApiError TooManyRequests(const std::string& message, int retry_after_seconds);
  static ApiError Internal(const std::string& message);
  static ApiError Unauthorized();
  static ApiError Timeout(const std::string& message);
};

template <typename T>
class ApiResult {
 public:
  ApiResult(ApiError e) : error_(std::move(e)) {}  // NOLINT: implicit by design
  ApiResult(T v) : value_(std::move(v)) {}         // NOLINT: implicit by design
  bool ok() const { return value_.has_value(); }
  const ApiError& error() const { return *error_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }

 private:
  std::optional<T> value_;
  std::optional<ApiError> error_;
};

}  // namespace kinema::sim
