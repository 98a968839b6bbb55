#include "driver/volume/change_set.h"

#include <gtest/gtest.h>

namespace snapvol::volume {
namespace {

TEST(ChangeSetTest, ValidatesPathsAndRecordsOps) {
  ChangeSet cs;
  EXPECT_TRUE(cs.empty());
  ASSERT_TRUE(cs.Put("//a/./b/", objects::Entry()).ok());
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs.ops()[0].path, (Path{"a", "b"}));
  EXPECT_TRUE(cs.Put("/a/../b", objects::Entry()).Is(core::Code::kInvalidArgument));
  EXPECT_TRUE(cs.Put("/", objects::Entry()).Is(core::Code::kInvalidArgument));
  EXPECT_TRUE(cs.Delete("").Is(core::Code::kInvalidArgument));
  EXPECT_TRUE(cs.SetAttr("/", AttrChange{}).ok());  // the root's attributes may change
  ASSERT_TRUE(cs.Mkdir("/d", 0700, 1, 2, 3).ok());
  EXPECT_EQ(cs.ops().back().entry.type(), objects::DIRECTORY);
  EXPECT_EQ(cs.ops().back().entry.mode(), 0700u);
  cs.add_bytes_written(5);
  EXPECT_EQ(cs.bytes_written(), 5u);
}

TEST(ChangeSetTest, RefusesMovingIntoItself) {
  ChangeSet cs;
  EXPECT_TRUE(cs.Rename("/a", "/a/b").Is(core::Code::kInvalidArgument));
  EXPECT_TRUE(cs.Rename("/a", "/a").Is(core::Code::kInvalidArgument));
  EXPECT_TRUE(cs.Copy("/a", "/a/b/c").Is(core::Code::kInvalidArgument));
  EXPECT_TRUE(cs.Rename("/a/b", "/a").ok());
  EXPECT_TRUE(cs.Copy("/ab", "/a").ok());
  EXPECT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs.ops()[0].to, Path{"a"});
}

}  // namespace
}  // namespace snapvol::volume
