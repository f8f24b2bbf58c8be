#include "engine/common/status.h"

#include <array>
#include <utility>

namespace kinema {

namespace {
struct CodeEntry {
  Status::Code code;
  const char* name;
};
constexpr std::array<CodeEntry, 15> kCodes = {{
    {Status::Code::kOk, "OK"},
    {Status::Code::kInvalidArgument, "InvalidArgument"},
    {Status::Code::kNotFound, "NotFound"},
    {Status::Code::kAlreadyExists, "AlreadyExists"},
    {Status::Code::kFailedPrecondition, "FailedPrecondition"},
    {Status::Code::kAborted, "Aborted"},
    {Status::Code::kUnavailable, "Unavailable"},
    {Status::Code::kDeadlineExceeded, "DeadlineExceeded"},
    {Status::Code::kConflict, "Conflict"},
    {Status::Code::kPermissionDenied, "PermissionDenied"},
    {Status::Code::kResourceExhausted, "ResourceExhausted"},
    {Status::Code::kIOError, "IOError"},
    {Status::Code::kCorruption, "Corruption"},
    {Status::Code::kInternal, "Internal"},
    {Status::Code::kCancelled, "Cancelled"},
}};
}  // namespace

const char* Status::CodeName(Code c) {
  for (const auto& e : kCodes) {
    if (e.code == c) return e.name;
  }
  return "Unknown";
}

Status::Code Status::CodeFromName(const std::string& name) {
  for (const auto& e : kCodes) {
    if (name == e.name) return e.code;
  }
  return Code::kInternal;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + message_;
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + message_, subcode_);
}

}  // namespace kinema
