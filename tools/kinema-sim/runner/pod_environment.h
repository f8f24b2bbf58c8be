// The environment the kubelet gives a container (pkg/kubelet/kubelet_pods.go
// makeEnvironmentVariables), for the run-image kubelet:
//   - the API server's service variables, always (also with
//     enableServiceLinks: false): KUBERNETES_SERVICE_HOST/PORT(_HTTPS),
//     KUBERNETES_PORT(_443_TCP...), pointing at the simulator;
//   - envFrom (configMapRef/secretRef, prefix, optional) then env in order:
//     value with $(VAR) expansion of earlier variables ($$ escapes),
//     valueFrom fieldRef (metadata.name/namespace/uid, metadata.labels['k'],
//     metadata.annotations['k'], spec.nodeName, spec.serviceAccountName,
//     status.hostIP, status.podIP), resourceFieldRef (limits/requests
//     cpu and memory with divisor, rounded up like the kubelet),
//     configMapKeyRef and secretKeyRef (optional honoured);
//   - HOSTNAME (the pod's hostname), PATH (this machine's), HOME (the
//     pod's root directory);
//   - KINEMA_TEST_SERVICE_ACCOUNT_DIR: where the ServiceAccount volume is on
//     this machine (engine/kube/rest_config.h reads it instead of
//     /var/run/secrets/kubernetes.io/serviceaccount; other programs ignore
//     it). The only variable a real kubelet does not set.
// Paths in values are mapped with `map_text` (PodFiles::MapText).
// Thread-safety: pure function of its inputs.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/common/status.h"

namespace kinema::sim::runner {

struct EnvContext {
  const nlohmann::json* pod = nullptr;
  const nlohmann::json* container = nullptr;
  std::string api_host;
  int api_port = 0;
  std::string service_account_dir;  // host path of the token volume ("" = none)
  std::string home;
  // ConfigMap data / decoded Secret data by name in the pod's namespace.
  std::function<std::optional<std::map<std::string, std::string>>(const std::string& kind, const std::string& name)>
      lookup;
  std::function<std::string(const std::string&)> map_text;
};

using EnvList = std::vector<std::pair<std::string, std::string>>;

StatusOr<EnvList> BuildEnvironment(const EnvContext& ctx);
// $(VAR) → its value when defined; $$(VAR) → $(VAR); otherwise kept.
std::string ExpandVars(const std::string& s, const std::map<std::string, std::string>& vars);

}  // namespace kinema::sim::runner
