#include "engine/kube/rate_limiter.h"

#include <algorithm>
#include <thread>

#include "engine/common/shutdown.h"

namespace kinema::kube {

TokenBucket::TokenBucket(double qps, int burst)
    : qps_(qps), burst_(std::max(1, burst)), tokens_(std::max(1, burst)), last_(Clock::now()) {}

void TokenBucket::Refill(Clock::time_point now) {
  if (now <= last_) return;
  double elapsed = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min<double>(burst_, tokens_ + elapsed * qps_);
  last_ = now;
}

TokenBucket::Clock::duration TokenBucket::Reserve(Clock::time_point now) {
  std::lock_guard<std::mutex> l(mu_);
  Clock::duration wait{0};
  if (qps_ > 0) {
    Refill(now);
    tokens_ -= 1.0;
    if (tokens_ < 0) {
      wait = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(-tokens_ / qps_));
    }
  }
  if (paused_until_ > now) wait = std::max(wait, paused_until_ - now);
  return wait;
}

bool TokenBucket::Acquire(Clock::time_point deadline) {
  Clock::time_point now = Clock::now();
  Clock::duration wait = Reserve(now);
  if (wait.count() <= 0) return true;
  if (now + wait > deadline) {
    std::lock_guard<std::mutex> l(mu_);
    if (qps_ > 0) tokens_ = std::min<double>(burst_, tokens_ + 1.0);  // give the token back
    return false;
  }
  // A shutdown ends the wait early; the request then fails fast at the
  // caller's next shutdown check rather than holding the process.
  SleepUnlessShutdown(std::chrono::duration_cast<std::chrono::milliseconds>(wait) + std::chrono::milliseconds(1));
  return true;
}

void TokenBucket::PauseUntil(Clock::time_point until) {
  std::lock_guard<std::mutex> l(mu_);
  paused_until_ = std::max(paused_until_, until);
}

}  // namespace kinema::kube
