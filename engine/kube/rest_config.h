// RestConfig: where the API server is and how to authenticate to it, loaded
// from a kubeconfig file or from the in-cluster service account.
//
// Contract:
//   - LoadKubeconfig() follows client-go: the named context, else
//     current-context; cluster{server, certificate-authority(-data),
//     insecure-skip-tls-verify}; user{token, tokenFile, client-certificate(-data),
//     client-key(-data), exec}. Relative file paths resolve against the
//     kubeconfig's directory. "-data" wins over the file form.
//   - Unsupported auth (auth-provider, username/password) and inconsistent
//     settings (a CA together with insecure-skip-tls-verify, a client cert
//     without its key) are kInvalidArgument errors naming the field; a
//     missing file is kNotFound.
//   - LoadInClusterConfig() reads KUBERNETES_SERVICE_HOST/PORT and the service
//     account dir ({token, ca.crt, namespace}; DefaultServiceAccountDir()); the
//     token is used as a token_file so it is re-read when the kubelet rotates it.
//   - Secrets (token, client key) are held here but DebugString() and every
//     error message omit them.
// Thread-safety: plain value.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/common/status.h"
#include "engine/http/http_client.h"

namespace kinema::kube {

// users[].user.exec: a client.authentication.k8s.io credential plugin.
struct ExecConfig {
  std::string api_version;  // client.authentication.k8s.io/v1 or /v1beta1
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  bool provide_cluster_info = false;
  std::string interactive_mode = "Never";
  std::string base_dir;  // kubeconfig directory, for a relative command path
};

struct RestConfig {
  std::string server;  // "https://host:port", no trailing slash
  http::TlsOptions tls;
  std::string token;        // secret; static bearer token
  std::string token_file;   // re-read when it changes
  std::optional<ExecConfig> exec;
  std::string default_namespace = "default";
  std::string source;       // "kubeconfig /p (context c)" or "in-cluster"

  std::string DebugString() const;  // safe to log
};

StatusOr<RestConfig> LoadKubeconfig(const std::string& path, const std::string& context = "");
// As above from YAML text; relative paths resolve against base_dir.
StatusOr<RestConfig> LoadKubeconfigFromString(const std::string& yaml, const std::string& base_dir,
                                              const std::string& context = "", const std::string& origin = "");

// The ServiceAccount directory: /var/run/secrets/kubernetes.io/serviceaccount,
// unless KINEMA_TEST_SERVICE_ACCOUNT_DIR is set. That variable exists for
// tests only: kinema-sim's run-image kubelet runs the controller as a plain
// process (not in a container), so the token volume lives in a per-pod
// directory and the kubelet passes its path there (tools/kinema-sim/runner/README.md).
// Never set it in a real pod.
std::string DefaultServiceAccountDir();

struct InClusterOptions {
  std::string service_account_dir = DefaultServiceAccountDir();
};
StatusOr<RestConfig> LoadInClusterConfig(const InClusterOptions& options = {});

}  // namespace kinema::kube
