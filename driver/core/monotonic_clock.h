// The monotonic clock (CLOCK_MONOTONIC) in nanoseconds: for deadlines and
// durations inside one process, never for times that are stored or shown.
#pragma once

#include <cstdint>

namespace snapvol::core {

// Thread-safe; never goes back, unaffected by changes of the wall clock.
int64_t MonotonicNanos();

}  // namespace snapvol::core
