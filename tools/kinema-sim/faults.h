// FaultInjector: reproducible API failures for testing clients (--faults FILE,
// seeded by --seed). It serves two APIs: Kubernetes (ApiHandler) and the fake
// GCE Compute API under /compute/v1/ (gce/FakeGce). File format (JSON), every
// field optional:
//
//   {"rules": [
//     {"verb": "update",            // get|list|watch|create|update|patch|delete|deletecollection|* (default *);
//                                   //   Compute: get|list|create|delete|wait|*
//      "resource": "pods",          // see "Resources" below (default *)
//      "error500Rate": 0.1,         // fraction answered 500 (K8s InternalError; GCE backendError)
//      "error503Rate": 0.1,         // fraction answered 503 (K8s ServiceUnavailable; GCE backendError)
//      "error429Rate": 0.05,        // fraction rate-limited: K8s 429 TooManyRequests with Retry-After;
//      "retryAfterSeconds": 1,      //   GCE 403 rateLimitExceeded (what Compute answers; no Retry-After)
//      "conflictRate": 0.2,         // fraction of K8s update/patch answered 409 Conflict (K8s only)
//      "lostResponseRate": 0.3,     // GCE only: fraction carried out whose answer is lost (see below)
//      "latencyMs": 250,            // added latency ...
//      "latencyRate": 1.0,          // ... on this fraction of matching requests (default 1)
//      "watchDropRate": 0.5,        // K8s: fraction of watch streams cut abruptly (no final chunk) ...
//      "watchDropAfterMs": 2000,    // ... at a uniform time in [0, this] after they start (default 5000)
//      // Hostile peer (every API below; the request IS carried out, then
//      // its answer is replaced — the client must cope, never crash):
//      "wrongTypeRate": 0.1,        // one JSON value somewhere in the answer gets another type
//      "truncateRate": 0.1,         // the body is cut at a random byte (Content-Length matches)
//      "invalidUtf8Rate": 0.1,      // bytes that are not UTF-8 inserted into a string of the answer
//      "hugeBodyRate": 0.01,        // the answer after hugeBodyBytes of leading whitespace ...
//      "hugeBodyBytes": 100663296,  // ... (default 96 MiB): valid JSON, only too large to hold
//      "gzipBombRate": 0.01,        // Content-Encoding: gzip, gzipBombBytes of whitespace + the
//      "gzipBombBytes": 268435456,  //   answer compressed ~1000:1 (default 256 MiB)
//      "slowBodyRate": 0.1,         // headers at once, the body trickled over slowBodyMs ...
//      "slowBodyMs": 5000}          // ... (default 5000)
//   ]}
//
// Hostile-peer rules apply to Kubernetes resources (as above), the Compute
// resources, "metrics.k8s.io" (the metrics API, verbs get|list) and
// "prometheus" (the Prometheus stand-in under /prometheus/, verbs
// query|query_range). Watch streams are never rewritten (watchDrop* covers
// them). A hostile draw is made for every answer that was computed (an
// injected error answer may be spoiled too), in the order above; the first
// hit wins.
//
// Resources: a Kubernetes plural ("pods"), a subresource ("pods/eviction"),
// "*" (every Kubernetes resource, never a Compute one, so fault files written
// for the Kubernetes API keep their meaning), or a Compute collection:
// "compute.instances" (verbs get, list, create = instances.insert, delete),
// "compute.operations" (get = zoneOperations.get, wait = zoneOperations.wait),
// "compute.machineTypes" and "compute.zones" (get, list),
// "compute.instanceGroupManagers" (get, create = createInstances, delete =
// deleteInstances, list = listManagedInstances/listErrors, update = resize),
// "compute.instanceTemplates" (get), or "compute.*"; the GKE API's
// "container.nodePools" (create, get, list, delete, update = setSize) and
// "container.operations" (get, list), or "container.*"; the Cloud Billing
// Catalog's "cloudbilling.skus" (list) or "cloudbilling.*". "compute.*" does
// not match container.* or cloudbilling.* resources.
// A rule for "pods" does not match "pods/eviction" (name the subresource).
//
// Every rule whose verb and resource match applies; errors are drawn in the
// order 500, 503, 429, 409 and the first hit wins; latencies of matching
// rules add up. An injected error is answered instead of carrying the request
// out (nothing changes). lostResponseRate is the "timeout after the effect"
// case: the request IS carried out (an instance inserted or deleted, its
// operation created) and then the client gets 503 backendError instead of the
// answer; it is drawn only when no error was. A Compute rule may not use
// conflictRate/watchDrop*, a Kubernetes one may not use lostResponseRate.
// Draws come from one PRNG seeded with --seed, so a single-threaded client
// sees the same faults on every run; requests that match no rule draw nothing.
// Thread-safety: Decide*() are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "tools/kinema-sim/api_error.h"

namespace kinema::sim {

struct FaultRule {
  std::string verb = "*";
  std::string resource = "*";
  double error500_rate = 0;
  double error503_rate = 0;
  double error429_rate = 0;
  int retry_after_seconds = 1;
  double conflict_rate = 0;
  double lost_response_rate = 0;  // Compute resources only
  long long latency_ms = 0;
  double latency_rate = 1.0;
  double watch_drop_rate = 0;
  long long watch_drop_after_ms = 5000;
  // Hostile peer.
  double wrong_type_rate = 0;
  double truncate_rate = 0;
  double invalid_utf8_rate = 0;
  double huge_body_rate = 0;
  long long huge_body_bytes = 96LL << 20;
  double gzip_bomb_rate = 0;
  long long gzip_bomb_bytes = 256LL << 20;
  double slow_body_rate = 0;
  long long slow_body_ms = 5000;
  bool HasHostile() const {
    return wrong_type_rate > 0 || truncate_rate > 0 || invalid_utf8_rate > 0 || huge_body_rate > 0 ||
           gzip_bomb_rate > 0 || slow_body_rate > 0;
  }
};

// A hostile answer: how the response to a request is to be spoiled.
enum class HostileKind { kNone, kWrongType, kTruncate, kInvalidUtf8, kHugeBody, kGzipBomb, kSlowBody };
const char* HostileKindName(HostileKind k);

struct HostileDecision {
  HostileKind kind = HostileKind::kNone;
  size_t bytes = 0;                   // kHugeBody, kGzipBomb
  std::chrono::milliseconds slow{0};  // kSlowBody
  uint64_t seed = 0;                  // where in the body (kWrongType, kTruncate, kInvalidUtf8)
};

// What a fault rule is matched against: "get" + "pods", "create" + "compute.instances".
struct FaultTarget {
  std::string verb;
  std::string resource;
};

// True for the fake GCE's resources ("compute.instances", ...).
bool IsComputeResource(const std::string& resource);
// The metrics API and the Prometheus stand-in, as fault rules name them.
inline constexpr const char* kMetricsApiResource = "metrics.k8s.io";
inline constexpr const char* kPrometheusResource = "prometheus";

// A fault for the Compute API, rendered by the fake GCE as a GCE error body
// {"error":{"code","message","errors":[{"message","domain","reason"}]}}.
struct ComputeFault {
  int code = 503;
  std::string reason;   // "backendError", "rateLimitExceeded"
  std::string domain;   // "global", "usageLimits"
  std::string message;
};

struct ComputeFaultDecision {
  std::optional<ComputeFault> error;          // answer this instead of carrying the request out
  std::optional<ComputeFault> lost_response;  // carry it out, then answer this instead
};

class FaultInjector {
 public:
  FaultInjector() : rng_(0) {}  // no rules: never injects anything
  static StatusOr<std::vector<FaultRule>> ParseFile(const std::string& path);
  static StatusOr<std::vector<FaultRule>> ParseText(const std::string& text);

  FaultInjector(std::vector<FaultRule> rules, uint64_t seed);

  bool empty() const { return rules_.empty(); }
  // `resource` is "pods" or "pods/eviction"; `name` is used in the 409 message.
  std::chrono::milliseconds DecideLatency(const std::string& verb, const std::string& resource);
  std::optional<ApiError> DecideError(const std::string& verb, const std::string& resource, const std::string& group,
                                      const std::string& name);
  std::optional<std::chrono::milliseconds> DecideWatchDrop(const std::string& resource);
  // For a Compute request: `verb` get|list|create|delete|wait, `resource`
  // "compute.instances" etc. Counts what it injects.
  ComputeFaultDecision DecideCompute(const std::string& verb, const std::string& resource);
  // For any API's answer (see "Hostile peer" above); kNone mostly.
  HostileDecision DecideHostile(const std::string& verb, const std::string& resource);

  uint64_t injected() const;  // faults injected so far (errors, latencies, drops, lost responses)

 private:
  bool Matches(const FaultRule& r, const std::string& verb, const std::string& resource) const;
  double Draw();  // lock held

  std::vector<FaultRule> rules_;
  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  uint64_t injected_ = 0;
};

}  // namespace kinema::sim
