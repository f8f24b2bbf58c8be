// StatusServer: the controller's plain-HTTP endpoint for probes and scrapes
// (config server.address): GET /healthz, /readyz, /metrics, each answered by
// a callback. Anything else is 404; methods other than GET/HEAD are 405.
//
// One background thread accepts and serves connections one at a time (probe
// and scrape traffic is tiny); every connection has a 5 s I/O deadline so a
// stuck client cannot block probes for long.
// Thread-safety: Start/Stop from one thread; callbacks run on the server
// thread and must be thread-safe with respect to the rest of the process.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/common/status.h"

namespace kinema {

struct StatusReply {
  int code = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class StatusServer {
 public:
  using Handler = std::function<StatusReply()>;
  struct Handlers {
    Handler healthz, readyz, metrics;
  };

  // Binds "host:port" (port 0 = any free port) and starts serving.
  static StatusOr<std::unique_ptr<StatusServer>> Start(const std::string& address, Handlers handlers);
  ~StatusServer();
  int port() const;
  void Stop();
  // Failed accepts so far (out of descriptors, ...); accepting backs off
  // (50 ms doubling to 2 s) and resumes, it never spins.
  uint64_t accept_errors() const;

 private:
  struct Impl;
  explicit StatusServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kinema
