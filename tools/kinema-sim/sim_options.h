// Command-line flags of kinema-sim (operations.md):
//   --snapshot FILE --catalog FILE --listen HOST:PORT --write-kubeconfig PATH
//   [--time-scale X] [--faults FILE] [--seed N] [--tls]
// plus --scenario FILE (usage profiles, cloud settings, timed events: see
// tools/scenarios/README.md; each sim component reads its own section),
// plus simulator-specific extras: --token T (fixed bearer token; default
// random), --watch-history N (events kept for watch resumption; default
// 20000), --threads N (io threads; default 2), --log-level LEVEL.
// `--flag value` and `--flag=value` are both accepted.
// Thread-safety: plain value.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kinema::sim {

struct SimOptions {
  std::string snapshot;
  std::string catalog;
  std::string listen_host = "127.0.0.1";
  int listen_port = 0;
  std::string kubeconfig;
  double time_scale = 1.0;
  std::string faults;
  std::string scenario;
  std::string audit_log;  // --audit-log FILE: one JSON line per API request
  uint64_t seed = 1;
  bool tls = false;
  bool api_only = false;  // --api-only: the API server alone (no controllers, scheduler, kubelet, GCE, usage)
  std::string token;
  size_t watch_history = 20000;
  int threads = 2;
  std::string log_level = "info";
  // issue 20 (runner/README.md): --run-image NAME=ENTRYPOINT (repeatable):
  // "kinema=/path/kinema --config /etc/kinema/kinema.yaml" — pods whose
  // image is NAME (any tag/digest) run ENTRYPOINT as a real process.
  std::vector<std::pair<std::string, std::string>> run_images;
  // --state-dir DIR: PersistentVolume directories and run-image pods'
  // files (default: <kubeconfig>.state).
  std::string state_dir;
};

enum class ParseOutcome { kRun, kHelp, kError };

// On kError, *error holds a one-line reason.
ParseOutcome ParseSimOptions(int argc, char** argv, SimOptions* out, std::string* error);
const char* SimUsage();

}  // namespace kinema::sim
