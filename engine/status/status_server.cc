#include "engine/status/status_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
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
  asio::steady_timer retry{io};
  std::chrono::milliseconds backoff{0};
  std::chrono::steady_clock::time_point last_error_log{};
  std::atomic<uint64_t> accept_errors{0};

  void Accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || stopped.load()) return;
      if (ec) return OnAcceptError(ec);
      backoff = std::chrono::milliseconds(0);
      Serve(std::move(socket));
      Accept();
    });
  }

  // Out of descriptors (EMFILE) and friends: accept fails at once, again and
  // again. Back off (50 ms doubling to 2 s) instead of spinning, and log at
  // most once per 10 s.
  void OnAcceptError(const beast::error_code& ec) {
    ++accept_errors;
    backoff = std::clamp(backoff * 2, std::chrono::milliseconds(50), std::chrono::milliseconds(2000));
    const auto now = std::chrono::steady_clock::now();
    if (now - last_error_log >= std::chrono::seconds(10)) {
      last_error_log = now;
      spdlog::warn("status server: accept: {} ({} errors so far); retrying in {} ms", ec.message(),
                   accept_errors.load(), backoff.count());
    }
    retry.expires_after(backoff);
    retry.async_wait([this](beast::error_code tec) {
      if (!tec && !stopped.load()) Accept();
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

uint64_t StatusServer::accept_errors() const { return impl_->accept_errors.load(); }

int StatusServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void StatusServer::Stop() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  asio::post(impl_->io, [this] {
    beast::error_code ignored;
    impl_->retry.cancel();
    impl_->acceptor.close(ignored);
    impl_->io.stop();
  });
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace kinema
