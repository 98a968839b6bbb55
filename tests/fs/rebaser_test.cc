#include "driver/fs/rebaser.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/fs/view_fixture.h"

namespace snapvol::fs {
namespace {

using testing::ViewFixture;
using RebaserTest = ViewFixture;

bool Has(const std::vector<std::pair<Ino, std::string>>& v, Ino dir, const std::string& name) {
  return std::find(v.begin(), v.end(), std::make_pair(dir, name)) != v.end();
}

// Unchanged nodes keep their inode numbers; a changed file is detached
// (stale) and its name invalidated; directories stay and are invalidated.
TEST_F(RebaserTest, ChangedFilesGetNewNodesUnchangedOnesStay) {
  Seed({{"d/same", "S"}, {"d/changed", "1"}});
  MountServer& s = Server();
  View& v = s.view();
  const Ino d = Find(v, kRootIno, "d");
  const Ino same = Find(v, d, "same");
  const Ino changed = Find(v, d, "changed");
  Seed({{"d/changed", "2"}, {"d/added", "A"}});
  auto inv = s.Reload();
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  EXPECT_TRUE(Has(inv->entries, d, "changed"));
  EXPECT_FALSE(Has(inv->entries, d, "same"));
  EXPECT_NE(std::find(inv->inodes.begin(), inv->inodes.end(), d), inv->inodes.end());
  EXPECT_EQ(Find(v, kRootIno, "d"), d);
  EXPECT_EQ(Find(v, d, "same"), same);
  const Ino again = Find(v, d, "changed");
  EXPECT_NE(again, 0u);
  EXPECT_NE(again, changed);
  EXPECT_NE(Find(v, d, "added"), 0u);
  EXPECT_EQ(v.GetAttr(changed).status().sys_errno(), ESTALE);
}

// Pending changes stay on top of the new base, and the inode count follows
// the new base plus them.
TEST_F(RebaserTest, PendingChangesStayOnTop) {
  Seed({{"a", "A"}});
  MountServer& s = Server();
  View& v = s.view();
  Create(v, kRootIno, "mine", "M");
  const uint64_t before = v.inodes();
  Seed({{"b", "B"}});
  ASSERT_TRUE(s.Reload().ok());
  EXPECT_NE(Find(v, kRootIno, "mine"), 0u);
  EXPECT_NE(Find(v, kRootIno, "b"), 0u);
  EXPECT_EQ(v.PendingCount(), 1u);
  EXPECT_EQ(v.inodes(), before + 1);
}

// A directory another writer deleted is kept with the pending changes
// below it — and with its own xattrs (issue 13).
TEST_F(RebaserTest, DeletedDirectoryKeepsPendingChangesAndItsXattrs) {
  Seed({{"d/x", "X"}});
  {
    MountServer& first = Server();
    ASSERT_TRUE(
        first.view().SetXattr(Find(first.view(), kRootIno, "d"), "user.d", "1", 0, Cred()).ok());
    ASSERT_TRUE(first.Commit(CommitTrigger::kExplicit).ok());
  }
  MountServer& s = Server();
  View& v = s.view();
  const Ino d = Find(v, kRootIno, "d");
  Create(v, d, "new", "N");
  volume::ChangeSet rm;
  ASSERT_TRUE(rm.Delete("/d").ok());
  CommitElsewhere(rm);
  ASSERT_TRUE(s.Reload().ok());
  EXPECT_EQ(Find(v, d, "x"), 0u);  // the other writer's delete shows
  EXPECT_NE(Find(v, d, "new"), 0u);
  auto x = v.GetXattr(d, "user.d", Cred());
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ(*x, "1");
}

}  // namespace
}  // namespace snapvol::fs
