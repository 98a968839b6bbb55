#include "driver/store/s3/retry_policy.h"

#include <gtest/gtest.h>

namespace snapvol::store {
namespace {

TEST(RetryPolicyTest, RetriesServerTroubleAndTransportFailuresOnly) {
  using T = TransportResult;
  EXPECT_TRUE(RetryPolicy::IsRetryable(T::kRetryable, 0, ""));
  EXPECT_FALSE(RetryPolicy::IsRetryable(T::kFatal, 0, ""));
  for (long http : {500L, 502L, 503L, 504L, 429L}) {
    EXPECT_TRUE(RetryPolicy::IsRetryable(T::kOk, http, "")) << http;
  }
  EXPECT_TRUE(RetryPolicy::IsRetryable(T::kOk, 503, "SlowDown"));
  EXPECT_TRUE(RetryPolicy::IsRetryable(T::kOk, 400, "RequestTimeout"));
  EXPECT_TRUE(RetryPolicy::IsRetryable(T::kOk, 200, "InternalError"));
  for (long http : {400L, 401L, 403L, 404L, 409L, 412L, 416L}) {
    EXPECT_FALSE(RetryPolicy::IsRetryable(T::kOk, http, "")) << http;
  }
  EXPECT_FALSE(RetryPolicy::IsRetryable(T::kOk, 412, "PreconditionFailed"));
  EXPECT_FALSE(RetryPolicy::IsRetryable(T::kOk, 403, "SignatureDoesNotMatch"));
}

TEST(RetryPolicyTest, BackoffDoublesUpToTheCapWithEqualJitter) {
  RetryPolicy p;
  p.initial_backoff_ms = 100;
  p.max_backoff_ms = 1000;
  const int64_t caps[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (int n = 1; n <= 7; ++n) {
    int64_t cap = caps[n - 1];
    EXPECT_EQ(p.BackoffMs(n, 0.0), cap / 2) << n;
    EXPECT_EQ(p.BackoffMs(n, 0.5), cap / 2 + cap / 4) << n;
    EXPECT_LE(p.BackoffMs(n, 0.999999), cap) << n;
    EXPECT_GE(p.BackoffMs(n, 0.999999), cap - 1) << n;
  }
  // Out-of-range randomness and absurd attempt counts stay in bounds.
  EXPECT_EQ(p.BackoffMs(1000000, 2.0), 1000);
  EXPECT_EQ(p.BackoffMs(0, -1.0), 50);
}

TEST(RetryPolicyTest, TotalBackoffIsBounded) {
  RetryPolicy p;
  p.max_attempts = 5;
  p.initial_backoff_ms = 50;
  p.max_backoff_ms = 2000;
  EXPECT_EQ(p.MaxTotalBackoffMs(), 50 + 100 + 200 + 400);
  p.max_attempts = 1;
  EXPECT_EQ(p.MaxTotalBackoffMs(), 0);
  p.max_attempts = 100;
  EXPECT_LE(p.MaxTotalBackoffMs(), 100 * 2000);
}

}  // namespace
}  // namespace snapvol::store
