// The `resize` section through the real config reader (every kind
// registered): the seed's defaults, every key settable, unknown keys and
// bad values named.
#include <gtest/gtest.h>

#include "engine/kinds/kind_registry.h"
#include "steps/kinds.h"

namespace kinema {
namespace {

StatusOr<ControllerConfig> Parse(const std::string& extra) {
  KindRegistry kinds;
  Status s = RegisterKinds(&kinds);
  if (!s.ok()) return s;
  return kinds.ParseConfig("catalog: catalog.json\n" + extra);
}

TEST(ResizeSettingsTest, DisabledByDefaultEvery30sAndEnabledWithItsKeys) {
  auto c = Parse("");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->kinds.at("inplace-resize").enabled);
  EXPECT_EQ(c->kinds.at("inplace-resize").interval, Duration(30000));
  auto d = Parse(R"(resize:
  enabled: true
  interval: 10s
  source: prometheus
  selector: "app=web"
  window: 10m
  deferredTimeout: 2m
  allowRestart: true
  maxPodsPerCycle: 5
  memory:
    scaleUpThreshold: 0.9
    scaleUpUsageMultiplier: 1.5
    scaleUpMinGrowth: 1.3
    scaleDownThreshold: 0.2
    scaleDownUsageMultiplier: 3
    scaleDownMinDiff: 0.25
    minRequest: 64Mi
    cooldown: 20m
  cpu:
    enabled: true
    minRequest: 50m
)");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->kinds.at("inplace-resize").enabled);
  EXPECT_EQ(d->kinds.at("inplace-resize").interval, Duration(10000));
}

TEST(ResizeSettingsTest, BadKeysAndValuesAreNamed) {
  struct Bad {
    const char* yaml;
    const char* names;
  } cases[] = {
      {"resize:\n  memory:\n    scaleUpTreshold: 0.9\n", "resize.memory.scaleUpTreshold"},
      {"resize:\n  memory:\n    minRequest: lots\n", "resize.memory.minRequest"},
      {"resize:\n  cpu:\n    minRequest: -5m\n", "resize.cpu.minRequest"},
      {"resize:\n  source: kubelet\n", "resize.source"},
      {"resize:\n  persist: owner\n", "resize.persist"},
      {"resize:\n  memory:\n    scaleDownThreshold: 0.9\n", "resize.memory.scaleDownThreshold"},
      {"resize:\n  memory:\n    scaleDownMinDiff: 2\n", "resize.memory.scaleDownMinDiff"},
      {"prediction:\n  source: vpaa\n", "prediction.source"},
  };
  for (const auto& b : cases) {
    auto c = Parse(b.yaml);
    ASSERT_FALSE(c.ok()) << b.yaml;
    EXPECT_NE(c.status().message().find(b.names), std::string::npos) << c.status().ToString();
  }
  EXPECT_TRUE(Parse("prediction:\n  source: max\n").ok());
  EXPECT_TRUE(Parse("prediction:\n  source: vpa\n").ok());
}

}  // namespace
}  // namespace kinema
