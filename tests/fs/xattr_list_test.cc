#include "driver/fs/xattr_list.h"

#include <gtest/gtest.h>
#include <sys/xattr.h>

namespace snapvol::fs {
namespace {

std::vector<std::string> Names(const objects::Entry& e) {
  std::vector<std::string> out;
  for (const objects::Xattr& x : e.xattrs()) out.push_back(x.name() + "=" + x.value());
  return out;
}

TEST(XattrListTest, KeptSortedByName) {
  objects::Entry e;
  ASSERT_TRUE(PutXattr(&e, "user.b", "2", 0).ok());
  ASSERT_TRUE(PutXattr(&e, "user.a", "1", 0).ok());
  ASSERT_TRUE(PutXattr(&e, "user.c", "3", 0).ok());
  EXPECT_EQ(Names(e), (std::vector<std::string>{"user.a=1", "user.b=2", "user.c=3"}));
  ASSERT_TRUE(PutXattr(&e, "user.b", "22", 0).ok());
  EXPECT_EQ(*FindXattr(e, "user.b"), "22");
  ASSERT_TRUE(DeleteXattr(&e, "user.a").ok());
  EXPECT_EQ(Names(e), (std::vector<std::string>{"user.b=22", "user.c=3"}));
}

TEST(XattrListTest, FlagsAndMissingNames) {
  objects::Entry e;
  EXPECT_EQ(PutXattr(&e, "user.a", "1", XATTR_REPLACE).sys_errno(), ENODATA);
  ASSERT_TRUE(PutXattr(&e, "user.a", "1", XATTR_CREATE).ok());
  EXPECT_EQ(PutXattr(&e, "user.a", "2", XATTR_CREATE).sys_errno(), EEXIST);
  ASSERT_TRUE(PutXattr(&e, "user.a", "2", XATTR_REPLACE).ok());
  EXPECT_EQ(FindXattr(e, "user.none").status().sys_errno(), ENODATA);
  EXPECT_EQ(DeleteXattr(&e, "user.none").sys_errno(), ENODATA);
}

}  // namespace
}  // namespace snapvol::fs
