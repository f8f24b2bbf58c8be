// SimComponent: a part of the simulated world (controllers, scheduler,
// kubelet, fake GCE, usage model, ...) that runs inside kinema-sim beside the
// API server.
//
// Lifecycle (driven by SimServer):
//   1. constructed and registered with SimServer::AddComponent() before
//      SimServer::Start(); routes it serves are registered with AddRoute()
//      at that time too;
//   2. Start(server) after the snapshot is loaded and the HTTP server
//      listens, but before the kubeconfig is written — so the kubeconfig's
//      appearance still means "the whole simulated cluster is running".
//      server.scenario() holds the --scenario document ({} without one); a
//      component reads only its own top-level section and rejects malformed
//      values with InvalidArgument naming the key. A non-OK Status aborts
//      start-up;
//   3. Stop() before the HTTP server stops (reverse registration order).
// Thread-safety: Start/Stop are called from the thread running SimServer's
// Start/Stop; a component schedules its own work on server.io().
#pragma once

#include <string>

#include "engine/common/status.h"

namespace kinema::sim {

class SimServer;

class SimComponent {
 public:
  virtual ~SimComponent() = default;
  virtual std::string Name() const = 0;
  virtual Status Start(SimServer& server) = 0;
  virtual void Stop() {}
};

}  // namespace kinema::sim
