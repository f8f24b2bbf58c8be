#include "tools/kinema-sim/gce/cloud_scenario.h"

#include <gtest/gtest.h>

namespace kinema::sim::gce {
namespace {

using nlohmann::json;

TEST(CloudScenarioTest, DefaultsWithoutACloudSection) {
  auto s = ParseCloudScenario(json::object());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->project, "sim-project");
  EXPECT_FALSE(s->project_set);
  EXPECT_EQ(s->boot_delay_s, 30);
  EXPECT_EQ(s->join_delay_s, 20);
  EXPECT_FALSE(s->quota_cpus.has_value());
  EXPECT_TRUE(s->stockouts.empty());
  EXPECT_TRUE(s->events.empty());
}

TEST(CloudScenarioTest, ReadsEveryKey) {
  auto s = ParseCloudScenario(json::parse(R"({
    "cloud": {"project": "p1", "bootDelay": "45s", "joinDelay": 10, "deleteDelay": "1m",
              "nodeNotReadyDelay": "40s", "nodeRemoveDelay": "5s", "operationErrorDelay": "2s",
              "quotas": {"instances": 50, "cpus": 400},
              "stockouts": [{"zone": "us-central1-a", "machineType": "e2-standard-4", "capacityType": "spot",
                             "from": "5m", "until": "1h"}]},
    "events": [{"kind": "spotPreemption", "at": "20m", "count": 2},
               {"kind": "scaleDeployment", "at": "1m", "whatever": true},
               {"kind": "nodeFailure", "at": 600, "node": "node-a"}]})"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->project, "p1");
  EXPECT_TRUE(s->project_set);
  EXPECT_EQ(s->boot_delay_s, 45);
  EXPECT_EQ(s->join_delay_s, 10);
  EXPECT_EQ(s->delete_delay_s, 60);
  EXPECT_EQ(s->operation_error_delay_s, 2);
  EXPECT_EQ(*s->quota_instances, 50);
  EXPECT_EQ(*s->quota_cpus, 400);
  ASSERT_EQ(s->stockouts.size(), 1u);
  const Stockout& so = s->stockouts[0];
  EXPECT_TRUE(so.Covers("us-central1-a", "e2-standard-4", true, 300));
  EXPECT_FALSE(so.Covers("us-central1-a", "e2-standard-4", true, 299));
  EXPECT_FALSE(so.Covers("us-central1-a", "e2-standard-4", true, 3600));
  EXPECT_FALSE(so.Covers("us-central1-a", "e2-standard-4", false, 400));  // on-demand still available
  EXPECT_FALSE(so.Covers("us-central1-a", "e2-standard-8", true, 400));
  EXPECT_FALSE(so.Covers("us-central1-b", "e2-standard-4", true, 400));
  ASSERT_EQ(s->events.size(), 2u);  // other kinds are other components' business
  EXPECT_EQ(s->events[0].kind, CloudEvent::Kind::kNodeFailure);  // sorted by time
  EXPECT_EQ(s->events[0].at_s, 600);
  EXPECT_EQ(s->events[1].count, 2);
}

TEST(CloudScenarioTest, ErrorsNameTheKey) {
  auto bad = [](const char* text) {
    auto s = ParseCloudScenario(json::parse(text));
    EXPECT_FALSE(s.ok()) << text;
    return s.ok() ? std::string() : s.status().message();
  };
  EXPECT_NE(bad(R"({"cloud": {"bootDelay": "soon"}})").find("cloud.bootDelay"), std::string::npos);
  EXPECT_NE(bad(R"({"cloud": {"bootDelai": "1s"}})").find("cloud.bootDelai: unknown key"), std::string::npos);
  EXPECT_NE(bad(R"({"cloud": {"quotas": {"cpus": -1}}})").find("cloud.quotas.cpus"), std::string::npos);
  EXPECT_NE(bad(R"({"cloud": {"quotas": {"gpus": 1}}})").find("cloud.quotas.gpus"), std::string::npos);
  EXPECT_NE(bad(R"({"cloud": {"stockouts": [{"machineType": "x"}]}})").find("cloud.stockouts[0].zone"),
            std::string::npos);
  EXPECT_NE(bad(R"({"cloud": {"stockouts": [{"zone": "z", "from": "2m", "until": "1m"}]}})").find("until"),
            std::string::npos);
  EXPECT_NE(bad(R"({"cloud": {"project": ""}})").find("cloud.project"), std::string::npos);
  EXPECT_NE(bad(R"({"events": [{"kind": "nodeFailure", "at": "1m"}]})").find("events[0].node"), std::string::npos);
  EXPECT_NE(bad(R"({"events": [{"kind": "spotPreemption", "at": "1m"}]})").find("events[0]"), std::string::npos);
  EXPECT_NE(bad(R"({"events": [{"kind": "spotPreemption", "at": "1m", "count": 0}]})").find("events[0].count"),
            std::string::npos);
  EXPECT_NE(bad(R"({"events": [{"kind": "nodeFailure", "node": "n"}]})").find("events[0].at"), std::string::npos);
  EXPECT_NE(bad(R"({"cloud": []})").find("cloud"), std::string::npos);
}

TEST(CloudScenarioTest, GkeModeKeys) {
  auto d = ParseCloudScenario(json::object());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->mode, "gce");
  EXPECT_FALSE(d->gke());
  EXPECT_EQ(d->cluster, "sim-cluster");
  EXPECT_EQ(d->node_pool_create_delay_s, 90);
  auto s = ParseCloudScenario(json::parse(R"({"cloud": {"mode": "gke", "cluster": "prod", "nodePoolCreateDelay": "2m",
      "nodePoolDeleteDelay": 30, "quotas": {"familyCpus": {"n2": 16}}}})"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->gke());
  EXPECT_EQ(s->cluster, "prod");
  EXPECT_EQ(s->node_pool_create_delay_s, 120);
  EXPECT_EQ(s->node_pool_delete_delay_s, 30);
  EXPECT_EQ(s->quota_family_cpus.at("n2"), 16);
  auto mode = ParseCloudScenario(json::parse(R"({"cloud": {"mode": "eks"}})"));
  ASSERT_FALSE(mode.ok());
  EXPECT_NE(mode.status().message().find("cloud.mode"), std::string::npos);
  auto cluster = ParseCloudScenario(json::parse(R"({"cloud": {"cluster": "Prod_1"}})"));
  ASSERT_FALSE(cluster.ok());
  EXPECT_NE(cluster.status().message().find("cloud.cluster"), std::string::npos);
  auto family = ParseCloudScenario(json::parse(R"({"cloud": {"quotas": {"familyCpus": {"n2": -1}}}})"));
  ASSERT_FALSE(family.ok());
  EXPECT_NE(family.status().message().find("cloud.quotas.familyCpus.n2"), std::string::npos);
}

}  // namespace
}  // namespace kinema::sim::gce
