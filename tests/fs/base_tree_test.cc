#include "driver/fs/base_tree.h"

#include <gtest/gtest.h>

#include "tests/fs/view_fixture.h"

namespace snapvol::fs {
namespace {

class BaseTreeTest : public testing::ViewFixture {
 protected:
  void SetUp() override {
    ViewFixture::SetUp();
    trees_ = std::make_unique<TreeCache>(store_->objects.get(), 1 << 20);
    base_ = std::make_unique<BaseTree>(&table_, trees_.get(), store_->objects.get());
  }
  void TearDown() override {
    base_.reset();
    trees_.reset();
    ViewFixture::TearDown();
  }
  Node* AttachRoot() {
    auto snap = engine_->Head(Volume());
    Node* root = table_.Add(BaseTree::NodeFromEntry(snap->root()));
    root->nlookup = 1;
    return root;
  }

  InodeTable table_;
  std::unique_ptr<TreeCache> trees_;
  std::unique_ptr<BaseTree> base_;
  std::mutex mu_;
};

TEST_F(BaseTreeTest, ResolvesNamesAndLoadsEntriesOnDemand) {
  Seed({{"d/f", "hello"}});
  std::unique_lock<std::mutex> lock(mu_);
  Node* root = AttachRoot();
  auto d = base_->Resolve(lock, root, "d");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_NE(*d, nullptr);
  table_.Ref(*d);  // the kernel's references: otherwise dropped when unpinned
  EXPECT_TRUE((*d)->is_dir());
  EXPECT_EQ(root->dir->children.count("d"), 1u);
  auto f = base_->Resolve(lock, *d, "f");
  ASSERT_TRUE(f.ok() && *f != nullptr);
  table_.Ref(*f);
  EXPECT_EQ((*f)->attr.size, 5u);
  EXPECT_EQ((*f)->entry, nullptr);  // attributes only, until asked
  ASSERT_TRUE(base_->LoadEntry(lock, *f).ok());
  ASSERT_NE((*f)->entry, nullptr);
  auto layout = base_->LoadLayout(lock, *f);
  ASSERT_TRUE(layout.ok()) << layout.status().ToString();
  EXPECT_NE(*layout, nullptr);
  auto none = base_->Resolve(lock, *d, "none");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
  auto empty = base_->DirIsEmpty(*d);
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(*empty);
}

// One node per hard-link group: a second name of a loaded link id binds the
// same node.
TEST_F(BaseTreeTest, BindsHardLinkedNamesToOneNode) {
  std::unique_lock<std::mutex> lock(mu_);
  Node* root = AttachRoot();
  objects::Entry e;
  e.set_type(objects::FILE);
  e.set_link_id(42);
  Node* a = base_->Bind(root, "a", e);
  Node* b = base_->Bind(root, "b", e);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a->names(), 2u);
  EXPECT_EQ(table_.LinkGroup(42), a);
}

}  // namespace
}  // namespace snapvol::fs
