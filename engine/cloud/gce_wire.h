// The GCE Compute v1 wire format: request bodies we send and the resources
// and error bodies we read back. Pure functions, separate from the HTTP
// plumbing so that they can be tested on captured JSON.
//
// Contract:
//   - BuildInsertBody() produces an instances.insert body: name,
//     machineType "zones/Z/machineTypes/T", labels, a boot disk from
//     `boot.source_image`, one network interface, metadata items, service
//     account, network tags, and `scheduling`: SPOT → provisioningModel SPOT,
//     instanceTerminationAction (DELETE by default), automaticRestart false,
//     onHostMaintenance TERMINATE; on-demand → provisioningModel STANDARD.
//   - ParseInstance/ParseOperation/ParseMachineType read the fields named in
//     cloud_provider.h (instance metadata items included); URLs (zone, machineType) are reduced to their last
//     path segment. A body that is not the expected JSON is kInternal with
//     `what` as context.
//   - GceHttpError() turns a non-2xx response into a typed Status (see
//     cloud_provider.h for the kinds). The reason comes from
//     error.errors[].reason, else error.details[].reason (ErrorInfo), else
//     error.status; then the HTTP code decides:
//       409 alreadyExists → kAlreadyExists; 404 → kNotFound;
//       quotaExceeded / QUOTA_EXCEEDED → kQuotaExceeded;
//       ZONE_RESOURCE_POOL_EXHAUSTED[_WITH_DETAILS] / resourcePoolExhausted
//         / stockout → kZoneResourcePoolExhausted;
//       429, rateLimitExceeded, userRateLimitExceeded, RATE_LIMIT_EXCEEDED
//         → kRateLimited; resourceNotReady (400: another operation on the
//         instance is still running) → kUnavailable; 5xx → kUnavailable;
//         401/403 → kPermissionDenied;
//       400 → kInvalid; any other → kOther.
//     Message: "<what>: HTTP <code> <reason>: <message>", redacted.
//   - OperationError() does the same for a DONE operation's
//     error.errors[].code (QUOTA_EXCEEDED, ZONE_RESOURCE_POOL_EXHAUSTED,
//     RESOURCE_ALREADY_EXISTS, RESOURCE_NOT_FOUND, ...), falling back on
//     httpErrorStatusCode; OK when the operation has no error.
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/cloud/cloud_provider.h"

namespace kinema::cloud {

// How new instances are built, beyond what InstanceSpec says.
struct BootTemplate {
  std::string source_image = "projects/debian-cloud/global/images/family/debian-12";
  int64_t disk_size_gb = 50;
  std::string disk_type = "pd-balanced";    // short name; zone-qualified in the body
  std::string network = "global/networks/default";
  std::string subnetwork;                  // empty: the network's default
  bool external_ip = false;                // ONE_TO_ONE_NAT access config
  std::string service_account_email;       // empty: no service account
  std::vector<std::string> scopes = {"https://www.googleapis.com/auth/cloud-platform"};
  std::vector<std::string> network_tags;
  std::map<std::string, std::string> metadata;  // e.g. startup-script (node join)
  std::string spot_termination_action = "DELETE";  // DELETE | STOP
};

nlohmann::json BuildInsertBody(const InstanceSpec& spec, const BootTemplate& boot);

// The body of instances.insert?sourceInstanceTemplate=T: only what Kinema
// overrides — name, machineType "zones/Z/machineTypes/T", scheduling (as
// above; spot termination DELETE) and labels (the template's, then the
// spec's). Disks, network, metadata (the node's join logic) and service
// account come from the template.
nlohmann::json BuildInsertFromTemplateBody(const InstanceSpec& spec, const Labels& template_labels);

StatusOr<Instance> ParseInstance(const nlohmann::json& j, const std::string& what);
StatusOr<Operation> ParseOperation(const nlohmann::json& j, const std::string& what);
StatusOr<MachineTypeInfo> ParseMachineType(const nlohmann::json& j, const std::string& what);

// The reason of a GCE error body ("" when absent or unparsable).
std::string GceErrorReason(std::string_view body);
// kRateLimited/kUnavailable per the rules above (what the retry loop asks).
CloudErrorKind GceErrorKind(long http_status, std::string_view body);
Status GceHttpError(long http_status, std::string_view body, const std::string& what);
Status OperationError(const nlohmann::json& operation, const std::string& what);

// "https://.../zones/us-central1-a" → "us-central1-a".
std::string LastPathSegment(std::string_view url);

// GCE list filter for exact label matches: (labels.a = "x") AND (labels.b = "y").
std::string LabelFilter(const Labels& labels);

}  // namespace kinema::cloud
