// resize.persist: template — carrying applied in-place resizes into the
// owner's pod template, so the next rollout keeps them.
//
// TemplateChanges groups the applied resizes by workload (pod → ReplicaSet
// → Deployment, or pod → StatefulSet; other owners cannot be persisted) and
// takes, per container and resource, the largest new request (and limit)
// among the workload's resized pods. ApplyToTemplate writes them into a
// Deployment's or StatefulSet's spec.template (requests and, where the
// change has one, limits) and says whether anything changed, so a repeated
// step never patches twice.
// Thread-safety: pure functions and plain values.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "steps/resize/plan.h"

namespace kinema::resize {

struct TemplateValue {
  int64_t request = 0;
  std::optional<int64_t> limit;
};

struct TemplateChange {
  std::string ns, kind, name;  // kind: Deployment | StatefulSet
  // container -> resource ("cpu", "memory") -> new values
  std::map<std::string, std::map<std::string, TemplateValue>> containers;
  std::vector<std::string> pods;  // the resized pods behind it

  std::string key() const { return ns + "/" + kind + "/" + name; }
  nlohmann::json ToJson() const;
};

// `owners`: pod "ns/name" -> its workload "Kind/name" ("" when it has none
// that can be persisted).
std::vector<TemplateChange> TemplateChanges(const std::vector<PodResize>& applied,
                                            const std::map<std::string, std::string>& owners);

// True when `workload`'s template changed.
bool ApplyToTemplate(const TemplateChange& change, nlohmann::json* workload);

}  // namespace kinema::resize
