// FuseConnection: the kernel's side of a FUSE mount, found without touching
// the mount. A server killed while it answered a notification (e.g. the
// entry invalidations of a reload) can leave one of its threads waiting in
// the kernel for a directory lock that a process holds while it waits for
// that same dead server: the device stays open, nothing answers, and every
// access to the mount — even stat(2) of its root, even `umount -l` with a
// process inside — hangs for good. Aborting the connection (fusectl's
// `abort`) fails every waiting request with ENOTCONN and lets it all unwind.
#pragma once

#include <string>
#include <string_view>

#include "driver/core/result.h"

namespace snapvol::fs {

using core::Result;
using core::Status;

// The connection number (the mount's device minor, the name of its
// directory under /sys/fs/fuse/connections) of the FUSE mount at
// `mountpoint` in `mountinfo` (the text of /proc/self/mountinfo; the last,
// i.e. top-most, mount there wins). NotFound if no mount is there;
// InvalidArgument if the mount there is not FUSE.
Result<unsigned> FuseConnectionOf(std::string_view mountinfo, const std::string& mountpoint);

// Aborts the FUSE connection of the mount at `mountpoint` (root only; mounts
// fusectl on /sys/fs/fuse/connections if it is not). Only for a mount whose
// server is gone or must go: its open files fail with ENOTCONN from then on.
// Reads /proc/self/mountinfo and never touches the mount itself.
Status AbortFuseConnection(const std::string& mountpoint);

}  // namespace snapvol::fs
