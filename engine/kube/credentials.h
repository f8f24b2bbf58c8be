// CredentialProvider: the bearer token to send with each request.
//
// Contract:
//   - Source, in order: exec plugin, token file, static token; none → "" (the
//     client authenticates with a client certificate or not at all).
//   - Token file (tokenFile, in-cluster service account): re-read when its
//     mtime or size changes, and at least every `file_refresh` (default 60 s,
//     like client-go), so kubelet rotations are picked up.
//   - Exec plugin: run with stdin closed (interactiveMode is treated as Never),
//     KUBERNETES_EXEC_INFO set, the configured env added, and a timeout. The
//     ExecCredential's status.token is cached until status.expirationTimestamp
//     (minus a 10 s margin) or until Invalidate(). A plugin that fails, times
//     out, prints non-JSON or a different apiVersion gives kUnavailable /
//     kInvalidArgument with stderr (redacted, truncated) in the message.
//   - Invalidate() is called by the client after an HTTP 401: the next Token()
//     re-reads the file / re-runs the plugin.
//   - The token never appears in any Status message or log line.
// Thread-safety: Token() and Invalidate() may be called concurrently; a plugin
// runs at most once at a time, with a deadline (exec_timeout: its output AND
// its exit; then it is killed), and no lock that Invalidate() or a cached
// Token() needs is held while it runs.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "engine/common/status.h"
#include "engine/kube/rest_config.h"

namespace kinema::kube {

class CredentialProvider {
 public:
  struct Options {
    std::chrono::seconds file_refresh{60};
    std::chrono::seconds exec_timeout{30};
  };

  CredentialProvider(const RestConfig& config, Options options);
  explicit CredentialProvider(const RestConfig& config) : CredentialProvider(config, Options{}) {}

  StatusOr<std::string> Token();
  void Invalidate();

  // Number of times the exec plugin ran / the token file was read (tests).
  int exec_runs() const;
  int file_reads() const;

 private:
  StatusOr<std::string> TokenFromFile();
  StatusOr<std::string> TokenFromExec();
  bool ExecTokenFreshLocked(std::chrono::system_clock::time_point now) const;

  const std::string static_token_;
  const std::string token_file_;
  const std::optional<ExecConfig> exec_;
  const std::string server_;
  const std::string ca_pem_;
  const bool insecure_;
  const Options options_;

  mutable std::mutex mu_;
  std::string cached_;
  bool have_cached_ = false;
  // File state.
  std::chrono::steady_clock::time_point file_read_at_{};
  int64_t file_mtime_ns_ = -1;
  int64_t file_size_ = -1;
  int file_reads_ = 0;
  // Exec state.
  std::mutex exec_run_mu_;    // serialises plugin runs; never taken under mu_
  uint64_t exec_generation_ = 0;  // bumped by Invalidate(): a run started before it is not cached
  std::optional<std::chrono::system_clock::time_point> exec_expiry_;
  int exec_runs_ = 0;
};

}  // namespace kinema::kube
