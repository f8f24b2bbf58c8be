// RetryPolicy: exponential backoff with jitter for one step.
//
// delay(attempt) = min(cap, initial * factor^(attempt-1)) * (1 ± jitter)
// Attempts are counted from the journal, so a restart does not reset them.
// When attempts reach max_attempts the workflow is PAUSED with the error
// visible (not failed): an operator fixes the cause and resumes.
// Errors whose code is in `non_retryable` fail the workflow at once (it stays
// resumable). Cancelled/Aborted/PermissionDenied are control flow, never
// retried.
#pragma once

#include <chrono>
#include <random>
#include <set>

#include "engine/common/status.h"

namespace kinema {

struct RetryPolicy {
  std::chrono::milliseconds initial{1000};
  double factor = 2.0;
  std::chrono::milliseconds cap{100000};
  int max_attempts = 5;
  double jitter = 0.2;  // fraction, 0..1
  std::set<Status::Code> non_retryable = {Status::Code::kInvalidArgument, Status::Code::kFailedPrecondition,
                                          Status::Code::kNotFound, Status::Code::kCorruption};

  std::chrono::milliseconds BackoffFor(int attempt, std::mt19937_64& rng) const;
  bool IsRetryable(const Status& s) const;
};

}  // namespace kinema
