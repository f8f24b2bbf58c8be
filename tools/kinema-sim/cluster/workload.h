// Shared helpers of the workload controllers: pod readiness and
// availability, controller references, int-or-percent values, pod-template
// hashing and comparison, status conditions. Pure functions of JSON objects.
// Sources: kubernetes/kubernetes pkg/controller/controller_utils.go,
// pkg/controller/deployment/util/deployment_util.go, pkg/api/v1/pod/util.go.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "tools/kinema-sim/sim_clock.h"

namespace kinema::sim::cluster {

using Json = nlohmann::json;

constexpr const char* kPodTemplateHashLabel = "pod-template-hash";
constexpr const char* kRevisionAnnotation = "deployment.kubernetes.io/revision";

std::string PodPhase(const Json& pod);
bool IsTerminating(const Json& obj);  // metadata.deletionTimestamp set
// Counted by controllers: not terminating and not Succeeded/Failed.
bool IsActivePod(const Json& pod);
bool IsPodReady(const Json& pod);
// lastTransitionTime of the Ready=True condition (nullopt when unknown).
std::optional<SimClock::TimePoint> ReadySince(const Json& pod);
// Ready for at least minReadySeconds at `now` (pods with an unknown
// transition time count as available).
bool IsPodAvailable(const Json& pod, long long min_ready_seconds, SimClock::TimePoint now);

// The ownerReference with controller=true (null json when none).
const Json* ControllerRef(const Json& obj);
std::string Uid(const Json& obj);
Json OwnerReference(const Json& owner, const std::string& kind);

// IntOrString: 3 or "25%" against `total`; percentages round up or down.
// InvalidArgument-style message in *error for malformed values.
int ResolveIntOrPercent(const Json& value, int total, bool round_up, std::string* error = nullptr);

// A template without the pod-template-hash label, normalized (empty and null
// metadata fields dropped) — the form templates are compared and hashed in.
Json NormalizedTemplate(const Json& tmpl);
bool EqualIgnoreHash(const Json& a, const Json& b);
// Stable 10-character hash of the normalized template (alphabet of
// k8s SafeEncodeString), mixed with the collision count.
std::string TemplateHash(const Json& tmpl, long long collision_count);

// Sets condition `type` in `conditions` (an array, created if needed).
// lastTransitionTime changes only when status changes; lastUpdateTime (when
// `with_update_time`) on any change. Returns true if anything changed.
bool SetCondition(Json& status, const std::string& type, const std::string& value, const std::string& reason,
                  const std::string& message, SimClock::TimePoint now, bool with_update_time = false);
const Json* FindCondition(const Json& status, const std::string& type);
const Json* FindCondition(Json&& status, const std::string& type) = delete;  // would dangle
// True when obj.status.conditions has `type` with status "True".
bool HasTrueCondition(const Json& obj, const std::string& type);

// metadata.labels by reference (a null json when absent; never copies).
const Json& LabelsOf(const Json& obj);

long long SpecInt(const Json& obj, const char* field, long long def);
long long StatusInt(const Json& obj, const char* field);

}  // namespace kinema::sim::cluster
