#include "driver/csi/volume_capability.h"

namespace snapvol::csi {

using Cap = ::csi::v1::VolumeCapability;

core::Status ValidateCapability(const Cap& cap, const std::string& subject) {
  if (!cap.has_access_mode() || cap.access_mode().mode() == Cap::AccessMode::UNKNOWN) {
    return core::Status::InvalidArgument(subject + ": volume capability has no access mode");
  }
  if (cap.access_type_case() == Cap::ACCESS_TYPE_NOT_SET) {
    return core::Status::InvalidArgument(subject +
                                         ": volume capability has no access type (mount/block)");
  }
  return core::Status::Ok();
}

std::string UnsupportedReason(const Cap& cap) {
  // fs_type is ignored rather than refused: CO defaults such as "ext4" carry
  // no meaning for a FUSE file system and refusing them only breaks users.
  if (cap.has_block()) return "block access is not supported: snapvol volumes are file systems";
  return "";
}

bool IsReadOnlyMode(Cap::AccessMode::Mode mode) {
  return mode == Cap::AccessMode::SINGLE_NODE_READER_ONLY ||
         mode == Cap::AccessMode::MULTI_NODE_READER_ONLY;
}

}  // namespace snapvol::csi
