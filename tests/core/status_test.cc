#include "driver/core/status.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "driver/core/result.h"

namespace snapvol::core {
namespace {

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, FromErrnoMapsCodesAndKeepsErrno) {
  EXPECT_EQ(Status::FromErrno(ENOENT, "x").code(), Code::kNotFound);
  EXPECT_EQ(Status::FromErrno(ENOSPC, "x").code(), Code::kResourceExhausted);
  EXPECT_EQ(Status::FromErrno(EROFS, "x").code(), Code::kReadOnly);
  Status s = Status::FromErrno(EIO, "write /a");
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_EQ(s.sys_errno(), EIO);
  EXPECT_NE(s.message().find("write /a"), std::string::npos);
}

TEST(StatusTest, AnnotatePrependsContext) {
  Status s = Status::NotFound("no such thing").Annotate("volume 'v'");
  EXPECT_EQ(s.ToString(), "NotFound: volume 'v': no such thing");
  EXPECT_TRUE(Status::Ok().Annotate("x").ok());
}

Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd");
  return x / 2;
}

Status UseMacros(int x, int* out) {
  ASSIGN_OR_RETURN(int h, Half(x));
  *out = h;
  RETURN_IF_ERROR(h > 10 ? Status::ResourceExhausted("big") : Status::Ok());
  return Status::Ok();
}

TEST(ResultTest, MacrosPropagate) {
  int out = 0;
  EXPECT_TRUE(UseMacros(8, &out).ok());
  EXPECT_EQ(out, 4);
  EXPECT_EQ(UseMacros(7, &out).code(), Code::kInvalidArgument);
  EXPECT_EQ(UseMacros(40, &out).code(), Code::kResourceExhausted);
}

}  // namespace
}  // namespace snapvol::core
