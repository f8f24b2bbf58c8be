#include "steps/resize/plan.h"

#include <algorithm>

#include "engine/quantity/quantity.h"
#include "engine/workflow/typed_result.h"

namespace kinema::resize {

using nlohmann::json;

std::string FormatQuantity(Resource r, int64_t v) {
  return r == Resource::kCpu ? FormatMilliCpu(v) : FormatBytes(v);
}

json ChangeToJson(const ResourceChange& c) {
  json j{{"container", c.container},      {"resource", ResourceName(c.resource)},
         {"direction", DirectionName(c.direction)}, {"oldRequest", c.old_request},
         {"newRequest", c.new_request},   {"why", c.why}};
  if (c.old_limit) j["oldLimit"] = *c.old_limit;
  if (c.new_limit) j["newLimit"] = *c.new_limit;
  return j;
}

StatusOr<ResourceChange> ChangeFromJson(const json& j) {
  return DecodeJson<ResourceChange>("resize change", [&]() -> StatusOr<ResourceChange> {
    ResourceChange c;
    c.container = j.at("container").get<std::string>();
    const std::string r = j.at("resource").get<std::string>();
    if (r != "cpu" && r != "memory") return Status::InvalidArgument("resize change: unknown resource '" + r + "'");
    c.resource = r == "cpu" ? Resource::kCpu : Resource::kMemory;
    c.direction = j.at("direction").get<std::string>() == "down" ? Direction::kDown : Direction::kUp;
    c.old_request = j.at("oldRequest").get<int64_t>();
    c.new_request = j.at("newRequest").get<int64_t>();
    if (j.contains("oldLimit")) c.old_limit = j["oldLimit"].get<int64_t>();
    if (j.contains("newLimit")) c.new_limit = j["newLimit"].get<int64_t>();
    c.why = j.value("why", "");
    return c;
  });
}

bool PodResize::scale_up() const {
  for (const auto& c : changes) {
    if (c.direction == Direction::kUp) return true;
  }
  return false;
}

json PodResize::ResizePatch() const {
  std::map<std::string, json> per_container;
  for (const auto& c : changes) {
    json& pc = per_container[c.container];
    pc["name"] = c.container;
    pc["resources"]["requests"][ResourceName(c.resource)] = FormatQuantity(c.resource, c.new_request);
    if (c.new_limit) pc["resources"]["limits"][ResourceName(c.resource)] = FormatQuantity(c.resource, *c.new_limit);
  }
  json containers = json::array();
  for (auto& [name, pc] : per_container) containers.push_back(std::move(pc));
  return json{{"spec", {{"containers", std::move(containers)}}}};
}

json PodResize::ToJson() const {
  json cs = json::array();
  for (const auto& c : changes) cs.push_back(ChangeToJson(c));
  return json{{"namespace", ns}, {"name", name}, {"uid", uid}, {"node", node},
              {"restarts", restarts}, {"observedMs", observed_ms}, {"changes", std::move(cs)}};
}

StatusOr<PodResize> PodResize::FromJson(const json& j) {
  return DecodeJson<PodResize>("pod resize", [&]() -> StatusOr<PodResize> {
    PodResize p;
    p.ns = j.at("namespace").get<std::string>();
    p.name = j.at("name").get<std::string>();
    p.uid = j.value("uid", "");
    p.node = j.value("node", "");
    p.restarts = j.value("restarts", false);
    p.observed_ms = j.value("observedMs", int64_t{0});
    for (const auto& c : j.at("changes")) {
      auto ch = ChangeFromJson(c);
      if (!ch.ok()) return ch.status().WithContext("pod " + p.key());
      p.changes.push_back(std::move(*ch));
    }
    return p;
  });
}

json Handoff::ToJson() const {
  return json{{"namespace", ns}, {"name", name}, {"uid", uid},       {"node", node},
              {"state", state},  {"message", message}, {"sinceMs", since_ms}, {"wanted", wanted}};
}

StatusOr<Handoff> Handoff::FromJson(const json& j) {
  return DecodeJson<Handoff>("resize hand-off", [&]() -> StatusOr<Handoff> {
    Handoff h;
    h.ns = j.at("namespace").get<std::string>();
    h.name = j.at("name").get<std::string>();
    h.uid = j.value("uid", "");
    h.node = j.value("node", "");
    h.state = j.value("state", "");
    h.message = j.value("message", "");
    h.since_ms = j.value("sinceMs", int64_t{0});
    h.wanted = j.value("wanted", json::object());
    if (!h.wanted.is_object()) return Status::InvalidArgument("resize hand-off: wanted is not an object");
    return h;
  });
}

json ResizePlan::ToJson() const {
  json rs = json::array(), hs = json::array();
  for (const auto& r : resizes) rs.push_back(r.ToJson());
  for (const auto& h : handoffs) hs.push_back(h.ToJson());
  return json{{"resizes", std::move(rs)}, {"handoffs", std::move(hs)}, {"left", left},
              {"deferredForLater", deferred_for_later}};
}

StatusOr<ResizePlan> ResizePlan::FromJson(const json& j) {
  return DecodeJson<ResizePlan>("resize plan", [&]() -> StatusOr<ResizePlan> {
    ResizePlan p;
    for (const auto& r : j.at("resizes")) {
      auto pr = PodResize::FromJson(r);
      if (!pr.ok()) return pr.status();
      p.resizes.push_back(std::move(*pr));
    }
    for (const auto& h : j.at("handoffs")) {
      auto ph = Handoff::FromJson(h);
      if (!ph.ok()) return ph.status();
      p.handoffs.push_back(std::move(*ph));
    }
    if (j.contains("left")) p.left = j["left"].get<std::map<std::string, std::vector<std::string>>>();
    if (j.contains("deferredForLater")) p.deferred_for_later = j["deferredForLater"].get<std::vector<std::string>>();
    return p;
  });
}

namespace {

// The size a pod's spec asks for (what a Deferred/Infeasible resize wants).
json WantedSize(const ObservedPod& p) {
  json w = json::object();
  for (const auto& c : p.containers) {
    json r = json::object();
    if (c.cpu_request) r["cpu"] = FormatMilliCpu(*c.cpu_request);
    if (c.memory_request) r["memory"] = FormatBytes(*c.memory_request);
    if (!r.empty()) w[c.name] = std::move(r);
  }
  return w;
}

// The largest relative growth of a resize (to order scale-ups by urgency).
double Urgency(const PodResize& r) {
  double u = 0;
  for (const auto& c : r.changes) {
    if (c.old_request > 0) {
      u = std::max(u, static_cast<double>(c.new_request) / static_cast<double>(c.old_request));
    }
  }
  return u;
}

}  // namespace

ResizePlan MakePlan(const Observation& o, const UsageHistory& history, const ResizeSettings& settings,
                    const std::set<std::string>& handed_off) {
  ResizePlan plan;
  for (const auto& p : o.pods) {
    const bool pending = p.resize == ResizeState::kDeferred || p.resize == ResizeState::kInfeasible;
    if (pending && p.last_resize_ms > 0 && !p.last_resize_workflow.empty()) {
      const int64_t waited = p.sampled_ms - p.last_resize_ms;
      if (waited >= settings.deferred_timeout.count()) {
        Handoff h;
        h.ns = p.ns;
        h.name = p.name;
        h.uid = p.uid;
        h.node = p.node;
        h.state = ResizeStateName(p.resize);
        h.message = p.resize_message;
        h.since_ms = p.last_resize_ms;
        h.wanted = WantedSize(p);
        if (handed_off.count(h.RequestKey())) {
          plan.left[p.key()].push_back(std::string("resize ") + ResizeStateName(p.resize) + " for " +
                                       FormatDuration(Duration(waited)) + ": already handed to " +
                                       "kinema-rescheduling");
          continue;
        }
        plan.handoffs.push_back(std::move(h));
        continue;
      }
      plan.left[p.key()].push_back(std::string("resize ") + ResizeStateName(p.resize) + " for " +
                                   FormatDuration(Duration(std::max<int64_t>(waited, 0))) + " (hand-off after " +
                                   FormatDuration(settings.deferred_timeout) + "): " + p.resize_message);
      continue;
    }
    PodDecision d = DecidePod(ToPodState(p, history, settings.window.count()), settings.policy, p.sampled_ms);
    if (!d.notes.empty()) plan.left[p.key()] = d.notes;
    if (d.changes.empty()) continue;
    PodResize r;
    r.ns = p.ns;
    r.name = p.name;
    r.uid = p.uid;
    r.node = p.node;
    r.changes = std::move(d.changes);
    r.restarts = d.restarts;
    r.observed_ms = p.sampled_ms;
    plan.resizes.push_back(std::move(r));
  }
  // Scale-ups first (they prevent OOM kills), the most urgent first; then scale-downs.
  std::stable_sort(plan.resizes.begin(), plan.resizes.end(), [](const PodResize& a, const PodResize& b) {
    if (a.scale_up() != b.scale_up()) return a.scale_up();
    return Urgency(a) > Urgency(b);
  });
  const size_t cap = static_cast<size_t>(std::max(settings.max_pods_per_cycle, 0));
  while (plan.resizes.size() > cap) {
    plan.deferred_for_later.push_back(plan.resizes.back().key());
    plan.resizes.pop_back();
  }
  return plan;
}

}  // namespace kinema::resize
