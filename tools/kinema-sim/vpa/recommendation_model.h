// RecommendationModel: the VerticalPodAutoscaler recommender's arithmetic
// (kubernetes/autoscaler vertical-pod-autoscaler/pkg/recommender/{util,
// model,logic}), with its default flags, so the simulated recommender
// recommends what the real one would from the same usage.
//
//   - DecayingHistogram: exponential buckets (CPU: first bucket 0.01 core,
//     memory: 1e7 bytes; each bucket 5 % wider than the previous one), sample
//     weights decaying with a half-life (default 24 h: --cpu-histogram-decay-
//     half-life, --memory-histogram-decay-half-life). Percentile(p) is the
//     end of the first bucket whose cumulative weight reaches p × total, as
//     upstream's histogram.Percentile.
//   - AggregateContainerState: one per (VPA, container name). CPU: every
//     usage sample, weighted by max(request, 0.1 core) (minSampleWeight).
//     Memory: the peak of each aggregation interval (default 24 h,
//     --memory-aggregation-interval) — the histogram holds peaks, not raw
//     samples; a higher peak in the current interval replaces the previous
//     one. First/last sample times and the sample count give the confidence
//     = min(history days, samples / (60 × 24)) (one sample a minute).
//   - Estimate(): percentiles 0.9 (target), 0.5 (lowerBound), 0.95
//     (upperBound) of CPU usage and of memory peaks (the defaults of
//     --target-cpu-percentile, --recommendation-lower-bound-*-percentile,
//     --recommendation-upper-bound-*-percentile, --target-memory-percentile);
//     each × (1 + 0.15) (--recommendation-margin-fraction); lowerBound ×
//     (1 + 0.001/confidence)^-2 and upperBound × (1 + 1/confidence)^+1
//     (upstream's confidence multipliers: short histories get a wide
//     upper bound); each at least the pod minimum (25 millicores, 250 MiB:
//     --pod-recommendation-min-cpu-millicores / -min-memory-mb) divided by
//     the number of containers; upperBound capped at 0.95 × the largest
//     node's allocatable (--auto-detected-max-node-allocation).
//   - ApplyPolicy(): the VPA's resourcePolicy (containerPolicies for the
//     container, else "*"): mode Off drops the container; controlledResources
//     filters; target, lowerBound and upperBound are clamped to
//     [minAllowed, maxAllowed]; uncappedTarget keeps the target before
//     clamping.
// Thread-safety: plain values; no shared state.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kinema::sim::vpa {

struct RecommenderConfig {
  double target_percentile_cpu = 0.9;
  double lower_percentile_cpu = 0.5;
  double upper_percentile_cpu = 0.95;
  double target_percentile_memory = 0.9;
  double lower_percentile_memory = 0.5;
  double upper_percentile_memory = 0.95;
  double margin_fraction = 0.15;
  double pod_min_cpu_cores = 0.025;
  double pod_min_memory_bytes = 250.0 * 1024 * 1024;
  double half_life_s = 24 * 3600.0;
  double memory_aggregation_interval_s = 24 * 3600.0;
  double min_sample_weight = 0.1;  // cores
};

class DecayingHistogram {
 public:
  // first_bucket: size of the first bucket; ratio: growth of each next one.
  DecayingHistogram(double first_bucket, double ratio, double max_value, double half_life_s);
  void Add(double value, double weight, double t_s);
  void Subtract(double value, double weight, double t_s);
  // 0 when empty.
  double Percentile(double p) const;
  bool Empty() const;

 private:
  size_t BucketOf(double value) const;
  double BucketStart(size_t bucket) const;
  double DecayFactor(double t_s) const;

  double first_bucket_, ratio_, half_life_s_;
  double reference_t_ = 0;
  std::vector<double> weights_;
  double total_ = 0;
};

struct Resources {
  double cpu_cores = 0;
  double memory_bytes = 0;
};

struct ContainerRecommendation {
  std::string container;
  Resources target, lower_bound, upper_bound, uncapped_target;
  bool has_cpu = true, has_memory = true;  // controlledResources
};

class AggregateContainerState {
 public:
  explicit AggregateContainerState(const RecommenderConfig& config);
  // One usage sample of one container of one pod at simulated time t_s.
  // `pod_key` identifies the pod (memory peaks are per container instance).
  void AddSample(const std::string& pod_key, double cpu_cores, double cpu_request_cores, double memory_bytes,
                 double t_s);
  double ConfidenceDays() const;
  bool Empty() const { return samples_ == 0; }
  const DecayingHistogram& cpu() const { return cpu_; }
  const DecayingHistogram& memory_peaks() const { return memory_; }

 private:
  struct Peak {
    double interval_start = -1;
    double value = 0;
  };
  const RecommenderConfig& config_;
  DecayingHistogram cpu_, memory_;
  std::map<std::string, Peak> peaks_;  // pod -> the peak of its current interval
  double first_t_ = -1, last_t_ = -1;
  uint64_t samples_ = 0;
};

// Recommendation for each container of a VPA's pods (sorted by name);
// `max_node_allocatable` caps the upper bound (0: no cap).
std::vector<ContainerRecommendation> Estimate(const RecommenderConfig& config,
                                              const std::map<std::string, AggregateContainerState>& containers,
                                              const Resources& max_node_allocatable);

// Applies spec.resourcePolicy; drops containers whose policy mode is Off.
std::vector<ContainerRecommendation> ApplyPolicy(const nlohmann::json& resource_policy,
                                                 std::vector<ContainerRecommendation> recs);

// status.recommendation.containerRecommendations[] for the given list
// (cpu in millicores, memory in bytes, rounded up).
nlohmann::json RecommendationJson(const std::vector<ContainerRecommendation>& recs);

}  // namespace kinema::sim::vpa
