// NodeRatios: one node's load as the shipped Prometheus rules record it
// (deploy/prometheus/kinema-rules.yaml), the input of the node scores Kinema
// computes itself (pareto.h). Every series is one sample per node, labelled
// `instance="<node name>"`, value in [0, 1].
// Thread-safety: plain values.
#pragma once

#include <string>

namespace kinema::rebalance {

// The default node score (`rebalance.query`): the OpenShift operator's
// profile the seed runs, min(1, 3·‖positive deviations‖₂) over utilisation and
// gated pressure (deploy/prometheus/README.md, "The default query").
inline constexpr const char* kDefaultScoreQuery =
    "descheduler:node:linear_amplified_ideal_point_positive_distance:k3:avg1m";
// The label that names the node on every recorded series.
inline constexpr const char* kNodeLabel = "instance";

// The recorded series the four ratios are read from.
inline constexpr const char* kCpuUsageSeries = "descheduler:node:cpu_usage:ratio";
inline constexpr const char* kCpuPressureSeries = "descheduler:node:cpu_pressure:psi";
inline constexpr const char* kMemoryUsageSeries = "descheduler:node:memory_usage:ratio";
inline constexpr const char* kMemoryPressureSeries = "descheduler:node:memory_pressure:psi";

struct NodeRatios {
  std::string node;
  double cpu_usage = 0;        // u_c: 1 − idle share of the node's CPUs over 1m
  double cpu_pressure = 0;     // p_c: PSI cpu "some" share over 1m
  double memory_usage = 0;     // u_m: 1 − MemAvailable / MemTotal
  double memory_pressure = 0;  // p_m: PSI memory "some" share over 1m
};

// A node's score in [0, 1]; 0 = least loaded.
struct NodeScore {
  std::string node;
  double score = 0;
};

}  // namespace kinema::rebalance
