#include "driver/fs/mount_table.h"

#include <gtest/gtest.h>

namespace snapvol::fs {
namespace {

constexpr char kInfo[] =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "45 22 0:40 / /mnt/a rw,nosuid,nodev - fuse.snapvol snapvol:main/v rw,user_id=0\n"
    "46 22 0:41 / /mnt/with\\040space rw - fuse.snapvol snapvol:main/w rw\n"
    "47 22 0:52 / /mnt/plain rw shared:7 master:3 - tmpfs tmpfs rw\n"
    "48 45 0:60 / /mnt/a rw - fuse snapvol rw\n"
    "49 22 0:61 / /mnt/back\\134slash rw - fuse.snapvol s rw\n";

TEST(MountTableTest, FindsTheTopMostMountAtAPath) {
  std::optional<MountEntry> a = FindMount(kInfo, "/mnt/a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->device, "0:60");
  EXPECT_EQ(a->fstype, "fuse");
  EXPECT_EQ(a->mountpoint, "/mnt/a");
  ASSERT_TRUE(FindMount(kInfo, "/mnt/plain").has_value());
  EXPECT_EQ(FindMount(kInfo, "/mnt/plain")->fstype, "tmpfs");
  EXPECT_EQ(FindMount(kInfo, "/")->fstype, "ext4");
}

TEST(MountTableTest, UnescapesMountpoints) {
  ASSERT_TRUE(FindMount(kInfo, "/mnt/with space").has_value());
  EXPECT_EQ(FindMount(kInfo, "/mnt/with space")->device, "0:41");
  ASSERT_TRUE(FindMount(kInfo, "/mnt/back\\slash").has_value());
  // The escaped form is not the path.
  EXPECT_FALSE(FindMount(kInfo, "/mnt/with\\040space").has_value());
}

TEST(MountTableTest, PrefixesAndMalformedLinesAreNotMounts) {
  EXPECT_FALSE(FindMount(kInfo, "/mnt").has_value());
  EXPECT_FALSE(FindMount(kInfo, "/mnt/a/b").has_value());
  EXPECT_FALSE(FindMount("garbage\n\n45 22\n45 22 0:1 / /x rw no-dash-here\n", "/x").has_value());
  EXPECT_FALSE(FindMount("", "/").has_value());
}

TEST(MountTableTest, ThisProcessSeesItsRoot) {
  std::optional<MountEntry> root = FindMount(std::string("/"));
  ASSERT_TRUE(root.has_value());
  EXPECT_FALSE(root->fstype.empty());
  EXPECT_FALSE(FindMount(std::string("/definitely/not/a/mount")).has_value());
}

TEST(MountTableTest, FuseTypes) {
  EXPECT_TRUE(IsFuseType("fuse"));
  EXPECT_TRUE(IsFuseType("fuse.snapvol"));
  EXPECT_TRUE(IsFuseType("fuseblk"));
  EXPECT_FALSE(IsFuseType("fusectl"));
  EXPECT_FALSE(IsFuseType("ext4"));
  EXPECT_FALSE(IsFuseType(""));
}

}  // namespace
}  // namespace snapvol::fs
