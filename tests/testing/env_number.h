// EnvNumber: a test knob from the environment (seed counts, sizes).
#pragma once

#include <cstdint>
#include <cstdlib>

namespace snapvol::testing {

// The number in environment variable `name`, or `fallback` if it is unset
// or empty.
inline uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

}  // namespace snapvol::testing
