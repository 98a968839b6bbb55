// SnapshotId: the CSI snapshot id of a pinned volume version,
// "ENV/NAME@VERSION#TAG". ENV/NAME@VERSION says which version is pinned;
// TAG (16 hex digits of the SHA-256 of the CreateSnapshot request name) keeps
// two snapshots of the same version apart. An id without a tag,
// "ENV/NAME@VERSION", names that version directly without any pin: a
// statically provisioned VolumeSnapshotContent can restore any version that
// still exists.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "driver/csi/volume_id.h"

namespace snapvol::csi {

struct SnapshotId {
  VolumeId volume;
  uint64_t version = 0;  // 0 = the empty volume before its first commit
  std::string tag;       // empty or 16 lowercase hex digits

  std::string ToString() const;

  // nullopt for anything malformed (callers treat it as an unknown id).
  static std::optional<SnapshotId> Parse(std::string_view id);

  // The tag for a CreateSnapshot request name.
  static std::string TagFor(std::string_view request_name);

  bool operator==(const SnapshotId&) const = default;
};

}  // namespace snapvol::csi
