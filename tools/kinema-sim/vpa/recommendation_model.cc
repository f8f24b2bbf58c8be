#include "tools/kinema-sim/vpa/recommendation_model.h"

#include <algorithm>
#include <cmath>

#include "engine/quantity/quantity.h"

namespace kinema::sim::vpa {

namespace {

constexpr double kRatio = 1.05;

double QuantityOf(const nlohmann::json& list, const char* name, bool cpu) {
  if (!list.is_object() || !list.contains(name)) return -1;
  const auto& v = list[name];
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (cpu) {
    auto m = ParseQuantityMilli(s);
    return m.ok() ? m.value() / 1000.0 : -1;
  }
  auto b = ParseQuantityValue(s);
  return b.ok() ? static_cast<double>(b.value()) : -1;
}

void Clamp(Resources& r, const nlohmann::json& min, const nlohmann::json& max) {
  double v;
  if ((v = QuantityOf(min, "cpu", true)) >= 0) r.cpu_cores = std::max(r.cpu_cores, v);
  if ((v = QuantityOf(min, "memory", false)) >= 0) r.memory_bytes = std::max(r.memory_bytes, v);
  if ((v = QuantityOf(max, "cpu", true)) >= 0) r.cpu_cores = std::min(r.cpu_cores, v);
  if ((v = QuantityOf(max, "memory", false)) >= 0) r.memory_bytes = std::min(r.memory_bytes, v);
}

nlohmann::json ListJson(const Resources& r, bool cpu, bool memory) {
  nlohmann::json j = nlohmann::json::object();
  if (cpu) j["cpu"] = std::to_string(static_cast<long long>(std::ceil(r.cpu_cores * 1000 - 1e-9))) + "m";
  if (memory) j["memory"] = std::to_string(static_cast<long long>(std::ceil(r.memory_bytes - 1e-6)));
  return j;
}

}  // namespace

DecayingHistogram::DecayingHistogram(double first_bucket, double ratio, double max_value, double half_life_s)
    : first_bucket_(first_bucket), ratio_(ratio), half_life_s_(half_life_s) {
  // Bucket i starts at first_bucket * (ratio^i - 1) / (ratio - 1), as upstream's exponential options.
  size_t n = static_cast<size_t>(std::ceil(std::log(max_value * (ratio - 1) / first_bucket + 1) / std::log(ratio))) + 1;
  weights_.assign(n, 0.0);
}

double DecayingHistogram::BucketStart(size_t bucket) const {
  if (bucket == 0) return 0;
  return first_bucket_ * (std::pow(ratio_, static_cast<double>(bucket)) - 1) / (ratio_ - 1);
}

size_t DecayingHistogram::BucketOf(double value) const {
  if (value < first_bucket_) return 0;
  size_t b = static_cast<size_t>(std::floor(std::log(value * (ratio_ - 1) / first_bucket_ + 1) / std::log(ratio_)));
  return std::min(b, weights_.size() - 1);
}

double DecayingHistogram::DecayFactor(double t_s) const {
  return half_life_s_ > 0 ? std::exp2((t_s - reference_t_) / half_life_s_) : 1.0;
}

void DecayingHistogram::Add(double value, double weight, double t_s) {
  if (total_ <= 0) reference_t_ = t_s;
  if ((t_s - reference_t_) / half_life_s_ > 100) {  // renormalise before the factor overflows
    double shrink = DecayFactor(t_s);
    for (auto& w : weights_) w /= shrink;
    total_ /= shrink;
    reference_t_ = t_s;
  }
  double w = weight * DecayFactor(t_s);
  weights_[BucketOf(value)] += w;
  total_ += w;
}

void DecayingHistogram::Subtract(double value, double weight, double t_s) {
  double w = weight * DecayFactor(t_s);
  double& b = weights_[BucketOf(value)];
  double taken = std::min(b, w);
  b -= taken;
  total_ -= taken;
  if (total_ < 1e-12) total_ = 0;
}

bool DecayingHistogram::Empty() const { return total_ <= 1e-12; }

double DecayingHistogram::Percentile(double p) const {
  if (Empty()) return 0;
  double threshold = p * total_, partial = 0;
  size_t bucket = 0;
  for (; bucket < weights_.size(); ++bucket) {
    partial += weights_[bucket];
    if (partial >= threshold - 1e-12 && weights_[bucket] > 0) break;
  }
  if (bucket >= weights_.size() - 1) return BucketStart(weights_.size() - 1);
  return BucketStart(bucket + 1);  // the end of the bucket, as upstream
}

AggregateContainerState::AggregateContainerState(const RecommenderConfig& config)
    : config_(config),
      cpu_(0.01, kRatio, 1000.0, config.half_life_s),
      memory_(1e7, kRatio, 1e12, config.half_life_s) {}

void AggregateContainerState::AddSample(const std::string& pod_key, double cpu_cores, double cpu_request_cores,
                                        double memory_bytes, double t_s) {
  cpu_.Add(cpu_cores, std::max(cpu_request_cores, config_.min_sample_weight), t_s);
  double interval = config_.memory_aggregation_interval_s;
  double start = interval > 0 ? std::floor(t_s / interval) * interval : 0;
  Peak& peak = peaks_[pod_key];
  if (peak.interval_start != start) {
    peak.interval_start = start;
    peak.value = memory_bytes;
    memory_.Add(memory_bytes, 1.0, t_s);
  } else if (memory_bytes > peak.value) {
    memory_.Subtract(peak.value, 1.0, t_s);
    peak.value = memory_bytes;
    memory_.Add(memory_bytes, 1.0, t_s);
  }
  if (first_t_ < 0) first_t_ = t_s;
  last_t_ = t_s;
  ++samples_;
}

double AggregateContainerState::ConfidenceDays() const {
  double lifespan = last_t_ >= first_t_ && first_t_ >= 0 ? (last_t_ - first_t_) / 86400.0 : 0;
  double by_samples = static_cast<double>(samples_) / (60.0 * 24.0);
  return std::min(lifespan, by_samples);
}

std::vector<ContainerRecommendation> Estimate(const RecommenderConfig& c,
                                              const std::map<std::string, AggregateContainerState>& containers,
                                              const Resources& max_node) {
  std::vector<ContainerRecommendation> out;
  if (containers.empty()) return out;
  double fraction = 1.0 / static_cast<double>(containers.size());
  Resources min{c.pod_min_cpu_cores * fraction, c.pod_min_memory_bytes * fraction};
  double m = 1 + c.margin_fraction;
  for (const auto& [name, s] : containers) {
    if (s.Empty()) continue;
    double conf = s.ConfidenceDays();
    double upper_mult = conf > 0 ? 1 + 1.0 / conf : HUGE_VAL;
    double lower_mult = conf > 0 ? std::pow(1 + 0.001 / conf, -2.0) : 0.0;
    ContainerRecommendation r;
    r.container = name;
    r.target = {s.cpu().Percentile(c.target_percentile_cpu) * m, s.memory_peaks().Percentile(c.target_percentile_memory) * m};
    r.lower_bound = {s.cpu().Percentile(c.lower_percentile_cpu) * m * lower_mult,
                     s.memory_peaks().Percentile(c.lower_percentile_memory) * m * lower_mult};
    r.upper_bound = {s.cpu().Percentile(c.upper_percentile_cpu) * m * upper_mult,
                     s.memory_peaks().Percentile(c.upper_percentile_memory) * m * upper_mult};
    for (Resources* x : {&r.target, &r.lower_bound, &r.upper_bound}) {
      x->cpu_cores = std::max(x->cpu_cores, min.cpu_cores);
      x->memory_bytes = std::max(x->memory_bytes, min.memory_bytes);
    }
    if (max_node.cpu_cores > 0) r.upper_bound.cpu_cores = std::min(r.upper_bound.cpu_cores, 0.95 * max_node.cpu_cores);
    if (max_node.memory_bytes > 0) {
      r.upper_bound.memory_bytes = std::min(r.upper_bound.memory_bytes, 0.95 * max_node.memory_bytes);
    }
    // No history and no node to cap it: no finite bound to give but the target.
    if (!std::isfinite(r.upper_bound.cpu_cores)) r.upper_bound.cpu_cores = r.target.cpu_cores;
    if (!std::isfinite(r.upper_bound.memory_bytes)) r.upper_bound.memory_bytes = r.target.memory_bytes;
    // Bounds never cross the target (the cap above can bring the upper bound below it).
    r.upper_bound.cpu_cores = std::max(r.upper_bound.cpu_cores, r.target.cpu_cores);
    r.upper_bound.memory_bytes = std::max(r.upper_bound.memory_bytes, r.target.memory_bytes);
    r.uncapped_target = r.target;
    out.push_back(r);
  }
  return out;
}

std::vector<ContainerRecommendation> ApplyPolicy(const nlohmann::json& policy, std::vector<ContainerRecommendation> recs) {
  std::vector<ContainerRecommendation> out;
  const nlohmann::json policies =
      policy.is_object() && policy.contains("containerPolicies") && policy["containerPolicies"].is_array()
          ? policy["containerPolicies"]
          : nlohmann::json::array();
  for (auto& r : recs) {
    const nlohmann::json* chosen = nullptr;
    for (const auto& p : policies) {
      if (!p.is_object()) continue;
      std::string name = p.value("containerName", "");
      if (name == r.container) chosen = &p;
      else if (name == "*" && chosen == nullptr) chosen = &p;
    }
    if (chosen != nullptr) {
      if (chosen->value("mode", "Auto") == "Off") continue;
      if (chosen->contains("controlledResources") && (*chosen)["controlledResources"].is_array()) {
        r.has_cpu = r.has_memory = false;
        for (const auto& res : (*chosen)["controlledResources"]) {
          if (res == "cpu") r.has_cpu = true;
          if (res == "memory") r.has_memory = true;
        }
      }
      nlohmann::json min = chosen->value("minAllowed", nlohmann::json::object());
      nlohmann::json max = chosen->value("maxAllowed", nlohmann::json::object());
      r.uncapped_target = r.target;
      Clamp(r.target, min, max);
      Clamp(r.lower_bound, min, max);
      Clamp(r.upper_bound, min, max);
    }
    out.push_back(r);
  }
  return out;
}

nlohmann::json RecommendationJson(const std::vector<ContainerRecommendation>& recs) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : recs) {
    list.push_back({{"containerName", r.container},
                    {"target", ListJson(r.target, r.has_cpu, r.has_memory)},
                    {"lowerBound", ListJson(r.lower_bound, r.has_cpu, r.has_memory)},
                    {"upperBound", ListJson(r.upper_bound, r.has_cpu, r.has_memory)},
                    {"uncappedTarget", ListJson(r.uncapped_target, r.has_cpu, r.has_memory)}});
  }
  return list;
}

}  // namespace kinema::sim::vpa
