// SimProcess: runs the real kinema-sim binary for integration tests.
//
// Contract:
//   - Start() writes the given snapshot and catalog into a fresh temp dir,
//     picks a free loopback port, launches $KINEMA_BIN_DIR/kinema-sim with
//     --snapshot/--catalog/--listen/--write-kubeconfig (plus --tls, --faults,
//     --seed when asked), and returns once the API answers GET /version.
//   - The sim's stdout/stderr go to <dir>/sim.log (LogTail() for failures).
//   - Pause()/Resume() send SIGSTOP/SIGCONT (a hung API server); the
//     destructor terminates the process (SIGTERM, then SIGKILL) and removes
//     the temp dir.
#pragma once

#include <sys/types.h>

#include <string>

#include "engine/common/status.h"
#include "engine/kube/object.h"

namespace kinema::testing {

struct SimOptions {
  kube::Json snapshot;  // a v1 List
  kube::Json catalog;
  bool tls = false;
  kube::Json faults;    // null = no --faults
  int seed = 1;
  int watch_history = 0;  // 0 = the sim's default
};

class SimProcess {
 public:
  SimProcess() = default;
  ~SimProcess();
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;

  Status Start(const SimOptions& options);
  void Stop();
  void Pause();
  void Resume();

  const std::string& kubeconfig() const { return kubeconfig_; }
  const std::string& dir() const { return dir_; }
  int port() const { return port_; }
  std::string LogTail() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string dir_;
  std::string kubeconfig_;
};

// A small cluster: 3 nodes, Deployment "web" (6 pods, label app=web, via a
// ReplicaSet), 2 "guarded" pods covered by a PDB that allows no disruption,
// 1 "double" pod covered by two PDBs.
kube::Json SmallSnapshot();
kube::Json SmallCatalog();

int FreeLoopbackPort();

}  // namespace kinema::testing
