#include "driver/core/duration.h"

#include <charconv>
#include <cstdint>

namespace snapvol::core {

Result<std::chrono::milliseconds> ParseDuration(std::string_view text, DurationSyntax syntax) {
  if (text == "0" || text == "off") return std::chrono::milliseconds(0);
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid duration '" + std::string(text) + "': " + why +
                                   " (examples: 500ms, 5s, 2m, 1h; 0 or off disables)");
  };
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return bad("expected a whole number followed by a unit");
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, n);
  if (ec != std::errc() || end != text.data() + digits) return bad("number out of range");
  const std::string_view unit = text.substr(digits);
  uint64_t scale = 0;
  if (unit == "ms") scale = 1;
  if (unit == "s" || (unit.empty() && syntax.bare_number_is_seconds)) scale = 1000;
  if (unit == "m") scale = 60 * 1000;
  if (unit == "h") scale = 60 * 60 * 1000;
  if (scale == 0 && !unit.empty() && unit[0] == '.') return bad("fractions are not supported");
  if (scale == 0) {
    return bad(unit.empty() ? "missing unit" : "unknown unit '" + std::string(unit) + "'");
  }
  // Anything beyond a year is a typo, and keeps the arithmetic far from
  // overflowing.
  constexpr uint64_t kMaxMs = 366ULL * 24 * 60 * 60 * 1000;
  if (n > kMaxMs / scale) return bad("longer than a year");
  return std::chrono::milliseconds(static_cast<int64_t>(n * scale));
}

std::string FormatDuration(int64_t ms) {
  if (ms <= 0) return "off";
  if (ms % (60 * 60 * 1000) == 0) return std::to_string(ms / (60 * 60 * 1000)) + "h";
  if (ms % (60 * 1000) == 0) return std::to_string(ms / (60 * 1000)) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace snapvol::core
