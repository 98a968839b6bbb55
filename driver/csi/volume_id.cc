#include "driver/csi/volume_id.h"

#include "driver/core/hash.h"
#include "driver/core/names.h"

namespace snapvol::csi {

std::optional<VolumeId> VolumeId::Parse(std::string_view id) {
  size_t slash = id.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  VolumeId v{std::string(id.substr(0, slash)), std::string(id.substr(slash + 1))};
  if (!core::ValidateName("environment", v.environment).ok()) return std::nullopt;
  if (!core::ValidateName("volume", v.name).ok()) return std::nullopt;
  return v;
}

std::string VolumeNameForRequest(std::string_view request_name) {
  if (core::ValidateName("volume", request_name).ok()) return std::string(request_name);
  std::string kept;
  for (char c : request_name) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_' || c == '-';
    if (!allowed) continue;
    // The name must start with a letter or digit.
    if (kept.empty() && (c == '.' || c == '_' || c == '-')) continue;
    kept.push_back(c);
    if (kept.size() == 46) break;
  }
  if (kept.empty()) kept = "csi";
  return kept + "-" + core::Hash::Of(request_name).Hex().substr(0, 16);
}

}  // namespace snapvol::csi
