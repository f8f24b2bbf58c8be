#include "tests/http/test_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <stdexcept>

namespace kinema::testing {

namespace {

bool SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

}  // namespace

TestHttpServer::TestHttpServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket failed");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    throw std::runtime_error("bind failed");
  }
  socklen_t len = sizeof(addr);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  ::listen(listen_fd_, 64);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TestHttpServer::~TestHttpServer() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> l(mu_);
    workers.swap(workers_);
  }
  for (auto& w : workers) w.join();
}

std::vector<TestRequest> TestHttpServer::requests() const {
  std::lock_guard<std::mutex> l(mu_);
  return requests_;
}

size_t TestHttpServer::request_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return requests_.size();
}

void TestHttpServer::AcceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    int r = ::poll(&p, 1, 100);
    if (r <= 0) continue;
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> l(mu_);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void TestHttpServer::Serve(int fd) {
  std::string buf;
  char tmp[8192];
  size_t header_end = std::string::npos;
  while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0) {
      ::close(fd);
      return;
    }
    buf.append(tmp, static_cast<size_t>(n));
  }
  TestRequest req;
  std::string head = buf.substr(0, header_end);
  size_t line_end = head.find("\r\n");
  std::string first = head.substr(0, line_end);
  size_t sp1 = first.find(' ');
  size_t sp2 = first.find(' ', sp1 + 1);
  req.method = first.substr(0, sp1);
  req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t pos = line_end + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    if (e == std::string::npos) e = head.size();
    std::string line = head.substr(pos, e - pos);
    size_t c = line.find(':');
    if (c != std::string::npos) {
      std::string name = line.substr(0, c);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string value = line.substr(c + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      req.headers[name] = value;
    }
    pos = e + 2;
  }
  size_t content_length = 0;
  if (auto it = req.headers.find("content-length"); it != req.headers.end()) {
    content_length = std::stoul(it->second);
  }
  req.body = buf.substr(header_end + 4);
  while (req.body.size() < content_length) {
    ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0) break;
    req.body.append(tmp, static_cast<size_t>(n));
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    requests_.push_back(req);
  }
  TestResponse resp = handler_(req);
  if (resp.delay_before.count() > 0) std::this_thread::sleep_for(resp.delay_before);
  std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " " + Reason(resp.status) + "\r\n";
  bool has_type = false;
  for (const auto& [k, v] : resp.headers) {
    out += k + ": " + v + "\r\n";
    has_type = has_type || k == "Content-Type";
  }
  if (!has_type) out += "Content-Type: application/json\r\n";
  out += "Connection: close\r\n";
  if (resp.chunks.empty()) {
    out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n\r\n" + resp.body;
    SendAll(fd, out);
  } else {
    out += "\r\n";
    bool ok = SendAll(fd, out);
    for (const auto& chunk : resp.chunks) {
      if (!ok || stopping_) break;
      if (resp.chunk_pause.count() > 0) std::this_thread::sleep_for(resp.chunk_pause);
      ok = SendAll(fd, chunk);
    }
  }
  ::shutdown(fd, SHUT_WR);
  // Drain until the peer closes so it sees a clean end of body.
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 200) > 0) {
    while (::recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT) > 0) {
    }
  }
  ::close(fd);
}

}  // namespace kinema::testing
