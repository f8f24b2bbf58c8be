// HttpServer: Boost.Beast HTTP/1.1 server, plain or TLS, on one address.
//
// Contract:
//   - Start() binds and listens (port 0 picks a free port; port() reports it)
//     and starts `threads` io threads; Stop() closes the acceptor and every
//     connection and joins the threads.
//   - Each connection runs on its own strand; requests on a connection are
//     served one at a time (HTTP/1.1 keep-alive), connections concurrently.
//     Handlers run synchronously on an io thread, so they must be quick;
//     latency faults are waited on a timer, watch streams only hold a
//     connection, never a thread.
//   - A streaming response is sent with chunked encoding and
//     "Connection: close"; the stream ends at the source's deadline, when the
//     client disconnects, or abruptly at the source's drop time.
//   - TLS: TLS 1.2+ with the given PEM certificate chain and key; no ALPN
//     (clients fall back to HTTP/1.1).
// Thread-safety: Start/Stop from one thread; the handler is called
// concurrently from io threads.
#pragma once

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/common/status.h"
#include "tools/kinema-sim/http_types.h"

namespace kinema::sim {

class HttpServer {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 0;
    bool tls = false;
    std::string cert_chain_pem;  // TLS only
    std::string key_pem;         // TLS only
    int threads = 2;
  };

  HttpServer(Options options, RequestHandler* handler);
  ~HttpServer();

  Status Start();
  void Stop();
  int port() const { return port_; }
  boost::asio::io_context& io() { return ioc_; }

 private:
  struct Impl;
  Options options_;
  RequestHandler* handler_;
  boost::asio::io_context ioc_;
  std::unique_ptr<Impl> impl_;
  std::vector<std::thread> threads_;
  int port_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace kinema::sim
