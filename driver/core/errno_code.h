// The project's one errno <-> Status table. Errors are converted once per
// edge: an errno becomes a Status where a system call returns it (PosixEnv,
// Status::FromErrno, fs::PosixError), and a Status becomes an errno only in
// a FUSE reply (fs::ErrnoOf). Both directions live here so they cannot
// drift apart.
//
// errno -> Code, by what the caller can do about it:
//   ENOENT, ENODATA                     NotFound
//   EEXIST                              AlreadyExists
//   EACCES, EPERM                       PermissionDenied
//   ENOSPC, EDQUOT                      ResourceExhausted
//   EROFS                               ReadOnly
//   ENOTEMPTY, EISDIR, ENOTDIR, EXDEV,  FailedPrecondition (the file system's
//   ETXTBSY, EBUSY, EMLINK, ELOOP,      state forbids the call; it may pass
//   ESTALE, ENOTCONN                    once that changes)
//   EINVAL, ENAMETOOLONG, EIO, others   IOError
//
// EINVAL is deliberately IOError, not InvalidArgument. A system call's
// EINVAL is the kernel or the file system refusing how snapvol called it
// (O_DIRECT alignment, an unsupported flag): not bad input from snapvol's
// own caller. InvalidArgument means exactly that (the CLI exits 2 with a
// usage hint, CSI answers INVALID_ARGUMENT, which kubelet does not retry),
// so it is only built by code that validates its caller's input, with
// Status::InvalidArgument. The errno is kept in the Status either way, so a
// FUSE reply of an EINVAL Status is still EINVAL. ENAMETOOLONG follows EINVAL.
//
// Status -> errno: the Status's sys_errno() if it has one, otherwise one per
// code: NotFound ENOENT, AlreadyExists EEXIST, InvalidArgument EINVAL,
// FailedPrecondition EPERM, ResourceExhausted ENOSPC, PermissionDenied
// EACCES, ReadOnly EROFS, Aborted EAGAIN, anything else EIO; ok is 0.
#pragma once

#include "driver/core/status.h"

namespace snapvol::core {

// The Code for errno `e` (see the table above). `e` must not be 0.
Code CodeForErrno(int e);

// The errno that reports `status` (0 if ok).
int ErrnoForStatus(const Status& status);

}  // namespace snapvol::core
