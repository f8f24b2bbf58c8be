// A shutdown wakes retry back-offs at once.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "engine/common/shutdown.h"

namespace kinema {
namespace {

TEST(ProcessShutdown, WakesALongSleepAtOnceAndLaterSleepsReturnImmediately) {
  ResetProcessShutdownForTesting();
  EXPECT_TRUE(SleepUnlessShutdown(std::chrono::milliseconds(1)));
  const auto start = std::chrono::steady_clock::now();
  std::thread t([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    RequestProcessShutdown();
  });
  EXPECT_FALSE(SleepUnlessShutdown(std::chrono::minutes(10)));
  t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(ProcessShutdownRequested());
  EXPECT_FALSE(SleepUnlessShutdown(std::chrono::minutes(10)));
  ResetProcessShutdownForTesting();
  EXPECT_FALSE(ProcessShutdownRequested());
}

}  // namespace
}  // namespace kinema
