// AdminServer: accepts admin requests on a Unix socket (see
// admin_protocol.h) inside a Boost.Asio io_context and hands each request to
// a handler that returns the response.
//
// Contract: Listen() removes a stale socket file only after checking that
// nothing answers on it; the socket is created with mode 0600. The handler
// runs on the io_context's thread.
// Thread-safety: drive from the io_context's thread; Close() from it too.
#pragma once

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange under C++20
#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/common/status.h"

namespace kinema {

class AdminServer {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;
  AdminServer(boost::asio::io_context& io, std::string socket_path, Handler handler);
  ~AdminServer();
  Status Listen();
  void Close();
  const std::string& socket_path() const { return path_; }

 private:
  void Accept();
  boost::asio::io_context& io_;
  std::string path_;
  Handler handler_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> acceptor_;
};

}  // namespace kinema
