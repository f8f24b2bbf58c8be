// Test helpers: start the real kinema-sim binary on a free port and run
// shell commands (kubectl, curl, python) against it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace kinema::simtest {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `command` with bash; captures stdout and stderr separately.
CommandResult RunCommand(const std::string& command);

class SimProcess {
 public:
  // Starts kinema-sim with the committed small snapshot and catalog, on
  // 127.0.0.1:0, writing its kubeconfig into a fresh temp directory.
  // `extra` is appended to the command line (e.g. {"--tls"}).
  explicit SimProcess(std::vector<std::string> extra = {});
  ~SimProcess();

  bool ok() const { return ok_; }
  const std::string& dir() const { return dir_; }
  const std::string& kubeconfig() const { return kubeconfig_; }
  // "kubectl --kubeconfig K --cache-dir D" for composing commands.
  std::string Kubectl() const;
  // Base URL from the kubeconfig ("https://127.0.0.1:PORT").
  std::string Url() const { return url_; }
  std::string Token() const { return token_; }
  // curl with the sim's CA and (optionally) its token.
  std::string Curl(bool with_token = true) const;
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  bool ok_ = false;
  std::string dir_, kubeconfig_, url_, token_;
};

std::string BinDir();
std::string SourceDir();

}  // namespace kinema::simtest
