// Checks of csi.v1.VolumeCapability shared by the controller and node
// services. snapvol volumes are file systems (mount access) and support every
// access mode: many pods on many nodes may read and write one volume at once
// (docs/semantics.md S6), read-only modes publish read-only mounts.
#pragma once

#include <string>

#include "csi.pb.h"
#include "driver/core/status.h"

namespace snapvol::csi {

// InvalidArgument naming `subject` if the capability lacks an access mode or
// an access type (the CO sent a malformed request).
core::Status ValidateCapability(const ::csi::v1::VolumeCapability& cap, const std::string& subject);

// Empty if snapvol supports the (valid) capability, else why not
// (e.g. block access).
std::string UnsupportedReason(const ::csi::v1::VolumeCapability& cap);

// Whether the access mode only allows reading.
bool IsReadOnlyMode(::csi::v1::VolumeCapability::AccessMode::Mode mode);

}  // namespace snapvol::csi
