#include "tests/support/prometheus_process.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/http/http_client.h"
#include "tests/support/test_support.h"

namespace kinema::testing {

int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

bool PrometheusProcess::Installed() { return ::access(kBinary, X_OK) == 0; }

PrometheusProcess::PrometheusProcess(const std::string& dir, const PrometheusOptions& o) : dir_(dir) {
  port_ = FreeLoopbackPort();
  {
    std::ofstream f(dir + "/prometheus.yml");
    f << "global:\n"
      << "  scrape_interval: " << o.scrape_interval << "\n"
      << "  scrape_timeout: " << o.scrape_timeout << "\n"
      << "  evaluation_interval: " << o.evaluation_interval << "\n";
    if (!o.rule_files.empty()) {
      f << "rule_files:\n";
      for (const auto& r : o.rule_files) f << "  - '" << r << "'\n";
    }
    f << "scrape_configs:\n"
      << "  - job_name: kinema-sim\n"
      << "    metrics_path: /metrics\n"
      << "    honor_labels: " << (o.honor_labels ? "true" : "false") << "\n"
      << "    static_configs:\n"
      << "      - targets: [";
    for (size_t i = 0; i < o.targets.size(); ++i) f << (i ? ", '" : "'") << o.targets[i] << "'";
    f << "]\n";
  }
  std::filesystem::create_directories(dir + "/tsdb");
  pid_ = StartProcess({kBinary, "--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + dir + "/tsdb",
                       "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"},
                      dir + "/prometheus");
}

PrometheusProcess::~PrometheusProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    WaitProcess(pid_);
  }
}

std::string PrometheusProcess::Log() const { return ReadFile(dir_ + "/prometheus.err"); }

bool PrometheusProcess::WaitReady(std::chrono::seconds timeout) {
  http::HttpClient http;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status;
    if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    http::Request req;
    req.url = url() + "/-/ready";
    req.timeout = std::chrono::milliseconds(1000);
    auto r = http.Do(req);
    if (r.ok() && r->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace kinema::testing
