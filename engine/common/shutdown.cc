#include "engine/common/shutdown.h"

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace kinema {

namespace {
struct ShutdownState {
  std::atomic<bool> requested{false};
  std::mutex mu;
  std::condition_variable cv;
};
ShutdownState& State() {
  static ShutdownState s;
  return s;
}
}  // namespace

void RequestProcessShutdown() {
  ShutdownState& s = State();
  {
    std::lock_guard<std::mutex> l(s.mu);
    s.requested.store(true);
  }
  s.cv.notify_all();
}

bool ProcessShutdownRequested() { return State().requested.load(); }

bool SleepUnlessShutdown(std::chrono::milliseconds d) {
  ShutdownState& s = State();
  std::unique_lock<std::mutex> l(s.mu);
  return !s.cv.wait_for(l, d, [&] { return s.requested.load(); });
}

void ResetProcessShutdownForTesting() { State().requested.store(false); }

}  // namespace kinema
