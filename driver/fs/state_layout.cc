#include "driver/fs/state_layout.h"

#include <charconv>

#include "driver/fs/mount.h"

namespace snapvol::fs {

std::string DefaultStateDir(const std::string& store) {
  std::string s = store;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s + "/state";
}

std::optional<uint64_t> MountDirLayout::ParseJournalName(std::string_view name) {
  constexpr std::string_view kPrefix = "journal.";
  if (name.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view digits = name.substr(kPrefix.size());
  if (digits.empty() || digits.size() > 19) return std::nullopt;
  uint64_t gen = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), gen);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
  return gen;
}

}  // namespace snapvol::fs
