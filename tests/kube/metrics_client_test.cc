// The metrics.k8s.io client's parsing: PodMetrics items as metrics-server
// writes them (nanocores, Ki, Go durations), and malformed items named.
#include "engine/kube/metrics_client.h"

#include <gtest/gtest.h>

namespace kinema::kube {
namespace {

TEST(MetricsClientTest, ParsesPodMetricsAsMetricsServerWritesThem) {
  Json item = Json::parse(R"({
    "metadata": {"namespace": "shop", "name": "cart-1"},
    "timestamp": "2026-12-04T10:00:00Z", "window": "1m0.5s",
    "containers": [{"name": "cart", "usage": {"cpu": "12500000n", "memory": "262144Ki"}},
                   {"name": "side", "usage": {"cpu": "250m", "memory": "1Gi"}}]})");
  auto p = ParsePodMetrics(item);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->ns, "shop");
  EXPECT_EQ(p->window_ms, 60500);
  ASSERT_EQ(p->containers.size(), 2u);
  EXPECT_NEAR(p->containers[0].cpu_cores, 0.0125, 1e-12);
  EXPECT_DOUBLE_EQ(p->containers[0].memory_bytes, 262144.0 * 1024);
  EXPECT_NEAR(p->Find("side")->cpu_cores, 0.25, 1e-12);
  EXPECT_EQ(p->Find("none"), nullptr);
}

TEST(MetricsClientTest, MalformedItemsAreErrorsNamingThePod) {
  auto bad = ParsePodMetrics(Json::parse(
      R"({"metadata": {"namespace": "shop", "name": "x"}, "containers": [{"name": "a", "usage": {"memory": "lots"}}]})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("shop/x"), std::string::npos) << bad.status().ToString();
  EXPECT_FALSE(ParsePodMetrics(Json::parse(R"({"metadata": {"name": "x"}, "containers": "no"})")).ok());
  EXPECT_FALSE(ParsePodMetrics(Json::parse(R"({"metadata": {"name": "x"}, "window": "5 parsecs"})")).ok());
  EXPECT_FALSE(ParsePodMetrics(Json::parse(R"([])")).ok());
  EXPECT_EQ(*ParseMetricsWindow("30s"), 30000);
  EXPECT_EQ(*ParseMetricsWindow("500ms"), 500);
  EXPECT_FALSE(ParseMetricsWindow("").ok());
}

}  // namespace
}  // namespace kinema::kube
