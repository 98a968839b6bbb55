#include "driver/fs/change_tracker.h"

#include <gtest/gtest.h>

namespace snapvol::fs {
namespace {

class ChangeTrackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = NewDir();
    dir_ = NewDir();
    tracker_.Bind(root_, "d", dir_);
  }
  Node* NewDir() {
    auto n = std::make_unique<Node>();
    n->type = NodeType::kDir;
    n->dir = std::make_unique<DirState>();
    return table_.Add(std::move(n));
  }
  Node* NewFile() { return table_.Add(std::make_unique<Node>()); }

  InodeTable table_;
  ChangeTracker tracker_{&table_};
  Node* root_ = nullptr;
  Node* dir_ = nullptr;
};

TEST_F(ChangeTrackerTest, BindingIsPendingAndKeepsTheAncestors) {
  Node* f = NewFile();
  tracker_.Bind(dir_, "f", f);
  const Child& c = dir_->dir->children.at("f");
  EXPECT_TRUE(c.pending);
  EXPECT_FALSE(c.replaced);
  EXPECT_EQ(f->parent, dir_);
  EXPECT_TRUE(f->kept);
  EXPECT_TRUE(dir_->kept);
  EXPECT_TRUE(tracker_.dirs().count(dir_->ino));
  EXPECT_EQ(tracker_.PendingCount(), 2u);  // d in the root, f in d
}

// A name neither in the head nor in a running commit is forgotten; one the
// head may hold leaves a pending whiteout.
TEST_F(ChangeTrackerTest, UnbindForgetsOrLeavesAWhiteout) {
  Node* f = NewFile();
  tracker_.Bind(dir_, "f", f);
  tracker_.Unbind(dir_, "f", f);
  EXPECT_EQ(dir_->dir->children.count("f"), 0u);
  EXPECT_EQ(f->names(), 0u);
  Node* g = NewFile();
  Child base;
  base.node = g;
  base.replaced = true;  // from the base tree
  dir_->dir->children["g"] = base;
  AddName(g, dir_, "g");
  tracker_.Unbind(dir_, "g", g);
  const Child& c = dir_->dir->children.at("g");
  EXPECT_EQ(c.node, nullptr);
  EXPECT_TRUE(c.pending);
  EXPECT_TRUE(c.replaced);
}

TEST_F(ChangeTrackerTest, SequenceNumbersMoveWithEveryChange) {
  Node* f = NewFile();
  tracker_.Bind(dir_, "f", f);
  const uint64_t bound = dir_->dir->children.at("f").seq;
  tracker_.MarkDirty(f);
  EXPECT_GT(f->seq, bound);
  EXPECT_TRUE(f->dirty);
  const uint64_t before = f->seq;
  tracker_.MarkDirty(f);
  EXPECT_GT(f->seq, before);
}

TEST_F(ChangeTrackerTest, SettledDirectoriesAreDropped) {
  Node* f = NewFile();
  tracker_.Bind(dir_, "f", f);
  dir_->dir->children.at("f").pending = false;
  root_->dir->children.at("d").pending = false;
  tracker_.DropSettledDirs();
  EXPECT_TRUE(tracker_.dirs().empty());
  tracker_.MarkDirty(f);
  EXPECT_EQ(tracker_.dirs().count(dir_->ino), 1u);
  EXPECT_EQ(tracker_.PendingCount(), 1u);
  tracker_.DropSettledDirs();
  EXPECT_EQ(tracker_.dirs().count(dir_->ino), 1u);
}

}  // namespace
}  // namespace snapvol::fs
