// Admission: what the real apiserver does to an object before storing it —
// defaulting (the fields controllers and kubectl rely on) and validation
// (422 Invalid with field causes).
//
// Contract:
//   - ApplyDefaults() fills only absent fields; it never overwrites.
//   - Validate() returns the list of causes (empty = valid). It checks the
//     rules the simulator's clients can trip: names, required fields,
//     selector/template agreement, non-negative replicas, requests <= limits,
//     and (for pod updates) the fields a pod update may not change.
//   - PodQosClass() follows the kubelet's rules (Guaranteed / Burstable /
//     BestEffort) over containers and init containers.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "tools/kinema-sim/api_error.h"

namespace kinema::sim {

struct ResourceType;

void ApplyDefaults(const ResourceType& rt, nlohmann::json& obj);

// `old` is null on create.
std::vector<StatusCause> Validate(const ResourceType& rt, const nlohmann::json& obj, const nlohmann::json* old);

// Causes for a pod spec change made through a plain update (not /resize).
std::vector<StatusCause> ValidatePodSpecUpdate(const nlohmann::json& old_spec, const nlohmann::json& new_spec);

std::string PodQosClass(const nlohmann::json& pod);

bool IsDns1123Subdomain(const std::string& s);
bool IsDns1123Label(const std::string& s);

}  // namespace kinema::sim
