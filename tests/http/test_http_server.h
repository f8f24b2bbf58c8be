// TestHttpServer: a tiny HTTP/1.1 server on 127.0.0.1 for unit tests of the
// HTTP and Kubernetes clients (plain HTTP only; TLS is exercised against the
// real kinema-sim in integration tests).
//
// Contract:
//   - Listens on an ephemeral loopback port; port() tells which.
//   - Each connection serves one request (the response carries
//     "Connection: close"), calling the handler on a per-connection thread.
//   - A response may be split into chunks sent with a pause between them, to
//     exercise streaming (watch) clients; the body is close-delimited then.
//   - Every received request is recorded (requests()) for assertions.
// Thread-safety: handler may be called concurrently; requests() is locked.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kinema::testing {

struct TestRequest {
  std::string method;
  std::string target;  // path + query
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;

  std::string Path() const { return target.substr(0, target.find('?')); }
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct TestResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When non-empty, sent one after another with chunk_pause between them and
  // no Content-Length (close-delimited); `body` is ignored.
  std::vector<std::string> chunks;
  std::chrono::milliseconds chunk_pause{0};
  std::chrono::milliseconds delay_before{0};  // e.g. to trigger client timeouts
};

class TestHttpServer {
 public:
  using Handler = std::function<TestResponse(const TestRequest&)>;

  explicit TestHttpServer(Handler handler);
  ~TestHttpServer();

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<TestRequest> requests() const;
  size_t request_count() const;

 private:
  void AcceptLoop();
  void Serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<TestRequest> requests_;
  std::vector<std::thread> workers_;
};

}  // namespace kinema::testing
