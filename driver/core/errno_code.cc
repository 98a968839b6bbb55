#include "driver/core/errno_code.h"

#include <cerrno>

namespace snapvol::core {

Code CodeForErrno(int e) {
  switch (e) {
    case ENOENT:
    case ENODATA:
      return Code::kNotFound;
    case EEXIST:
      return Code::kAlreadyExists;
    case EACCES:
    case EPERM:
      return Code::kPermissionDenied;
    case ENOSPC:
    case EDQUOT:
      return Code::kResourceExhausted;
    case EROFS:
      return Code::kReadOnly;
    case ENOTEMPTY:
    case EISDIR:
    case ENOTDIR:
    case EXDEV:
    case ETXTBSY:
    case EBUSY:
    case EMLINK:
    case ELOOP:
    case ESTALE:
    case ENOTCONN:
      return Code::kFailedPrecondition;
    default:
      return Code::kIOError;
  }
}

int ErrnoForStatus(const Status& s) {
  if (s.ok()) return 0;
  if (s.sys_errno() != 0) return s.sys_errno();
  switch (s.code()) {
    case Code::kNotFound:
      return ENOENT;
    case Code::kAlreadyExists:
      return EEXIST;
    case Code::kInvalidArgument:
      return EINVAL;
    case Code::kFailedPrecondition:
      return EPERM;
    case Code::kResourceExhausted:
      return ENOSPC;
    case Code::kPermissionDenied:
      return EACCES;
    case Code::kReadOnly:
      return EROFS;
    case Code::kAborted:
      return EAGAIN;
    default:
      return EIO;
  }
}

}  // namespace snapvol::core
