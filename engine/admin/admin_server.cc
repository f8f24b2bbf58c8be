#include "engine/admin/admin_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/common/safe_json.h"

namespace kinema {

namespace {
using boost::asio::local::stream_protocol;

AdminPeer PeerOf(stream_protocol::socket& sock) {
  AdminPeer peer;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(sock.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && len == sizeof cred) {
    peer.uid = cred.uid;
    peer.gid = cred.gid;
    peer.pid = cred.pid;
  }
  return peer;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(stream_protocol::socket sock, AdminServer::Handler* handler, std::chrono::milliseconds timeout)
      : sock_(std::move(sock)),
        handler_(handler),
        timeout_(timeout),
        buf_(kMaxAdminMessageBytes + 1),
        deadline_(sock_.get_executor()) {}

  void Start() {
    auto self = shared_from_this();
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self](boost::system::error_code ec) {
      if (ec) return;  // the session finished first
      spdlog::warn("admin socket: a client did not finish within {} ms; closing the connection",
                   self->timeout_.count());
      boost::system::error_code ignored;
      self->sock_.close(ignored);
    });
    boost::asio::async_read_until(sock_, buf_, '\n', [self](boost::system::error_code ec, std::size_t n) {
      self->OnLine(ec, n);
    });
  }

 private:
  void OnLine(boost::system::error_code ec, std::size_t n) {
    nlohmann::json resp;
    if (ec == boost::asio::error::not_found) {  // the buffer's max size: no newline within the limit
      resp = AdminErrorResponse(
          Status::InvalidArgument("request exceeds " + std::to_string(kMaxAdminMessageBytes) + " bytes"));
    } else if (ec) {
      return Finish();
    } else {
      std::string line(boost::asio::buffers_begin(buf_.data()), boost::asio::buffers_begin(buf_.data()) + n);
      if (!line.empty() && line.back() == '\n') line.pop_back();
      resp = Answer(line);
    }
    out_ = safe_json::Dump(resp) + "\n";
    auto self = shared_from_this();
    boost::asio::async_write(sock_, boost::asio::buffer(out_),
                             [self](boost::system::error_code, std::size_t) { self->Finish(); });
  }

  nlohmann::json Answer(const std::string& line) {
    AdminPeer peer = PeerOf(sock_);
    if (peer.uid >= 0 && peer.uid != static_cast<int64_t>(::geteuid()) && peer.uid != 0) {
      spdlog::warn("admin socket: refused a request from uid {} (pid {})", peer.uid, peer.pid);
      return AdminErrorResponse(Status::PermissionDenied("uid " + std::to_string(peer.uid) + " may not command this controller"));
    }
    auto req = ParseAdminRequest(line);
    if (!req.ok()) return AdminErrorResponse(req.status());
    return (*handler_)(*req, peer);
  }

  void Finish() {
    deadline_.cancel();
    boost::system::error_code ignored;
    sock_.close(ignored);
  }

  stream_protocol::socket sock_;
  AdminServer::Handler* handler_;
  std::chrono::milliseconds timeout_;
  boost::asio::streambuf buf_;
  boost::asio::steady_timer deadline_;
  std::string out_;
};
}  // namespace

AdminServer::AdminServer(boost::asio::io_context& io, std::string socket_path, Handler handler, Options options)
    : io_(io), path_(std::move(socket_path)), handler_(std::move(handler)), options_(options), retry_timer_(io) {}

AdminServer::~AdminServer() { Close(); }

Status AdminServer::Listen() {
  struct stat st;
  if (::stat(path_.c_str(), &st) == 0) {
    auto probe = SendAdminRequest(path_, {{"command", "ping"}}, 500);
    if (probe.ok()) return Status::FailedPrecondition("another controller answers on " + path_);
    ::unlink(path_.c_str());  // stale: its owner died
  }
  try {
    acceptor_ = std::make_unique<stream_protocol::acceptor>(io_);
    acceptor_->open(stream_protocol());
    // The socket file is created by bind(): under this umask it is 0600 from
    // the start. (umask is process-wide; this runs at start-up, before the
    // threads that create files exist.)
    const mode_t old_mask = ::umask(0177);
    boost::system::error_code ec;
    acceptor_->bind(stream_protocol::endpoint(path_), ec);
    ::umask(old_mask);
    if (ec) throw boost::system::system_error(ec);
    acceptor_->listen();
    ::chmod(path_.c_str(), 0600);
  } catch (const std::exception& e) {
    acceptor_.reset();
    return Status::Unavailable("listen on admin socket " + path_ + ": " + e.what());
  }
  spdlog::info("admin socket listening on {}", path_);
  Accept();
  return Status::OK();
}

void AdminServer::Accept() {
  if (!acceptor_) return;
  acceptor_->async_accept([this](boost::system::error_code ec, stream_protocol::socket sock) {
    if (ec == boost::asio::error::operation_aborted || !acceptor_ || !acceptor_->is_open()) return;  // closed
    if (ec) return OnAcceptError(ec);
    backoff_ = std::chrono::milliseconds(0);
    std::make_shared<Session>(std::move(sock), &handler_, options_.session_timeout)->Start();
    Accept();
  });
}

void AdminServer::OnAcceptError(const boost::system::error_code& ec) {
  ++accept_errors_;
  backoff_ = std::clamp(backoff_ * 2, std::chrono::milliseconds(50), std::chrono::milliseconds(2000));
  const auto now = std::chrono::steady_clock::now();
  if (now - last_error_log_ >= std::chrono::seconds(10)) {
    last_error_log_ = now;
    spdlog::error("admin socket {}: accept failed: {} ({} errors so far); retrying in {} ms", path_, ec.message(),
                  accept_errors_.load(), backoff_.count());
  }
  retry_timer_.expires_after(backoff_);
  retry_timer_.async_wait([this](boost::system::error_code tec) {
    if (!tec) Accept();
  });
}

void AdminServer::Close() {
  retry_timer_.cancel();
  if (acceptor_) {
    boost::system::error_code ec;
    acceptor_->close(ec);
    acceptor_.reset();
    ::unlink(path_.c_str());
  }
}

}  // namespace kinema
