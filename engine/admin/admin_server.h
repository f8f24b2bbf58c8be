// AdminServer: accepts admin requests on a Unix socket (see
// admin_protocol.h) inside a Boost.Asio io_context and hands each parsed
// request to a handler that returns the response.
//
// Contract:
//   - Listen() removes a stale socket file only after checking that nothing
//     answers on it; the socket is bound under umask 0177, so it is 0600 from
//     the moment it exists (no window in which others may connect).
//   - Accepting never stops while the server is open: an accept error (out of
//     descriptors, ...) is logged at most once per back-off period and
//     accepting resumes after a back-off (50 ms doubling to 2 s).
//   - Each connection has Options::session_timeout (kAdminSessionTimeout) to send its line and read the
//     answer, then it is closed; a line longer than kMaxAdminMessageBytes is
//     refused with an error response. Malformed requests get an error
//     response (never reach the handler).
//   - The peer's uid/gid/pid come from SO_PEERCRED and are passed to the
//     handler; peers other than this process's user and root are refused.
//   - The handler runs on the io_context's thread.
// Thread-safety: drive from the io_context's thread; Close() from it too.
#pragma once

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange under C++20
#include <boost/asio.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/admin/admin_protocol.h"
#include "engine/common/status.h"

namespace kinema {

class AdminServer {
 public:
  using Handler = std::function<nlohmann::json(const AdminRequest& request, const AdminPeer& peer)>;
  struct Options {
    std::chrono::milliseconds session_timeout = kAdminSessionTimeout;
  };
  AdminServer(boost::asio::io_context& io, std::string socket_path, Handler handler, Options options);
  AdminServer(boost::asio::io_context& io, std::string socket_path, Handler handler)
      : AdminServer(io, std::move(socket_path), std::move(handler), Options{}) {}
  ~AdminServer();
  Status Listen();
  void Close();
  const std::string& socket_path() const { return path_; }

  // Accept errors seen so far (tests).
  uint64_t accept_errors() const { return accept_errors_.load(); }

 private:
  void Accept();
  void OnAcceptError(const boost::system::error_code& ec);
  boost::asio::io_context& io_;
  std::string path_;
  Handler handler_;
  Options options_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> acceptor_;
  boost::asio::steady_timer retry_timer_;
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point last_error_log_{};
  std::atomic<uint64_t> accept_errors_{0};
};

}  // namespace kinema
