// Status: the result of an operation that can fail, LevelDB-style.
//
// Contract:
//   - A Status is either OK or carries a Code and a human-readable message
//     with context ("patch deployment shop/cart: 409 Conflict after 5 retries").
//   - Errors are values: functions return Status (or StatusOr<T>) instead of
//     throwing across module boundaries. Exceptions from third-party libraries
//     (SQLiteCpp, nlohmann::json, yaml-cpp) are caught at the adapter and
//     turned into a Status.
//   - WithContext() prefixes a message, so callers add the "where" while the
//     callee keeps the "what".
//   - A SubCode refines a code where callers must tell errors of the same
//     code apart (RocksDB's subcodes): an infeasible plan, an unknown
//     workflow. It survives WithContext(); never match message prefixes.
// Thread-safety: a Status is a plain value; copies are independent.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace kinema {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,    // bad input from a user or a file
    kNotFound,           // the named thing does not exist
    kAlreadyExists,
    kFailedPrecondition, // the operation is refused in the current state
    kAborted,            // a workflow abort/terminate was requested
    kUnavailable,        // transient: network, 5xx, lock contention
    kDeadlineExceeded,
    kConflict,           // optimistic concurrency lost (HTTP 409)
    kPermissionDenied,   // also: this process lost its leader epoch
    kResourceExhausted,  // quotas, 429
    kIOError,            // storage failure; fatal for the journal
    kCorruption,         // a file is not what it claims to be
    kInternal,
    kCancelled,          // shutdown requested
  };

  enum class SubCode {
    kNone = 0,
    kInfeasible,       // kFailedPrecondition: no valid plan exists for this input
    kUnknownWorkflow,  // kNotFound: no workflow with that id in the journal
  };

  Status() = default;  // OK
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status AlreadyExists(std::string m) { return Status(Code::kAlreadyExists, std::move(m)); }
  static Status FailedPrecondition(std::string m) { return Status(Code::kFailedPrecondition, std::move(m)); }
  static Status Aborted(std::string m) { return Status(Code::kAborted, std::move(m)); }
  static Status Unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }
  static Status DeadlineExceeded(std::string m) { return Status(Code::kDeadlineExceeded, std::move(m)); }
  static Status Conflict(std::string m) { return Status(Code::kConflict, std::move(m)); }
  static Status PermissionDenied(std::string m) { return Status(Code::kPermissionDenied, std::move(m)); }
  static Status ResourceExhausted(std::string m) { return Status(Code::kResourceExhausted, std::move(m)); }
  static Status IOError(std::string m) { return Status(Code::kIOError, std::move(m)); }
  static Status Corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
  static Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }
  static Status Cancelled(std::string m) { return Status(Code::kCancelled, std::move(m)); }
  static Status Infeasible(std::string m) { return Status(Code::kFailedPrecondition, std::move(m), SubCode::kInfeasible); }
  static Status UnknownWorkflow(const std::string& id) {
    return Status(Code::kNotFound, "unknown workflow " + id, SubCode::kUnknownWorkflow);
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  SubCode subcode() const { return subcode_; }
  const std::string& message() const { return message_; }

  // "<CodeName>: <message>", or "OK".
  std::string ToString() const;
  static const char* CodeName(Code c);
  // Parses a CodeName back (for statuses stored in the journal); unknown → kInternal.
  static Code CodeFromName(const std::string& name);

  // Returns a copy whose message is "<context>: <message>". OK stays OK.
  Status WithContext(const std::string& context) const;

  bool operator==(const Status& o) const {
    return code_ == o.code_ && subcode_ == o.subcode_ && message_ == o.message_;
  }

 private:
  Status(Code c, std::string m, SubCode sub = SubCode::kNone) : code_(c), subcode_(sub), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  SubCode subcode_ = SubCode::kNone;
  std::string message_;
};

// StatusOr<T>: a value or an error. Accessing value() of an error is a bug
// (checked by assert in debug builds).
template <typename T>
class StatusOr {
 public:
  StatusOr(Status s) : status_(std::move(s)) {}  // NOLINT: implicit by design
  StatusOr(T v) : value_(std::move(v)) {}        // NOLINT: implicit by design
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace kinema

#define KINEMA_RETURN_IF_ERROR(expr)          \
  do {                                        \
    ::kinema::Status _st = (expr);            \
    if (!_st.ok()) return _st;                \
  } while (0)
