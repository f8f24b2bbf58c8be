#include "engine/admin/admin_server.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/admin/admin_protocol.h"

namespace kinema {

namespace {
using boost::asio::local::stream_protocol;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(stream_protocol::socket sock, AdminServer::Handler* handler) : sock_(std::move(sock)), handler_(handler) {}
  void Start() {
    auto self = shared_from_this();
    boost::asio::async_read_until(sock_, buf_, '\n', [self](boost::system::error_code ec, std::size_t) {
      if (ec) return;
      std::istream in(&self->buf_);
      std::string line;
      std::getline(in, line);
      nlohmann::json req = nlohmann::json::parse(line, nullptr, false);
      nlohmann::json resp;
      if (req.is_discarded() || !req.is_object()) {
        resp = {{"ok", false}, {"code", "InvalidArgument"}, {"error", "request is not a JSON object"}};
      } else {
        resp = (*self->handler_)(req);
      }
      self->out_ = resp.dump() + "\n";
      boost::asio::async_write(self->sock_, boost::asio::buffer(self->out_),
                               [self](boost::system::error_code, std::size_t) {});
    });
  }

 private:
  stream_protocol::socket sock_;
  AdminServer::Handler* handler_;
  boost::asio::streambuf buf_;
  std::string out_;
};
}  // namespace

AdminServer::AdminServer(boost::asio::io_context& io, std::string socket_path, Handler handler)
    : io_(io), path_(std::move(socket_path)), handler_(std::move(handler)) {}

AdminServer::~AdminServer() { Close(); }

Status AdminServer::Listen() {
  struct stat st;
  if (::stat(path_.c_str(), &st) == 0) {
    auto probe = SendAdminRequest(path_, {{"command", "ping"}}, 500);
    if (probe.ok()) return Status::FailedPrecondition("another controller answers on " + path_);
    ::unlink(path_.c_str());  // stale: its owner died
  }
  try {
    acceptor_ = std::make_unique<stream_protocol::acceptor>(io_, stream_protocol::endpoint(path_));
    ::chmod(path_.c_str(), 0600);
  } catch (const std::exception& e) {
    return Status::Unavailable("listen on admin socket " + path_ + ": " + e.what());
  }
  spdlog::info("admin socket listening on {}", path_);
  Accept();
  return Status::OK();
}

void AdminServer::Accept() {
  acceptor_->async_accept([this](boost::system::error_code ec, stream_protocol::socket sock) {
    if (ec) return;  // closed
    std::make_shared<Session>(std::move(sock), &handler_)->Start();
    Accept();
  });
}

void AdminServer::Close() {
  if (acceptor_) {
    boost::system::error_code ec;
    acceptor_->close(ec);
    acceptor_.reset();
    ::unlink(path_.c_str());
  }
}

}  // namespace kinema
