#include "steps/resize/policy.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace kinema::resize {

const char* ResourceName(Resource r) { return r == Resource::kCpu ? "cpu" : "memory"; }
const char* DirectionName(Direction d) { return d == Direction::kUp ? "up" : "down"; }

bool PodDecision::scale_up() const {
  for (const auto& c : changes) {
    if (c.direction == Direction::kUp) return true;
  }
  return false;
}

int64_t RoundUp(Resource r, double value) {
  if (!(value > 0)) return 0;
  const double unit = r == Resource::kMemory ? static_cast<double>(kMiB) : 1.0;
  // A tiny tolerance keeps exact multiples (1.2 × 100 Mi) from rounding one unit up.
  return static_cast<int64_t>(std::ceil(value / unit - 1e-9) * unit);
}

namespace {

std::string Show(Resource r, double v) {
  std::ostringstream o;
  if (r == Resource::kMemory) {
    o << std::llround(v / static_cast<double>(kMiB)) << "Mi";
  } else {
    o << std::llround(v) << "m";
  }
  return o.str();
}

std::string Pct(double f) {
  std::ostringstream o;
  o << std::llround(f * 100) << "%";
  return o.str();
}

int64_t Unit(Resource r) { return r == Resource::kMemory ? kMiB : 1; }

// The limit after a request change: same ratio, never collapsing onto the
// request when it was above it, and for memory never below the usage floor
// (a Guaranteed container's request follows its limit up to the floor).
void ApplyLimit(Resource r, const ResourceState& s, int64_t old_request, ResourceChange* ch) {
  if (!s.limit) return;
  const int64_t old_limit = *s.limit;
  const bool equal = old_limit == old_request;
  int64_t nl = equal ? ch->new_request
                     : RoundUp(r, static_cast<double>(ch->new_request) * static_cast<double>(old_limit) /
                                      static_cast<double>(old_request));
  if (!equal && nl <= ch->new_request) nl = ch->new_request + Unit(r);
  if (r == Resource::kMemory) {
    const int64_t floor = RoundUp(r, kMemoryLimitUsageFloor * s.usage);
    if (nl < floor) {
      nl = floor;
      if (equal) ch->new_request = nl;
    }
  }
  ch->old_limit = old_limit;
  ch->new_limit = nl;
}

std::optional<ResourceChange> DecideResource(const PodState& pod, const ContainerState& c, Resource r,
                                             const PolicySettings& policy, int64_t now_ms, PodDecision* out) {
  const ResourcePolicy& p = r == Resource::kCpu ? policy.cpu : policy.memory;
  if (!p.enabled) return std::nullopt;
  const ResourceState& s = c.Of(r);
  const std::string what = c.name + " " + ResourceName(r);
  const std::optional<int64_t> request = s.request ? s.request : s.limit;
  if (!request || *request <= 0) {
    out->notes.push_back(what + ": no request to resize");
    return std::nullopt;
  }
  const double req = static_cast<double>(*request);
  ResourceChange ch;
  ch.container = c.name;
  ch.resource = r;
  ch.old_request = *request;
  if (s.usage >= p.scale_up_threshold * req) {
    ch.direction = Direction::kUp;
    ch.new_request = RoundUp(r, std::max(s.usage * p.scale_up_usage_multiplier, req * p.scale_up_min_growth));
    ch.why = "usage " + Show(r, s.usage) + " is " + Pct(s.usage / req) + " of request " + Show(r, req) +
             " (>= scaleUpThreshold " + Pct(p.scale_up_threshold) + "): max(usage x " +
             std::to_string(p.scale_up_usage_multiplier).substr(0, 4) + ", request x " +
             std::to_string(p.scale_up_min_growth).substr(0, 4) + ")";
  } else if (s.window_peak <= p.scale_down_threshold * req) {
    if (!s.window_covered) {
      out->notes.push_back(what + ": low usage, but the window is not covered by observations yet");
      return std::nullopt;
    }
    const int64_t since = now_ms - pod.last_resize_ms;
    if (since < p.cooldown.count()) {
      out->notes.push_back(what + ": low usage (peak " + Show(r, s.window_peak) + " of " + Show(r, req) +
                           "), cooldown " + FormatDuration(p.cooldown) + " not passed (" +
                           FormatDuration(Duration(std::max<int64_t>(since, 0))) + " since the last resize)");
      return std::nullopt;
    }
    ch.direction = Direction::kDown;
    ch.new_request = std::max(RoundUp(r, s.window_peak * p.scale_down_usage_multiplier), p.min_request);
    const double cut = 1.0 - static_cast<double>(ch.new_request) / req;
    if (cut + 1e-9 < p.scale_down_min_diff) {
      out->notes.push_back(what + ": a cut to " + Show(r, static_cast<double>(ch.new_request)) + " is " + Pct(cut) +
                           " (< scaleDownMinDiff " + Pct(p.scale_down_min_diff) + ")");
      return std::nullopt;
    }
    ch.why = "peak usage " + Show(r, s.window_peak) + " over the window is " + Pct(s.window_peak / req) +
             " of request " + Show(r, req) + " (<= scaleDownThreshold " + Pct(p.scale_down_threshold) +
             "), cooldown passed: max(peak x " + std::to_string(p.scale_down_usage_multiplier).substr(0, 4) +
             ", minRequest " + Show(r, static_cast<double>(p.min_request)) + ")";
  } else {
    return std::nullopt;  // within the band
  }
  ApplyLimit(r, s, *request, &ch);
  if (ch.direction == Direction::kDown && ch.new_request >= ch.old_request) {
    out->notes.push_back(what + ": the memory limit floor (" + std::to_string(kMemoryLimitUsageFloor).substr(0, 3) +
                         " x usage) leaves nothing to cut");
    return std::nullopt;
  }
  if (s.restart_required) {
    if (!policy.allow_restart) {
      out->notes.push_back(what + ": resizePolicy RestartContainer and resize.allowRestart is false (wanted " +
                           Show(r, static_cast<double>(ch.new_request)) + ")");
      return std::nullopt;
    }
    out->restarts = true;
  }
  return ch;
}

QosResources QosOf(const ContainerState& c) {
  return QosResources{c.cpu.request, c.cpu.limit, c.memory.request, c.memory.limit};
}

}  // namespace

std::string QosClass(const std::vector<QosResources>& containers) {
  bool any = false, guaranteed = !containers.empty();
  for (const auto& c : containers) {
    const auto cpu_req = c.cpu_request ? c.cpu_request : c.cpu_limit;
    const auto mem_req = c.memory_request ? c.memory_request : c.memory_limit;
    if ((cpu_req && *cpu_req > 0) || (mem_req && *mem_req > 0) || c.cpu_limit || c.memory_limit) any = true;
    if (!c.cpu_limit || !c.memory_limit || !cpu_req || !mem_req || *cpu_req != *c.cpu_limit ||
        *mem_req != *c.memory_limit) {
      guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

PodDecision DecidePod(const PodState& pod, const PolicySettings& policy, int64_t now_ms) {
  PodDecision d;
  d.key = pod.key;
  if (pod.resize_pending) {
    d.notes.push_back("a resize is still pending or in progress");
    return d;
  }
  std::vector<QosResources> before, after;
  for (const auto& c : pod.containers) {
    before.push_back(QosOf(c));
    QosResources a = QosOf(c);
    if (!c.has_usage) {
      d.notes.push_back(c.name + ": no usage reported");
      after.push_back(a);
      continue;
    }
    for (Resource r : {Resource::kMemory, Resource::kCpu}) {
      auto ch = DecideResource(pod, c, r, policy, now_ms, &d);
      if (!ch) continue;
      auto& req = r == Resource::kCpu ? a.cpu_request : a.memory_request;
      auto& lim = r == Resource::kCpu ? a.cpu_limit : a.memory_limit;
      req = ch->new_request;
      if (ch->new_limit) lim = ch->new_limit;
      d.changes.push_back(std::move(*ch));
    }
    after.push_back(a);
  }
  if (!d.changes.empty()) {
    const std::string q0 = QosClass(before), q1 = QosClass(after);
    if (q0 != q1) {
      d.notes.push_back("the resize would change the QoS class from " + q0 + " to " + q1 + "; refused");
      d.changes.clear();
      d.restarts = false;
    }
  }
  return d;
}

}  // namespace kinema::resize
