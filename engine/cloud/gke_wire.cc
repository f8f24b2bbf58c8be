#include "engine/cloud/gke_wire.h"

#include <algorithm>
#include <cctype>

#include "engine/cloud/gce_wire.h"
#include "engine/cloud/request_id.h"
#include "engine/http/redact.h"

namespace kinema::cloud {

namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

bool Bool(const json& j, const char* key) {
  if (!j.is_object()) return false;
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::string Lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

CloudErrorKind KindFromRpcCode(int64_t code, const std::string& message) {
  std::string m = Lower(message);
  switch (code) {
    case 8:  // RESOURCE_EXHAUSTED
      if (m.find("resource_pool_exhausted") != std::string::npos ||
          m.find("does not have enough resources") != std::string::npos) {
        return CloudErrorKind::kZoneResourcePoolExhausted;
      }
      return CloudErrorKind::kQuotaExceeded;
    case 5: return CloudErrorKind::kNotFound;
    case 6: return CloudErrorKind::kAlreadyExists;
    case 3: return CloudErrorKind::kInvalid;
    case 7:
    case 16: return CloudErrorKind::kPermissionDenied;
    case 14: return CloudErrorKind::kUnavailable;
    default: break;
  }
  if (m.find("quota") != std::string::npos) return CloudErrorKind::kQuotaExceeded;
  if (m.find("resource_pool_exhausted") != std::string::npos ||
      m.find("does not have enough resources") != std::string::npos) {
    return CloudErrorKind::kZoneResourcePoolExhausted;
  }
  return CloudErrorKind::kOther;
}

}  // namespace

std::string GkeTaintEffect(std::string_view e) {
  if (e == "NoSchedule") return "NO_SCHEDULE";
  if (e == "PreferNoSchedule") return "PREFER_NO_SCHEDULE";
  if (e == "NoExecute") return "NO_EXECUTE";
  return std::string(e);
}

std::string KubernetesTaintEffect(std::string_view e) {
  if (e == "NO_SCHEDULE") return "NoSchedule";
  if (e == "PREFER_NO_SCHEDULE") return "PreferNoSchedule";
  if (e == "NO_EXECUTE") return "NoExecute";
  return std::string(e);
}

json BuildNodePoolCreateBody(const NodePoolSpec& spec) {
  json config{{"machineType", spec.machine_type}, {"spot", spec.spot}};
  json labels = json::object();
  for (const auto& [k, v] : spec.node_labels) labels[k] = v;
  config["labels"] = labels;
  json resource_labels = json::object();
  for (const auto& [k, v] : spec.resource_labels) resource_labels[k] = v;
  config["resourceLabels"] = resource_labels;
  if (!spec.taints.empty()) {
    json taints = json::array();
    for (const auto& t : spec.taints) {
      taints.push_back({{"key", t.key}, {"value", t.value}, {"effect", GkeTaintEffect(t.effect)}});
    }
    config["taints"] = taints;
  }
  json pool{{"name", spec.name},
            {"initialNodeCount", 0},
            {"config", config},
            {"autoscaling", {{"enabled", false}}},
            {"management", {{"autoRepair", spec.auto_repair}, {"autoUpgrade", spec.auto_upgrade}}}};
  if (!spec.locations.empty()) pool["locations"] = spec.locations;
  return json{{"nodePool", pool}};
}

StatusOr<NodePool> ParseNodePool(const json& j, const std::string& what) {
  if (!j.is_object() || Str(j, "name").empty()) return Status::Internal(what + ": response is not a NodePool (no name)");
  NodePool p;
  p.name = Str(j, "name");
  p.status = Str(j, "status");
  p.status_message = Str(j, "statusMessage");
  if (j.contains("config") && j["config"].is_object()) {
    const json& c = j["config"];
    p.machine_type = Str(c, "machineType");
    p.spot = Bool(c, "spot") || Bool(c, "preemptible");
    if (c.contains("labels") && c["labels"].is_object()) {
      for (auto& [k, v] : c["labels"].items()) {
        if (v.is_string()) p.node_labels[k] = v.get<std::string>();
      }
    }
    if (c.contains("taints") && c["taints"].is_array()) {
      for (const auto& t : c["taints"]) {
        p.taints.push_back(Taint{Str(t, "key"), Str(t, "value"), KubernetesTaintEffect(Str(t, "effect"))});
      }
    }
  }
  if (j.contains("locations") && j["locations"].is_array()) {
    for (const auto& l : j["locations"]) {
      if (l.is_string()) p.locations.push_back(l.get<std::string>());
    }
  }
  if (j.contains("instanceGroupUrls") && j["instanceGroupUrls"].is_array()) {
    for (const auto& u : j["instanceGroupUrls"]) {
      if (u.is_string()) p.instance_group_urls.push_back(u.get<std::string>());
    }
  }
  if (j.contains("autoscaling") && j["autoscaling"].is_object()) p.autoscaling_enabled = Bool(j["autoscaling"], "enabled");
  return p;
}

StatusOr<std::vector<NodePool>> ParseNodePoolList(const json& j, const std::string& what) {
  if (!j.is_object()) return Status::Internal(what + ": response is not a JSON object");
  std::vector<NodePool> out;
  if (!j.contains("nodePools")) return out;
  if (!j["nodePools"].is_array()) return Status::Internal(what + ": nodePools is not an array");
  for (const auto& item : j["nodePools"]) {
    auto p = ParseNodePool(item, what);
    if (!p.ok()) return p.status();
    out.push_back(std::move(*p));
  }
  return out;
}

StatusOr<ClusterOperation> ParseClusterOperation(const json& j, const std::string& what) {
  if (!j.is_object() || Str(j, "name").empty() || Str(j, "status").empty()) {
    return Status::Internal(what + ": response is not a container Operation (no name/status)");
  }
  ClusterOperation op;
  op.name = Str(j, "name");
  op.operation_type = Str(j, "operationType");
  op.status = Str(j, "status");
  op.target_link = Str(j, "targetLink");
  op.target_name = LastPathSegment(op.target_link);
  op.status_message = Str(j, "statusMessage");
  std::string ctx = what + ": operation " + op.name + " (" + op.operation_type + " " +
                    (op.target_name.empty() ? "?" : op.target_name) + ")";
  if (j.contains("error") && j["error"].is_object()) {
    const json& e = j["error"];
    int64_t code = e.contains("code") && e["code"].is_number_integer() ? e["code"].get<int64_t>() : 2;
    std::string message = Str(e, "message");
    if (message.empty()) message = op.status_message;
    op.error = MakeCloudError(KindFromRpcCode(code, message),
                              http::RedactSecrets(ctx + ": failed: " + (message.empty() ? "unknown error" : message)));
  } else if (op.done() && !op.status_message.empty()) {
    op.error = MakeCloudError(KindFromRpcCode(2, op.status_message),
                              http::RedactSecrets(ctx + ": failed: " + op.status_message));
  }
  return op;
}

StatusOr<std::vector<ClusterOperation>> ParseClusterOperationList(const json& j, const std::string& what) {
  if (!j.is_object()) return Status::Internal(what + ": response is not a JSON object");
  std::vector<ClusterOperation> out;
  if (!j.contains("operations")) return out;
  if (!j["operations"].is_array()) return Status::Internal(what + ": operations is not an array");
  for (const auto& item : j["operations"]) {
    auto op = ParseClusterOperation(item, what);
    if (!op.ok()) return op.status();
    out.push_back(std::move(*op));
  }
  return out;
}

bool IsClusterBusyError(long http_status, std::string_view body) {
  if (http_status == 429) return true;
  if (http_status != 400) return false;
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("error") || !j["error"].is_object()) return false;
  const json& e = j["error"];
  if (e.contains("details") && e["details"].is_array()) {
    for (const auto& d : e["details"]) {
      if (Str(d, "reason") == "CLUSTER_ALREADY_HAS_OPERATION") return true;
    }
  }
  std::string status = Str(e, "status");
  std::string message = Lower(Str(e, "message"));
  if (status == "FAILED_PRECONDITION" || Lower(GceErrorReason(body)) == "failedprecondition") {
    return message.find("is currently") != std::string::npos ||
           message.find("incompatible operation") != std::string::npos ||
           message.find("try again") != std::string::npos;
  }
  return false;
}

bool IsValidNodePoolName(std::string_view n) {
  if (n.empty() || n.size() > 40) return false;
  if (!(n.front() >= 'a' && n.front() <= 'z')) return false;
  if (!((n.back() >= 'a' && n.back() <= 'z') || (n.back() >= '0' && n.back() <= '9'))) return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::string NodePoolNameFor(std::string_view machine_type, CapacityType capacity) {
  std::string type;
  for (char c : machine_type) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    type.push_back((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') ? l : '-');
  }
  std::string full = "kinema-" + type + (capacity == CapacityType::kSpot ? "-spot" : "-od");
  if (IsValidNodePoolName(full)) return full;
  std::string hash = Sha256Hex(full).substr(0, 6);
  std::string head = full.substr(0, 40 - 7);
  while (!head.empty() && head.back() == '-') head.pop_back();
  return head + "-" + hash;
}

}  // namespace kinema::cloud
