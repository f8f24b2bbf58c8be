#include "tools/kinema-sim/runner/probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace kinema::sim::runner {

namespace {

using Json = nlohmann::json;

int ResolvePort(const Json& port, const Json& container) {
  if (port.is_number_integer()) return port.get<int>();
  if (!port.is_string()) return 0;
  std::string name = port.get<std::string>();
  for (const auto& p : container.value("ports", Json::array())) {
    if (p.is_object() && p.value("name", "") == name) return p.value("containerPort", 0);
  }
  if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) return std::stoi(name);
  return 0;
}

// A connected socket to 127.0.0.1:port within `timeout` seconds, or -1.
int Connect(int port, double timeout, std::string* err) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 && errno != EINPROGRESS) {
    *err = std::string("dial tcp 127.0.0.1:") + std::to_string(port) + ": connect: " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int soerr = 0;
  socklen_t len = sizeof(soerr);
  if (::poll(&p, 1, static_cast<int>(timeout * 1000)) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 ||
      soerr != 0) {
    *err = "dial tcp 127.0.0.1:" + std::to_string(port) + ": " + (soerr ? std::strerror(soerr) : "i/o timeout");
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::optional<Probe> Probe::FromContainer(const Json& container, const std::string& kind) {
  const Json spec = container.value(kind, Json());
  if (!spec.is_object()) return std::nullopt;
  Probe p;
  p.kind_ = kind;
  if (spec.contains("httpGet") && spec["httpGet"].is_object()) {
    p.port_ = ResolvePort(spec["httpGet"].value("port", Json()), container);
    p.path_ = spec["httpGet"].value("path", "/");
    p.scheme_ = spec["httpGet"].value("scheme", "HTTP");
  } else if (spec.contains("tcpSocket") && spec["tcpSocket"].is_object()) {
    p.tcp_ = true;
    p.port_ = ResolvePort(spec["tcpSocket"].value("port", Json()), container);
  } else {
    p.exec_ = true;
  }
  p.initial_delay_ = spec.value("initialDelaySeconds", 0.0);
  p.period_ = std::max(1.0, spec.value("periodSeconds", 10.0));
  p.timeout_ = std::max(1.0, spec.value("timeoutSeconds", 1.0));
  p.success_threshold_ = std::max(1, spec.value("successThreshold", 1));
  p.failure_threshold_ = std::max(1, spec.value("failureThreshold", 3));
  return p;
}

std::string Probe::Describe() const {
  if (exec_) return kind_ + " exec (not run by kinema-sim)";
  if (tcp_) return kind_ + " tcpSocket 127.0.0.1:" + std::to_string(port_);
  return kind_ + " httpGet http://127.0.0.1:" + std::to_string(port_) + path_;
}

void Probe::Reset() {
  state_ = State::kUnknown;
  successes_ = failures_ = 0;
  next_ = {};
  last_error_.clear();
}

bool Probe::Check() {
  if (exec_) return true;
  if (port_ <= 0) {
    last_error_ = "no port";
    return false;
  }
  int fd = Connect(port_, timeout_, &last_error_);
  if (fd < 0) return false;
  if (tcp_) {
    ::close(fd);
    return true;
  }
  if (scheme_ != "HTTP") {
    ::close(fd);
    last_error_ = "scheme " + scheme_ + " is not supported by kinema-sim's prober";
    return false;
  }
  std::string req = "GET " + path_ + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                    "\r\nUser-Agent: kube-probe/1.32\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int>(timeout_ * 1000));
  size_t sent = 0;
  std::string resp;
  while (Clock::now() < deadline) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    pollfd p{fd, static_cast<short>(sent < req.size() ? POLLOUT : POLLIN), 0};
    if (::poll(&p, 1, std::max(left, 1)) != 1) break;
    if (sent < req.size()) {
      ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
      continue;
    }
    char buf[512];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<size_t>(n));
    if (resp.find("\r\n") != std::string::npos) break;  // the status line is all we need
  }
  ::close(fd);
  if (resp.rfind("HTTP/1.", 0) != 0 || resp.size() < 12) {
    last_error_ = "Get \"http://127.0.0.1:" + std::to_string(port_) + path_ + "\": no response within " +
                  std::to_string(static_cast<int>(timeout_)) + "s";
    return false;
  }
  int code = std::atoi(resp.substr(9, 3).c_str());
  if (code >= 200 && code < 400) return true;
  last_error_ = "HTTP probe failed with statuscode: " + std::to_string(code);
  return false;
}

bool Probe::MaybeRun(Clock::time_point started, Clock::time_point now) {
  if (next_ == Clock::time_point{}) {
    next_ = started + std::chrono::milliseconds(static_cast<int>(initial_delay_ * 1000));
  }
  if (now < next_) return false;
  next_ = now + std::chrono::milliseconds(static_cast<int>(period_ * 1000));
  State before = state_;
  if (Check()) {
    failures_ = 0;
    if (++successes_ >= success_threshold_) state_ = State::kSucceeded;
  } else {
    successes_ = 0;
    if (++failures_ >= failure_threshold_) state_ = State::kFailed;
  }
  return state_ != before;
}

}  // namespace kinema::sim::runner
