#include "driver/core/errno_code.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace snapvol::core {
namespace {

TEST(ErrnoCodeTest, ErrnoToCode) {
  EXPECT_EQ(CodeForErrno(ENOENT), Code::kNotFound);
  EXPECT_EQ(CodeForErrno(EEXIST), Code::kAlreadyExists);
  EXPECT_EQ(CodeForErrno(EACCES), Code::kPermissionDenied);
  EXPECT_EQ(CodeForErrno(ENOSPC), Code::kResourceExhausted);
  EXPECT_EQ(CodeForErrno(EDQUOT), Code::kResourceExhausted);
  EXPECT_EQ(CodeForErrno(EROFS), Code::kReadOnly);
  EXPECT_EQ(CodeForErrno(ENOTEMPTY), Code::kFailedPrecondition);
  EXPECT_EQ(CodeForErrno(EIO), Code::kIOError);
  // A system call's EINVAL is not bad input from snapvol's caller.
  EXPECT_EQ(CodeForErrno(EINVAL), Code::kIOError);
  EXPECT_EQ(CodeForErrno(ENAMETOOLONG), Code::kIOError);
}

TEST(ErrnoCodeTest, StatusToErrnoPrefersTheErrnoItCarries) {
  EXPECT_EQ(ErrnoForStatus(Status::Ok()), 0);
  EXPECT_EQ(ErrnoForStatus(Status::FromErrno(EINVAL, "x")), EINVAL);
  EXPECT_EQ(ErrnoForStatus(Status::FromErrno(EXDEV, "x")), EXDEV);
  EXPECT_EQ(ErrnoForStatus(Status::NotFound("x")), ENOENT);
  EXPECT_EQ(ErrnoForStatus(Status::InvalidArgument("x")), EINVAL);
  EXPECT_EQ(ErrnoForStatus(Status::FailedPrecondition("x")), EPERM);
  EXPECT_EQ(ErrnoForStatus(Status::ResourceExhausted("x")), ENOSPC);
  EXPECT_EQ(ErrnoForStatus(Status::ReadOnly("x")), EROFS);
  EXPECT_EQ(ErrnoForStatus(Status::Aborted("x")), EAGAIN);
  EXPECT_EQ(ErrnoForStatus(Status::Corruption("x")), EIO);
}

TEST(ErrnoCodeTest, RoundTripKeepsEveryErrno) {
  for (int e = 1; e < 134; ++e) {
    EXPECT_EQ(ErrnoForStatus(Status::FromErrno(e, "x")), e);
    EXPECT_EQ(Status::FromErrno(e, "x").code(), CodeForErrno(e));
  }
}

}  // namespace
}  // namespace snapvol::core
