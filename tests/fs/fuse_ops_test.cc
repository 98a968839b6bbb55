// The one Status -> errno mapping of the FUSE replies (the callbacks
// themselves run only against a kernel: e2e/).
#include "driver/fs/fuse_ops.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace snapvol::fs {
namespace {

using core::Code;
using core::Status;

TEST(FuseOpsTest, ErrnoOfPrefersTheExactErrno) {
  EXPECT_EQ(ErrnoOf(Status::Ok()), 0);
  EXPECT_EQ(ErrnoOf(Status::FromErrno(ENOTEMPTY, "rmdir")), ENOTEMPTY);
  EXPECT_EQ(ErrnoOf(Status(Code::kNotFound, "x", EXDEV)), EXDEV);
}

TEST(FuseOpsTest, ErrnoOfMapsEachCode) {
  const std::pair<Code, int> cases[] = {
      {Code::kNotFound, ENOENT},          {Code::kAlreadyExists, EEXIST},
      {Code::kInvalidArgument, EINVAL},   {Code::kFailedPrecondition, EPERM},
      {Code::kResourceExhausted, ENOSPC}, {Code::kPermissionDenied, EACCES},
      {Code::kReadOnly, EROFS},           {Code::kAborted, EAGAIN},
      {Code::kCorruption, EIO},           {Code::kIOError, EIO},
      {Code::kUnavailable, EIO},          {Code::kInternal, EIO},
  };
  for (const auto& [code, err] : cases) EXPECT_EQ(ErrnoOf(Status(code, "m")), err);
}

}  // namespace
}  // namespace snapvol::fs
