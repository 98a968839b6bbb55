#include "driver/fs/startup_report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace snapvol::fs {
namespace {

using core::Code;
using core::Status;

TEST(StartupReportTest, OkAndErrorsRoundTrip) {
  EXPECT_TRUE(DecodeStartup(EncodeStartup(Status::Ok())).ok());
  Status s = DecodeStartup(EncodeStartup(Status(Code::kPermissionDenied, "no allow_other", 1)));
  EXPECT_TRUE(s.Is(Code::kPermissionDenied));
  EXPECT_EQ(s.message(), "no allow_other");
  EXPECT_EQ(s.sys_errno(), 1);
}

TEST(StartupReportTest, AMultiLineMessageStaysOneReport) {
  const std::string encoded = EncodeStartup(Status::NotFound("line one\nline two"));
  EXPECT_EQ(encoded.find('\n'), encoded.size() - 1);
  Status s = DecodeStartup(encoded);
  EXPECT_TRUE(s.Is(Code::kNotFound));
  EXPECT_EQ(s.message(), "line one line two");
}

TEST(StartupReportTest, SilenceOrGarbageMeansTheServerDied) {
  Status empty = DecodeStartup("");
  EXPECT_TRUE(empty.Is(Code::kInternal));
  EXPECT_NE(empty.message().find("exited during startup"), std::string::npos);
  EXPECT_TRUE(DecodeStartup("OKAY then").Is(Code::kInternal));
  EXPECT_TRUE(DecodeStartup("ERR x y z").Is(Code::kInternal));
  // A code outside the enum is not trusted.
  EXPECT_TRUE(DecodeStartup("ERR 999 0 bogus\n").Is(Code::kInternal));
  EXPECT_TRUE(DecodeStartup("ERR 0 0 ok is not an error\n").Is(Code::kInternal));
}

TEST(StartupReportTest, WritesThroughAPipe) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  WriteStartup(fds[1], Status::ReadOnly("pinned"));
  ::close(fds[1]);
  char buf[256];
  ssize_t n = ::read(fds[0], buf, sizeof(buf));
  ::close(fds[0]);
  ASSERT_GT(n, 0);
  Status s = DecodeStartup(std::string(buf, static_cast<size_t>(n)));
  EXPECT_TRUE(s.Is(Code::kReadOnly));
  EXPECT_EQ(s.message(), "pinned");
}

}  // namespace
}  // namespace snapvol::fs
