// The seed's resize policy, table-driven: each threshold, multiplier, the
// minimum, the min-diff, the cooldown, QoS preservation, the limit ratio,
// the memory limit floor, restart policies and rounding.
#include "steps/resize/policy.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace kinema::resize {
namespace {

constexpr int64_t Mi = kMiB;
constexpr int64_t kNow = 10'000'000;
constexpr int64_t kLongAgo = kNow - 3'600'000;  // an hour before: cooldown passed

struct Case {
  const char* name;
  std::optional<int64_t> request, limit;
  double usage, peak;
  int64_t last_resize_ms;
  // expected: 0 = no change
  int64_t want_request;
  std::optional<int64_t> want_limit;
};

PodState MemoryPod(const Case& c) {
  PodState p;
  p.key = "ns/p";
  p.last_resize_ms = c.last_resize_ms;
  ContainerState cs;
  cs.name = "app";
  cs.has_usage = true;
  cs.memory.request = c.request;
  cs.memory.limit = c.limit;
  cs.memory.usage = c.usage;
  cs.memory.window_peak = c.peak;
  cs.memory.window_covered = true;
  cs.cpu.request = 100;
  p.containers.push_back(cs);
  return p;
}

TEST(ResizePolicyTest, MemoryTableOfTheSeed) {
  const Case cases[] = {
      // Scale up at >= 80 % of the request: max(usage x 1.4, request x 1.2).
      {"below scale-up threshold", 1000 * Mi, std::nullopt, 799 * Mi, 799 * Mi, kNow, 0, std::nullopt},
      {"at scale-up threshold, growth wins", 1000 * Mi, std::nullopt, 800 * Mi, 800 * Mi, kNow, 1200 * Mi,
       std::nullopt},
      {"usage multiplier wins", 1000 * Mi, std::nullopt, 900 * Mi, 900 * Mi, kNow, 1260 * Mi, std::nullopt},
      {"scale-up ignores the cooldown", 1000 * Mi, std::nullopt, 1100 * Mi, 1100 * Mi, kNow, 1540 * Mi,
       std::nullopt},
      // Scale down at <= 30 % over the window after the cooldown: max(peak x 2.5, 100Mi), cut >= 20 %.
      {"scale down", 1000 * Mi, std::nullopt, 100 * Mi, 200 * Mi, kLongAgo, 500 * Mi, std::nullopt},
      {"peak above scale-down threshold", 1000 * Mi, std::nullopt, 100 * Mi, 301 * Mi, kLongAgo, 0, std::nullopt},
      {"peak at scale-down threshold", 1000 * Mi, std::nullopt, 100 * Mi, 300 * Mi, kLongAgo, 750 * Mi,
       std::nullopt},
      {"minimum request", 1000 * Mi, std::nullopt, 10 * Mi, 10 * Mi, kLongAgo, 100 * Mi, std::nullopt},
      {"cut below min diff (minimum 100Mi of 110Mi)", 110 * Mi, std::nullopt, 10 * Mi, 10 * Mi, kLongAgo, 0,
       std::nullopt},
      {"cut at min diff (100Mi of 125Mi)", 125 * Mi, std::nullopt, 10 * Mi, 10 * Mi, kLongAgo, 100 * Mi,
       std::nullopt},
      {"cooldown not passed", 1000 * Mi, std::nullopt, 100 * Mi, 100 * Mi, kNow - 599'999, 0, std::nullopt},
      {"cooldown just passed", 1000 * Mi, std::nullopt, 100 * Mi, 100 * Mi, kNow - 600'000, 250 * Mi,
       std::nullopt},
      // Limits keep their ratio to the request.
      {"limit ratio up", 256 * Mi, 512 * Mi, 210 * Mi, 210 * Mi, kNow, 308 * Mi, 616 * Mi},
      {"limit ratio down", 2048 * Mi, 4096 * Mi, 200 * Mi, 200 * Mi, kLongAgo, 500 * Mi, 1000 * Mi},
      {"guaranteed stays equal", 512 * Mi, 512 * Mi, 460 * Mi, 460 * Mi, kNow, 644 * Mi, 644 * Mi},
      {"limit only (request defaults to it)", std::nullopt, 1000 * Mi, 850 * Mi, 850 * Mi, kNow, 1200 * Mi,
       1200 * Mi},
      {"no request nor limit", std::nullopt, std::nullopt, 850 * Mi, 850 * Mi, kNow, 0, std::nullopt},
      // Rounding: up to whole MiB.
      {"rounding up to MiB", 1000 * Mi, std::nullopt, 900 * Mi + 1, 900 * Mi + 1, kNow, 1261 * Mi, std::nullopt},
  };
  PolicySettings policy;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    PodDecision d = DecidePod(MemoryPod(c), policy, kNow);
    if (c.want_request == 0) {
      EXPECT_TRUE(d.changes.empty()) << d.changes[0].new_request / Mi << "Mi: " << d.changes[0].why;
      continue;
    }
    ASSERT_EQ(d.changes.size(), 1u) << (d.notes.empty() ? "" : d.notes[0]);
    const ResourceChange& ch = d.changes[0];
    EXPECT_EQ(ch.resource, Resource::kMemory);
    EXPECT_EQ(ch.new_request, c.want_request) << ch.new_request / double(Mi) << "Mi";
    EXPECT_EQ(ch.new_limit, c.want_limit);
    EXPECT_EQ(ch.direction, c.want_request > ch.old_request ? Direction::kUp : Direction::kDown);
    EXPECT_EQ(ch.new_request % Mi, 0);
    EXPECT_FALSE(ch.why.empty());
  }
}

TEST(ResizePolicyTest, EveryThresholdIsAKnob) {
  Case c{"", 1000 * Mi, std::nullopt, 700 * Mi, 700 * Mi, kLongAgo, 0, std::nullopt};
  PolicySettings p;
  EXPECT_TRUE(DecidePod(MemoryPod(c), p, kNow).changes.empty());
  p.memory.scale_up_threshold = 0.7;
  p.memory.scale_up_usage_multiplier = 2.0;
  auto d = DecidePod(MemoryPod(c), p, kNow);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].new_request, 1400 * Mi);
  p.memory.scale_up_min_growth = 1.5;
  p.memory.scale_up_usage_multiplier = 1.0;
  EXPECT_EQ(DecidePod(MemoryPod(c), p, kNow).changes.at(0).new_request, 1500 * Mi);

  PolicySettings q;
  Case low{"", 1000 * Mi, std::nullopt, 350 * Mi, 350 * Mi, kLongAgo, 0, std::nullopt};
  EXPECT_TRUE(DecidePod(MemoryPod(low), q, kNow).changes.empty());
  q.memory.scale_down_threshold = 0.4;
  q.memory.scale_down_usage_multiplier = 2.0;
  EXPECT_EQ(DecidePod(MemoryPod(low), q, kNow).changes.at(0).new_request, 700 * Mi);
  q.memory.scale_down_min_diff = 0.35;
  EXPECT_TRUE(DecidePod(MemoryPod(low), q, kNow).changes.empty());
  q.memory.scale_down_min_diff = 0.2;
  q.memory.min_request = 800 * Mi;
  EXPECT_EQ(DecidePod(MemoryPod(low), q, kNow).changes.at(0).new_request, 800 * Mi);
  q.memory.cooldown = Duration(7'200'000);
  EXPECT_TRUE(DecidePod(MemoryPod(low), q, kNow).changes.empty());
  q.memory.enabled = false;
  Case high{"", 1000 * Mi, std::nullopt, 990 * Mi, 990 * Mi, kLongAgo, 0, std::nullopt};
  EXPECT_TRUE(DecidePod(MemoryPod(high), q, kNow).changes.empty());
}

TEST(ResizePolicyTest, ScaleDownWaitsForTheWholeWindow) {
  Case c{"", 1000 * Mi, std::nullopt, 100 * Mi, 100 * Mi, kLongAgo, 0, std::nullopt};
  PodState p = MemoryPod(c);
  p.containers[0].memory.window_covered = false;
  auto d = DecidePod(p, PolicySettings{}, kNow);
  EXPECT_TRUE(d.changes.empty());
  ASSERT_FALSE(d.notes.empty());
  EXPECT_NE(d.notes[0].find("window"), std::string::npos);
}

TEST(ResizePolicyTest, CpuFollowsTheSamePolicyWhenEnabled) {
  PodState p;
  p.key = "ns/p";
  p.last_resize_ms = kLongAgo;
  ContainerState c;
  c.name = "app";
  c.has_usage = true;
  c.cpu.request = 1000;
  c.cpu.limit = 2000;
  c.cpu.usage = 50;
  c.cpu.window_peak = 60;
  c.cpu.window_covered = true;
  c.memory.request = 1000 * Mi;
  c.memory.usage = 500 * Mi;
  c.memory.window_peak = 500 * Mi;
  c.memory.window_covered = true;
  p.containers.push_back(c);
  PolicySettings policy;
  EXPECT_TRUE(DecidePod(p, policy, kNow).changes.empty()) << "CPU is off by default";
  policy.cpu.enabled = true;
  auto d = DecidePod(p, policy, kNow);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].resource, Resource::kCpu);
  EXPECT_EQ(d.changes[0].new_request, 150);  // max(60 x 2.5, 10m)
  EXPECT_EQ(d.changes[0].new_limit, 300);    // ratio 2
  p.containers[0].cpu.usage = 900;
  p.containers[0].cpu.window_peak = 900;
  d = DecidePod(p, policy, kNow);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].new_request, 1260);  // max(900 x 1.4, 1000 x 1.2)
  EXPECT_EQ(d.changes[0].new_limit, 2520);
}

TEST(ResizePolicyTest, MemoryLimitNeverBelowUsageFloor) {
  // A scale-down multiplier below the floor: the limit stays at 1.2 x usage.
  PolicySettings policy;
  policy.memory.scale_down_usage_multiplier = 1.0;
  policy.memory.min_request = 10 * Mi;
  Case c{"", 1000 * Mi, 1000 * Mi, 200 * Mi, 200 * Mi, kLongAgo, 0, std::nullopt};
  auto d = DecidePod(MemoryPod(c), policy, kNow);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].new_limit, 240 * Mi);
  EXPECT_EQ(d.changes[0].new_request, 240 * Mi) << "a Guaranteed container's request follows its limit";
  Case b{"", 1000 * Mi, 1100 * Mi, 200 * Mi, 200 * Mi, kLongAgo, 0, std::nullopt};
  d = DecidePod(MemoryPod(b), policy, kNow);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].new_request, 200 * Mi);
  EXPECT_EQ(d.changes[0].new_limit, 240 * Mi);
}

TEST(ResizePolicyTest, QosClassNeverChanges) {
  // Burstable with a limit just above the request: rounding must not make it Guaranteed.
  PodState p;
  p.key = "ns/p";
  p.last_resize_ms = kNow;
  ContainerState c;
  c.name = "app";
  c.has_usage = true;
  c.cpu.request = 500;
  c.cpu.limit = 500;
  c.memory.request = 1000 * Mi;
  c.memory.limit = 1000 * Mi + 1;
  c.memory.usage = 900 * Mi;
  c.memory.window_peak = 900 * Mi;
  p.containers.push_back(c);
  auto d = DecidePod(p, PolicySettings{}, kNow);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_GT(*d.changes[0].new_limit, d.changes[0].new_request);
  std::vector<QosResources> after{{500, 500, d.changes[0].new_request, d.changes[0].new_limit}};
  EXPECT_EQ(QosClass(after), "Burstable");

  // Guaranteed pod scaled up stays Guaranteed.
  p.containers[0].memory.limit = 1000 * Mi;
  d = DecidePod(p, PolicySettings{}, kNow);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(*d.changes[0].new_limit, d.changes[0].new_request);
  after = {{500, 500, d.changes[0].new_request, d.changes[0].new_limit}};
  EXPECT_EQ(QosClass(after), "Guaranteed");

  EXPECT_EQ(QosClass({{std::nullopt, std::nullopt, std::nullopt, std::nullopt}}), "BestEffort");
  EXPECT_EQ(QosClass({{100, std::nullopt, std::nullopt, std::nullopt}}), "Burstable");
  EXPECT_EQ(QosClass({{std::nullopt, 100, std::nullopt, 64}}), "Guaranteed");
}

TEST(ResizePolicyTest, RestartContainerNeedsAllowRestart) {
  Case c{"", 512 * Mi, 1024 * Mi, 450 * Mi, 450 * Mi, kNow, 0, std::nullopt};
  PodState p = MemoryPod(c);
  p.containers[0].memory.restart_required = true;
  PolicySettings policy;
  auto d = DecidePod(p, policy, kNow);
  EXPECT_TRUE(d.changes.empty());
  ASSERT_FALSE(d.notes.empty());
  EXPECT_NE(d.notes[0].find("RestartContainer"), std::string::npos);
  policy.allow_restart = true;
  d = DecidePod(p, policy, kNow);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_TRUE(d.restarts);
}

TEST(ResizePolicyTest, PendingResizeOrMissingUsageLeavesThePodAlone) {
  Case c{"", 1000 * Mi, std::nullopt, 900 * Mi, 900 * Mi, kNow, 0, std::nullopt};
  PodState p = MemoryPod(c);
  p.resize_pending = true;
  EXPECT_TRUE(DecidePod(p, PolicySettings{}, kNow).changes.empty());
  p.resize_pending = false;
  p.containers[0].has_usage = false;
  EXPECT_TRUE(DecidePod(p, PolicySettings{}, kNow).changes.empty());
}

TEST(ResizePolicyTest, RoundsToSensibleQuantities) {
  EXPECT_EQ(RoundUp(Resource::kMemory, 1.0), Mi);
  EXPECT_EQ(RoundUp(Resource::kMemory, 120.0 * Mi), 120 * Mi);
  EXPECT_EQ(RoundUp(Resource::kMemory, 120.0 * Mi + 10), 121 * Mi);
  EXPECT_EQ(RoundUp(Resource::kCpu, 140.0000000001), 140);
  EXPECT_EQ(RoundUp(Resource::kCpu, 140.2), 141);
  EXPECT_EQ(RoundUp(Resource::kCpu, 0), 0);
}

}  // namespace
}  // namespace kinema::resize
