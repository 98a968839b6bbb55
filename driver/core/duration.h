// Durations as people write them in flags, annotations and volume
// attributes: "500ms", "5s", "2m", "1h"; "0" or "off" for none. One parser
// for the CLI, the CSI driver and the OCI hook.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "driver/core/result.h"

namespace snapvol::core {

struct DurationSyntax {
  // A bare whole number is seconds ("10" = 10s), as Kubernetes attributes
  // are often written; otherwise a unit is required.
  bool bare_number_is_seconds = false;
};

// InvalidArgument naming the text and why ("missing unit", "fractions are
// not supported", "longer than a year", ...), with examples. Durations over
// a year are refused as typos.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text, DurationSyntax syntax = {});

// "5s", "2m", "1h", "250ms"; "off" for 0 or less.
std::string FormatDuration(int64_t ms);

}  // namespace snapvol::core
