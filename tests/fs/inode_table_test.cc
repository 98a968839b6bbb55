#include "driver/fs/inode_table.h"

#include <gtest/gtest.h>

namespace snapvol::fs {
namespace {

TEST(InodeTableTest, RootFirstThenIncreasingNeverReused) {
  InodeTable t;
  Node* root = t.Add(std::make_unique<Node>());
  EXPECT_EQ(root->ino, kRootIno);
  EXPECT_EQ(t.root(), root);
  Node* a = t.Add(std::make_unique<Node>());
  Node* b = t.Add(std::make_unique<Node>());
  EXPECT_EQ(a->ino, 2u);
  EXPECT_EQ(b->ino, 3u);
  t.Erase(a);
  EXPECT_EQ(t.Get(2), nullptr);
  Node* c = t.Add(std::make_unique<Node>());
  EXPECT_EQ(c->ino, 4u);  // 2 is not handed out again
  EXPECT_EQ(t.size(), 3u);
}

TEST(InodeTableTest, LookupCounting) {
  InodeTable t;
  t.Add(std::make_unique<Node>());
  Node* n = t.Add(std::make_unique<Node>());
  t.Ref(n);
  t.Ref(n);
  t.Ref(n);
  EXPECT_FALSE(t.Forget(n, 2));
  EXPECT_EQ(n->nlookup, 1u);
  EXPECT_TRUE(t.Forget(n, 1));
}

TEST(InodeTableTest, RootIsNeverErased) {
  InodeTable t;
  Node* root = t.Add(std::make_unique<Node>());
  t.Erase(root);
  EXPECT_EQ(t.root(), root);
}

TEST(InodeTableDeathTest, ForgetBelowZeroAborts) {
  InodeTable t;
  t.Add(std::make_unique<Node>());
  Node* n = t.Add(std::make_unique<Node>());
  t.Ref(n);
  EXPECT_DEATH(t.Forget(n, 2), "below zero");
}

}  // namespace
}  // namespace snapvol::fs
