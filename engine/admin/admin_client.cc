#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/admin/admin_protocol.h"
#include "engine/common/safe_json.h"

namespace kinema {

namespace {
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Status WaitFd(int fd, short events, int timeout_ms, const std::string& what) {
  pollfd p{fd, events, 0};
  int r;
  do {
    r = ::poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return Status::DeadlineExceeded(what + ": controller did not answer within " + std::to_string(timeout_ms) + " ms");
  if (r < 0) return Status::Unavailable(what + ": " + std::strerror(errno));
  return Status::OK();
}
}  // namespace

StatusOr<nlohmann::json> SendAdminRequest(const std::string& socket_path, const nlohmann::json& request,
                                          int timeout_ms) {
  std::string what = "admin socket " + socket_path;
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof(addr.sun_path)) return Status::InvalidArgument(what + ": path too long");
  Fd s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) return Status::Unavailable(what + ": " + std::strerror(errno));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Status::Unavailable(what + ": " + std::strerror(errno));
  }
  std::string line = safe_json::Dump(request) + "\n";  // invalid UTF-8 (an operator's --reason) is replaced
  size_t off = 0;
  while (off < line.size()) {
    KINEMA_RETURN_IF_ERROR(WaitFd(s.fd, POLLOUT, timeout_ms, what));
    ssize_t n = ::send(s.fd, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return Status::Unavailable(what + ": send: " + std::strerror(errno));
    off += static_cast<size_t>(n);
  }
  std::string reply;
  char buf[4096];
  while (reply.find('\n') == std::string::npos) {
    KINEMA_RETURN_IF_ERROR(WaitFd(s.fd, POLLIN, timeout_ms, what));
    ssize_t n = ::recv(s.fd, buf, sizeof(buf), 0);
    if (n < 0) return Status::Unavailable(what + ": recv: " + std::strerror(errno));
    if (n == 0) break;
    reply.append(buf, static_cast<size_t>(n));
    if (reply.size() > 4 * kMaxAdminMessageBytes) return Status::Internal(what + ": reply too long");
  }
  auto j = safe_json::Parse(reply);
  if (j.is_discarded() || !j.is_object()) return Status::Internal(what + ": malformed reply");
  return j;
}

}  // namespace kinema
