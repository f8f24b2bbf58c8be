#include "tools/kinema-sim/api_error.h"

#include "tools/kinema-sim/resource_types.h"

namespace kinema::sim {

nlohmann::json ApiError::ToStatusJson() const {
  nlohmann::json j = {{"kind", "Status"},
                      {"apiVersion", "v1"},
                      {"metadata", nlohmann::json::object()},
                      {"status", "Failure"},
                      {"message", message},
                      {"reason", reason},
                      {"code", code}};
  nlohmann::json details = nlohmann::json::object();
  if (!name.empty()) details["name"] = name;
  if (!group.empty()) details["group"] = group;
  if (!kind.empty()) details["kind"] = kind;
  if (!uid.empty()) details["uid"] = uid;
  if (!causes.empty()) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& c : causes) {
      nlohmann::json cj = nlohmann::json::object();
      if (!c.type.empty()) cj["reason"] = c.type;
      if (!c.message.empty()) cj["message"] = c.message;
      if (!c.field.empty()) cj["field"] = c.field;
      arr.push_back(cj);
    }
    details["causes"] = arr;
  }
  if (retry_after_seconds > 0) details["retryAfterSeconds"] = retry_after_seconds;
  if (!details.empty()) j["details"] = details;
  return j;
}

ApiError ApiError::NotFound(const ResourceType& rt, const std::string& name) {
  ApiError e;
  e.code = 404;
  e.reason = "NotFound";
  e.message = rt.QualifiedName() + " \"" + name + "\" not found";
  e.name = name;
  e.group = rt.group;
  e.kind = rt.plural;
  return e;
}

ApiError ApiError::NotFoundRaw(const std::string& qualified, const std::string& name) {
  ApiError e;
  e.code = 404;
  e.reason = "NotFound";
  e.message = name.empty() ? "the server could not find the requested resource"
                           : qualified + " \"" + name + "\" not found";
  e.name = name;
  e.kind = qualified;
  return e;
}

ApiError ApiError::AlreadyExists(const ResourceType& rt, const std::string& name) {
  ApiError e;
  e.code = 409;
  e.reason = "AlreadyExists";
  e.message = rt.QualifiedName() + " \"" + name + "\" already exists";
  e.name = name;
  e.group = rt.group;
  e.kind = rt.plural;
  return e;
}

ApiError ApiError::Conflict(const ResourceType& rt, const std::string& name, const std::string& why) {
  ApiError e;
  e.code = 409;
  e.reason = "Conflict";
  e.message = "Operation cannot be fulfilled on " + rt.QualifiedName() + " \"" + name + "\": " + why;
  e.name = name;
  e.group = rt.group;
  e.kind = rt.plural;
  return e;
}

ApiError ApiError::StaleResourceVersion(const ResourceType& rt, const std::string& name) {
  return Conflict(rt, name,
                  "the object has been modified; please apply your changes to the latest version "
                  "and try again");
}

ApiError ApiError::Invalid(const ResourceType& rt, const std::string& name,
                           std::vector<StatusCause> causes) {
  ApiError e;
  e.code = 422;
  e.reason = "Invalid";
  std::string list;
  for (size_t i = 0; i < causes.size(); ++i) {
    if (i) list += ", ";
    list += causes[i].field + ": " + causes[i].message;
  }
  if (causes.size() > 1) list = "[" + list + "]";
  e.message = rt.kind + "." + (rt.group.empty() ? "" : rt.group) + " \"" + name + "\" is invalid: " + list;
  if (rt.group.empty()) e.message = rt.kind + " \"" + name + "\" is invalid: " + list;
  e.name = name;
  e.group = rt.group;
  e.kind = rt.kind;
  e.causes = std::move(causes);
  return e;
}

ApiError ApiError::BadRequest(const std::string& message) {
  ApiError e;
  e.code = 400;
  e.reason = "BadRequest";
  e.message = message;
  return e;
}

ApiError ApiError::MethodNotAllowed(const std::string& message) {
  ApiError e;
  e.code = 405;
  e.reason = "MethodNotAllowed";
  e.message = message;
  return e;
}

ApiError ApiError::UnsupportedMediaType(const std::string& content_type) {
  ApiError e;
  e.code = 415;
  e.reason = "UnsupportedMediaType";
  e.message = "the body of the request was in an unknown format - accepted media types include: "
              "application/json-patch+json, application/merge-patch+json, "
              "application/strategic-merge-patch+json (got \"" + content_type + "\")";
  return e;
}

ApiError ApiError::Gone(const std::string& message) {
  ApiError e;
  e.code = 410;
  e.reason = "Expired";
  e.message = message;
  return e;
}

ApiError ApiError::TooManyRequests(const std::string& message, int retry_after_seconds) {
  ApiError e;
  e.code = 429;
  e.reason = "TooManyRequests";
  e.message = message;
  e.retry_after_seconds = retry_after_seconds;
  return e;
}

ApiError ApiError::Internal(const std::string& message) {
  ApiError e;
  e.code = 500;
  e.reason = "InternalError";
  e.message = message;
  return e;
}

ApiError ApiError::Unauthorized() {
  ApiError e;
  e.code = 401;
  e.reason = "Unauthorized";
  e.message = "Unauthorized";
  return e;
}

ApiError ApiError::Timeout(const std::string& message) {
  ApiError e;
  e.code = 504;
  e.reason = "Timeout";
  e.message = message;
  return e;
}

}  // namespace kinema::sim
