#include "driver/core/status.h"

#include <cstring>

#include "driver/core/errno_code.h"

namespace snapvol::core {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kNotFound:
      return "NotFound";
    case Code::kAlreadyExists:
      return "AlreadyExists";
    case Code::kInvalidArgument:
      return "InvalidArgument";
    case Code::kFailedPrecondition:
      return "FailedPrecondition";
    case Code::kResourceExhausted:
      return "ResourceExhausted";
    case Code::kCorruption:
      return "Corruption";
    case Code::kIOError:
      return "IOError";
    case Code::kUnavailable:
      return "Unavailable";
    case Code::kAborted:
      return "Aborted";
    case Code::kPermissionDenied:
      return "PermissionDenied";
    case Code::kReadOnly:
      return "ReadOnly";
    case Code::kInternal:
      return "Internal";
  }
  return "Unknown";
}

Status Status::FromErrno(int e, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += std::strerror(e);
  return Status(CodeForErrno(e), std::move(msg), e);
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(CodeName(code_));
  s += ": ";
  s += message_;
  return s;
}

Status Status::Annotate(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return Status(code_, std::move(m), errno_);
}

}  // namespace snapvol::core
