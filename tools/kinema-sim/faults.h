// FaultInjector: reproducible API failures for testing clients (--faults FILE,
// seeded by --seed). File format (JSON), every field optional:
//
//   {"rules": [
//     {"verb": "update",            // get|list|watch|create|update|patch|delete|deletecollection|* (default *)
//      "resource": "pods",          // plural, "pods/eviction" for a subresource, or * (default *)
//      "error500Rate": 0.1,         // fraction answered 500 InternalError
//      "error429Rate": 0.05,        // fraction answered 429 TooManyRequests ...
//      "retryAfterSeconds": 1,      // ... with this Retry-After (default 1)
//      "conflictRate": 0.2,         // fraction of update/patch answered 409 Conflict
//      "latencyMs": 250,            // added latency ...
//      "latencyRate": 1.0,          // ... on this fraction of matching requests (default 1)
//      "watchDropRate": 0.5,        // fraction of watch streams cut abruptly (no final chunk) ...
//      "watchDropAfterMs": 2000}    // ... at a uniform time in [0, this] after they start (default 5000)
//   ]}
//
// Every rule whose verb and resource match applies; errors are drawn in the
// order 500, 429, 409 and the first hit wins; latencies of matching rules add
// up. A rule for "pods" does not match "pods/eviction" (name the subresource).
// Draws come from one PRNG seeded with --seed, so a single-threaded client
// sees the same faults on every run.
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
  double error429_rate = 0;
  int retry_after_seconds = 1;
  double conflict_rate = 0;
  long long latency_ms = 0;
  double latency_rate = 1.0;
  double watch_drop_rate = 0;
  long long watch_drop_after_ms = 5000;
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

  uint64_t injected() const;

 private:
  bool Matches(const FaultRule& r, const std::string& verb, const std::string& resource) const;
  double Draw();  // lock held

  std::vector<FaultRule> rules_;
  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  uint64_t injected_ = 0;
};

}  // namespace kinema::sim
