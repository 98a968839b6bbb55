// PosixError: a Status carrying the exact errno a POSIX file system must
// return (ENOTEMPTY, EISDIR, EXDEV ...), for conditions the coarse Code
// cannot name. The View returns these; the FUSE ops file turns every Status
// into an errno in one place (fuse_ops.cc: sys_errno() first, then the code).
#pragma once

#include <cerrno>
#include <string>

#include "driver/core/status.h"

namespace snapvol::fs {

using core::Status;

// The Code that best describes errno `e` (for messages and for callers that
// only look at the code).
inline core::Code CodeForErrno(int e) {
  switch (e) {
    case ENOENT:
      return core::Code::kNotFound;
    case EEXIST:
      return core::Code::kAlreadyExists;
    case EINVAL:
    case ENAMETOOLONG:
      return core::Code::kInvalidArgument;
    case EACCES:
    case EPERM:
      return core::Code::kPermissionDenied;
    case ENOSPC:
    case EDQUOT:
      return core::Code::kResourceExhausted;
    case EROFS:
      return core::Code::kReadOnly;
    case EIO:
      return core::Code::kIOError;
    default:
      return core::Code::kFailedPrecondition;
  }
}

inline Status PosixError(int e, std::string message) {
  return Status(CodeForErrno(e), std::move(message), e);
}

}  // namespace snapvol::fs
