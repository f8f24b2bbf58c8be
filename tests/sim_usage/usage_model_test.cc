// Unit tests of the usage scenario parser, the usage model and the HPA
// arithmetic (tools/kinema-sim/usage/).
#include <gtest/gtest.h>

#include <cmath>

#include "tools/kinema-sim/usage/hpa_algorithm.h"
#include "tools/kinema-sim/usage/metrics_text.h"
#include "tools/kinema-sim/usage/usage_model.h"
#include "tools/kinema-sim/usage/usage_scenario.h"

namespace kinema::sim::usage {
namespace {

using json = nlohmann::json;

UsageScenario Parse(const std::string& text) {
  UsageScenario s;
  Status st = ParseUsageScenario(json::parse(text), &s);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return s;
}

std::string ParseError(const std::string& text) {
  UsageScenario s;
  Status st = ParseUsageScenario(json::parse(text), &s);
  EXPECT_FALSE(st.ok()) << text;
  return st.message();
}

ContainerInputs In(double cpu_req, double mem_req, double t, double share = 1, double age = -1) {
  ContainerInputs in;
  in.cpu_request_cores = cpu_req;
  in.memory_request_bytes = mem_req;
  in.t_s = t;
  in.age_s = age < 0 ? t : age;
  in.load_share = share;
  return in;
}

TEST(UsageScenarioTest, ParsesProfilesSurgesAndIgnoresOtherEventKinds) {
  UsageScenario s = Parse(R"({
    "usage": {"cpuFraction": 0.4, "memoryFraction": 0.7, "noise": 0.1, "oomKill": false,
      "deployments": {
        "shop/web": {"cpu": {"profile": "diurnal", "level": "300m", "period": "1h", "amplitude": 0.5},
                     "memory": {"profile": "trend", "fraction": 0.5, "slopePerHour": 0.2}, "shareLoad": false},
        "api": {"cpu": {"profile": "spike", "at": 600, "duration": "5m", "factor": 3}}}},
    "events": [{"kind": "loadSurge", "deployment": "shop/web", "factor": 2, "at": "30m", "duration": "10m"},
               {"kind": "nodeFailure", "node": "n1", "at": "1m"}],
    "cloud": {"bootDelay": "30s"}})");
  EXPECT_DOUBLE_EQ(s.cpu_fraction, 0.4);
  EXPECT_DOUBLE_EQ(s.memory_fraction, 0.7);
  EXPECT_FALSE(s.oom_kill);
  ASSERT_EQ(s.workloads.size(), 2u);
  const WorkloadUsage* web = s.Find("shop", "web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->cpu.shape, ResourceProfile::Shape::kDiurnal);
  EXPECT_DOUBLE_EQ(*web->cpu.level, 0.3);
  EXPECT_DOUBLE_EQ(web->cpu.period_s, 3600);
  EXPECT_FALSE(web->share_load);
  EXPECT_EQ(s.Find("other", "web"), nullptr);
  ASSERT_NE(s.Find("any-namespace", "api"), nullptr);  // a key without namespace matches everywhere
  EXPECT_DOUBLE_EQ(s.Find("x", "api")->cpu.duration_s, 300);
  ASSERT_EQ(s.surges.size(), 1u);
  EXPECT_EQ(s.surges[0].ns, "shop");
  EXPECT_DOUBLE_EQ(s.surges[0].at_s, 1800);
  EXPECT_DOUBLE_EQ(s.surges[0].duration_s, 600);
}

TEST(UsageScenarioTest, ErrorsNameTheKey) {
  EXPECT_EQ(ParseError(R"({"usage": {"cpuFractio": 0.5}})"), "usage.cpuFractio: unknown key");
  EXPECT_EQ(ParseError(R"({"usage": {"deployments": {"shop/web": {"cpu": {"profile": "wavy"}}}}})"),
            "usage.deployments.shop/web.cpu.profile: 'wavy' is not one of constant, diurnal, trend, spike");
  EXPECT_NE(ParseError(R"({"usage": {"deployments": {"shop/web": {"cpu": {"period": "10 minutes"}}}}})")
                .find("usage.deployments.shop/web.cpu.period: bad duration"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"usage": {"deployments": {"shop/web": {"memory": {"level": "12 GB"}}}}})")
                .find("usage.deployments.shop/web.memory.level"),
            std::string::npos);
  EXPECT_EQ(ParseError(R"({"events": [{"kind": "loadSurge", "deployment": "web", "at": "1m", "duration": "1m"}]})"),
            "events[0].factor: required");
  EXPECT_EQ(ParseError(R"({"usage": {"noise": -1}})"), "usage.noise: must be >= 0");
}

TEST(UsageModelTest, DefaultIsAFractionOfRequestsWithBoundedDeterministicNoise) {
  UsageModel a(Parse("{}"), 7), b(Parse("{}"), 7), c(Parse("{}"), 8);
  uint64_t key = UsageModel::NoiseKey("shop", "web-1", "app");
  bool differs = false;
  for (double t = 0; t < 3600; t += 7.3) {
    Usage u = a.Evaluate("shop", "web", key, In(0.5, 1e9, t));
    EXPECT_GE(u.cpu_cores, 0.25 * 0.95 - 1e-12);
    EXPECT_LE(u.cpu_cores, 0.25 * 1.05 + 1e-12);
    EXPECT_GE(u.memory_bytes, 0.6e9 * 0.98 - 1);
    EXPECT_LE(u.memory_bytes, 0.6e9 * 1.02 + 1);
    Usage same = b.Evaluate("shop", "web", key, In(0.5, 1e9, t));
    EXPECT_EQ(u.cpu_cores, same.cpu_cores);
    EXPECT_EQ(u.memory_bytes, same.memory_bytes);
    if (c.Evaluate("shop", "web", key, In(0.5, 1e9, t)).cpu_cores != u.cpu_cores) differs = true;
  }
  EXPECT_TRUE(differs) << "another seed must give other noise";
  // No request: the configured small default.
  Usage none = a.Evaluate("shop", "web", key, In(0, 0, 10));
  EXPECT_NEAR(none.cpu_cores, 0.01, 0.01 * 0.05 + 1e-12);
}

TEST(UsageModelTest, ProfilesFollowTheirShapes) {
  UsageModel m(Parse(R"({"usage": {"noise": 0, "memoryNoise": 0, "deployments": {
      "d/diurnal": {"cpu": {"profile": "diurnal", "level": 1, "period": "1h", "amplitude": 0.5}},
      "d/trend": {"cpu": {"profile": "trend", "level": 1, "slopePerHour": 0.5},
                  "memory": {"profile": "trend", "level": "100Mi", "slopePerHour": 1}},
      "d/spike": {"cpu": {"profile": "spike", "fraction": 0.5, "at": "10m", "duration": "5m", "factor": 4}}}}})"),
               1);
  EXPECT_NEAR(m.Evaluate("d", "diurnal", 1, In(1, 1, 0)).cpu_cores, 1.0, 1e-12);
  EXPECT_NEAR(m.Evaluate("d", "diurnal", 1, In(1, 1, 900)).cpu_cores, 1.5, 1e-12);   // quarter period: peak
  EXPECT_NEAR(m.Evaluate("d", "diurnal", 1, In(1, 1, 2700)).cpu_cores, 0.5, 1e-12);  // three quarters: trough
  EXPECT_NEAR(m.Evaluate("d", "trend", 1, In(1, 1, 7200)).cpu_cores, 2.0, 1e-12);
  // Memory trends count from the container's start (a leak restarts at the base).
  EXPECT_NEAR(m.Evaluate("d", "trend", 1, In(1, 1, 7200, 1, 3600)).memory_bytes, 200.0 * 1024 * 1024, 1e-3);
  EXPECT_NEAR(m.Evaluate("d", "trend", 1, In(1, 1, 7200, 1, 0)).memory_bytes, 100.0 * 1024 * 1024, 1e-3);
  EXPECT_NEAR(m.Evaluate("d", "spike", 1, In(0.2, 1, 599)).cpu_cores, 0.1, 1e-12);
  EXPECT_NEAR(m.Evaluate("d", "spike", 1, In(0.2, 1, 600)).cpu_cores, 0.4, 1e-12);
  EXPECT_NEAR(m.Evaluate("d", "spike", 1, In(0.2, 1, 900)).cpu_cores, 0.1, 1e-12);
}

TEST(UsageModelTest, LoadSurgeMultipliesCpuOnlyDuringItsWindow) {
  UsageModel m(Parse(R"({"usage": {"noise": 0, "memoryNoise": 0},
      "events": [{"kind": "loadSurge", "deployment": "shop/web", "factor": 3, "at": "1m", "duration": "2m"}]})"),
               1);
  EXPECT_NEAR(m.Evaluate("shop", "web", 1, In(0.2, 100, 59)).cpu_cores, 0.1, 1e-12);
  EXPECT_NEAR(m.Evaluate("shop", "web", 1, In(0.2, 100, 60)).cpu_cores, 0.3, 1e-12);
  EXPECT_NEAR(m.Evaluate("shop", "web", 1, In(0.2, 100, 60)).memory_bytes, 60, 1e-9);
  EXPECT_NEAR(m.Evaluate("other", "web", 1, In(0.2, 100, 60)).cpu_cores, 0.1, 1e-12);
  EXPECT_NEAR(m.Evaluate("shop", "web", 1, In(0.2, 100, 180)).cpu_cores, 0.1, 1e-12);
}

TEST(UsageModelTest, WorkloadLoadIsSharedByItsRunningReplicas) {
  UsageModel m(Parse(R"({"usage": {"noise": 0, "deployments": {"s/solo": {"shareLoad": false}}}})"), 1);
  // Twice the reference replicas: half the CPU per pod.
  EXPECT_NEAR(m.Evaluate("s", "web", 1, In(0.4, 1, 0, 0.5)).cpu_cores, 0.1, 1e-12);
  EXPECT_NEAR(m.Evaluate("s", "solo", 1, In(0.4, 1, 0, 0.5)).cpu_cores, 0.2, 1e-12);
}

PodResourceMetric Pod(double usage, double request, bool ready = true, bool pending = false) {
  PodResourceMetric p;
  p.has_metrics = !pending;
  p.ready = ready && !pending;
  p.pending = pending;
  p.usage = usage;
  p.request = request;
  return p;
}

TEST(HpaAlgorithmTest, WithinToleranceKeepsTheReplicaCount) {
  MetricTarget cpu{"cpu", true, 70};
  // 75% vs 70%: ratio 1.07, inside the 0.1 tolerance.
  auto p = ComputeMetricReplicas(cpu, 3, {Pod(0.75, 1), Pod(0.75, 1), Pod(0.75, 1)});
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.replicas, 3);
  EXPECT_EQ(p.utilization_percent, 75);
}

TEST(HpaAlgorithmTest, ScalesToCeilOfRatioTimesReadyPods) {
  MetricTarget cpu{"cpu", true, 70};
  auto up = ComputeMetricReplicas(cpu, 3, {Pod(1.4, 1), Pod(1.4, 1), Pod(1.4, 1)});
  EXPECT_EQ(up.replicas, 6);  // 140% / 70% × 3
  auto down = ComputeMetricReplicas(cpu, 4, {Pod(0.2, 1), Pod(0.2, 1), Pod(0.2, 1), Pod(0.2, 1)});
  EXPECT_EQ(down.replicas, 2);  // ceil(20/70 × 4) = ceil(1.14)
  MetricTarget avg{"memory", false, 100};
  auto m = ComputeMetricReplicas(avg, 2, {Pod(250, 0), Pod(250, 0)});
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.replicas, 5);
  EXPECT_DOUBLE_EQ(m.average_value, 250);
  auto missing = ComputeMetricReplicas(cpu, 2, [] {
    PodResourceMetric p = Pod(0.5, 0);
    p.missing_request = true;
    return std::vector<PodResourceMetric>{p};
  }());
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.error, "missing request for cpu");
}

TEST(HpaAlgorithmTest, UnreadyPodsCountAsIdleWhenScalingUp) {
  MetricTarget cpu{"cpu", true, 50};
  // Two ready pods at 100%, two pending: 200 / 400 = 50% with the pending
  // ones at zero, so the scale-up is dropped.
  auto p = ComputeMetricReplicas(cpu, 4, {Pod(1, 1), Pod(1, 1), Pod(0, 1, false, true), Pod(0, 1, false, true)});
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.replicas, 4);
  // At 150% the scale-up survives: 300 / 400 = 75% → ceil(1.5 × 4) = 6.
  auto q = ComputeMetricReplicas(cpu, 4, {Pod(1.5, 1), Pod(1.5, 1), Pod(0, 1, false, true), Pod(0, 1, false, true)});
  EXPECT_EQ(q.replicas, 6);
}

TEST(HpaAlgorithmTest, ScaleDownWaitsOutTheFiveMinuteStabilizationWindow) {
  HpaHistory h;
  auto up = ScalingRules::DefaultUp(), down = ScalingRules::DefaultDown();
  EXPECT_EQ(NormalizeDesiredReplicas(6, 6, 1, 10, up, down, 0, &h).desired, 6);
  EXPECT_EQ(NormalizeDesiredReplicas(2, 6, 1, 10, up, down, 15, &h).desired, 6);
  EXPECT_EQ(NormalizeDesiredReplicas(2, 6, 1, 10, up, down, 299, &h).desired, 6);
  ScaleDecision d = NormalizeDesiredReplicas(2, 6, 1, 10, up, down, 301, &h);
  EXPECT_EQ(d.desired, 2);
  EXPECT_EQ(d.limited_reason, "DesiredWithinRange");
}

TEST(HpaAlgorithmTest, ScaleUpIsRateLimitedAndCappedByMaxReplicas) {
  HpaHistory h;
  auto up = ScalingRules::DefaultUp(), down = ScalingRules::DefaultDown();
  ScaleDecision d = NormalizeDesiredReplicas(20, 2, 1, 10, up, down, 0, &h);
  EXPECT_EQ(d.desired, 6);  // max(2 + 4 pods, 2 × 200%) per 15 s
  EXPECT_EQ(d.limited_reason, "ScaleUpLimit");
  RecordScale(&h, 2, 6, 0);
  // Within the same 15 s period the budget counts from the period's start (2).
  EXPECT_EQ(NormalizeDesiredReplicas(20, 6, 1, 10, up, down, 10, &h).desired, 6);
  d = NormalizeDesiredReplicas(20, 6, 1, 10, up, down, 16, &h);
  EXPECT_EQ(d.desired, 10);
  EXPECT_EQ(d.limited_reason, "TooManyReplicas");
}

TEST(HpaAlgorithmTest, MinReplicasIsAFloor) {
  HpaHistory h;
  ScaleDecision d = NormalizeDesiredReplicas(1, 3, 2, 10, ScalingRules::DefaultUp(),
                                             ScalingRules::FromJson(json{{"stabilizationWindowSeconds", 0}}, false), 0, &h);
  EXPECT_EQ(d.desired, 2);
  EXPECT_EQ(d.limited_reason, "TooFewReplicas");
}

TEST(MetricsTextTest, LabelValuesAreEscapedAndFamiliesTyped) {
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  PodSample p;
  p.ns = "ns";
  p.name = "pod\"x";
  p.uid = "u1";
  p.node = "n1";
  ContainerSample c;
  c.name = "app";
  c.image = "img";
  c.cpu_seconds_total = 1.5;
  MetricsWriter w;
  w.BeginContainerCpu();
  w.ContainerCpu(p, c);
  std::string out = w.Take();
  EXPECT_NE(out.find("# TYPE container_cpu_usage_seconds_total counter\n"), std::string::npos);
  EXPECT_NE(out.find("container_cpu_usage_seconds_total{container=\"app\",id=\"/kubepods/podu1/app\",image=\"img\","
                     "name=\"app\",namespace=\"ns\",node=\"n1\",pod=\"pod\\\"x\"} 1.5\n"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace kinema::sim::usage
