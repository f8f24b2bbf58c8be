// ResizeSettings: the in-place resize kind's configuration, the `resize`
// section (enabled and interval are added by the kind registry). Defaults
// are the seed's ("Kubernetes Dynamic Resource Manager": METRICS_FETCH_INTERVAL
// 30 s, SCALE_UP_THRESHOLD 0.8, SCALE_UP_USAGE_MULTIPLIER 1.4, scale-up
// minimum growth 1.2, SCALE_DOWN_THRESHOLD 0.3, SCALE_DOWN_USAGE_MULTIPLIER
// 2.5, SCALE_DOWN_MIN_DIFF 0.2, COOLDOWN_PERIOD_SECONDS 600,
// MIN_REQUEST_MEMORY 100 MiB); README "In-place resize" lists them.
// CPU follows the same policy under resize.cpu, off by default (the seed's
// "adjust CPU resources in addition to memory").
// Thread-safety: plain value.
#pragma once

#include <cstdint>
#include <string>

#include "engine/common/time.h"
#include "engine/config/schema.h"
#include "steps/resize/policy.h"

namespace kinema::resize {

struct ResizeSettings {
  std::string source = "metrics";     // metrics (metrics.k8s.io) | prometheus
  std::string selector;               // label selector of managed pods; "" = every pod (the seed's default)
  Duration window{300000};            // scale-down: usage must have stayed low over this long
  Duration rate_window{60000};        // source prometheus: rate() range of the CPU counter
  Duration deferred_timeout{300000};  // a scale-up Deferred this long is handed to kinema-rescheduling
  Duration verify_timeout{60000};     // how long a workflow waits for the kubelet to actuate its resizes
  std::string persist = "pod";        // pod | template (also patch the owner's pod template: a rollout)
  int max_pods_per_cycle = 100;       // pods one workflow may resize
  PolicySettings policy;              // memory.*, cpu.*, allowRestart

  // The `resize` section's fields (the registry adds enabled and interval).
  config::Field Section();
};

}  // namespace kinema::resize
