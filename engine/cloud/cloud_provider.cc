#include "engine/cloud/cloud_provider.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <thread>

#include "engine/cloud/request_id.h"

namespace kinema::cloud {

namespace {

constexpr std::string_view kTagOpen = "[cloud:";

struct KindInfo {
  CloudErrorKind kind;
  const char* name;
};

constexpr KindInfo kKinds[] = {
    {CloudErrorKind::kNone, "none"},
    {CloudErrorKind::kAlreadyExists, "alreadyExists"},
    {CloudErrorKind::kNotFound, "notFound"},
    {CloudErrorKind::kQuotaExceeded, "quotaExceeded"},
    {CloudErrorKind::kZoneResourcePoolExhausted, "zoneResourcePoolExhausted"},
    {CloudErrorKind::kRateLimited, "rateLimited"},
    {CloudErrorKind::kUnavailable, "unavailable"},
    {CloudErrorKind::kDeadlineExceeded, "deadlineExceeded"},
    {CloudErrorKind::kInvalid, "invalid"},
    {CloudErrorKind::kPermissionDenied, "permissionDenied"},
    {CloudErrorKind::kNoNodeGroup, "noNodeGroup"},
    {CloudErrorKind::kSpent, "spent"},
    {CloudErrorKind::kOther, "other"},
};

Status::Code CodeFor(CloudErrorKind kind) {
  switch (kind) {
    case CloudErrorKind::kNone: return Status::Code::kOk;
    case CloudErrorKind::kAlreadyExists: return Status::Code::kAlreadyExists;
    case CloudErrorKind::kNotFound: return Status::Code::kNotFound;
    case CloudErrorKind::kQuotaExceeded:
    case CloudErrorKind::kZoneResourcePoolExhausted: return Status::Code::kResourceExhausted;
    case CloudErrorKind::kRateLimited:
    case CloudErrorKind::kUnavailable: return Status::Code::kUnavailable;
    case CloudErrorKind::kDeadlineExceeded: return Status::Code::kDeadlineExceeded;
    case CloudErrorKind::kInvalid: return Status::Code::kInvalidArgument;
    case CloudErrorKind::kPermissionDenied: return Status::Code::kPermissionDenied;
    case CloudErrorKind::kNoNodeGroup:
    case CloudErrorKind::kSpent: return Status::Code::kFailedPrecondition;
    case CloudErrorKind::kOther: return Status::Code::kInternal;
  }
  return Status::Code::kInternal;
}

Status WithCode(Status::Code code, std::string m) {
  switch (code) {
    case Status::Code::kOk: return Status::Internal(std::move(m));  // never an OK error
    case Status::Code::kInvalidArgument: return Status::InvalidArgument(std::move(m));
    case Status::Code::kNotFound: return Status::NotFound(std::move(m));
    case Status::Code::kAlreadyExists: return Status::AlreadyExists(std::move(m));
    case Status::Code::kFailedPrecondition: return Status::FailedPrecondition(std::move(m));
    case Status::Code::kAborted: return Status::Aborted(std::move(m));
    case Status::Code::kUnavailable: return Status::Unavailable(std::move(m));
    case Status::Code::kDeadlineExceeded: return Status::DeadlineExceeded(std::move(m));
    case Status::Code::kConflict: return Status::Conflict(std::move(m));
    case Status::Code::kPermissionDenied: return Status::PermissionDenied(std::move(m));
    case Status::Code::kResourceExhausted: return Status::ResourceExhausted(std::move(m));
    case Status::Code::kIOError: return Status::IOError(std::move(m));
    case Status::Code::kCorruption: return Status::Corruption(std::move(m));
    case Status::Code::kInternal: return Status::Internal(std::move(m));
    case Status::Code::kCancelled: return Status::Cancelled(std::move(m));
  }
  return Status::Internal(std::move(m));
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

const char* CloudErrorKindName(CloudErrorKind kind) {
  for (const auto& k : kKinds) {
    if (k.kind == kind) return k.name;
  }
  return "other";
}

Status MakeCloudError(CloudErrorKind kind, const std::string& message) {
  if (kind == CloudErrorKind::kNone) kind = CloudErrorKind::kOther;
  return WithCode(CodeFor(kind), message + " " + std::string(kTagOpen) + CloudErrorKindName(kind) + "]");
}

CloudErrorKind ClassifyCloudError(const Status& status) {
  if (status.ok()) return CloudErrorKind::kNone;
  const std::string& m = status.message();
  size_t pos = m.rfind(kTagOpen);
  if (pos != std::string::npos) {
    size_t start = pos + kTagOpen.size();
    size_t end = m.find(']', start);
    if (end != std::string::npos) {
      std::string_view name(m.data() + start, end - start);
      for (const auto& k : kKinds) {
        if (name == k.name && k.kind != CloudErrorKind::kNone) return k.kind;
      }
    }
  }
  switch (status.code()) {
    case Status::Code::kAlreadyExists: return CloudErrorKind::kAlreadyExists;
    case Status::Code::kNotFound: return CloudErrorKind::kNotFound;
    case Status::Code::kUnavailable: return CloudErrorKind::kUnavailable;
    case Status::Code::kDeadlineExceeded: return CloudErrorKind::kDeadlineExceeded;
    case Status::Code::kInvalidArgument: return CloudErrorKind::kInvalid;
    case Status::Code::kPermissionDenied: return CloudErrorKind::kPermissionDenied;
    default: return CloudErrorKind::kOther;
  }
}

StatusOr<Instance> EnsureInstance(CloudProvider& provider, const InstanceSpec& spec, Clock::time_point deadline) {
  const std::string what = "ensure instance " + spec.zone + "/" + spec.name;
  auto op = provider.InsertInstance(spec);
  if (!op.ok()) {
    if (ClassifyCloudError(op.status()) != CloudErrorKind::kAlreadyExists) return op.status().WithContext(what);
    spdlog::info("cloud: instance {}/{} already exists; treating the boot as done", spec.zone, spec.name);
  } else {
    auto done = provider.WaitOperation(*op, deadline);
    if (!done.ok()) return done.status().WithContext(what);
    if (!done->error.ok()) {
      if (ClassifyCloudError(done->error) != CloudErrorKind::kAlreadyExists) return done->error.WithContext(what);
      spdlog::info("cloud: insert of {}/{} reported alreadyExists; treating the boot as done", spec.zone, spec.name);
    }
  }
  auto inst = provider.GetInstance(spec.zone, spec.name);
  if (!inst.ok()) return inst.status().WithContext(what);
  return inst;
}

Status EnsureInstanceDeleted(CloudProvider& provider, const std::string& zone, const std::string& name,
                             const std::string& idempotency_key, Clock::time_point deadline) {
  const std::string what = "ensure instance " + zone + "/" + name + " deleted";
  auto op = provider.DeleteInstance(zone, name, idempotency_key);
  if (!op.ok()) {
    if (ClassifyCloudError(op.status()) == CloudErrorKind::kNotFound) {
      spdlog::info("cloud: instance {}/{} is already gone; treating the delete as done", zone, name);
      return Status::OK();
    }
    return op.status().WithContext(what);
  }
  auto done = provider.WaitOperation(*op, deadline);
  if (!done.ok()) return done.status().WithContext(what);
  if (!done->error.ok() && ClassifyCloudError(done->error) != CloudErrorKind::kNotFound) {
    return done->error.WithContext(what);
  }
  return Status::OK();
}

const char* NodeStateName(NodeState s) {
  switch (s) {
    case NodeState::kAbsent: return "absent";
    case NodeState::kPreparing: return "preparing";
    case NodeState::kCreating: return "creating";
    case NodeState::kRunning: return "running";
    case NodeState::kDeleting: return "deleting";
    case NodeState::kFailed: return "failed";
  }
  return "unknown";
}

StatusOr<NodeStatus> EnsureNodeLaunched(CloudProvider& provider, const NodeSpec& spec, Clock::time_point deadline,
                                        std::chrono::milliseconds poll) {
  const std::string what = "launch node " + spec.key + " (" + spec.machine_type + " " +
                           CapacityTypeName(spec.capacity) + " in " + spec.zone + ")";
  std::string last;
  auto transient = [](const Status& s) {
    CloudErrorKind k = ClassifyCloudError(s);
    return k == CloudErrorKind::kUnavailable || k == CloudErrorKind::kRateLimited;
  };
  while (true) {
    auto st = provider.LaunchNode(spec);
    if (!st.ok() && transient(st.status()) && Clock::now() + poll < deadline) {
      spdlog::warn("cloud: {}: {}; calling again", what, st.status().ToString());
      std::this_thread::sleep_for(poll);
      continue;
    }
    if (!st.ok()) return st.status().WithContext(what);
    if (st->state == NodeState::kRunning || st->state == NodeState::kFailed) return st;
    if (st->detail != last) {
      spdlog::info("cloud: {}: {} ({})", what, NodeStateName(st->state), st->detail);
      last = st->detail;
    }
    if (Clock::now() + poll >= deadline) {
      return MakeCloudError(CloudErrorKind::kDeadlineExceeded,
                            what + ": still " + NodeStateName(st->state) + " at the deadline (" + st->detail + ")");
    }
    std::this_thread::sleep_for(poll);
  }
}

Status EnsureNodeRetired(CloudProvider& provider, const NodeRef& node, const std::string& idempotency_key,
                         Clock::time_point deadline, std::chrono::milliseconds poll) {
  const std::string what = "retire node " + node.zone + "/" + node.instance_name;
  while (true) {
    auto st = provider.RetireNode(node, idempotency_key);
    CloudErrorKind kind = st.ok() ? CloudErrorKind::kNone : ClassifyCloudError(st.status());
    if ((kind == CloudErrorKind::kUnavailable || kind == CloudErrorKind::kRateLimited) && Clock::now() + poll < deadline) {
      spdlog::warn("cloud: {}: {}; calling again", what, st.status().ToString());
      std::this_thread::sleep_for(poll);
      continue;
    }
    if (!st.ok()) return st.status().WithContext(what);
    if (st->state == NodeState::kAbsent) return Status::OK();
    if (st->state == NodeState::kFailed) return st->error.WithContext(what);
    if (Clock::now() + poll >= deadline) {
      return MakeCloudError(CloudErrorKind::kDeadlineExceeded,
                            what + ": still " + NodeStateName(st->state) + " at the deadline (" + st->detail + ")");
    }
    std::this_thread::sleep_for(poll);
  }
}

std::string InstanceNameFor(std::string_view prefix, std::string_view unique_key) {
  std::string p;
  for (char c : prefix) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (IsLowerAlnum(l) || l == '-') p.push_back(l);
  }
  while (!p.empty() && !(p.front() >= 'a' && p.front() <= 'z')) p.erase(0, 1);
  constexpr size_t kHash = 16;
  constexpr size_t kMaxPrefix = 63 - kHash - 1;
  if (p.size() > kMaxPrefix) p.resize(kMaxPrefix);
  while (!p.empty() && p.back() == '-') p.pop_back();
  if (p.empty()) p = "kinema";
  return p + "-" + Sha256Hex(unique_key).substr(0, kHash);
}

Status ValidateInstanceName(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("instance name \"" + std::string(name) + "\": " + why);
  };
  if (name.empty()) return bad("must not be empty");
  if (name.size() > 63) return bad("longer than 63 characters");
  if (!(name.front() >= 'a' && name.front() <= 'z')) return bad("must start with a lowercase letter");
  if (name.back() == '-') return bad("must not end with '-'");
  for (char c : name) {
    if (!IsLowerAlnum(c) && c != '-') return bad("only lowercase letters, digits and '-' are allowed");
  }
  return Status::OK();
}

Status ValidateCloudLabels(const Labels& labels) {
  if (labels.size() > 64) return Status::InvalidArgument("cloud labels: more than 64 labels");
  for (const auto& [k, v] : labels) {
    auto ok_char = [](char c) { return IsLowerAlnum(c) || c == '-' || c == '_'; };
    if (k.empty() || k.size() > 63 || !(k.front() >= 'a' && k.front() <= 'z')) {
      return Status::InvalidArgument("cloud label key \"" + k +
                                     "\": must be 1-63 characters starting with a lowercase letter");
    }
    for (char c : k) {
      if (!ok_char(c)) {
        return Status::InvalidArgument("cloud label key \"" + k +
                                       "\": only lowercase letters, digits, '-' and '_' are allowed");
      }
    }
    if (v.size() > 63) return Status::InvalidArgument("cloud label " + k + ": value longer than 63 characters");
    for (char c : v) {
      if (!ok_char(c)) {
        return Status::InvalidArgument("cloud label " + k + "=\"" + v +
                                       "\": only lowercase letters, digits, '-' and '_' are allowed");
      }
    }
  }
  return Status::OK();
}

}  // namespace kinema::cloud
