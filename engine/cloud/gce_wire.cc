#include "engine/cloud/gce_wire.h"

#include <algorithm>
#include <cctype>

#include "engine/common/safe_json.h"
#include "engine/common/text.h"
#include "engine/http/redact.h"

namespace kinema::cloud {

namespace {

using nlohmann::json;

// GCE writes int64 fields as JSON strings; either form is accepted.
std::string Str(const json& j, const char* key) {
  const json* v = safe_json::Find(j, key);
  if (v == nullptr) return "";
  if (auto s = safe_json::AsString(*v)) return *s;
  if (v->is_number_integer()) return std::to_string(safe_json::AsInt(*v).value_or(0));
  return "";
}

int64_t Int(const json& j, const char* key) {
  const json* v = safe_json::Find(j, key);
  if (v == nullptr) return 0;
  if (auto i = safe_json::AsInt(*v)) return *i;
  if (auto s = safe_json::AsString(*v)) {
    try {
      size_t used = 0;
      long long i = std::stoll(*s, &used);
      return used == s->size() ? i : 0;
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

// A bounded, valid-UTF-8 copy of outside text for messages.
std::string Text(const std::string& s) { return Excerpt(s, 1000); }

Labels ParseLabels(const json& j) {
  Labels out;
  if (!j.is_object()) return out;
  auto it = j.find("labels");
  if (it == j.end() || !it->is_object()) return out;
  for (auto& [k, v] : it->items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

// Maps a GCE reason or operation error code onto a kind; kNone if unknown.
CloudErrorKind KindFromReason(std::string_view reason) {
  std::string r = Lower(reason);
  if (r.empty()) return CloudErrorKind::kNone;
  if (r == "alreadyexists" || r == "resource_already_exists" || r == "already_exists") {
    return CloudErrorKind::kAlreadyExists;
  }
  if (r == "notfound" || r == "resource_not_found" || r == "not_found") return CloudErrorKind::kNotFound;
  if (r.find("resource_pool_exhausted") != std::string::npos || r == "resourcepoolexhausted" ||
      r.find("stockout") != std::string::npos) {
    return CloudErrorKind::kZoneResourcePoolExhausted;
  }
  if (r == "ratelimitexceeded" || r == "userratelimitexceeded" || r == "rate_limit_exceeded" ||
      r == "ratelimited") {
    return CloudErrorKind::kRateLimited;
  }
  if (r == "quotaexceeded" || r == "quota_exceeded" || r.find("quota_exceeded") != std::string::npos) {
    return CloudErrorKind::kQuotaExceeded;
  }
  if (r == "backenderror" || r == "internalerror" || r == "unavailable" || r == "internal_error" ||
      r == "resourcenotready" || r == "resource_not_ready") {
    return CloudErrorKind::kUnavailable;
  }
  if (r == "invalid" || r == "badrequest" || r == "required" || r == "invalid_argument" ||
      r == "invalidparameter" || r == "invalid_field_value") {
    return CloudErrorKind::kInvalid;
  }
  if (r == "forbidden" || r == "insufficientpermissions" || r == "permission_denied" || r == "autherror" ||
      r == "unauthorized") {
    return CloudErrorKind::kPermissionDenied;
  }
  return CloudErrorKind::kNone;
}

CloudErrorKind KindFromHttp(long code) {
  if (code == 404) return CloudErrorKind::kNotFound;
  if (code == 429) return CloudErrorKind::kRateLimited;
  if (code >= 500) return CloudErrorKind::kUnavailable;
  if (code == 401 || code == 403) return CloudErrorKind::kPermissionDenied;
  if (code == 400) return CloudErrorKind::kInvalid;
  return CloudErrorKind::kOther;
}

struct ParsedError {
  std::string reason;
  std::string message;
};

ParsedError ParseErrorBody(std::string_view body) {
  ParsedError p;
  auto j = safe_json::Parse(body);
  const json* e_p = safe_json::Find(j, "error");
  if (e_p == nullptr) {
    std::string b = Excerpt(body, 200);
    std::replace(b.begin(), b.end(), '\n', ' ');
    p.message = b;
    return p;
  }
  const json& e = *e_p;
  if (e.is_string()) {  // OAuth-style {"error":"invalid_token","error_description":...}
    p.reason = Text(e.get<std::string>());
    p.message = Text(Str(j, "error_description"));
    return p;
  }
  p.message = Text(Str(e, "message"));
  if (const json* errors = safe_json::FindArray(e, "errors")) {
    for (const auto& item : *errors) {
      std::string r = Text(Str(item, "reason"));
      if (r.empty()) continue;
      // Prefer the most specific reason we know.
      if (p.reason.empty() || KindFromReason(p.reason) == CloudErrorKind::kNone) p.reason = r;
      if (p.message.empty()) p.message = Text(Str(item, "message"));
    }
  }
  if (const json* details = safe_json::FindArray(e, "details"); p.reason.empty() && details != nullptr) {
    for (const auto& d : *details) {
      std::string r = Text(Str(d, "reason"));
      if (!r.empty()) {
        p.reason = r;
        break;
      }
    }
  }
  if (p.reason.empty()) p.reason = Text(Str(e, "status"));
  return p;
}

CloudErrorKind KindOf(long http_status, const ParsedError& p) {
  CloudErrorKind k = KindFromReason(p.reason);
  if (http_status == 429 && k != CloudErrorKind::kQuotaExceeded) return CloudErrorKind::kRateLimited;
  if (k == CloudErrorKind::kNone) {
    k = KindFromHttp(http_status);
  }
  // A 409 whose reason we could not read is a conflict, not "already exists".
  if (http_status == 409 && k == CloudErrorKind::kOther) return CloudErrorKind::kOther;
  return k;
}

}  // namespace

std::string LastPathSegment(std::string_view url) {
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  size_t slash = url.rfind('/');
  return std::string(slash == std::string_view::npos ? url : url.substr(slash + 1));
}

std::string LabelFilter(const Labels& labels) {
  std::string f;
  for (const auto& [k, v] : labels) {
    if (!f.empty()) f += " AND ";
    std::string escaped;
    for (char c : v) {
      if (c == '"' || c == '\\') escaped.push_back('\\');
      escaped.push_back(c);
    }
    f += "(labels." + k + " = \"" + escaped + "\")";
  }
  return f;
}

json BuildInsertBody(const InstanceSpec& spec, const BootTemplate& boot) {
  json body;
  body["name"] = spec.name;
  body["machineType"] = "zones/" + spec.zone + "/machineTypes/" + spec.machine_type;
  json labels = json::object();
  for (const auto& [k, v] : spec.labels) labels[k] = v;
  body["labels"] = labels;

  json init;
  init["sourceImage"] = boot.source_image;
  init["diskSizeGb"] = std::to_string(boot.disk_size_gb);  // int64 fields are JSON strings in GCE
  init["diskType"] = "zones/" + spec.zone + "/diskTypes/" + boot.disk_type;
  body["disks"] = json::array({json{{"boot", true}, {"autoDelete", true}, {"initializeParams", init}}});

  json nic;
  nic["network"] = boot.network;
  if (!boot.subnetwork.empty()) nic["subnetwork"] = boot.subnetwork;
  if (boot.external_ip) {
    nic["accessConfigs"] = json::array({json{{"type", "ONE_TO_ONE_NAT"}, {"name", "External NAT"}}});
  }
  body["networkInterfaces"] = json::array({nic});

  if (!boot.metadata.empty()) {
    json items = json::array();
    for (const auto& [k, v] : boot.metadata) items.push_back({{"key", k}, {"value", v}});
    body["metadata"] = {{"items", items}};
  }
  if (!boot.service_account_email.empty()) {
    body["serviceAccounts"] = json::array({json{{"email", boot.service_account_email}, {"scopes", boot.scopes}}});
  }
  if (!boot.network_tags.empty()) body["tags"] = {{"items", boot.network_tags}};

  json sched;
  if (spec.capacity == CapacityType::kSpot) {
    sched["provisioningModel"] = "SPOT";
    sched["instanceTerminationAction"] = boot.spot_termination_action;
    sched["automaticRestart"] = false;
    sched["onHostMaintenance"] = "TERMINATE";
  } else {
    sched["provisioningModel"] = "STANDARD";
    sched["automaticRestart"] = true;
    sched["onHostMaintenance"] = "MIGRATE";
  }
  body["scheduling"] = sched;
  return body;
}

json BuildInsertFromTemplateBody(const InstanceSpec& spec, const Labels& template_labels) {
  json body;
  body["name"] = spec.name;
  body["machineType"] = "zones/" + spec.zone + "/machineTypes/" + spec.machine_type;
  // A field in the body replaces the template's: keep the template's labels.
  json labels = json::object();
  for (const auto& [k, v] : template_labels) labels[k] = v;
  for (const auto& [k, v] : spec.labels) labels[k] = v;
  body["labels"] = labels;
  json sched;
  if (spec.capacity == CapacityType::kSpot) {
    sched["provisioningModel"] = "SPOT";
    sched["instanceTerminationAction"] = "DELETE";
    sched["automaticRestart"] = false;
    sched["onHostMaintenance"] = "TERMINATE";
  } else {
    sched["provisioningModel"] = "STANDARD";
    sched["automaticRestart"] = true;
    sched["onHostMaintenance"] = "MIGRATE";
  }
  body["scheduling"] = sched;
  return body;
}

StatusOr<Instance> ParseInstance(const json& j, const std::string& what) {
  if (!j.is_object() || Str(j, "name").empty()) {
    return Status::Internal(what + ": response is not a compute#instance (no name)");
  }
  Instance in;
  in.name = Str(j, "name");
  in.zone = LastPathSegment(Str(j, "zone"));
  in.machine_type = LastPathSegment(Str(j, "machineType"));
  in.status = Str(j, "status");
  in.labels = ParseLabels(j);
  in.id = Str(j, "id");
  in.creation_timestamp = Str(j, "creationTimestamp");
  in.self_link = Str(j, "selfLink");
  if (const json* s = safe_json::FindObject(j, "scheduling")) {
    if (Str(*s, "provisioningModel") == "SPOT" || safe_json::Bool(*s, "preemptible")) in.capacity = CapacityType::kSpot;
  }
  if (const json* nics = safe_json::FindArray(j, "networkInterfaces"); nics != nullptr && !nics->empty()) {
    in.internal_ip = Str((*nics)[0], "networkIP");
  }
  if (j.contains("metadata") && j["metadata"].is_object() && j["metadata"].contains("items") &&
      j["metadata"]["items"].is_array()) {
    for (const auto& item : j["metadata"]["items"]) {
      std::string k = Str(item, "key");
      if (!k.empty()) in.metadata[k] = Str(item, "value");
    }
  }
  return in;
}

StatusOr<Operation> ParseOperation(const json& j, const std::string& what) {
  if (!j.is_object() || Str(j, "name").empty() || Str(j, "status").empty()) {
    return Status::Internal(what + ": response is not a compute#operation (no name/status)");
  }
  Operation op;
  op.name = Str(j, "name");
  op.zone = LastPathSegment(Str(j, "zone"));
  op.operation_type = Str(j, "operationType");
  op.target_link = Str(j, "targetLink");
  op.target_name = LastPathSegment(op.target_link);
  op.status = Str(j, "status");
  op.progress = static_cast<int>(std::clamp<int64_t>(Int(j, "progress"), 0, 100));
  op.error = OperationError(j, what + ": operation " + op.name + " (" + op.operation_type + " " +
                                   (op.target_name.empty() ? "?" : op.target_name) + ")");
  return op;
}

StatusOr<MachineTypeInfo> ParseMachineType(const json& j, const std::string& what) {
  if (!j.is_object() || Str(j, "name").empty()) {
    return Status::Internal(what + ": response is not a compute#machineType (no name)");
  }
  MachineTypeInfo m;
  m.name = Str(j, "name");
  m.zone = LastPathSegment(Str(j, "zone"));
  m.guest_cpus = static_cast<int>(std::clamp<int64_t>(Int(j, "guestCpus"), 0, 1 << 20));
  m.memory_mb = std::clamp<int64_t>(Int(j, "memoryMb"), 0, int64_t{1} << 40);
  m.is_shared_cpu = safe_json::Bool(j, "isSharedCpu");
  if (const json* d = safe_json::FindObject(j, "deprecated")) m.deprecated_state = Str(*d, "state");
  return m;
}

std::string GceErrorReason(std::string_view body) { return ParseErrorBody(body).reason; }

CloudErrorKind GceErrorKind(long http_status, std::string_view body) {
  return KindOf(http_status, ParseErrorBody(body));
}

Status GceHttpError(long http_status, std::string_view body, const std::string& what) {
  ParsedError p = ParseErrorBody(body);
  CloudErrorKind kind = KindOf(http_status, p);
  std::string msg = what + ": HTTP " + std::to_string(http_status);
  if (!p.reason.empty()) msg += " " + p.reason;
  if (!p.message.empty()) msg += ": " + p.message;
  msg = http::RedactSecrets(msg);
  if (kind == CloudErrorKind::kOther && http_status == 409) return Status::Conflict(msg);
  return MakeCloudError(kind, msg);
}

Status OperationError(const json& op, const std::string& what) {
  const json* error = safe_json::FindObject(op, "error");
  if (error == nullptr) {
    long http = static_cast<long>(std::clamp<int64_t>(Int(op, "httpErrorStatusCode"), 0, 999));
    if (http >= 400 && Str(op, "status") == "DONE") {
      return MakeCloudError(KindFromHttp(http), http::RedactSecrets(what + ": failed: HTTP " + std::to_string(http) +
                                                                    " " + Text(Str(op, "httpErrorMessage"))));
    }
    return Status::OK();
  }
  CloudErrorKind kind = CloudErrorKind::kNone;
  std::string detail;
  if (const json* errs = safe_json::FindArray(*error, "errors")) {
    size_t shown = 0;
    for (const auto& e : *errs) {
      if (++shown > 20) break;
      std::string code = Text(Str(e, "code"));
      std::string m = Text(Str(e, "message"));
      if (!detail.empty()) detail += "; ";
      detail += code + (m.empty() ? "" : ": " + m);
      CloudErrorKind k = KindFromReason(code);
      if (kind == CloudErrorKind::kNone) kind = k;
    }
  }
  long http = static_cast<long>(std::clamp<int64_t>(Int(op, "httpErrorStatusCode"), 0, 999));
  if (kind == CloudErrorKind::kNone) kind = http >= 400 ? KindFromHttp(http) : CloudErrorKind::kOther;
  if (detail.empty()) detail = "unknown error";
  std::string msg = what + ": failed: " + detail;
  if (http >= 400) msg += " (HTTP " + std::to_string(http) + ")";
  return MakeCloudError(kind, http::RedactSecrets(msg));
}

}  // namespace kinema::cloud
