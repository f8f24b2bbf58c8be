// RebalanceSettings: the `rebalance` section of the config (operations.md
// "Workflow kinds"; the load-rebalancing kind, seed "Descheduler with
// Prometheus"). The registry adds `enabled` (default false) and `interval`
// (default 60s, the seed's descheduling interval).
//
//   rebalance:
//     query: <PromQL>          one value in [0, 1] per node (default: the
//                              shipped rules' linear_amplified_ideal_point_
//                              positive_distance k=3 over 1m)
//     nodeLabel: instance      the label of the query's series naming the node
//     deviation:               over-utilized: score > average + high;
//       high: 0.10             under-utilized: score < average − low
//       low: 0
//     thresholds:              absolute classes instead (exclusive with
//       high: 0.7              deviation): over > high, under < low;
//       low: 0.3               low ≤ high
//     nodeSelector: "kubevirt.io/schedulable=true"   nodes considered (kubectl
//                              -l syntax: k=v, k==v, k!=v, k, !k, comma = and)
//     cooldown: 2m             a workload is not evicted twice within it
//     pingPongWindow: 30m      how far back an eviction counts for ping-pong
//     migrationTimeout: 10m    how long a background eviction (VM live
//                              migration) is tracked before it is given up
//     evictionLimits: {perNode: 2, perNamespace: 5, total: 5}   per cycle
//
// Invariants after FinishConfig(): exactly one of deviation / thresholds
// applies (`absolute` says which); thresholds.low ≤ thresholds.high; the
// nodeSelector parsed.
// Thread-safety: plain values.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/budget/disruption_budget.h"
#include "engine/common/status.h"
#include "engine/common/time.h"
#include "engine/config/controller_config.h"
#include "engine/config/schema.h"
#include "steps/optimize/scheduling.h"
#include "steps/rebalance/node_ratios.h"

namespace kinema::rebalance {

// Parses a node selector in kubectl -l syntax ("k=v,k2!=v2,k3,!k4", also
// "k in (a,b)"; the shared parser of steps/optimize/label_selector_string.h);
// empty: every node. InvalidArgument naming the bad requirement.
StatusOr<std::vector<SelectorRequirement>> ParseNodeSelector(const std::string& text);
bool SelectorMatches(const std::vector<SelectorRequirement>& selector, const std::map<std::string, std::string>& labels);

struct ClassThresholds {
  bool absolute = false;   // false: deviation from the average; true: absolute thresholds
  double high = 0.10;      // deviation.high or thresholds.high
  double low = 0.0;        // deviation.low or thresholds.low
};

struct RebalanceSettings {
  std::string query = kDefaultScoreQuery;
  std::string node_label = kNodeLabel;
  ClassThresholds classes;
  std::string node_selector;  // as written
  std::vector<SelectorRequirement> node_requirements;  // parsed
  Duration cooldown{120000};
  Duration ping_pong_window{1800000};
  Duration migration_timeout{600000};
  EvictionLimits eviction_limits{2, 5, 5};

  // The `rebalance` section, writing into this object.
  config::Fields Sections();
  // Relations between keys (deviation vs thresholds, low ≤ high, selector).
  Status Finish();

 private:
  // What the file set, to tell deviation from thresholds.
  double deviation_high_ = 0.10, deviation_low_ = 0.0;
  double thresholds_high_ = -1, thresholds_low_ = -1;
  bool deviation_set_ = false, thresholds_set_ = false;
};

}  // namespace kinema::rebalance
