// UsageModel: a container's CPU (cores) and memory (bytes) usage as a pure,
// deterministic function of simulated time, the scenario and the seed.
//
//   base   = profile.level, else profile.fraction × request, else the
//            scenario default fraction × request (containers without a
//            request use usage.noRequestCpu / noRequestMemory)
//   cpu    = base × profile(t) × surge(t) × loadShare × (1 + noise(t))
//   memory = base × profile(age) × surgeMemory(t) × (1 + memoryNoise(t))
// where t is simulated seconds since the simulator started, `age` the
// simulated seconds since the container (re)started (memory trends model
// leaks: an OOM kill or a new pod starts again from the base), loadShare the
// workload's reference replicas / running replicas (a Deployment's load is
// shared by its pods, so an HPA scale-out lowers per-pod CPU), and noise a
// smooth value noise in [-amplitude, +amplitude] keyed by (seed, pod,
// container, resource) and interpolated over 30 simulated-second buckets.
// Thread-safety: immutable after construction; Evaluate is const and pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tools/kinema-sim/usage/usage_scenario.h"

namespace kinema::sim::usage {

struct ContainerInputs {
  double cpu_request_cores = 0;     // 0: none
  double memory_request_bytes = 0;  // 0: none
  double t_s = 0;                   // simulated seconds since start
  double age_s = 0;                 // simulated seconds since the container started
  double load_share = 1;            // reference replicas / running replicas
};

struct Usage {
  double cpu_cores = 0;
  double memory_bytes = 0;
};

class UsageModel {
 public:
  UsageModel(UsageScenario scenario, uint64_t seed) : scenario_(std::move(scenario)), seed_(seed) {}

  const UsageScenario& scenario() const { return scenario_; }

  // A stable key for the noise of one container (hash of pod and container names).
  static uint64_t NoiseKey(std::string_view ns, std::string_view pod, std::string_view container);

  // `workload` is the owning Deployment/StatefulSet/DaemonSet name ("" for a bare pod).
  Usage Evaluate(const std::string& ns, const std::string& workload, uint64_t noise_key,
                 const ContainerInputs& in) const {
    return Evaluate(ns, workload, workload.empty() ? nullptr : scenario_.Find(ns, workload), noise_key, in);
  }
  // Same, with the workload's profile already looked up (nullptr: defaults).
  Usage Evaluate(const std::string& ns, const std::string& workload, const WorkloadUsage* profile,
                 uint64_t noise_key, const ContainerInputs& in) const;

  // Smooth noise in [-1, 1].
  double Noise(uint64_t key, double t_s) const;

 private:
  UsageScenario scenario_;
  uint64_t seed_;
};

}  // namespace kinema::sim::usage
