// ReschedulingSettings: the rescheduling kind's configuration — the
// `rescheduling` section (enabled, interval: added by the kind registry)
// and the sections of its steps: stability, prediction, optimizer,
// decision, boot, rollout, drain (and the legacy `loop.cooldown`, an alias
// of rescheduling.interval). Defaults are the documented ones (README,
// "Configuration reference").
// Thread-safety: plain value.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/common/time.h"
#include "engine/config/schema.h"

namespace kinema::rescheduling {

struct ReschedulingSettings {
  struct Stability {
    Duration quiet_window{60000};
    Duration deadline{1800000};          // give up waiting (iteration completes as "unstable")
    Duration poll_interval{2000};
    double max_hpa_utilization = 0.9;    // current/target above this = not stable
  } stability;

  struct Prediction {
    Duration window{900000};
    Duration horizon{900000};
    Duration step{30000};
    Duration rate_window{60000};         // PromQL rate() range (>= 2 scrape intervals)
    double factor = 0.1;                 // move planning requests this far toward the forecast
    double headroom = 1.2;               // never below observed peak × headroom
    std::string source = "prometheus";   // prometheus | vpa | max (the larger of both) | none
  } prediction;

  struct Optimizer {
    Duration time_limit{30000};
    int64_t max_moves = -1;              // -1: no cap
    double headroom = 0.1;               // plan with requests × (1 + headroom): slack for the scheduler's own packing
    uint64_t seed = 1;
    std::vector<std::string> allow_types;
    bool no_spot = false;
  } optimizer;

  struct Decision {
    double min_savings = 0.10;       // judged on the whole way (the target), not one step
    double max_change = 0.10;        // veto: the cluster changed under the plan (Kinema's own changes excluded)
    int max_nodes_retired = 10;      // budget of one step (with the shared disruption budget)
    int max_pods_moved = 500;        // budget of one step (its eviction limit)
    Duration min_node_age{1800000};  // younger nodes are not retired (no churn loops)
  } decision;

  struct Boot {
    Duration timeout{600000};
    int parallelism = 10;
  } boot;

  struct Rollout {
    int max_concurrent = 3;
    Duration timeout{900000};
    Duration stall_timeout{120000};      // a moved pod Pending this long: move the pod that took its room
    double hold_room_share = 0.25;       // pods of this share of a planned node get their room held; 0: off
  } rollout;

  struct Drain {
    Duration timeout{900000};
  } drain;

  std::optional<Duration> loop_cooldown;  // legacy alias of rescheduling.interval

  // The sections, writing into this value. `main` is the `rescheduling`
  // section's own fields (the registry adds enabled and interval).
  config::Fields Sections();
};

}  // namespace kinema::rescheduling
