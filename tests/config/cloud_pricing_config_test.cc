// The `cloud` and `pricing` sections (operations.md "Cloud providers").
#include <gtest/gtest.h>

#include "engine/config/controller_config.h"
#include "engine/kinds/kind_registry.h"
#include "steps/kinds.h"

namespace kinema {
namespace {

StatusOr<ControllerConfig> Parse(const std::string& tail) {
  KindRegistry kinds;
  Status s = RegisterKinds(&kinds);
  if (!s.ok()) return s;
  return kinds.ParseConfig("catalog: /tmp/catalog.json\n" + tail);
}

TEST(CloudConfig, GkeKeysParse) {
  auto c = Parse(R"(
cloud:
  provider: gke
  project: p
  location: us-central1
  cluster: prod
  endpoint: http://127.0.0.1:1/compute/v1
  containerEndpoint: http://127.0.0.1:1/container/v1
  nodePools: existing
pricing:
  source: billing
  endpoint: http://127.0.0.1:1/cloudbilling/v1
  refresh: 6h
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->cloud.provider, "gke");
  EXPECT_EQ(c->cloud.location, "us-central1");
  EXPECT_EQ(c->cloud.cluster, "prod");
  EXPECT_EQ(c->cloud.container_endpoint, "http://127.0.0.1:1/container/v1");
  EXPECT_EQ(c->cloud.node_pools, "existing");
  EXPECT_EQ(c->pricing.source, "billing");
  EXPECT_EQ(c->pricing.refresh, Duration(6 * 3600000));
}

TEST(CloudConfig, DefaultsAreGceCreateCatalogAndTwelveHours) {
  auto c = Parse("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->cloud.provider, "gce");
  EXPECT_EQ(c->cloud.node_pools, "create");
  EXPECT_EQ(c->pricing.source, "catalog");
  EXPECT_EQ(c->pricing.refresh, Duration(12 * 3600000));
}

TEST(CloudConfig, GkeNeedsItsClusterAndRefusesAnInstanceTemplate) {
  auto no_location = Parse("cloud:\n  provider: gke\n  project: p\n  cluster: c\n");
  ASSERT_FALSE(no_location.ok());
  EXPECT_NE(no_location.status().message().find("cloud.location: required"), std::string::npos);
  auto no_cluster = Parse("cloud:\n  provider: gke\n  project: p\n  location: us-central1\n");
  ASSERT_FALSE(no_cluster.ok());
  EXPECT_NE(no_cluster.status().message().find("cloud.cluster: required"), std::string::npos);
  auto tmpl = Parse("cloud:\n  provider: gke\n  project: p\n  location: l\n  cluster: c\n"
                    "  instanceTemplate: global/instanceTemplates/t\n");
  ASSERT_FALSE(tmpl.ok());
  EXPECT_NE(tmpl.status().message().find("cloud.instanceTemplate: only for cloud.provider gce"), std::string::npos);
}

TEST(CloudConfig, GkeOnlyKeysAreRefusedUnderGce) {
  auto c = Parse("cloud:\n  provider: gce\n  project: p\n  cluster: c\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("cloud.cluster: only for cloud.provider gke"), std::string::npos);
  auto ok = Parse("cloud:\n  provider: gce\n  project: p\n  instanceTemplate: global/instanceTemplates/w\n");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->cloud.instance_template, "global/instanceTemplates/w");
}

TEST(CloudConfig, BadValuesNameTheKey) {
  auto pools = Parse("cloud:\n  provider: gke\n  nodePools: some\n");
  ASSERT_FALSE(pools.ok());
  EXPECT_NE(pools.status().message().find("cloud.nodePools: 'some' is not one of create, existing"), std::string::npos);
  auto source = Parse("pricing:\n  source: api\n");
  ASSERT_FALSE(source.ok());
  EXPECT_NE(source.status().message().find("pricing.source"), std::string::npos);
  auto refresh = Parse("cloud:\n  project: p\npricing:\n  source: billing\n  refresh: 10s\n");
  ASSERT_FALSE(refresh.ok());
  EXPECT_NE(refresh.status().message().find("pricing.refresh"), std::string::npos);
  auto url = Parse("pricing:\n  endpoint: cloudbilling.googleapis.com\n");
  ASSERT_FALSE(url.ok());
  EXPECT_NE(url.status().message().find("pricing.endpoint"), std::string::npos);
  auto project = Parse("pricing:\n  source: billing\n");
  ASSERT_FALSE(project.ok());
  EXPECT_NE(project.status().message().find("cloud.project"), std::string::npos);
  auto typo = Parse("pricing:\n  refersh: 1h\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("pricing.refersh: unknown key (did you mean refresh?)"), std::string::npos);
}

}  // namespace
}  // namespace kinema
