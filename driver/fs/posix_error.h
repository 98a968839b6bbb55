// PosixError: a Status carrying the exact errno a POSIX file system must
// return (ENOTEMPTY, EISDIR, EXDEV ...), for conditions the coarse Code
// cannot name. The View returns these; the FUSE ops file turns every Status
// into an errno in one place (fuse_ops.cc ErrnoOf: sys_errno() first, then
// the code). Both directions are the one table in core/errno_code.h.
#pragma once

#include <string>

#include "driver/core/errno_code.h"
#include "driver/core/status.h"

namespace snapvol::fs {

using core::Status;

inline Status PosixError(int e, std::string message) {
  return Status(core::CodeForErrno(e), std::move(message), e);
}

}  // namespace snapvol::fs
