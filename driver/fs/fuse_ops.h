// The libfuse3 low-level operations of a mount: thin callbacks that decode a
// request, call the View, the MountServer, KernelIo (kernel_io.h) or
// ControlAttrs (control_attrs.h), and reply. fuse_session.cc serves them.
//
// FUSE layer: fuse_ops.cc, fuse_session.cc and fuse_reply.cc are the only
// files that include fuse_lowlevel.h (house style); fuse_ops.cc is the one
// place where a Status becomes an errno (ErrnoOf).
#pragma once

#include "driver/core/status.h"

struct fuse_lowlevel_ops;

namespace snapvol::fs {

// The operations; their userdata is the mount's FuseSession (fuse_session.h).
const fuse_lowlevel_ops& FuseOps();

// The errno a Status maps to in a FUSE reply: its sys_errno() if set,
// otherwise one per code (NotFound -> ENOENT, ReadOnly -> EROFS, ...).
int ErrnoOf(const core::Status& status);

}  // namespace snapvol::fs
