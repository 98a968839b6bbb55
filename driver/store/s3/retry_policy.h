// RetryPolicy: when the S3 client tries a request again and how long it
// waits first. Pure functions (the client passes in the random number), so
// tests check the schedule without a server or a clock.
//
// Retried: transport failures that a new connection may cure (refused,
// reset, timed out, nothing received, DNS hiccup), HTTP 5xx, 429, and the
// S3 error codes SlowDown, RequestTimeout, InternalError and
// ServiceUnavailable whatever the status. Everything else (4xx: absent,
// forbidden, precondition failed, bad request) is an answer, returned at
// once. A request is tried at most `max_attempts` times; before attempt
// n+1 the client sleeps BackoffMs(n): exponential (initial × 2^(n-1),
// capped at max_backoff_ms) with "equal jitter" — half fixed, half random —
// so that many clients hit by the same outage spread their retries but none
// retries immediately.
#pragma once

#include <cstdint>
#include <string_view>

namespace snapvol::store {

// How one attempt went, as far as retrying cares.
enum class TransportResult {
  kOk,         // an HTTP response arrived (look at its status)
  kRetryable,  // connect/send/receive failed, timed out, or nothing came back
  kFatal,      // bad URL, TLS set-up, out of memory: trying again cannot help
};

struct RetryPolicy {
  int max_attempts = 5;  // >= 1; the first attempt counts
  int64_t initial_backoff_ms = 50;
  int64_t max_backoff_ms = 2000;

  // Whether an attempt with this outcome should be tried again (if attempts
  // remain). `s3_code` is the error body's Code, or empty.
  static bool IsRetryable(TransportResult transport, long http_status, std::string_view s3_code);

  // The sleep before attempt `failed_attempts + 1`, for `failed_attempts` >=
  // 1, given `unit_random` in [0, 1). Always in [cap/2, cap], cap =
  // min(max_backoff_ms, initial_backoff_ms << (failed_attempts - 1)).
  int64_t BackoffMs(int failed_attempts, double unit_random) const;

  // The longest total sleep of one request (every backoff at its maximum),
  // for callers sizing their own deadlines.
  int64_t MaxTotalBackoffMs() const;
};

}  // namespace snapvol::store
