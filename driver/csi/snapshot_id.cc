#include "driver/csi/snapshot_id.h"

#include <charconv>

#include "driver/core/hash.h"

namespace snapvol::csi {

std::string SnapshotId::ToString() const {
  std::string s = volume.ToString() + "@" + std::to_string(version);
  if (!tag.empty()) s += "#" + tag;
  return s;
}

std::optional<SnapshotId> SnapshotId::Parse(std::string_view id) {
  size_t at = id.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  auto volume = VolumeId::Parse(id.substr(0, at));
  if (!volume) return std::nullopt;
  std::string_view rest = id.substr(at + 1);
  std::string_view tag;
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) {
    tag = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
    if (tag.size() != 16) return std::nullopt;
    for (char c : tag) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
    }
  }
  if (rest.empty() || rest.size() > 20 || (rest[0] == '0' && rest.size() > 1)) return std::nullopt;
  uint64_t version = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), version);
  if (ec != std::errc() || end != rest.data() + rest.size()) return std::nullopt;
  return SnapshotId{*volume, version, std::string(tag)};
}

std::string SnapshotId::TagFor(std::string_view request_name) {
  return core::Hash::Of(request_name).Hex().substr(0, 16);
}

}  // namespace snapvol::csi
