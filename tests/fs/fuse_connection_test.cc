#include "driver/fs/fuse_connection.h"

#include <gtest/gtest.h>

namespace snapvol::fs {
namespace {

constexpr char kInfo[] =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "45 22 0:40 / /mnt/a rw,nosuid,nodev - fuse.snapvol snapvol:main/v rw,user_id=0\n"
    "46 22 0:41 / /mnt/with\\040space rw - fuse.snapvol snapvol:main/w rw\n"
    "47 22 0:52 / /mnt/plain rw shared:7 master:3 - tmpfs tmpfs rw\n"
    "48 45 0:60 / /mnt/a rw - fuse snapvol rw\n";

TEST(FuseConnectionTest, FindsTheTopMostMountAtAPath) {
  EXPECT_EQ(*FuseConnectionOf(kInfo, "/mnt/a"), 60u);
  EXPECT_EQ(*FuseConnectionOf(kInfo, "/mnt/with space"), 41u);
}

TEST(FuseConnectionTest, RefusesWhatIsNotAFuseMount) {
  EXPECT_TRUE(FuseConnectionOf(kInfo, "/mnt/plain").status().Is(core::Code::kInvalidArgument));
  EXPECT_TRUE(FuseConnectionOf(kInfo, "/").status().Is(core::Code::kInvalidArgument));
  EXPECT_TRUE(FuseConnectionOf(kInfo, "/mnt/none").status().Is(core::Code::kNotFound));
  // A prefix of a mountpoint or its escaped form is not the mountpoint.
  EXPECT_TRUE(FuseConnectionOf(kInfo, "/mnt").status().Is(core::Code::kNotFound));
  EXPECT_TRUE(FuseConnectionOf(kInfo, "/mnt/with\\040space").status().Is(core::Code::kNotFound));
}

TEST(FuseConnectionTest, MalformedLinesAreSkippedAndBadDevicesRefused) {
  EXPECT_TRUE(FuseConnectionOf("garbage\n\n45 22\n", "/mnt/a").status().Is(core::Code::kNotFound));
  EXPECT_TRUE(FuseConnectionOf("45 22 0:x / /mnt/a rw - fuse.snapvol s rw\n", "/mnt/a")
                  .status()
                  .Is(core::Code::kCorruption));
  EXPECT_TRUE(FuseConnectionOf("45 22 040 / /mnt/a rw - fuse.snapvol s rw\n", "/mnt/a")
                  .status()
                  .Is(core::Code::kCorruption));
}

}  // namespace
}  // namespace snapvol::fs
