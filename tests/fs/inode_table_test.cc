#include "driver/fs/inode_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

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

// Random adds and erases against a reference map: every live node stays
// findable through growth, backward-shift erases and shrinking.
TEST(InodeTableTest, MatchesAReferenceMapUnderChurn) {
  InodeTable t;
  Node* root = t.Add(std::make_unique<Node>());
  std::map<Ino, Node*> live;
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200000; ++round) {
    // Grow for a while, then shrink to a few nodes, then grow again.
    const bool grow = (round / 50000) % 2 == 0 ? rng() % 4 != 0 : rng() % 4 == 0;
    if (grow || live.empty()) {
      Node* n = t.Add(std::make_unique<Node>());
      live[n->ino] = n;
    } else {
      auto it = live.lower_bound(rng() % t.next_ino());
      if (it == live.end()) it = live.begin();
      t.Erase(it->second);
      EXPECT_EQ(t.Get(it->first), nullptr);
      live.erase(it);
    }
    if (round % 9973 == 0) {
      for (const auto& [ino, n] : live) ASSERT_EQ(t.Get(ino), n) << "round " << round;
    }
  }
  EXPECT_EQ(t.size(), live.size() + 1);
  EXPECT_EQ(t.root(), root);
  for (const auto& [ino, n] : live) ASSERT_EQ(t.Get(ino), n);
  size_t visited = 0;
  t.ForEach([&](Node*) { ++visited; });
  EXPECT_EQ(visited, t.size());
  EXPECT_EQ(t.Get(t.next_ino()), nullptr);
}

// The hash stays between 3/16 and 3/4 full, so memory follows the number of
// nodes the kernel holds, down as well as up.
TEST(InodeTableTest, CapacityFollowsSize) {
  InodeTable t;
  t.Add(std::make_unique<Node>());
  std::vector<Node*> nodes;
  for (int i = 0; i < 100000; ++i) nodes.push_back(t.Add(std::make_unique<Node>()));
  EXPECT_LE(t.size() * 4, t.capacity() * 3);
  EXPECT_GE(t.size() * 16, t.capacity() * 3);
  const size_t full = t.capacity();
  for (Node* n : nodes) t.Erase(n);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_LT(t.capacity(), full / 1000);
  EXPECT_NE(t.root(), nullptr);
}

// A mount holds one Node per inode the kernel caches: 1M after a `find`
// over 1M files (docs/performance.md). 216 bytes is a 224-byte malloc
// chunk; growing past it costs 16 MiB per million inodes.
TEST(NodeTest, StaysSmall) { EXPECT_LE(sizeof(Node), 216u); }

TEST(MoreNamesTest, AllocatesOnlyWhileNonEmpty) {
  Node a, b;
  MoreNames names;
  EXPECT_TRUE(names.empty());
  EXPECT_EQ(names.size(), 0u);
  EXPECT_EQ(names.begin(), names.end());
  names.emplace_back(&a, "x");
  names.emplace_back(&b, "y");
  EXPECT_FALSE(names.empty());
  EXPECT_EQ(names.size(), 2u);
  EXPECT_EQ(names.back().second, "y");
  names.pop_back();
  EXPECT_EQ(names.size(), 1u);
  names.pop_back();
  EXPECT_TRUE(names.empty());
  EXPECT_EQ(names.begin(), names.end());
}

TEST(MoreNamesTest, EraseRemoveIdiom) {
  Node a, b;
  MoreNames names;
  auto drop = [&names](Node* dir) {
    names.erase(
        std::remove_if(names.begin(), names.end(), [&](const auto& p) { return p.first == dir; }),
        names.end());
  };
  drop(&a);  // on an empty list: no-op
  EXPECT_TRUE(names.empty());
  names.emplace_back(&a, "x");
  names.emplace_back(&b, "y");
  names.emplace_back(&a, "z");
  drop(&a);
  ASSERT_EQ(names.size(), 1u);
  const MoreNames& view = names;
  for (const auto& [dir, name] : view) {
    EXPECT_EQ(dir, &b);
    EXPECT_EQ(name, "y");
  }
  drop(&b);
  EXPECT_TRUE(names.empty());
}

// The lookup-count rules (passthrough_hp): a node nothing holds is erased
// at zero; one that is open, pinned, or attached with local state is kept
// until the last of those lets go; erasing a directory unbinds its children.
TEST(InodeTableTest, DropRules) {
  InodeTable t;
  Node* root = t.Add(std::make_unique<Node>());
  root->dir = std::make_unique<DirState>();
  root->type = NodeType::kDir;
  auto bind = [&](Node* dir, const std::string& name, Node* n) {
    AddName(n, dir, name);
    Child c;
    c.node = n;
    dir->dir->children[name] = c;
  };
  Node* d = t.Add(std::make_unique<Node>());
  d->type = NodeType::kDir;
  d->dir = std::make_unique<DirState>();
  bind(root, "d", d);
  Node* f = t.Add(std::make_unique<Node>());
  bind(d, "f", f);
  const Ino d_ino = d->ino, f_ino = f->ino;
  t.Ref(f);
  f->opens = 1;
  t.Unref(f, 1);
  EXPECT_EQ(t.Get(f_ino), f);  // open
  f->opens = 0;
  {
    InodeTable::Pin pin(&t, f);
    t.DropIfUnused(f);
    EXPECT_EQ(t.Get(f_ino), f);  // pinned
  }
  EXPECT_EQ(t.Get(f_ino), nullptr);  // the pin's end dropped it
  // and then its parent, holding nothing (d is freed: not looked into)
  EXPECT_EQ(t.Get(d_ino), nullptr);
  EXPECT_EQ(root->dir->children.count("d"), 0u);
  t.DropIfUnused(root);
  EXPECT_EQ(t.root(), root);  // never the root
  // Kept (local state) and attached: stays.
  Node* k = t.Add(std::make_unique<Node>());
  bind(root, "k", k);
  k->kept = true;
  t.DropIfUnused(k);
  EXPECT_EQ(t.Get(k->ino), k);
}

TEST(InodeTableTest, LinkGroups) {
  InodeTable t;
  t.Add(std::make_unique<Node>());
  Node* a = t.Add(std::make_unique<Node>());
  Node* b = t.Add(std::make_unique<Node>());
  a->link_id = b->link_id = 9;
  EXPECT_EQ(t.LinkGroup(9), nullptr);
  t.AddLink(a);
  t.AddLink(b);  // one is registered already
  EXPECT_EQ(t.LinkGroup(9), a);
  t.RemoveLink(b);  // not the registered one
  EXPECT_EQ(t.LinkGroup(9), a);
  t.RemoveLink(a);
  EXPECT_EQ(t.LinkGroup(9), nullptr);
  EXPECT_EQ(t.LinkGroup(0), nullptr);
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
