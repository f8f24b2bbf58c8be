// Writes an ordinary kubeconfig (one cluster, one user with a bearer token,
// one context, namespace "default") that kubectl, client libraries and
// Kinema's own client load unchanged. With TLS the cluster references the CA
// file by absolute path. Files are written atomically (temp + rename), mode
// 0600 for the kubeconfig.
// Thread-safety: pure functions (filesystem side effects only).
#pragma once

#include <string>

#include "engine/common/status.h"

namespace kinema::sim {

struct KubeconfigParams {
  std::string server;   // "https://127.0.0.1:6443"
  std::string token;
  std::string ca_file;  // absolute path, empty for plain HTTP
};

std::string RenderKubeconfig(const KubeconfigParams& p);
// The CA's path for a kubeconfig path: "<kubeconfig>.ca.crt" (absolute).
std::string CaPathFor(const std::string& kubeconfig_path);
Status WriteFileAtomically(const std::string& path, const std::string& content, unsigned mode);

}  // namespace kinema::sim
