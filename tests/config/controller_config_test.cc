#include <gtest/gtest.h>

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

}  // namespace
}  // namespace kinema
