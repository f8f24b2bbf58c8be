// Discovery documents: /version, /api, /apis, /api/v1 and /apis/GROUP/VERSION
// (APIResourceList with verbs, scope, kinds, short names and subresources such
// as pods/eviction -> policy/v1 Eviction, which `kubectl drain` looks up).
//
// kubectl 1.32 first asks for aggregated discovery
// (application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList); the
// simulator answers with the legacy documents and Content-Type
// application/json, which clients treat as "aggregated discovery not
// supported" and fall back to the per-group-version lists.
// Thread-safety: pure functions of the ResourceRegistry.
#pragma once

#include <optional>
#include <string>

namespace kinema::sim {

std::string VersionDocument();
std::string CoreApiVersions(const std::string& server_address);
std::string ApiGroupList();
// nullopt when the group/version is not served.
std::optional<std::string> ApiResourceList(const std::string& group, const std::string& version);

}  // namespace kinema::sim
