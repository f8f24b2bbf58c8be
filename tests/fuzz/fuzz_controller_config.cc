// Fuzz target: the controller's YAML config (engine/config), every key's
// parser included. Accepted configs must hold finite numbers within their
// ranges and durations that fit an int of milliseconds.
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/config/controller_config.h"

using namespace kinema;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto c = ParseControllerConfig(text);
  if (!c.ok()) return 0;
  for (double d : {c->decision.min_savings, c->decision.max_change, c->prediction.factor, c->prediction.headroom,
                   c->optimizer.headroom, c->stability.max_hpa_utilization}) {
    if (!std::isfinite(d)) std::abort();
  }
  for (Duration d : {c->loop.cooldown, c->stability.deadline, c->stability.quiet_window, c->prediction.window,
                     c->boot.timeout, c->rollout.timeout, c->drain.timeout, c->prometheus.timeout}) {
    if (d.count() < 0 || d.count() > INT_MAX) std::abort();
  }
  return 0;
}
