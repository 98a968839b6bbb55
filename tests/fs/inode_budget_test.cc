#include "driver/fs/inode_budget.h"

#include <gtest/gtest.h>

namespace snapvol::fs {
namespace {

TEST(InodeBudgetTest, BaseCountPlusLocalCreatesMinusDeletes) {
  InodeBudget b(10);
  b.Rebase(8, 0);
  EXPECT_EQ(b.used(), 8u);
  EXPECT_EQ(b.free(), 2u);
  EXPECT_TRUE(b.CheckRoom(2).ok());
  EXPECT_EQ(b.CheckRoom(3).sys_errno(), ENOSPC);
  b.Created();
  b.Created();
  EXPECT_EQ(b.CheckRoom(1).sys_errno(), ENOSPC);
  EXPECT_EQ(b.free(), 0u);
  b.Removed();
  EXPECT_TRUE(b.CheckRoom(1).ok());
  // A reload: a new base with the pending changes on top.
  b.Rebase(3, 2);
  EXPECT_EQ(b.used(), 5u);
  EXPECT_EQ(b.limit(), 10u);
}

TEST(InodeBudgetTest, NeverReportsBelowZero) {
  InodeBudget b(10);
  b.Rebase(1, -5);
  EXPECT_EQ(b.used(), 0u);
  EXPECT_EQ(b.free(), 10u);
}

}  // namespace
}  // namespace snapvol::fs
