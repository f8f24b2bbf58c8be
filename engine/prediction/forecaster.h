// Forecaster: planning requests from observed usage — pure functions, no I/O.
//
// For one container of one workload (a Deployment, or a StatefulSet) and one
// resource (cpu in cores, memory in bytes), given per-pod usage series over
// the window:
//   1. aggregate: at each timestamp, the mean usage over the pods that have a
//      sample there (pods come and go across rollouts; the mean is the
//      per-pod load);
//   2. fit a least-squares line usage = a + b·t over the aggregated points
//      (b reported per hour); fewer than 2 timestamps: b = 0, a = the value;
//   3. forecast = max(0, a + b·(t_last + horizon));
//   4. peak = the highest single-pod sample in the window;
//   5. planned = request + factor × (forecast − request), but never below
//      peak × headroom (the original Kinema smoothed by 0.1 with no floor).
// No samples at all: planned = request, has_data = false, and `why` says so.
// Samples from outside are checked before use: a sample whose time is not
// finite (or beyond ±1e11 s), or whose value is infinite, negative, or
// above the plausible maximum (kMaxPlausibleCores / kMaxPlausibleBytes), is
// dropped and counted in `rejected` (a NaN value is Prometheus's "no value"
// and is skipped silently); the forecast is clamped to [0, that
// maximum], so a hostile 1e308 can never become an infinite request.
// Every result carries an explanation record (request, peak, slope,
// forecast, planned, why) for the journal.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace kinema::prediction {

// Largest usage believed: a million cores; a pebibyte of memory.
inline constexpr int64_t kMaxPlausibleCores = 1000000;
inline constexpr int64_t kMaxPlausibleBytes = int64_t{1} << 50;

struct PredictionOptions {
  std::chrono::milliseconds window{900000};     // prediction.window (15m)
  std::chrono::milliseconds horizon{900000};    // prediction.horizon (15m)
  std::chrono::milliseconds step{30000};        // prediction.step (30s)
  std::chrono::milliseconds rate_window{60000}; // PromQL rate() range; >= 2 scrape intervals
  double factor = 0.1;                          // prediction.factor
  double headroom = 1.2;                        // prediction.headroom
};

struct UsagePoint {
  double t = 0;  // seconds (any epoch; only differences matter)
  double v = 0;
};
using UsageSeries = std::vector<UsagePoint>;

// The explanation record of one resource of one container.
struct ResourceForecast {
  std::string resource;       // "cpu" (cores) | "memory" (bytes)
  double request = 0;         // current request (0: none)
  bool has_data = false;
  int pods = 0;               // series that contributed
  int samples = 0;            // aggregated timestamps
  int rejected = 0;           // samples dropped as implausible (see above)
  double mean = 0;            // mean of the aggregated usage
  double peak = 0;            // highest single-pod sample
  double slope_per_hour = 0;  // fitted trend
  double forecast = 0;        // at t_last + horizon
  double planned = 0;         // the planning request
  std::string why;

  nlohmann::json ToJson() const;
};

// Fits, forecasts and plans one resource. `per_pod` may be empty.
ResourceForecast ForecastResource(const std::string& resource, double request,
                                  const std::vector<UsageSeries>& per_pod, const PredictionOptions& options);

// Least-squares line through `points`; slope per second. False when empty.
bool FitLine(const UsageSeries& points, double* intercept, double* slope);

}  // namespace kinema::prediction
