// VolumeId: the CSI volume id of a snapvol volume, "ENV/NAME". It names the
// environment and the volume, so the node plugin finds the volume without a
// lookup and a statically provisioned PersistentVolume can simply say
// `volumeHandle: main/weights`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace snapvol::csi {

struct VolumeId {
  std::string environment;
  std::string name;

  // "ENV/NAME".
  std::string ToString() const { return environment + "/" + name; }

  // Parses "ENV/NAME" where both parts are valid snapvol names
  // (core::ValidateName). nullopt for anything else: a malformed id names no
  // volume, so callers answer it the way the spec answers an unknown id
  // (NotFound, or success for deletes), never InvalidArgument.
  static std::optional<VolumeId> Parse(std::string_view id);

  bool operator==(const VolumeId&) const = default;
};

// The snapvol volume name for a CreateVolume request name. A name that is
// already a valid snapvol name (Kubernetes "pvc-<uid>" always is) is used as
// it is. Any other name (longer than 63 bytes, or with other characters; CSI
// allows up to 128) maps deterministically to its allowed characters, cut to
// 46 bytes, plus "-" and 16 hex digits of its SHA-256, so repeated requests
// with the same name find the same volume and different names do not collide.
std::string VolumeNameForRequest(std::string_view request_name);

}  // namespace snapvol::csi
