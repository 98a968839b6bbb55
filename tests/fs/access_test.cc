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

TEST(AccessTest, Names) {
  EXPECT_TRUE(CheckName("a").ok());
  EXPECT_EQ(CheckName("").sys_errno(), EINVAL);
  EXPECT_EQ(CheckName("..").sys_errno(), EINVAL);
  EXPECT_EQ(CheckName("a/b").sys_errno(), EINVAL);
  EXPECT_EQ(CheckName(std::string("a\0b", 3)).sys_errno(), EINVAL);
  EXPECT_TRUE(CheckName(std::string(255, 'x')).ok());
  EXPECT_EQ(CheckName(std::string(256, 'x')).sys_errno(), ENAMETOOLONG);
}

TEST(AccessTest, Removal) {
  const Object dir{01777, 0, 0, true, false};
  const Object mine{0644, 1000, 1000, false, true};
  const Object theirs{0644, 1001, 1001, false, true};
  Cred me(1000, 1000);
  EXPECT_TRUE(CheckRemoval(dir, mine, me).ok());
  EXPECT_EQ(CheckRemoval(dir, theirs, me).sys_errno(), EPERM);  // sticky
  EXPECT_EQ(CheckRemoval(Object{0755, 0, 0, true, false}, mine, me).sys_errno(), EACCES);
}

// Who may change what (notify_change): the owner the mode, a writer only
// the kernel's clearing of set-id bits; CAP_CHOWN owners; times.
TEST(AccessTest, SetAttrRules) {
  const Object file{06755, 1000, 1000, false, true};
  Cred owner(1000, 1000);
  Cred writer(1001, 1000, {}, [] { return uint64_t{0}; });
  SetAttrIn chmod;
  chmod.mode = 0600;
  EXPECT_TRUE(CheckSetAttr(file, chmod, owner).ok());
  EXPECT_EQ(CheckSetAttr(file, chmod, writer).sys_errno(), EPERM);
  SetAttrIn kill;
  kill.mode = 0775;  // only clears set-id bits
  const Object writable{06775, 1000, 1000, false, true};
  EXPECT_TRUE(CheckSetAttr(writable, kill, writer).ok());
  SetAttrIn chown;
  chown.uid = 5;
  EXPECT_EQ(CheckSetAttr(file, chown, owner).sys_errno(), EPERM);
  EXPECT_TRUE(CheckSetAttr(file, chown, Cred()).ok());
  SetAttrIn touch;
  touch.atime_now = touch.mtime_now = true;
  EXPECT_TRUE(CheckSetAttr(writable, touch, writer).ok());
  SetAttrIn explicit_time;
  explicit_time.mtime_ns = 5;
  EXPECT_EQ(CheckSetAttr(writable, explicit_time, writer).sys_errno(), EPERM);
  SetAttrIn trunc;
  trunc.size = 0;
  EXPECT_EQ(CheckSetAttr(Object{0755, 0, 0, true, false}, trunc, Cred()).sys_errno(), EISDIR);
}

// The set-id bits a write clears (file_remove_privs) and a chmod drops.
TEST(AccessTest, SetIdClearing) {
  Cred user(1000, 1000, {}, [] { return uint64_t{0}; });
  EXPECT_EQ(ModeAfterWrite(04755, user), 0755u);
  EXPECT_EQ(ModeAfterWrite(06755, user), 0755u);
  EXPECT_EQ(ModeAfterWrite(02755, user), 0755u);
  EXPECT_EQ(ModeAfterWrite(02705, user), std::nullopt);  // set-gid without group x: kept
  EXPECT_EQ(ModeAfterWrite(0644, user), std::nullopt);
  EXPECT_EQ(ModeAfterWrite(06755, Cred()), std::nullopt);  // CAP_FSETID
  EXPECT_EQ(ModeAfterChmod(02755, 2000, user), 0755u);     // not in the group
  EXPECT_EQ(ModeAfterChmod(02755, 1000, user), 02755u);
}

TEST(AccessTest, XattrNamespaces) {
  const Object file{0644, 1000, 1000, false, true};
  const Object fifo{0666, 1000, 1000, false, false};
  Cred owner(1000, 1000);
  Cred other(1001, 1001, {}, [] { return uint64_t{0}; });
  EXPECT_TRUE(CheckXattrChange(file, "user.a", owner).ok());
  EXPECT_EQ(CheckXattrChange(file, "user.a", other).sys_errno(), EACCES);
  EXPECT_EQ(CheckXattrChange(fifo, "user.a", owner).sys_errno(), EPERM);
  EXPECT_EQ(CheckXattrChange(file, "trusted.a", owner).sys_errno(), EPERM);
  EXPECT_TRUE(CheckXattrChange(file, "trusted.a", Cred()).ok());
  EXPECT_EQ(CheckXattrChange(file, "security.a", Cred()).sys_errno(), EOPNOTSUPP);
  EXPECT_TRUE(CheckXattrRead(file, "user.a", other).ok());
  EXPECT_EQ(CheckXattrRead(file, "trusted.a", other).sys_errno(), ENODATA);
  EXPECT_EQ(CheckXattrRead(file, "system.a", Cred()).sys_errno(), ENODATA);
  EXPECT_FALSE(XattrListed("trusted.a", other));
  EXPECT_TRUE(XattrListed("trusted.a", Cred()));
  EXPECT_TRUE(XattrListed("user.a", other));
}

}  // namespace
}  // namespace snapvol::fs
