#include "driver/core/monotonic_clock.h"

#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <thread>

namespace snapvol::core {
namespace {

TEST(MonotonicClockTest, NeverGoesBackAndAdvancesWithTime) {
  int64_t last = MonotonicNanos();
  for (int i = 0; i < 10000; ++i) {
    const int64_t now = MonotonicNanos();
    ASSERT_GE(now, last);
    last = now;
  }
  const int64_t before = MonotonicNanos();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_GE(MonotonicNanos() - before, 5'000'000);
}

TEST(MonotonicClockTest, IsTheSystemsMonotonicClockInNanoseconds) {
  // Deadlines computed here are compared with values other code takes from
  // CLOCK_MONOTONIC (and std::chrono::steady_clock): same origin and unit.
  struct timespec ts;
  ASSERT_EQ(::clock_gettime(CLOCK_MONOTONIC, &ts), 0);
  const int64_t system = static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  const int64_t ours = MonotonicNanos();
  EXPECT_GE(ours, system);
  EXPECT_LT(ours - system, 1'000'000'000);
  const int64_t steady = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count();
  EXPECT_GE(steady, ours);
  EXPECT_LT(steady - ours, 1'000'000'000);
}

}  // namespace
}  // namespace snapvol::core
