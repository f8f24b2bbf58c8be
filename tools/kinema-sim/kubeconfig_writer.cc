#include "tools/kinema-sim/kubeconfig_writer.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace kinema::sim {

namespace {
// YAML double-quoted scalar.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
}  // namespace

std::string RenderKubeconfig(const KubeconfigParams& p) {
  std::string y;
  y += "apiVersion: v1\nkind: Config\n";
  y += "clusters:\n- name: kinema-sim\n  cluster:\n    server: " + Quote(p.server) + "\n";
  if (!p.ca_file.empty()) y += "    certificate-authority: " + Quote(p.ca_file) + "\n";
  y += "users:\n- name: kinema-sim\n  user:\n    token: " + Quote(p.token) + "\n";
  y += "contexts:\n- name: kinema-sim\n  context:\n    cluster: kinema-sim\n    user: kinema-sim\n    namespace: default\n";
  y += "current-context: kinema-sim\npreferences: {}\n";
  return y;
}

std::string CaPathFor(const std::string& kubeconfig_path) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(kubeconfig_path, ec);
  return (ec ? kubeconfig_path : abs.string()) + ".ca.crt";
}

Status WriteFileAtomically(const std::string& path, const std::string& content, unsigned mode) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::IOError("write " + tmp + ": " + std::strerror(errno));
    out << content;
    out.flush();
    if (!out) return Status::IOError("write " + tmp + ": " + std::strerror(errno));
  }
  ::chmod(tmp.c_str(), mode);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::IOError("rename " + tmp + " -> " + path + ": " + ec.message());
  return Status::OK();
}

}  // namespace kinema::sim
