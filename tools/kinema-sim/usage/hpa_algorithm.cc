#include "tools/kinema-sim/usage/hpa_algorithm.h"

#include <algorithm>
#include <climits>
#include <cmath>

namespace kinema::sim::usage {

namespace {

double Ratio(const MetricTarget& t, double usage_sum, double request_sum, int pods, int* percent, double* avg) {
  *avg = pods > 0 ? usage_sum / pods : 0;
  if (t.utilization) {
    *percent = request_sum > 0 ? static_cast<int>(usage_sum * 100 / request_sum) : 0;
    return static_cast<double>(*percent) / t.target;
  }
  return *avg / t.target;
}

int ChangeInPeriod(const std::deque<HpaHistory::ScaleEvent>& events, int period_s, double now_s) {
  int sum = 0;
  for (const auto& e : events) {
    if (e.t > now_s - period_s) sum += e.delta;
  }
  return sum;
}

}  // namespace

MetricProposal ComputeMetricReplicas(const MetricTarget& target, int current_replicas,
                                     const std::vector<PodResourceMetric>& pods, double tolerance) {
  MetricProposal p;
  if (target.target <= 0) {
    p.error = "invalid target for " + target.resource;
    return p;
  }
  double usage = 0, request = 0;
  int with_metrics = 0, ready = 0, unready = 0;
  for (const auto& pod : pods) {
    bool counts_unready = pod.pending || (pod.has_metrics && !pod.ready);
    if (counts_unready) {
      unready++;
      continue;
    }
    if (!pod.has_metrics) continue;
    if (target.utilization && pod.missing_request) {
      p.error = "missing request for " + target.resource;
      return p;
    }
    usage += pod.usage;
    request += pod.request;
    with_metrics++;
    ready++;
  }
  if (with_metrics == 0) {
    p.error = "did not receive metrics for any ready pods";
    return p;
  }
  double ratio = Ratio(target, usage, request, with_metrics, &p.utilization_percent, &p.average_value);
  p.ok = true;
  bool scale_up_with_unready = unready > 0 && ratio > 1.0;
  if (!scale_up_with_unready) {
    p.replicas = std::fabs(1.0 - ratio) <= tolerance ? current_replicas : static_cast<int>(std::ceil(ratio * ready));
    return p;
  }
  // Scaling up while pods are not ready yet: they count with zero usage
  // (their requests still count towards utilization).
  double request_with_unready = request;
  if (target.utilization) {
    for (const auto& pod : pods) {
      if (pod.pending || (pod.has_metrics && !pod.ready)) request_with_unready += pod.request;
    }
  }
  int n = with_metrics + unready;
  int pct = 0;
  double avg = 0;
  double new_ratio = Ratio(target, usage, request_with_unready, n, &pct, &avg);
  if (std::fabs(1.0 - new_ratio) <= tolerance || (ratio > 1.0 && new_ratio < 1.0)) {
    p.replicas = current_replicas;
    return p;
  }
  int replicas = static_cast<int>(std::ceil(new_ratio * n));
  p.replicas = replicas < current_replicas ? current_replicas : replicas;
  return p;
}

ScalingRules ScalingRules::DefaultUp() {
  ScalingRules r;
  r.stabilization_s = 0;
  r.select = "Max";
  r.policies = {{true, 4, 15}, {false, 100, 15}};
  return r;
}

ScalingRules ScalingRules::DefaultDown() {
  ScalingRules r;
  r.stabilization_s = 300;
  r.select = "Max";
  r.policies = {{false, 100, 15}};
  return r;
}

ScalingRules ScalingRules::FromJson(const nlohmann::json& j, bool up) {
  ScalingRules r = up ? DefaultUp() : DefaultDown();
  if (!j.is_object()) return r;
  if (j.contains("stabilizationWindowSeconds") && j["stabilizationWindowSeconds"].is_number_integer()) {
    r.stabilization_s = j["stabilizationWindowSeconds"].get<int>();
  }
  if (j.contains("selectPolicy") && j["selectPolicy"].is_string()) r.select = j["selectPolicy"].get<std::string>();
  if (j.contains("policies") && j["policies"].is_array() && !j["policies"].empty()) {
    r.policies.clear();
    for (const auto& p : j["policies"]) {
      ScalingPolicy sp;
      sp.pods = p.value("type", "Pods") == "Pods";
      sp.value = p.value("value", 0);
      sp.period_s = p.value("periodSeconds", 15);
      r.policies.push_back(sp);
    }
  }
  return r;
}

ScaleDecision NormalizeDesiredReplicas(int recommendation, int current, int min_replicas, int max_replicas,
                                       const ScalingRules& up, const ScalingRules& down, double now_s,
                                       HpaHistory* history) {
  // Stabilization over the recommendations of the windows.
  int up_rec = recommendation, down_rec = recommendation;
  for (const auto& r : history->recommendations) {
    if (r.t > now_s - up.stabilization_s) up_rec = std::min(up_rec, r.replicas);
    if (r.t > now_s - down.stabilization_s) down_rec = std::max(down_rec, r.replicas);
  }
  int stabilized = current;
  if (stabilized < up_rec) stabilized = up_rec;
  if (stabilized > down_rec) stabilized = down_rec;
  history->recommendations.push_back({now_s, recommendation});
  double keep = std::max(up.stabilization_s, down.stabilization_s) + 1;
  while (!history->recommendations.empty() && history->recommendations.front().t < now_s - keep) {
    history->recommendations.pop_front();
  }

  ScaleDecision d;
  d.desired = stabilized;
  d.limited_reason = "DesiredWithinRange";
  d.limited_message = "the desired count is within the acceptable range";
  if (stabilized > current) {
    int limit;
    if (up.select == "Disabled") {
      limit = current;
    } else {
      bool pick_min = up.select == "Min";
      limit = pick_min ? INT_MAX : INT_MIN;
      for (const auto& p : up.policies) {
        int start = current - ChangeInPeriod(history->up_events, p.period_s, now_s) +
                    ChangeInPeriod(history->down_events, p.period_s, now_s);
        int proposed = p.pods ? start + p.value : static_cast<int>(std::ceil(start * (1 + p.value / 100.0)));
        limit = pick_min ? std::min(limit, proposed) : std::max(limit, proposed);
      }
    }
    limit = std::max(limit, current);
    int maximum = max_replicas;
    std::string reason = "TooManyReplicas", message = "the desired replica count is more than the maximum replica count";
    if (maximum > limit) {
      maximum = limit;
      reason = "ScaleUpLimit";
      message = "the desired replica count is increasing faster than the maximum scale rate";
    }
    if (stabilized > maximum) {
      d.desired = maximum;
      d.limited_reason = reason;
      d.limited_message = message;
    }
  } else if (stabilized < current) {
    int limit;
    if (down.select == "Disabled") {
      limit = current;
    } else {
      bool pick_min_change = down.select == "Min";
      limit = pick_min_change ? INT_MIN : INT_MAX;
      for (const auto& p : down.policies) {
        int start = current - ChangeInPeriod(history->up_events, p.period_s, now_s) +
                    ChangeInPeriod(history->down_events, p.period_s, now_s);
        int proposed = p.pods ? start - p.value : static_cast<int>(start * (1 - p.value / 100.0));
        limit = pick_min_change ? std::max(limit, proposed) : std::min(limit, proposed);
      }
    }
    limit = std::min(limit, current);
    int minimum = min_replicas;
    std::string reason = "TooFewReplicas", message = "the desired replica count is less than the minimum replica count";
    if (minimum < limit) {
      minimum = limit;
      reason = "ScaleDownLimit";
      message = "the desired replica count is decreasing faster than the maximum scale rate";
    }
    if (stabilized < minimum) {
      d.desired = minimum;
      d.limited_reason = reason;
      d.limited_message = message;
    }
  }
  return d;
}

void RecordScale(HpaHistory* history, int from, int to, double now_s) {
  if (to > from) history->up_events.push_back({now_s, to - from});
  if (to < from) history->down_events.push_back({now_s, from - to});
  for (auto* q : {&history->up_events, &history->down_events}) {
    while (!q->empty() && q->front().t < now_s - 1800) q->pop_front();
  }
}

}  // namespace kinema::sim::usage
