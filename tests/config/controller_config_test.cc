// The controller's configuration as the kind registry reads it: global keys
// and every workflow kind's sections at once.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "engine/config/controller_config.h"
#include "engine/kinds/kind_registry.h"
#include "steps/kinds.h"
#include "steps/rescheduling/rescheduling_kind.h"

namespace kinema {
namespace {

// A fresh registry per parse: kinds keep the settings they read.
struct Parsed {
  KindRegistry kinds;
  StatusOr<ControllerConfig> config = Status::Internal("unset");
  const rescheduling::ReschedulingSettings& rescheduling() const {
    return *rescheduling::SettingsOf(kinds.Find("kinema-rescheduling"));
  }
  bool ok() const { return config.ok(); }
  const Status& status() const { return config.status(); }
  const ControllerConfig* operator->() const { return &*config; }
};

std::unique_ptr<Parsed> ParseControllerConfig(const std::string& yaml) {
  auto p = std::make_unique<Parsed>();
  Status s = RegisterKinds(&p->kinds);
  if (!s.ok()) {
    p->config = s;
    return p;
  }
  p->config = p->kinds.ParseConfig(yaml);
  return p;
}

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
  ASSERT_TRUE(c->ok()) << c->status().ToString();
  const ControllerConfig& g = *c->config;
  EXPECT_EQ(g.kubeconfig, "/tmp/kubeconfig");
  EXPECT_EQ(c->rescheduling().stability.quiet_window, Duration(10000));
  EXPECT_EQ(c->rescheduling().prediction.window, Duration(60000));
  EXPECT_EQ(c->rescheduling().prediction.horizon, Duration(900000));
  EXPECT_DOUBLE_EQ(c->rescheduling().prediction.factor, 0.1);
  EXPECT_DOUBLE_EQ(c->rescheduling().decision.min_savings, 0.10);
  EXPECT_EQ(g.cloud.endpoint, "http://127.0.0.1:8443/compute/v1");
  EXPECT_EQ(g.leader_election.name, "kinema");
  EXPECT_EQ(g.exclusions.namespaces, std::vector<std::string>{"kube-system"});
  EXPECT_TRUE(g.kinds.at("kinema-rescheduling").enabled) << "the rescheduling kind is enabled by default";
  EXPECT_EQ(g.kinds.at("kinema-rescheduling").interval, Duration(300000));
  ASSERT_EQ(g.budgets.size(), 1u) << "default: one budget of 10%";
  EXPECT_EQ(g.budgets[0].nodes, "10%");
  EXPECT_EQ(g.eviction_limits.per_node, 10);
  EXPECT_EQ(g.journal_retention, Duration(7LL * 24 * 3600 * 1000));
}

TEST(ControllerConfig, UnknownKeyIsAnErrorNamingItsPathWithAHint) {
  auto c = ParseControllerConfig("catalog: c.json\ndecision:\n  minSaving: 0.2\n");
  ASSERT_FALSE(c->ok());
  EXPECT_EQ(c->status().message(), "decision.minSaving: unknown key (did you mean minSavings?)");
  auto top = ParseControllerConfig("catalog: c.json\nprometeus:\n  url: x\n");
  ASSERT_FALSE(top->ok());
  EXPECT_NE(top->status().message().find("prometeus: unknown key (did you mean prometheus?)"), std::string::npos);
}

TEST(ControllerConfig, RolloutStallTimeoutDefaultsToTwoMinutesAndNamesItselfWhenBad) {
  auto d = ParseControllerConfig("catalog: c.json\n");
  ASSERT_TRUE(d->ok()) << d->status().ToString();
  EXPECT_EQ(d->rescheduling().rollout.stall_timeout, Duration(120000));
  auto s = ParseControllerConfig("catalog: c.json\nrollout:\n  stallTimeout: 30s\n  maxConcurrent: 5\n");
  ASSERT_TRUE(s->ok()) << s->status().ToString();
  EXPECT_EQ(s->rescheduling().rollout.stall_timeout, Duration(30000));
  auto bad = ParseControllerConfig("catalog: c.json\nrollout:\n  stallTimeout: soon\n");
  ASSERT_FALSE(bad->ok());
  EXPECT_NE(bad->status().message().find("rollout.stallTimeout"), std::string::npos) << bad->status().ToString();
}

TEST(ControllerConfig, MistypedValuesNameTheKeyAndTheValue) {
  auto d = ParseControllerConfig("catalog: c.json\nstability:\n  quietWindow: ten seconds\n");
  ASSERT_FALSE(d->ok());
  EXPECT_NE(d->status().message().find("stability.quietWindow"), std::string::npos);
  auto n = ParseControllerConfig("catalog: c.json\ndecision:\n  minSavings: 1.5\n");
  ASSERT_FALSE(n->ok());
  EXPECT_EQ(n->status().message(), "decision.minSavings: 1.5 is outside [0, 1]");
  auto b = ParseControllerConfig("catalog: c.json\ndryRun: yes-please\n");
  ASSERT_FALSE(b->ok());
  EXPECT_NE(b->status().message().find("dryRun"), std::string::npos);
  auto m = ParseControllerConfig("catalog: c.json\ndecision: 3\n");
  ASSERT_FALSE(m->ok());
  EXPECT_EQ(m->status().message(), "decision: must be a mapping");
  EXPECT_FALSE(ParseControllerConfig("journal: x.db\n")->ok()) << "catalog is required";
  EXPECT_FALSE(ParseControllerConfig("catalog: [unclosed\n")->ok());
}

TEST(ControllerConfig, LeaderElectionTimingsMustBeOrdered) {
  auto c = ParseControllerConfig("catalog: c.json\nleaderElection:\n  renewDeadline: 20s\n");
  ASSERT_FALSE(c->ok());
  EXPECT_NE(c->status().message().find("retryPeriod < renewDeadline < leaseDuration"), std::string::npos);
}

TEST(Durations, GoStyleDurationsParse) {
  EXPECT_EQ(*ParseDuration("500ms"), Duration(500));
  EXPECT_EQ(*ParseDuration("10s"), Duration(10000));
  EXPECT_EQ(*ParseDuration("15m"), Duration(900000));
  EXPECT_EQ(*ParseDuration("1h30m"), Duration(5400000));
  EXPECT_EQ(*ParseDuration("1.5s"), Duration(1500));
  EXPECT_FALSE(ParseDuration("10").ok());
  EXPECT_EQ(*ParseDuration("7d"), Duration(7LL * 24 * 3600 * 1000));
  EXPECT_FALSE(ParseDuration("10w").ok());
  EXPECT_FALSE(ParseDuration(".").ok()) << "loop.cooldown: \".\" used to abort on an uncaught stod";
  EXPECT_FALSE(ParseDuration("1..5s").ok());
  EXPECT_FALSE(ParseDuration("999999999999999999999h").ok());
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_EQ(FormatDuration(Duration(900000)), "15m");
}

TEST(ControllerConfig, KindSectionsTakeEnabledAndIntervalAndLoopCooldownStillWorks) {
  auto c = ParseControllerConfig("catalog: c.json\nrescheduling:\n  enabled: false\n  interval: 2m\n");
  ASSERT_TRUE(c->ok()) << c->status().ToString();
  EXPECT_FALSE((*c)->kinds.at("kinema-rescheduling").enabled);
  EXPECT_EQ((*c)->kinds.at("kinema-rescheduling").interval, Duration(120000));
  auto legacy = ParseControllerConfig("catalog: c.json\nloop:\n  cooldown: 90s\n");
  ASSERT_TRUE(legacy->ok()) << legacy->status().ToString();
  EXPECT_EQ((*legacy)->kinds.at("kinema-rescheduling").interval, Duration(90000));
  auto both = ParseControllerConfig("catalog: c.json\nloop:\n  cooldown: 90s\nrescheduling:\n  interval: 2m\n");
  ASSERT_FALSE(both->ok());
  EXPECT_NE(both->status().message().find("loop.cooldown"), std::string::npos);
  auto typo = ParseControllerConfig("catalog: c.json\nrescheduling:\n  intervall: 2m\n");
  ASSERT_FALSE(typo->ok());
  EXPECT_EQ(typo->status().message(), "rescheduling.intervall: unknown key (did you mean interval?)");
}

TEST(ControllerConfig, NonFiniteNumbersAreRefusedEverywhere) {
  for (const char* v : {"nan", "NaN", "inf", "-inf", "1e999"}) {
    auto c = ParseControllerConfig(std::string("catalog: c.json\ndecision:\n  maxChange: ") + v + "\n");
    ASSERT_FALSE(c->ok()) << v;
    EXPECT_NE(c->status().message().find("decision.maxChange"), std::string::npos) << c->status().message();
  }
}

TEST(ControllerConfig, BudgetsAndEvictionLimitsFollowTheSpec) {
  auto c = ParseControllerConfig(R"(
catalog: c.json
budgets:
  - nodes: "20%"
  - nodes: 2
    reasons: [spot, rebalance]
  - nodes: 0
    schedule: "0 9 * * mon-fri"
    duration: 8h
evictionLimits:
  perNode: 2
  total: 5
journal:
  path: /tmp/k.db
  retention: 3d
)");
  ASSERT_TRUE(c->ok()) << c->status().ToString();
  const auto& b = (*c)->budgets;
  ASSERT_EQ(b.size(), 3u);
  EXPECT_TRUE(b[0].is_percent);
  EXPECT_EQ(b[1].count, 2);
  EXPECT_EQ(b[1].reasons, (std::set<std::string>{"spot", "rebalance"}));
  EXPECT_TRUE(b[2].schedule.has_value());
  EXPECT_EQ((*c)->eviction_limits.per_node, 2);
  EXPECT_EQ((*c)->eviction_limits.per_namespace, 20) << "unset limits keep their defaults";
  EXPECT_EQ((*c)->eviction_limits.total, 5);
  EXPECT_EQ((*c)->journal, "/tmp/k.db");
  EXPECT_EQ((*c)->journal_retention, Duration(3LL * 24 * 3600 * 1000));
  struct Bad {
    const char* yaml;
    const char* message;
  };
  for (const Bad& bad : {
           Bad{"budgets:\n  - nodes: lots\n", "budgets[0].nodes: 'lots' is not a node count or a percent"},
           Bad{"budgets:\n  - nodes: 1\n    reasons: [spto]\n", "budgets[0].reasons: unknown reason 'spto' (did you mean spot?)"},
           Bad{"budgets:\n  - nodes: 1\n    schedule: \"0 22 * *\"\n    duration: 1h\n", "budgets[0].schedule: cron"},
           Bad{"budgets:\n  - nodes: 1\n    schedule: \"0 22 * * *\"\n", "budgets[0].duration: required with schedule"},
           Bad{"budgets:\n  - node: 1\n", "budgets[0].node: unknown key (did you mean nodes?)"},
           Bad{"budgets: 10%\n", "budgets: must be a list"},
           Bad{"evictionLimits:\n  perNode: -5\n", "evictionLimits.perNode: -5 is outside [-1, 1000000]"},
       }) {
    auto p = ParseControllerConfig(std::string("catalog: c.json\n") + bad.yaml);
    ASSERT_FALSE(p->ok()) << bad.yaml;
    EXPECT_EQ(p->status().message().rfind(bad.message, 0), 0u) << p->status().message();
  }
}

TEST(ControllerConfig, NonFiniteNumbersAreRejectedNotCompared) {
  // NaN passed `d < lo || d > hi`: decision.maxChange: nan disabled the veto.
  for (const char* v : {"nan", "NaN", ".nan", "inf", "-inf", "+Inf", "1e999", "0x1p-2", "1,5", "0.1 ", " 0.1"}) {
    auto c = ParseControllerConfig(std::string("catalog: c.json\ndecision:\n  maxChange: \"") + v + "\"\n");
    ASSERT_FALSE(c->ok()) << v;
    EXPECT_EQ(c->status().message().rfind("decision.maxChange: ", 0), 0u) << c->status().message();
  }
  auto ok = ParseControllerConfig("catalog: c.json\ndecision:\n  maxChange: 1e-1\n  minSavings: +.5\n");
  ASSERT_TRUE(ok->ok()) << ok->status().ToString();
  EXPECT_DOUBLE_EQ(ok->rescheduling().decision.max_change, 0.1);
  EXPECT_DOUBLE_EQ(ok->rescheduling().decision.min_savings, 0.5);
}

TEST(ControllerConfig, MalformedDurationsAreErrorsNamingTheKeyNeverExceptions) {
  // loop.cooldown: "." used to abort the process with an uncaught std::stod.
  for (const char* v : {".", "..s", "1..5s", "s", "-1s", "1e3s", "99999999999999999999999h", "36501d", "1h1x",
                        "\u00e9s", "10"}) {
    auto c = ParseControllerConfig(std::string("catalog: c.json\nloop:\n  cooldown: \"") + v + "\"\n");
    ASSERT_FALSE(c->ok()) << v;
    EXPECT_EQ(c->status().message().rfind("loop.cooldown: ", 0), 0u) << c->status().message();
  }
  auto week = ParseControllerConfig("catalog: c.json\nloop:\n  cooldown: 7d\n");
  ASSERT_TRUE(week->ok()) << week->status().ToString();
  EXPECT_EQ((*week)->kinds.at("kinema-rescheduling").interval, Duration(7LL * 24 * 3600 * 1000));
}

TEST(ControllerConfig, ServiceUrlsMustBeHttpOrHttps) {
  for (const char* v : {"file:///etc/passwd", "ftp://h/x", "gopher://h", "127.0.0.1:9090", "http://"}) {
    auto p = ParseControllerConfig(std::string("catalog: c.json\nprometheus:\n  url: \"") + v + "\"\n");
    ASSERT_FALSE(p->ok()) << v;
    EXPECT_EQ(p->status().message().rfind("prometheus.url: ", 0), 0u) << p->status().message();
    auto e = ParseControllerConfig(std::string("catalog: c.json\ncloud:\n  endpoint: \"") + v + "\"\n");
    ASSERT_FALSE(e->ok()) << v;
    EXPECT_EQ(e->status().message().rfind("cloud.endpoint: ", 0), 0u) << e->status().message();
  }
  auto p = ParseControllerConfig("catalog: c.json\nprometheus:\n  url: http://u:secret@prom:9090\n");
  ASSERT_TRUE(p->ok()) << "userinfo is allowed (basic auth); it is redacted wherever it is shown";
  auto bad = ParseControllerConfig("catalog: c.json\nprometheus:\n  url: file://u:secret@h/x\n");
  ASSERT_FALSE(bad->ok());
  EXPECT_EQ(bad->status().message().find("secret"), std::string::npos) << bad->status().message();
}

TEST(ControllerConfig, IntegersOutOfRangeOrNotIntegersAreErrors) {
  for (const char* v : {"1.5", "99999999999999999999", "-2", "0x10", "1e3", ""}) {
    auto c = ParseControllerConfig(std::string("catalog: c.json\nboot:\n  parallelism: \"") + v + "\"\n");
    ASSERT_FALSE(c->ok()) << v;
    EXPECT_EQ(c->status().message().rfind("boot.parallelism: ", 0), 0u) << c->status().message();
  }
}

TEST(ControllerConfig, StructurallyOddYamlIsAnErrorNotAnException) {
  for (const char* y : {"? [a, b]\n: c\n", "catalog: c.json\n? {x: 1}\n: 2\n", "catalog: &a [*a]\n", "- 1\n- 2\n",
                        "catalog: c.json\ndecision:\n  ? [minSavings]\n  : 0.1\n"}) {
    auto c = ParseControllerConfig(y);
    EXPECT_FALSE(c->ok()) << y;
  }
}

}  // namespace
}  // namespace kinema
