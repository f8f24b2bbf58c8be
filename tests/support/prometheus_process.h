// PrometheusProcess: a real Prometheus server (Debian's /usr/bin/prometheus)
// for integration tests, scraping given targets and optionally evaluating
// rule files, on a free loopback port with its data in `dir`.
// Thread-safety: one owner; the destructor stops the process (SIGTERM, wait).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace kinema::testing {

struct PrometheusOptions {
  std::vector<std::string> targets;        // host:port, scraped at /metrics
  std::vector<std::string> rule_files;     // absolute paths
  bool honor_labels = false;               // keep the targets' own instance/job labels
  std::string scrape_interval = "1s";
  std::string scrape_timeout = "1s";
  std::string evaluation_interval = "1s";
};

class PrometheusProcess {
 public:
  static constexpr const char* kBinary = "/usr/bin/prometheus";
  static bool Installed();

  // Writes dir/prometheus.yml and starts the server (logs in dir/prometheus.err).
  PrometheusProcess(const std::string& dir, const PrometheusOptions& options);
  ~PrometheusProcess();
  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string Log() const;
  // Waits for /-/ready (true), or the deadline or the process's exit (false).
  bool WaitReady(std::chrono::seconds timeout);

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A TCP port free on 127.0.0.1 right now.
int FreeLoopbackPort();

}  // namespace kinema::testing
