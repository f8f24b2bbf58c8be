#include "engine/kube/metrics_client.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "engine/common/time.h"
#include "engine/quantity/quantity.h"

namespace kinema::kube {

const ContainerUsage* PodUsage::Find(const std::string& container) const {
  for (const auto& c : containers) {
    if (c.name == container) return &c;
  }
  return nullptr;
}

StatusOr<int64_t> ParseMetricsWindow(const std::string& text) {
  if (text.empty()) return Status::InvalidArgument("empty duration");
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (i == start) return Status::InvalidArgument("bad duration '" + text + "'");
    const std::string number = text.substr(start, i - start);
    char* end = nullptr;
    double v = std::strtod(number.c_str(), &end);
    if (end == nullptr || *end != '\0' || !std::isfinite(v)) return Status::InvalidArgument("bad duration '" + text + "'");
    size_t ustart = i;
    while (i < text.size() && !std::isdigit(static_cast<unsigned char>(text[i])) && text[i] != '.') ++i;
    const std::string unit = text.substr(ustart, i - ustart);
    double scale = 0;
    if (unit == "h") scale = 3600e3;
    else if (unit == "m") scale = 60e3;
    else if (unit == "s") scale = 1e3;
    else if (unit == "ms") scale = 1;
    else if (unit == "us" || unit == "\xC2\xB5s") scale = 1e-3;
    else if (unit == "ns") scale = 1e-6;
    else return Status::InvalidArgument("bad duration '" + text + "': unknown unit '" + unit + "'");
    total_ms += v * scale;
  }
  if (total_ms > 1e15) return Status::InvalidArgument("duration '" + text + "' out of range");
  return static_cast<int64_t>(std::llround(total_ms));
}

namespace {

StatusOr<double> UsageQuantity(const Json& usage, const char* resource, bool milli) {
  auto it = usage.find(resource);
  if (it == usage.end()) return 0.0;  // metrics-server omits nothing, but a missing value is no usage
  if (!it->is_string()) return Status::InvalidArgument(std::string("usage.") + resource + " is not a quantity string");
  const std::string q = it->get<std::string>();
  if (milli) {
    // CPU in nanocores ("12345n") would round up to 1m with MilliValue;
    // read the exact value: n and u suffixes are handled here.
    if (q.size() > 1 && (q.back() == 'n' || q.back() == 'u')) {
      auto v = ParseQuantityValue(q.substr(0, q.size() - 1));
      if (!v.ok()) return Status::InvalidArgument(std::string("usage.") + resource + " '" + q + "': " + v.status().message());
      return static_cast<double>(*v) * (q.back() == 'n' ? 1e-9 : 1e-6);
    }
    auto m = ParseQuantityMilli(q);
    if (!m.ok()) return Status::InvalidArgument(std::string("usage.") + resource + " '" + q + "': " + m.status().message());
    return static_cast<double>(*m) / 1000.0;
  }
  auto v = ParseQuantityValue(q);
  if (!v.ok()) return Status::InvalidArgument(std::string("usage.") + resource + " '" + q + "': " + v.status().message());
  return static_cast<double>(*v);
}

}  // namespace

StatusOr<PodUsage> ParsePodMetrics(const Json& item) {
  if (!item.is_object()) return Status::InvalidArgument("PodMetrics item is not an object");
  PodUsage p;
  p.ns = obj::Namespace(item);
  p.name = obj::Name(item);
  const std::string who = "PodMetrics " + p.ns + "/" + p.name;
  if (p.name.empty()) return Status::InvalidArgument("PodMetrics without metadata.name");
  const std::string ts = obj::StringAt(item, "timestamp");
  if (!ts.empty()) {
    auto t = ParseRfc3339Ms(ts);
    if (!t) return Status::InvalidArgument(who + ": bad timestamp '" + ts + "'");
    p.timestamp_ms = *t;
  }
  const std::string window = obj::StringAt(item, "window");
  if (!window.empty()) {
    auto w = ParseMetricsWindow(window);
    if (!w.ok()) return Status::InvalidArgument(who + ": window: " + w.status().message());
    p.window_ms = *w;
  }
  auto cs = item.find("containers");
  if (cs == item.end() || cs->is_null()) return p;
  if (!cs->is_array()) return Status::InvalidArgument(who + ": containers is not a list");
  for (const auto& c : *cs) {
    if (!c.is_object() || !c.contains("name") || !c["name"].is_string()) {
      return Status::InvalidArgument(who + ": a container without a name");
    }
    ContainerUsage u;
    u.name = c["name"].get<std::string>();
    const Json usage = c.contains("usage") && c["usage"].is_object() ? c["usage"] : Json::object();
    auto cpu = UsageQuantity(usage, "cpu", true);
    if (!cpu.ok()) return cpu.status().WithContext(who + " container " + u.name);
    auto mem = UsageQuantity(usage, "memory", false);
    if (!mem.ok()) return mem.status().WithContext(who + " container " + u.name);
    u.cpu_cores = *cpu;
    u.memory_bytes = *mem;
    p.containers.push_back(std::move(u));
  }
  return p;
}

StatusOr<PodMetricsList> ListPodMetrics(Client& client, std::string_view ns, const std::string& label_selector) {
  ListOptions lo;
  lo.label_selector = label_selector;
  lo.limit = 0;
  auto list = client.List(resources::kPodMetrics, ns, lo);
  if (!list.ok()) {
    if (list.status().code() == Status::Code::kNotFound) {
      return Status::NotFound("metrics.k8s.io is not served (is metrics-server installed?): " + list.status().message());
    }
    return list.status();
  }
  PodMetricsList out;
  for (const auto& item : list->items) {
    auto p = ParsePodMetrics(item);
    if (!p.ok()) {
      out.malformed.push_back(obj::Namespace(item) + "/" + obj::Name(item) + ": " + p.status().message());
      continue;
    }
    out.pods.push_back(std::move(*p));
  }
  return out;
}

}  // namespace kinema::kube
