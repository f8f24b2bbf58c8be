// TokenBucket: client-side rate limit for API requests (client-go's
// flowcontrol token bucket; default 20 QPS / burst 30 like kube-controller-manager).
//
// Contract:
//   - Tokens refill continuously at `qps` per second up to `burst`. A request
//     takes one token; when none is left it waits for the next one.
//   - Reservations are first-come first-served: tokens may go negative, and
//     each caller sleeps until its own token has accrued.
//   - PauseUntil(t) makes every caller wait until at least t (honouring a
//     server's 429 Retry-After for the whole client, not just one request).
//   - qps <= 0 disables limiting (pauses still apply).
//   - Reserve() is pure arithmetic on a caller-supplied clock (unit-testable);
//     Acquire() sleeps on the steady clock.
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <chrono>
#include <mutex>

namespace kinema::kube {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket(double qps, int burst);

  // Takes one token at `now`; returns how long the caller must wait before
  // sending (zero when a token was available and no pause is in force).
  Clock::duration Reserve(Clock::time_point now);

  // Blocks until the caller may send. Returns false, without consuming a
  // token, if that would be later than `deadline`.
  bool Acquire(Clock::time_point deadline);

  void PauseUntil(Clock::time_point until);

  double qps() const { return qps_; }
  int burst() const { return burst_; }

 private:
  void Refill(Clock::time_point now);

  const double qps_;
  const int burst_;
  std::mutex mu_;
  double tokens_;
  Clock::time_point last_;
  Clock::time_point paused_until_{};
};

}  // namespace kinema::kube
