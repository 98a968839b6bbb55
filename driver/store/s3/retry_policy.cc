#include "driver/store/s3/retry_policy.h"

#include <algorithm>

namespace snapvol::store {
namespace {

int64_t Cap(const RetryPolicy& p, int failed_attempts) {
  int64_t cap = std::max<int64_t>(p.initial_backoff_ms, 0);
  // Doubling past the maximum is pointless and would overflow.
  for (int i = 1; i < failed_attempts && cap < p.max_backoff_ms; ++i) cap *= 2;
  return std::min(cap, std::max<int64_t>(p.max_backoff_ms, 0));
}

}  // namespace

bool RetryPolicy::IsRetryable(TransportResult transport, long http_status,
                              std::string_view s3_code) {
  switch (transport) {
    case TransportResult::kRetryable:
      return true;
    case TransportResult::kFatal:
      return false;
    case TransportResult::kOk:
      break;
  }
  if (http_status >= 500 || http_status == 429) return true;
  // RGW and AWS send these with other statuses too (RequestTimeout is 400).
  return s3_code == "SlowDown" || s3_code == "RequestTimeout" || s3_code == "InternalError" ||
         s3_code == "ServiceUnavailable";
}

int64_t RetryPolicy::BackoffMs(int failed_attempts, double unit_random) const {
  int64_t cap = Cap(*this, std::max(failed_attempts, 1));
  double r = std::clamp(unit_random, 0.0, 1.0);
  return cap / 2 + static_cast<int64_t>(r * static_cast<double>(cap - cap / 2));
}

int64_t RetryPolicy::MaxTotalBackoffMs() const {
  int64_t total = 0;
  for (int n = 1; n < max_attempts; ++n) total += Cap(*this, n);
  return total;
}

}  // namespace snapvol::store
