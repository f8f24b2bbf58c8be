// Fuzz target: Prometheus HTTP API answers as the client parses them
// (first input line: the HTTP status), then the series through the
// forecaster as the prediction step uses them. Planned requests must be
// finite and never negative whatever the values (NaN, ±Inf, 1e308, ...).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/common/text.h"
#include "engine/prediction/prediction.h"
#include "engine/prometheus/client.h"

using namespace kinema;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  long code = 200;
  size_t nl = in.find('\n');
  if (nl != std::string_view::npos && nl <= 3) {
    code = 0;
    for (char c : in.substr(0, nl)) code = c >= '0' && c <= '9' ? code * 10 + (c - '0') : code;
    in.remove_prefix(nl + 1);
  }
  auto r = prometheus::ParseQueryResponse(code, std::string(in), "prometheus query_range \"q\"");
  if (!r.ok()) {
    if (!IsValidUtf8(r.status().message())) std::abort();
    return 0;
  }
  std::vector<prediction::UsageSeries> per_pod;
  for (const auto& s : r->series) {
    prediction::UsageSeries u;
    for (const auto& p : s.samples) u.push_back({p.t, p.v});
    per_pod.push_back(std::move(u));
  }
  prediction::PredictionOptions o;
  prediction::ContainerPlan cp;
  cp.cpu = prediction::ForecastResource("cpu", 0.25, per_pod, o);
  cp.memory = prediction::ForecastResource("memory", 268435456.0, per_pod, o);
  if (!std::isfinite(cp.cpu.planned) || !std::isfinite(cp.memory.planned)) std::abort();
  if (cp.PlannedCpuMilli() < 0 || cp.PlannedMemoryBytes() < 0) std::abort();
  (void)cp.cpu.ToJson().dump();
  return 0;
}
