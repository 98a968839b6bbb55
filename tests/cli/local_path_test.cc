#include "driver/cli/local_path.h"

#include <gtest/gtest.h>

namespace snapvol::cli {
namespace {

TEST(LocalPathTest, PyBasenameMatchesPython) {
  EXPECT_EQ(PyBasename("a/b"), "b");
  EXPECT_EQ(PyBasename("dir/"), "");
  EXPECT_EQ(PyBasename("file"), "file");
  EXPECT_EQ(PyBasename("/"), "");
  EXPECT_EQ(PyBasename("."), ".");
}

TEST(LocalPathTest, LastComponentIgnoresTrailingSlashes) {
  EXPECT_EQ(LastComponent("a/b/"), "b");
  EXPECT_EQ(LastComponent("a//b//"), "b");
  EXPECT_EQ(LastComponent("/"), "");
  EXPECT_EQ(LastComponent("x"), "x");
}

TEST(LocalPathTest, ParentOf) {
  EXPECT_EQ(ParentOf("a/b"), "a");
  EXPECT_EQ(ParentOf("b"), ".");
  EXPECT_EQ(ParentOf("/b"), "/");
  EXPECT_EQ(ParentOf("a/b/"), "a");
  EXPECT_EQ(ParentOf("a//b"), "a");
  EXPECT_EQ(ParentOf("/x/y"), "/x");
}

TEST(LocalPathTest, JoinLocal) {
  EXPECT_EQ(JoinLocal("a", "b"), "a/b");
  EXPECT_EQ(JoinLocal("a/", "b"), "a/b");
  EXPECT_EQ(JoinLocal("/", "b"), "/b");
}

}  // namespace
}  // namespace snapvol::cli
