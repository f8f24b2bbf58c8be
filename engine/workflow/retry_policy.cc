#include "engine/workflow/retry_policy.h"

#include <algorithm>
#include <cmath>

namespace kinema {

std::chrono::milliseconds RetryPolicy::BackoffFor(int attempt, std::mt19937_64& rng) const {
  double base = static_cast<double>(initial.count()) * std::pow(factor, std::max(0, attempt - 1));
  base = std::min(base, static_cast<double>(cap.count()));
  double j = std::clamp(jitter, 0.0, 1.0);
  std::uniform_real_distribution<double> dist(1.0 - j, 1.0 + j);
  double d = base * dist(rng);
  return std::chrono::milliseconds(static_cast<int64_t>(std::max(0.0, d)));
}

bool RetryPolicy::IsRetryable(const Status& s) const {
  switch (s.code()) {
    case Status::Code::kOk:
    case Status::Code::kCancelled:
    case Status::Code::kAborted:
    case Status::Code::kPermissionDenied:
      return false;
    default:
      return non_retryable.count(s.code()) == 0;
  }
}

}  // namespace kinema
