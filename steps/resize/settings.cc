#include "steps/resize/settings.h"

#include "engine/quantity/quantity.h"

namespace kinema::resize {

using namespace config;

namespace {

// A quantity ("100Mi", "250m") in bytes (memory) or millicores (CPU).
Field Quantity(int64_t* out, Resource r) {
  return Custom([out, r](const YAML::Node& n, const std::string& p) -> Status {
    std::string text;
    KINEMA_RETURN_IF_ERROR(ScalarAt(n, p, &text));
    auto v = r == Resource::kCpu ? ParseQuantityMilli(text) : ParseQuantityValue(text);
    if (!v.ok()) return Status::InvalidArgument(p + ": bad quantity '" + text + "': " + v.status().message());
    if (*v <= 0) return Status::InvalidArgument(p + ": must be positive, got '" + text + "'");
    *out = *v;
    return Status::OK();
  });
}

Field PolicyMap(ResourcePolicy* p, Resource r) {
  return Map({{"enabled", Bool(&p->enabled)},
              {"scaleUpThreshold", Num(&p->scale_up_threshold, 0.01, 10)},
              {"scaleUpUsageMultiplier", Num(&p->scale_up_usage_multiplier, 1, 100)},
              {"scaleUpMinGrowth", Num(&p->scale_up_min_growth, 1, 100)},
              {"scaleDownThreshold", Num(&p->scale_down_threshold, 0, 1)},
              {"scaleDownUsageMultiplier", Num(&p->scale_down_usage_multiplier, 1, 100)},
              {"scaleDownMinDiff", Num(&p->scale_down_min_diff, 0, 1)},
              {"minRequest", Quantity(&p->min_request, r)},
              {"cooldown", Dur(&p->cooldown)}});
}

}  // namespace

Field ResizeSettings::Section() {
  return Map({{"source", OneOf(&source, {"metrics", "prometheus"})},
              {"selector", Str(&selector)},
              {"window", Dur(&window)},
              {"rateWindow", Dur(&rate_window)},
              {"deferredTimeout", Dur(&deferred_timeout)},
              {"verifyTimeout", Dur(&verify_timeout)},
              {"persist", OneOf(&persist, {"pod", "template"})},
              {"maxPodsPerCycle", Int(&max_pods_per_cycle, 1, 100000)},
              {"allowRestart", Bool(&policy.allow_restart)},
              {"memory", PolicyMap(&policy.memory, Resource::kMemory)},
              {"cpu", PolicyMap(&policy.cpu, Resource::kCpu)}});
}

}  // namespace kinema::resize
