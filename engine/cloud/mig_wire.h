// The wire format of Compute v1 zonal managed instance groups
// (instanceGroupManagers), instance templates, and GKE's kube-env: request
// bodies we send and resources we read. Pure functions, tested on the
// golden fixtures in tests/fixtures/gcp/compute/.
//
// Contract:
//   - Group URLs, full or relative (".../projects/P/zones/Z/instanceGroupManagers/M"),
//     parse into GroupRef; the `created-by` metadata of a member
//     ("projects/<NUMBER>/zones/Z/instanceGroupManagers/M") too. Groups are
//     compared by (zone, name): GKE and `created-by` spell the project
//     differently (id vs number).
//   - ParseManagedInstances reads listManagedInstances pages; a member's name
//     is `name`, else the last segment of `instance` (the name exists before
//     the instance does).
//   - ManagedInstanceError maps lastAttempt.errors as cluster-autoscaler's
//     GetErrorInfo does: RESOURCE_POOL_EXHAUSTED, ZONE_RESOURCE_POOL_EXHAUSTED
//     [_WITH_DETAILS] and INSUFFICIENT_CAPACITY → kZoneResourcePoolExhausted;
//     any code containing QUOTA → kQuotaExceeded; anything else
//     (IP_SPACE_EXHAUSTED, PERMISSIONS_ERROR, ...) → kOther. OK without errors.
//   - GroupMemberNameFor(base, key) = "<base>-k<hex of SHA-256(key)>": 10 hex
//     digits, fewer (>= 6) when the base is long, the base cut when even that
//     does not fit 63 characters. Keeping the base as a prefix keeps
//     cluster-autoscaler's and GKE tooling's prefix heuristics working.
//   - ParseKubeEnv reads the kube-env YAML of a GKE template: node labels
//     from AUTOSCALER_ENV_VARS node_labels (else NODE_LABELS), taints from
//     node_taints (else NODE_TAINTS), "k=v:Effect" entries.
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/cloud/cloud_provider.h"

namespace kinema::cloud {

struct GroupRef {
  std::string project;  // id or number, as the URL spelled it
  std::string zone;
  std::string name;
  bool SameGroup(const GroupRef& o) const { return zone == o.zone && name == o.name; }
};

bool ParseGroupUrl(std::string_view url, GroupRef* out);
bool ParseCreatedBy(std::string_view created_by, GroupRef* out);

struct InstanceGroupManager {
  std::string name;
  std::string zone;
  std::string base_instance_name;
  std::string instance_template;  // URL (global or regional)
  std::string self_link;
  int64_t target_size = 0;
  bool paginated = false;  // listManagedInstancesResults == PAGINATED
  bool is_stable = false;
};

struct ManagedInstance {
  std::string name;
  std::string zone;             // from the instance URL
  std::string id;               // "" until the instance exists
  std::string instance_status;  // "" until the instance exists
  std::string current_action;   // NONE, CREATING, RECREATING, DELETING, ...
  std::vector<std::pair<std::string, std::string>> errors;  // lastAttempt (code, message)
};

struct InstanceTemplate {
  std::string name;
  std::string self_link;
  std::string machine_type;  // short name
  bool regional = false;
  std::map<std::string, std::string> metadata;
  Labels labels;
  nlohmann::json scheduling = nlohmann::json::object();
};

struct KubeEnvNodeConfig {
  Labels node_labels;
  std::vector<Taint> taints;
  std::map<std::string, std::string> values;  // every top-level key
};

StatusOr<InstanceGroupManager> ParseInstanceGroupManager(const nlohmann::json& j, const std::string& what);
StatusOr<std::vector<ManagedInstance>> ParseManagedInstances(const nlohmann::json& page, const std::string& what);
StatusOr<InstanceTemplate> ParseInstanceTemplate(const nlohmann::json& j, const std::string& what);
StatusOr<KubeEnvNodeConfig> ParseKubeEnv(const std::string& yaml_text);

nlohmann::json BuildCreateInstancesBody(const std::vector<std::string>& names);
nlohmann::json BuildDeleteInstancesBody(const std::string& zone, const std::vector<std::string>& names);

bool IsCreatingAction(std::string_view current_action);  // CREATING, RECREATING, CREATING_WITHOUT_RETRIES
Status ManagedInstanceError(const ManagedInstance& member, const std::string& what);

std::string GroupMemberNameFor(std::string_view base_instance_name, std::string_view key);

}  // namespace kinema::cloud
