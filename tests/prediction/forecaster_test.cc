// Unit tests of the pure forecaster (engine/prediction/forecaster.h).
#include "engine/prediction/forecaster.h"
#include "engine/prediction/prediction.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace kinema::prediction {
namespace {

// One pod sampled every 30 s for 15 minutes: v(t) = f(t).
template <typename F>
UsageSeries Sampled(F f, double t0 = 1.7e9, int n = 31) {
  UsageSeries s;
  for (int i = 0; i < n; ++i) s.push_back({t0 + 30.0 * i, f(30.0 * i)});
  return s;
}

TEST(ForecasterTest, RisingTrendRaisesPlanningRequest) {
  PredictionOptions o;  // window 15m, horizon 15m, factor 0.1, headroom 1.2
  // CPU rising from 0.5 to 1.0 core over 15 minutes (2 cores/hour); request 0.5.
  auto rising = [](double t) { return 0.5 + 2.0 * t / 3600.0; };
  ResourceForecast f = ForecastResource("cpu", 0.5, {Sampled(rising), Sampled(rising)}, o);
  ASSERT_TRUE(f.has_data);
  EXPECT_NEAR(f.slope_per_hour, 2.0, 1e-6);
  EXPECT_NEAR(f.forecast, 1.5, 1e-6);  // 1.0 at the end + 0.5 over the 15 min horizon
  EXPECT_NEAR(f.peak, 1.0, 1e-9);
  // 0.5 + 0.1 × (1.5 − 0.5) = 0.6 < peak × headroom = 1.2: the floor wins.
  EXPECT_NEAR(f.planned, 1.2, 1e-9);
  EXPECT_GT(f.planned, 0.5);
  EXPECT_EQ(f.pods, 2);
  EXPECT_EQ(f.samples, 31);
  EXPECT_NE(f.why.find("peak"), std::string::npos) << f.why;
}

TEST(ForecasterTest, RisingTrendMovesTowardForecastWhenAbovePeakFloor) {
  PredictionOptions o;
  o.factor = 0.5;
  o.headroom = 1.0;
  auto rising = [](double t) { return 1.0 + 4.0 * t / 3600.0; };  // 1.0 -> 2.0, forecast 3.0
  ResourceForecast f = ForecastResource("cpu", 1.0, {Sampled(rising)}, o);
  EXPECT_NEAR(f.forecast, 3.0, 1e-6);
  EXPECT_NEAR(f.planned, 2.0, 1e-6);  // 1.0 + 0.5 × (3.0 − 1.0) = 2.0 >= peak 2.0
  EXPECT_NE(f.why.find("toward the forecast"), std::string::npos) << f.why;
}

TEST(ForecasterTest, NeverBelowPeakTimesHeadroom) {
  PredictionOptions o;
  // Mostly idle at 0.1 core with one 0.9-core spike; request 2 cores.
  auto spiky = [](double t) { return std::fabs(t - 300) < 1 ? 0.9 : 0.1; };
  ResourceForecast f = ForecastResource("cpu", 2.0, {Sampled(spiky)}, o);
  double moved = 2.0 + 0.1 * (f.forecast - 2.0);
  EXPECT_GE(f.planned, 0.9 * 1.2 - 1e-9);
  EXPECT_NEAR(f.planned, std::max(moved, 0.9 * 1.2), 1e-9);
  // A far lower request: the planning request still covers the peak × headroom.
  ResourceForecast low = ForecastResource("cpu", 0.05, {Sampled(spiky)}, o);
  EXPECT_NEAR(low.planned, 0.9 * 1.2, 1e-9);
  // Memory too.
  auto mem = [](double) { return 600.0 * 1024 * 1024; };
  ResourceForecast m = ForecastResource("memory", 256.0 * 1024 * 1024, {Sampled(mem)}, o);
  EXPECT_NEAR(m.planned, 1.2 * 600.0 * 1024 * 1024, 1.0);
}

TEST(ForecasterTest, FlatUsageMovesTenPercentTowardUsage) {
  PredictionOptions o;
  // Flat 0.2 core, request 1 core: 1 + 0.1 × (0.2 − 1) = 0.92 (above 0.24).
  auto flat = [](double) { return 0.2; };
  ResourceForecast f = ForecastResource("cpu", 1.0, {Sampled(flat), Sampled(flat), Sampled(flat)}, o);
  EXPECT_NEAR(f.slope_per_hour, 0.0, 1e-9);
  EXPECT_NEAR(f.forecast, 0.2, 1e-9);
  EXPECT_NEAR(f.planned, 0.92, 1e-9);
  EXPECT_NEAR(f.mean, 0.2, 1e-12);
}

TEST(ForecasterTest, NoSamplesKeepsTheRequestAndSaysSo) {
  PredictionOptions o;
  ResourceForecast f = ForecastResource("memory", 1024, {}, o);
  EXPECT_FALSE(f.has_data);
  EXPECT_EQ(f.planned, 1024);
  EXPECT_NE(f.why.find("kept the request"), std::string::npos);
  ResourceForecast g = ForecastResource("cpu", 0.3, {UsageSeries{{1.0, std::nan("")}}}, o);
  EXPECT_FALSE(g.has_data);
}

TEST(ForecasterTest, AveragesPodsPerTimestampSoRolloutsDoNotLookLikeTrends) {
  PredictionOptions o;
  o.factor = 1.0;
  o.headroom = 0;
  // Old pod for the first half, new pod for the second, both at 0.4 core.
  UsageSeries old_pod, new_pod;
  for (int i = 0; i < 31; ++i) (i < 15 ? old_pod : new_pod).push_back({1.7e9 + 30.0 * i, 0.4});
  ResourceForecast f = ForecastResource("cpu", 1.0, {old_pod, new_pod}, o);
  EXPECT_NEAR(f.slope_per_hour, 0.0, 1e-9);
  EXPECT_NEAR(f.forecast, 0.4, 1e-9);
  EXPECT_NEAR(f.planned, 0.4, 1e-9);
}

TEST(ForecasterTest, SingleSampleForecastsItsValue) {
  PredictionOptions o;
  ResourceForecast f = ForecastResource("cpu", 1.0, {UsageSeries{{1.7e9, 0.5}}}, o);
  EXPECT_TRUE(f.has_data);
  EXPECT_EQ(f.slope_per_hour, 0.0);
  EXPECT_NEAR(f.forecast, 0.5, 1e-12);
  EXPECT_NEAR(f.planned, 0.95, 1e-12);
}

TEST(ForecasterTest, FitLineRecoversSlopeAtEpochScaleTimestamps) {
  UsageSeries s;
  for (int i = 0; i < 100; ++i) s.push_back({1.7e9 + i, 3.0 + 0.01 * i});
  double a = 0, b = 0;
  ASSERT_TRUE(FitLine(s, &a, &b));
  EXPECT_NEAR(b, 0.01, 1e-9);
  EXPECT_NEAR(a + b * (1.7e9 + 50), 3.5, 1e-5);
}

}  // namespace
TEST(ForecasterTest, ImplausibleSamplesAreDroppedAndTheForecastStaysFinite) {
  // A Prometheus value of 1e308 became an infinite request and then
  // INT64_MIN millicores; NaN/Inf/negative values and times are dropped.
  PredictionOptions o;
  UsageSeries hostile = {{0, 0.5}, {30, 1e308}, {60, -3}, {90, std::numeric_limits<double>::infinity()},
                         {std::nan(""), 0.5}, {1e300, 0.5}, {120, 0.6}};
  ResourceForecast f = ForecastResource("cpu", 0.5, {hostile}, o);
  EXPECT_TRUE(f.has_data);
  EXPECT_EQ(f.rejected, 5) << f.why;
  EXPECT_TRUE(std::isfinite(f.planned));
  EXPECT_LT(f.planned, 1.0) << f.why;
  EXPECT_NE(f.why.find("5 implausible samples dropped"), std::string::npos) << f.why;
  // A steep fit over nearly equal timestamps is clamped to the plausible maximum.
  UsageSeries steep = {{100.000, 0}, {100.001, static_cast<double>(kMaxPlausibleCores)}};
  ResourceForecast g = ForecastResource("cpu", 1, {steep}, o);
  EXPECT_LE(g.forecast, static_cast<double>(kMaxPlausibleCores));
  EXPECT_TRUE(std::isfinite(g.planned));
  ContainerPlan cp;
  cp.cpu = g;
  cp.memory = ForecastResource("memory", 1e18, {{{0, 1e300}}}, o);
  EXPECT_GE(cp.PlannedCpuMilli(), 0);
  EXPECT_GE(cp.PlannedMemoryBytes(), 0) << "never a negative (wrapped) request";
}

}  // namespace kinema::prediction
