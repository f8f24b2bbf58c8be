// ResizePlan: what the `decide` step journals — per managed pod, the
// resizes the policy asks for (old and new values, why), the pods whose
// scale-up stayed Deferred/Infeasible past resize.deferredTimeout (handed to
// kinema-rescheduling), and why the others are left alone.
// MakePlan is a pure function of the observation, the usage history and the
// settings.
// Thread-safety: plain values and pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "steps/resize/observation.h"
#include "steps/resize/policy.h"
#include "steps/resize/settings.h"

namespace kinema::resize {

nlohmann::json ChangeToJson(const ResourceChange& c);
StatusOr<ResourceChange> ChangeFromJson(const nlohmann::json& j);
// "100Mi" / "250m": how a change's values are written to the API.
std::string FormatQuantity(Resource r, int64_t v);

struct PodResize {
  std::string ns, name, uid, node;
  std::vector<ResourceChange> changes;
  bool restarts = false;
  int64_t observed_ms = 0;  // cluster time of the sample that decided it (the annotation's value)

  std::string key() const { return ns + "/" + name; }
  bool scale_up() const;
  // The strategic-merge patch of pods/resize that sets the new values.
  nlohmann::json ResizePatch() const;
  nlohmann::json ToJson() const;
  static StatusOr<PodResize> FromJson(const nlohmann::json& j);
};

struct Handoff {
  std::string ns, name, uid, node;
  std::string state;    // Deferred | Infeasible
  std::string message;  // the kubelet's
  int64_t since_ms = 0;  // when Kinema asked for the resize (annotation)
  // container -> {"cpu": "250m", "memory": "1Gi"}: the size the pod wants (its spec).
  nlohmann::json wanted = nlohmann::json::object();

  std::string key() const { return ns + "/" + name; }
  // The RequestKind key: one request per pod and resize.
  std::string RequestKey() const { return "resize/" + uid + "/" + std::to_string(since_ms); }
  nlohmann::json ToJson() const;
  static StatusOr<Handoff> FromJson(const nlohmann::json& j);
};

struct ResizePlan {
  std::vector<PodResize> resizes;
  std::vector<Handoff> handoffs;
  std::map<std::string, std::vector<std::string>> left;  // pod -> why nothing changed (only pods with a reason)
  std::vector<std::string> deferred_for_later;  // over maxPodsPerCycle

  nlohmann::json ToJson() const;
  static StatusOr<ResizePlan> FromJson(const nlohmann::json& j);
};

// `handed_off`: RequestKeys earlier workflows already requested (a pod is
// handed over once per resize while the journal's recent history remembers it).
ResizePlan MakePlan(const Observation& o, const UsageHistory& history, const ResizeSettings& settings,
                    const std::set<std::string>& handed_off = {});

}  // namespace kinema::resize
