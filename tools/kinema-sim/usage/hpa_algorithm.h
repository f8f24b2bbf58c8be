// The HorizontalPodAutoscaler's replica arithmetic (autoscaling/v2, resource
// metrics), after kube-controller-manager's pkg/controller/podautoscaler
// (replica_calculator.go, horizontal.go) — pure functions and a small
// per-HPA history, no I/O.
//
//   - Per metric: utilization = Σusage / Σrequest × 100 (integer percent)
//     over ready pods (Utilization), or Σusage / pods (AverageValue); ratio
//     = current / target; within the tolerance (0.1) keep the current count;
//     otherwise ceil(ratio × pods). Unready pods (pending, or not Ready for
//     cpu) count as 0 usage when scaling up and are left out otherwise, and a
//     scale-up they would reverse is dropped.
//   - Across metrics: the largest proposal.
//   - Behavior: stabilization windows (scale-down default 300 s: the highest
//     recommendation of the window; scale-up default 0 s), then the rate
//     policies (default up: max(+4 pods, +100%) per 15 s; down: −100% per
//     15 s) and min/maxReplicas, reporting which limit applied.
// All times are simulated seconds.
// Thread-safety: pure functions; HpaHistory is a plain value.
#pragma once

#include <nlohmann/json.hpp>

#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace kinema::sim::usage {

struct PodResourceMetric {
  bool has_metrics = false;  // a running pod
  bool ready = false;        // counts as ready for this resource
  bool pending = false;
  double usage = 0;          // cores or bytes, summed over containers
  double request = 0;        // summed over containers; 0 when a container has none
  bool missing_request = false;
};

struct MetricTarget {
  std::string resource;      // "cpu" | "memory"
  bool utilization = true;   // Utilization (percent) or AverageValue
  double target = 0;         // percent, or cores/bytes per pod
};

struct MetricProposal {
  bool ok = false;
  std::string error;          // when !ok
  int replicas = 0;
  int utilization_percent = 0;  // Utilization targets
  double average_value = 0;     // Σusage / pods with metrics
};

MetricProposal ComputeMetricReplicas(const MetricTarget& target, int current_replicas,
                                     const std::vector<PodResourceMetric>& pods, double tolerance = 0.1);

struct ScalingPolicy {
  bool pods = true;  // Pods, else Percent
  int value = 0;
  int period_s = 15;
};

struct ScalingRules {
  int stabilization_s = 0;
  std::string select = "Max";  // Max | Min | Disabled
  std::vector<ScalingPolicy> policies;
  static ScalingRules DefaultUp();
  static ScalingRules DefaultDown();
  // spec.behavior.scaleUp / scaleDown (missing fields take the defaults).
  static ScalingRules FromJson(const nlohmann::json& j, bool up);
};

struct HpaHistory {
  struct Recommendation {
    double t;
    int replicas;
  };
  struct ScaleEvent {
    double t;
    int delta;  // > 0
  };
  std::deque<Recommendation> recommendations;
  std::deque<ScaleEvent> up_events, down_events;
};

struct ScaleDecision {
  int desired = 0;
  std::string limited_reason;   // ScalingLimited condition: TooManyReplicas, ScaleUpLimit, ... or DesiredWithinRange
  std::string limited_message;
};

// From the metrics' recommendation to the replicas to set: stabilization,
// rate policies, min/max. Records the recommendation in `history`.
ScaleDecision NormalizeDesiredReplicas(int recommendation, int current, int min_replicas, int max_replicas,
                                       const ScalingRules& up, const ScalingRules& down, double now_s,
                                       HpaHistory* history);

// Records an actual rescale (for the rate policies).
void RecordScale(HpaHistory* history, int from, int to, double now_s);

}  // namespace kinema::sim::usage
