// RetryPolicy: which failed API calls are retried, and after how long.
//
// Contract (Decide):
//   - Transport failures (kUnavailable: refused/reset/DNS; kDeadlineExceeded:
//     request timeout) are retried with exponential backoff.
//   - HTTP 429 is retried after Retry-After (capped at max_retry_after) or,
//     without one, after the backoff.
//   - HTTP 5xx except 501 is retried with backoff (the caller may opt out for
//     a specific call, e.g. eviction's "more than one PDB" 500).
//   - Every other 4xx (and 501) is final: retrying cannot change the answer.
//   - No retry once `max_attempts` attempts have been made.
//   - Backoff(n) = min(max_backoff, initial * 2^(n-1)), jittered into [d/2, d]
//     so that many clients do not retry in lockstep.
// Thread-safety: plain value; Decide is a pure function.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "engine/common/status.h"

namespace kinema::kube {

struct RetryPolicy {
  int max_attempts = 5;  // total attempts including the first
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  std::chrono::milliseconds max_retry_after{30000};

  // Delay before attempt `attempt + 1`, given `attempt` (>= 1) attempts made.
  // `jitter` in [0, 1) picks the point in [d/2, d].
  std::chrono::milliseconds Backoff(int attempt, double jitter) const;
};

struct RetryDecision {
  bool retry = false;
  std::chrono::milliseconds delay{0};
};

// `transport` is the transport status (OK when an HTTP response arrived);
// `http_status` is meaningful only when transport is OK.
RetryDecision Decide(const RetryPolicy& policy, int attempts_made, const Status& transport, int http_status,
                     std::optional<int> retry_after_seconds, bool retry_5xx, double jitter);

}  // namespace kinema::kube
