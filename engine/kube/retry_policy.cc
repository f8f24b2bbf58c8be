#include "engine/kube/retry_policy.h"

#include <algorithm>
#include <cmath>

namespace kinema::kube {

std::chrono::milliseconds RetryPolicy::Backoff(int attempt, double jitter) const {
  double d = static_cast<double>(initial_backoff.count()) * std::pow(2.0, std::max(0, attempt - 1));
  d = std::min(d, static_cast<double>(max_backoff.count()));
  jitter = std::clamp(jitter, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(d / 2 + (d / 2) * jitter));
}

RetryDecision Decide(const RetryPolicy& policy, int attempts_made, const Status& transport, int http_status,
                     std::optional<int> retry_after_seconds, bool retry_5xx, double jitter) {
  RetryDecision d;
  if (attempts_made >= policy.max_attempts) return d;
  if (!transport.ok()) {
    if (transport.code() == Status::Code::kUnavailable || transport.code() == Status::Code::kDeadlineExceeded) {
      d.retry = true;
      d.delay = policy.Backoff(attempts_made, jitter);
    }
    return d;
  }
  if (http_status == 429) {
    d.retry = true;
    if (retry_after_seconds.has_value() && *retry_after_seconds >= 0) {
      d.delay = std::min<std::chrono::milliseconds>(std::chrono::seconds(*retry_after_seconds),
                                                    policy.max_retry_after);
    } else {
      d.delay = policy.Backoff(attempts_made, jitter);
    }
    return d;
  }
  if (http_status >= 500 && http_status != 501 && retry_5xx) {
    d.retry = true;
    d.delay = policy.Backoff(attempts_made, jitter);
    if (retry_after_seconds.has_value() && *retry_after_seconds > 0) {
      d.delay = std::max<std::chrono::milliseconds>(
          d.delay, std::min<std::chrono::milliseconds>(std::chrono::seconds(*retry_after_seconds),
                                                       policy.max_retry_after));
    }
  }
  return d;
}

}  // namespace kinema::kube
