#include "tools/kinema-sim/usage/usage_model.h"

#include <algorithm>
#include <cmath>

namespace kinema::sim::usage {

namespace {

constexpr double kNoiseBucketSeconds = 30.0;

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t HashBytes(uint64_t h, std::string_view s) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;  // FNV-1a step
  return (h ^ 0xff) * 0x100000001b3ULL;                      // separator
}

double UnitFromHash(uint64_t h) {  // [-1, 1)
  return static_cast<double>(h >> 11) / static_cast<double>(1ULL << 52) - 1.0;
}

}  // namespace

uint64_t UsageModel::NoiseKey(std::string_view ns, std::string_view pod, std::string_view container) {
  uint64_t h = 0xcbf29ce484222325ULL;
  h = HashBytes(h, ns);
  h = HashBytes(h, pod);
  h = HashBytes(h, container);
  return h;
}

double UsageModel::Noise(uint64_t key, double t_s) const {
  double b = std::floor(t_s / kNoiseBucketSeconds);
  double frac = t_s / kNoiseBucketSeconds - b;
  auto at = [&](double bucket) {
    return UnitFromHash(SplitMix(SplitMix(seed_ ^ key) ^ static_cast<uint64_t>(static_cast<int64_t>(bucket))));
  };
  double a = at(b), c = at(b + 1);
  // Smoothstep interpolation: continuous, with a flat slope at bucket edges.
  double s = frac * frac * (3 - 2 * frac);
  return a + (c - a) * s;
}

Usage UsageModel::Evaluate(const std::string& ns, const std::string& workload, const WorkloadUsage* w,
                           uint64_t noise_key, const ContainerInputs& in) const {
  static const ResourceProfile kDefault;
  const ResourceProfile& cp = w ? w->cpu : kDefault;
  const ResourceProfile& mp = w ? w->memory : kDefault;

  auto base = [](const ResourceProfile& p, double request, double default_fraction, double no_request) {
    if (p.level) return *p.level;
    if (request <= 0) return no_request;
    return request * (p.fraction ? *p.fraction : default_fraction);
  };
  double cpu = base(cp, in.cpu_request_cores, scenario_.cpu_fraction, scenario_.no_request_cpu);
  double mem = base(mp, in.memory_request_bytes, scenario_.memory_fraction, scenario_.no_request_memory);

  cpu *= cp.Multiplier(in.t_s);
  mem *= mp.Multiplier(mp.shape == ResourceProfile::Shape::kTrend ? in.age_s : in.t_s);
  for (const auto& s : scenario_.surges) {
    if (s.name != workload || (!s.ns.empty() && s.ns != ns) || !s.Active(in.t_s)) continue;
    cpu *= s.factor;
    mem *= s.memory_factor;
  }
  if (!w || w->share_load) cpu *= in.load_share;

  double cpu_noise = cp.noise ? *cp.noise : scenario_.noise;
  double mem_noise = mp.noise ? *mp.noise : scenario_.memory_noise;
  if (cpu_noise > 0) cpu *= 1 + cpu_noise * Noise(noise_key * 2 + 1, in.t_s);
  if (mem_noise > 0) mem *= 1 + mem_noise * Noise(noise_key * 2 + 2, in.t_s);
  return Usage{std::max(0.0, cpu), std::max(0.0, mem)};
}

}  // namespace kinema::sim::usage
