#include "driver/fs/fuse_mount_options.h"

#include <gtest/gtest.h>

#include "driver/fs/fuse_session.h"
#include "driver/fs/mount.h"

namespace snapvol::fs {
namespace {

TEST(FuseMountOptionsTest, TheHooksMountAgreesWithTheServers) {
  const std::string data = KernelFuseMountData(7);
  EXPECT_EQ(data.rfind("fd=7,", 0), 0u) << data;
  for (const char* want : {"rootmode=40000", "user_id=0", "group_id=0", "allow_other"}) {
    EXPECT_NE(data.find(want), std::string::npos) << want;
  }
  // libfuse checks its max_read against the kernel's: both say the same.
  const std::string max_read = "max_read=" + std::to_string(kFuseMaxRead);
  EXPECT_NE(data.find(max_read), std::string::npos) << data;
  MountOptions o;
  EXPECT_NE(FuseMountOptions(o, "snapvol:main/v").find(max_read), std::string::npos);
  EXPECT_NE(FuseMountOptions(o, "snapvol:main/v").find("allow_other"), std::string::npos);
  o.read_only = true;
  EXPECT_NE(FuseMountOptions(o, "x").find(",ro"), std::string::npos);
}

}  // namespace
}  // namespace snapvol::fs
