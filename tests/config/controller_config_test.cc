#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "engine/config/controller_config.h"

namespace kinema {
namespace {

TEST(ControllerConfig, OperationsMdExampleParsesWithDefaultsForTheRest) {
  auto c = ParseControllerConfig(R"(
kubeconfig: /tmp/kubeconfig
journal: /tmp/kinema.db
catalog: /tmp/catalog.json
prometheus:
  url: http://127.0.0.1:9090
cloud:
  provider: gce
  endpoint: http://127.0.0.1:8443/compute/v1
  project: my-project
stability:
  quietWindow: 10s
prediction:
  window: 60s
  horizon: 15m
decision:
  minSavings: 0.10
  maxChange: 0.10
server:
  address: 127.0.0.1:8080
leaderElection:
  namespace: kube-system
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->kubeconfig, "/tmp/kubeconfig");
  EXPECT_EQ(c->stability.quiet_window, Duration(10000));
  EXPECT_EQ(c->prediction.window, Duration(60000));
  EXPECT_EQ(c->prediction.horizon, Duration(900000));
  EXPECT_DOUBLE_EQ(c->prediction.factor, 0.1);
  EXPECT_DOUBLE_EQ(c->decision.min_savings, 0.10);
  EXPECT_EQ(c->cloud.endpoint, "http://127.0.0.1:8443/compute/v1");
  EXPECT_EQ(c->leader_election.name, "kinema");
  EXPECT_EQ(c->exclusions.namespaces, std::vector<std::string>{"kube-system"});
}

TEST(ControllerConfig, UnknownKeyIsAnErrorNamingItsPathWithAHint) {
  auto c = ParseControllerConfig("catalog: c.json\ndecision:\n  minSaving: 0.2\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "decision.minSaving: unknown key (did you mean minSavings?)");
  auto top = ParseControllerConfig("catalog: c.json\nprometeus:\n  url: x\n");
  ASSERT_FALSE(top.ok());
  EXPECT_NE(top.status().message().find("prometeus: unknown key (did you mean prometheus?)"), std::string::npos);
}

TEST(ControllerConfig, MistypedValuesNameTheKeyAndTheValue) {
  auto d = ParseControllerConfig("catalog: c.json\nstability:\n  quietWindow: ten seconds\n");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("stability.quietWindow"), std::string::npos);
  auto n = ParseControllerConfig("catalog: c.json\ndecision:\n  minSavings: 1.5\n");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().message(), "decision.minSavings: 1.5 is outside [0, 1]");
  auto b = ParseControllerConfig("catalog: c.json\ndryRun: yes-please\n");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("dryRun"), std::string::npos);
  auto m = ParseControllerConfig("catalog: c.json\ndecision: 3\n");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(), "decision: must be a mapping");
  EXPECT_FALSE(ParseControllerConfig("journal: x.db\n").ok()) << "catalog is required";
  EXPECT_FALSE(ParseControllerConfig("catalog: [unclosed\n").ok());
}

TEST(ControllerConfig, LeaderElectionTimingsMustBeOrdered) {
  auto c = ParseControllerConfig("catalog: c.json\nleaderElection:\n  renewDeadline: 20s\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("retryPeriod < renewDeadline < leaseDuration"), std::string::npos);
}

TEST(Durations, GoStyleDurationsParse) {
  EXPECT_EQ(*ParseDuration("500ms"), Duration(500));
  EXPECT_EQ(*ParseDuration("10s"), Duration(10000));
  EXPECT_EQ(*ParseDuration("15m"), Duration(900000));
  EXPECT_EQ(*ParseDuration("1h30m"), Duration(5400000));
  EXPECT_EQ(*ParseDuration("1.5s"), Duration(1500));
  EXPECT_FALSE(ParseDuration("10").ok());
  EXPECT_FALSE(ParseDuration("10d").ok());
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_EQ(FormatDuration(Duration(900000)), "15m");
}

TEST(ControllerConfig, NonFiniteNumbersAreRejectedNotCompared) {
  // NaN passed `d < lo || d > hi`: decision.maxChange: nan disabled the veto.
  for (const char* v : {"nan", "NaN", ".nan", "inf", "-inf", "+Inf", "1e999", "0x1p-2", "1,5", "0.1 ", " 0.1"}) {
    auto c = ParseControllerConfig(std::string("catalog: c.json\ndecision:\n  maxChange: \"") + v + "\"\n");
    ASSERT_FALSE(c.ok()) << v;
    EXPECT_EQ(c.status().message().rfind("decision.maxChange: ", 0), 0u) << c.status().message();
  }
  auto ok = ParseControllerConfig("catalog: c.json\ndecision:\n  maxChange: 1e-1\n  minSavings: +.5\n");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_DOUBLE_EQ(ok->decision.max_change, 0.1);
  EXPECT_DOUBLE_EQ(ok->decision.min_savings, 0.5);
}

TEST(ControllerConfig, MalformedDurationsAreErrorsNamingTheKeyNeverExceptions) {
  // loop.cooldown: "." used to abort the process with an uncaught std::stod.
  for (const char* v : {".", "..s", "1..5s", "s", "-1s", "1e3s", "99999999999999999999999h", "169h", "1h1x",
                        "\u00e9s", "10"}) {
    auto c = ParseControllerConfig(std::string("catalog: c.json\nloop:\n  cooldown: \"") + v + "\"\n");
    ASSERT_FALSE(c.ok()) << v;
    EXPECT_EQ(c.status().message().rfind("loop.cooldown: ", 0), 0u) << c.status().message();
  }
  auto week = ParseControllerConfig("catalog: c.json\nloop:\n  cooldown: 168h\n");
  ASSERT_TRUE(week.ok()) << week.status().ToString();
  EXPECT_EQ(week->loop.cooldown, kMaxConfigDuration);
  EXPECT_LE(kMaxConfigDuration.count(), INT32_MAX) << "every duration fits an int of milliseconds";
}

TEST(ControllerConfig, ServiceUrlsMustBeHttpOrHttps) {
  for (const char* v : {"file:///etc/passwd", "ftp://h/x", "gopher://h", "127.0.0.1:9090", "http://"}) {
    auto p = ParseControllerConfig(std::string("catalog: c.json\nprometheus:\n  url: \"") + v + "\"\n");
    ASSERT_FALSE(p.ok()) << v;
    EXPECT_EQ(p.status().message().rfind("prometheus.url: ", 0), 0u) << p.status().message();
    auto e = ParseControllerConfig(std::string("catalog: c.json\ncloud:\n  endpoint: \"") + v + "\"\n");
    ASSERT_FALSE(e.ok()) << v;
    EXPECT_EQ(e.status().message().rfind("cloud.endpoint: ", 0), 0u) << e.status().message();
  }
  auto p = ParseControllerConfig("catalog: c.json\nprometheus:\n  url: http://u:secret@prom:9090\n");
  ASSERT_TRUE(p.ok()) << "userinfo is allowed (basic auth); it is redacted wherever it is shown";
  auto bad = ParseControllerConfig("catalog: c.json\nprometheus:\n  url: file://u:secret@h/x\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("secret"), std::string::npos) << bad.status().message();
}

TEST(ControllerConfig, IntegersOutOfRangeOrNotIntegersAreErrors) {
  for (const char* v : {"1.5", "99999999999999999999", "-2", "0x10", "1e3", ""}) {
    auto c = ParseControllerConfig(std::string("catalog: c.json\nboot:\n  parallelism: \"") + v + "\"\n");
    ASSERT_FALSE(c.ok()) << v;
    EXPECT_EQ(c.status().message().rfind("boot.parallelism: ", 0), 0u) << c.status().message();
  }
}

TEST(ControllerConfig, StructurallyOddYamlIsAnErrorNotAnException) {
  for (const char* y : {"? [a, b]\n: c\n", "catalog: c.json\n? {x: 1}\n: 2\n", "catalog: &a [*a]\n", "- 1\n- 2\n",
                        "catalog: c.json\ndecision:\n  ? [minSavings]\n  : 0.1\n"}) {
    auto c = ParseControllerConfig(y);
    EXPECT_FALSE(c.ok()) << y;
  }
}

}  // namespace
}  // namespace kinema
