// FUSE transport for a MountServer: the libfuse3 low-level operations, the
// session and its multi-threaded loop, kernel cache invalidation, and the
// in-mount control attributes. The only file that includes fuse_lowlevel.h
// (house style); it is also the one place where a Status becomes an errno.
#pragma once

#include <functional>
#include <string>

#include "driver/core/status.h"
#include "driver/fs/mount_server.h"

namespace snapvol::fs {

// Mounts `server` at its mountpoint, calls `ready` once the kernel mount
// exists, and serves requests until the file system is unmounted
// (umount, fusermount3 -u, the kernel tearing it down) or the process gets
// SIGTERM, SIGINT or SIGHUP (which unmount it). Returns the session's error,
// if any; the caller then runs the final commit.
core::Status ServeFuse(MountServer& server, const std::function<void()>& ready);

// The errno a Status maps to in a FUSE reply: its sys_errno() if set,
// otherwise one per code (NotFound -> ENOENT, ReadOnly -> EROFS, ...).
int ErrnoOf(const core::Status& status);

}  // namespace snapvol::fs
