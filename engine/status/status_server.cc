#include "engine/status/status_server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

namespace kinema {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct StatusServer::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  Handlers handlers;
  std::thread thread;
  std::atomic<bool> stopped{false};

  void Accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (!stopped.load()) spdlog::warn("status server: accept: {}", ec.message());
        if (ec == asio::error::operation_aborted || stopped.load()) return;
      } else {
        Serve(std::move(socket));
      }
      Accept();
    });
  }

  // Serves one connection: reads requests until the client closes it, keeps
  // it alive, or the 5 s deadline passes.
  void Serve(tcp::socket socket) {
    auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
    auto buffer = std::make_shared<beast::flat_buffer>();
    auto req = std::make_shared<http::request<http::string_body>>();
    stream->expires_after(std::chrono::seconds(5));
    http::async_read(*stream, *buffer, *req, [this, stream, buffer, req](beast::error_code ec, size_t) {
      if (ec) return;
      auto res = std::make_shared<http::response<http::string_body>>(Respond(*req));
      http::async_write(*stream, *res, [stream, res](beast::error_code, size_t) {
        beast::error_code ignored;
        stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      });
    });
  }

  http::response<http::string_body> Respond(const http::request<http::string_body>& req) {
    std::string target(req.target());
    std::string path = target.substr(0, target.find('?'));
    StatusReply reply;
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      reply = {405, "text/plain; charset=utf-8", "method not allowed\n"};
    } else if (path == "/healthz" && handlers.healthz) {
      reply = handlers.healthz();
    } else if (path == "/readyz" && handlers.readyz) {
      reply = handlers.readyz();
    } else if (path == "/metrics" && handlers.metrics) {
      reply = handlers.metrics();
    } else {
      reply = {404, "text/plain; charset=utf-8", "not found: " + path + "\n"};
    }
    http::response<http::string_body> res{static_cast<http::status>(reply.code), req.version()};
    res.set(http::field::content_type, reply.content_type);
    res.set(http::field::server, "kinema");
    res.keep_alive(false);
    if (req.method() != http::verb::head) res.body() = std::move(reply.body);
    res.prepare_payload();
    return res;
  }
};

StatusServer::StatusServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StatusServer::~StatusServer() { Stop(); }

StatusOr<std::unique_ptr<StatusServer>> StatusServer::Start(const std::string& address, Handlers handlers) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("server.address '" + address + "': want host:port");
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (...) {
    return Status::InvalidArgument("server.address '" + address + "': bad port");
  }
  if (port < 0 || port > 65535) return Status::InvalidArgument("server.address '" + address + "': bad port");
  auto impl = std::make_unique<Impl>();
  impl->handlers = std::move(handlers);
  beast::error_code ec;
  auto ip = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) return Status::InvalidArgument("server.address '" + address + "': " + ec.message());
  tcp::endpoint ep(ip, static_cast<unsigned short>(port));
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("status server: listen on " + address + ": " + ec.message());
  impl->Accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<StatusServer>(new StatusServer(std::move(impl)));
}

int StatusServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void StatusServer::Stop() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  asio::post(impl_->io, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->io.stop();
  });
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace kinema
