#include "driver/fs/access.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace snapvol::fs {
namespace {

TEST(AccessTest, OwnerGroupOther) {
  Cred owner(1000, 1000);
  Cred member(1001, 2000, [] { return std::vector<uint32_t>{1000}; });
  Cred other(1002, 3000);
  EXPECT_TRUE(MayAccess(0640, 1000, 1000, false, owner, kMayRead | kMayWrite));
  EXPECT_FALSE(MayAccess(0640, 1000, 1000, false, owner, kMayExec));
  EXPECT_TRUE(MayAccess(0640, 1000, 1000, false, member, kMayRead));
  EXPECT_FALSE(MayAccess(0640, 1000, 1000, false, member, kMayWrite));
  EXPECT_FALSE(MayAccess(0640, 1000, 1000, false, other, kMayRead));
  // Owner bits apply to the owner even when group or other would allow more.
  EXPECT_FALSE(MayAccess(0077, 1000, 1000, false, owner, kMayRead));
}

TEST(AccessTest, RootBypassesExceptExec) {
  Cred root;
  EXPECT_TRUE(MayAccess(0000, 5, 5, false, root, kMayRead | kMayWrite));
  EXPECT_FALSE(MayAccess(0644, 5, 5, false, root, kMayExec));
  EXPECT_TRUE(MayAccess(0100, 5, 5, false, root, kMayExec));
  EXPECT_TRUE(MayAccess(0000, 5, 5, true, root, kMayExec));
}

TEST(AccessTest, GroupsAreFetchedLazily) {
  int calls = 0;
  Cred c(1001, 2000, [&] {
    ++calls;
    return std::vector<uint32_t>{7};
  });
  EXPECT_TRUE(MayAccess(0604, 1001, 2000, false, c, kMayRead));  // owner: no lookup
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(c.InGroup(7));
  EXPECT_TRUE(c.InGroup(7));
  EXPECT_EQ(calls, 1);
}

TEST(AccessTest, StickyDirectory) {
  Cred alice(1000, 1000), bob(1001, 1001), root;
  EXPECT_TRUE(MayDeleteFromSticky(0777, 0, 1001, alice));  // not sticky
  EXPECT_FALSE(MayDeleteFromSticky(01777, 0, 1001, alice));
  EXPECT_TRUE(MayDeleteFromSticky(01777, 0, 1001, bob));       // owns the file
  EXPECT_TRUE(MayDeleteFromSticky(01777, 1000, 1001, alice));  // owns the directory
  EXPECT_TRUE(MayDeleteFromSticky(01777, 5, 6, root));
}

}  // namespace
}  // namespace snapvol::fs
