#include "engine/prediction/forecaster.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace kinema::prediction {

namespace {

std::string Num(const std::string& resource, double v) {
  char buf[64];
  if (resource == "cpu") {
    std::snprintf(buf, sizeof buf, "%.0fm", v * 1000);
  } else {
    std::snprintf(buf, sizeof buf, "%.1fMi", v / (1024.0 * 1024.0));
  }
  return buf;
}

}  // namespace

bool FitLine(const UsageSeries& points, double* intercept, double* slope) {
  if (points.empty()) return false;
  double n = static_cast<double>(points.size());
  // Centre t for numerical stability (epoch seconds are ~1.7e9).
  double t0 = points.front().t;
  double st = 0, sv = 0;
  for (const auto& p : points) {
    st += p.t - t0;
    sv += p.v;
  }
  double mt = st / n, mv = sv / n;
  double sxx = 0, sxy = 0;
  for (const auto& p : points) {
    double dt = p.t - t0 - mt;
    sxx += dt * dt;
    sxy += dt * (p.v - mv);
  }
  double b = sxx > 0 ? sxy / sxx : 0.0;
  *slope = b;
  *intercept = mv - b * (mt + t0);  // value at t = 0 of the caller's epoch
  return true;
}

ResourceForecast ForecastResource(const std::string& resource, double request,
                                  const std::vector<UsageSeries>& per_pod, const PredictionOptions& options) {
  ResourceForecast f;
  f.resource = resource;
  f.request = request;
  f.planned = request;

  const double max_value =
      resource == "cpu" ? static_cast<double>(kMaxPlausibleCores) : static_cast<double>(kMaxPlausibleBytes);
  // Mean over pods at each timestamp (millisecond keys: query_range aligns them).
  std::map<int64_t, std::pair<double, int>> by_t;
  for (const auto& series : per_pod) {
    bool any = false;
    for (const auto& p : series) {
      if (std::isnan(p.v)) continue;  // NaN is Prometheus's "no value": not an error
      if (!std::isfinite(p.t) || std::fabs(p.t) > 1e11 || !(p.v >= 0 && p.v <= max_value)) {
        f.rejected++;
        continue;
      }
      auto& slot = by_t[static_cast<int64_t>(std::llround(p.t * 1000))];
      slot.first += p.v;
      slot.second++;
      f.peak = std::max(f.peak, p.v);
      any = true;
    }
    if (any) f.pods++;
  }
  const std::string rejected_note =
      f.rejected == 0 ? "" : " (" + std::to_string(f.rejected) + " implausible samples dropped)";
  if (by_t.empty()) {
    f.why = "no usage samples over the window: kept the request" + rejected_note;
    return f;
  }
  f.has_data = true;
  UsageSeries agg;
  agg.reserve(by_t.size());
  double sum = 0;
  for (const auto& [ms, s] : by_t) {
    double v = s.first / s.second;
    agg.push_back({ms / 1000.0, v});
    sum += v;
  }
  f.samples = static_cast<int>(agg.size());
  f.mean = sum / agg.size();
  double a = 0, b = 0;
  FitLine(agg, &a, &b);
  double horizon_s = options.horizon.count() / 1000.0;
  double t_target = agg.back().t + horizon_s;
  f.slope_per_hour = b * 3600.0;
  f.forecast = a + b * (agg.size() >= 2 ? t_target : 0.0);
  if (agg.size() < 2) f.forecast = agg.front().v;
  // A steep fit over close timestamps can run far out: keep it plausible.
  f.forecast = std::isfinite(f.forecast) ? std::clamp(f.forecast, 0.0, max_value) : 0.0;

  double moved = request + options.factor * (f.forecast - request);
  double floor = f.peak * options.headroom;
  char buf[320];
  if (moved >= floor) {
    f.planned = moved;
    std::snprintf(buf, sizeof buf, "moved %.0f%% of the way from the request %s toward the forecast %s (trend %s/h over %d samples)",
                  options.factor * 100, Num(resource, request).c_str(), Num(resource, f.forecast).c_str(),
                  Num(resource, f.slope_per_hour).c_str(), f.samples);
  } else {
    f.planned = floor;
    std::snprintf(buf, sizeof buf,
                  "raised to the observed peak %s x headroom %.2f (moving %.0f%% toward the forecast %s would give only %s)",
                  Num(resource, f.peak).c_str(), options.headroom, options.factor * 100,
                  Num(resource, f.forecast).c_str(), Num(resource, moved).c_str());
  }
  f.why = buf + rejected_note;
  return f;
}

nlohmann::json ResourceForecast::ToJson() const {
  return {{"resource", resource}, {"request", request},   {"hasData", has_data},
          {"pods", pods},         {"samples", samples},   {"rejectedSamples", rejected}, {"mean", mean},
          {"peak", peak},         {"slopePerHour", slope_per_hour},
          {"forecast", forecast}, {"planned", planned},   {"why", why}};
}

}  // namespace kinema::prediction
