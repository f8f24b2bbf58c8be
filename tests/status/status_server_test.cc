// The controller's /healthz, /readyz and /metrics endpoint, over real HTTP.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "engine/http/http_client.h"
#include "engine/status/metrics.h"
#include "engine/status/status_server.h"

namespace kinema {
namespace {

StatusOr<http::Response> Fetch(int port, const std::string& path, const std::string& method = "GET") {
  http::HttpClient client;
  http::Request req;
  req.method = method;
  req.url = "http://127.0.0.1:" + std::to_string(port) + path;
  return client.Do(req);
}

TEST(StatusServerTest, ServesProbesAndPrometheusText) {
  Metrics m;
  m.Describe("kinema_iterations_total", "counter", "Iterations by outcome.");
  m.Add("kinema_iterations_total", {{"outcome", "completed"}});
  m.Add("kinema_iterations_total", {{"outcome", "completed"}});
  m.Add("kinema_iterations_total", {{"outcome", "no_action"}});
  bool ready = false;
  StatusServer::Handlers h;
  h.healthz = [] { return StatusReply{200, "text/plain", "ok\n"}; };
  h.readyz = [&] { return ready ? StatusReply{200, "text/plain", "ok\n"} : StatusReply{503, "text/plain", "no\n"}; };
  h.metrics = [&] { return StatusReply{200, "text/plain; version=0.0.4", m.Render()}; };
  auto server = StatusServer::Start("127.0.0.1:0", h);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  int port = (*server)->port();
  ASSERT_GT(port, 0);

  auto health = Fetch(port, "/healthz");
  ASSERT_TRUE(health.ok()) << health.status().ToString();
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(Fetch(port, "/readyz")->status, 503);
  ready = true;
  EXPECT_EQ(Fetch(port, "/readyz")->status, 200);
  auto metrics = Fetch(port, "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("# TYPE kinema_iterations_total counter"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("kinema_iterations_total{outcome=\"completed\"} 2\n"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("kinema_iterations_total{outcome=\"no_action\"} 1\n"), std::string::npos);
  EXPECT_EQ(Fetch(port, "/nope")->status, 404);
  EXPECT_EQ(Fetch(port, "/healthz", "POST")->status, 405);
  (*server)->Stop();
  EXPECT_FALSE(Fetch(port, "/healthz").ok()) << "stopped server still answers";
}

TEST(StatusServerTest, RejectsBadAddressesWithTheKeyValue) {
  StatusServer::Handlers h;
  auto bad = StatusServer::Start("nonsense", h);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("server.address 'nonsense'"), std::string::npos);
  auto busy = StatusServer::Start("127.0.0.1:0", h);
  ASSERT_TRUE(busy.ok());
  auto clash = StatusServer::Start("127.0.0.1:" + std::to_string((*busy)->port()), h);
  EXPECT_FALSE(clash.ok()) << "two servers on one port";
}

TEST(StatusServerTest, LabelValuesAreEscaped) {
  Metrics m;
  m.Set("g", {{"why", "a \"quoted\"\nline\\"}}, 1.5);
  EXPECT_EQ(m.Render(), "g{why=\"a \\\"quoted\\\"\\nline\\\\\"} 1.5\n");
}

TEST(StatusServerTest, HistogramsHaveCumulativeBucketsSumAndCount) {
  Metrics m;
  m.DescribeHistogram("step_seconds", "Step time.", {0.1, 1, 10});
  m.Observe("step_seconds", {{"step", "a"}}, 0.05);
  m.Observe("step_seconds", {{"step", "a"}}, 0.1);  // on a bound: counted in it (le is <=)
  m.Observe("step_seconds", {{"step", "a"}}, 5);
  m.Observe("step_seconds", {{"step", "a"}}, 60);
  EXPECT_EQ(m.Render(),
            "# HELP step_seconds Step time.\n"
            "# TYPE step_seconds histogram\n"
            "step_seconds_bucket{step=\"a\",le=\"0.1\"} 2\n"
            "step_seconds_bucket{step=\"a\",le=\"1\"} 2\n"
            "step_seconds_bucket{step=\"a\",le=\"10\"} 3\n"
            "step_seconds_bucket{step=\"a\",le=\"+Inf\"} 4\n"
            "step_seconds_sum{step=\"a\"} 65.15\n"
            "step_seconds_count{step=\"a\"} 4\n");
}

// Out of descriptors, accept() fails at once, every time: the server used to
// spin on it and flood the log. It backs off and serves again afterwards.
TEST(StatusServerTest, OutOfFileDescriptorsBacksOffInsteadOfSpinning) {
#ifdef __SANITIZE_ADDRESS__
  // UBSan's own checks open a pipe to probe memory; with no descriptor left
  // they report false errors. The Release build runs this test.
  GTEST_SKIP() << "needs file descriptors the sanitizers use";
#endif
  StatusServer::Handlers h;
  h.healthz = [] { return StatusReply{200, "text/plain", "ok\n"}; };
  auto server = StatusServer::Start("127.0.0.1:0", h);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const int port = (*server)->port();
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);  // made before the limit
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  int lowest_free = ::dup(0);
  ::close(lowest_free);
  rlimit tight = old;
  tight.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int rc = ::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  ASSERT_EQ(rc, 0) << std::strerror(errno);
  const uint64_t errors = (*server)->accept_errors();
  EXPECT_GE(errors, 1u);
  EXPECT_LE(errors, 10u) << "a busy loop makes thousands";
  ::close(client);
  auto health = Fetch(port, "/healthz");
  ASSERT_TRUE(health.ok()) << "serves again once descriptors are back: " << health.status().ToString();
  EXPECT_EQ(health->status, 200);
}

}  // namespace
}  // namespace kinema
