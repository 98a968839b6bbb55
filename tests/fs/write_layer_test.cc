#include "driver/fs/write_layer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/fs/view_fixture.h"

namespace snapvol::fs {
namespace {

class WriteLayerTest : public testing::ViewFixture {
 protected:
  void SetUp() override {
    ViewFixture::SetUp();
    std::filesystem::create_directories(dir_ / "data");
    trees_ = std::make_unique<TreeCache>(store_->objects.get(), 1 << 20);
    chunks_ = std::make_unique<ChunkCache>(store_->objects.get(), 16, 1 << 20);
    base_ = std::make_unique<BaseTree>(&table_, trees_.get(), store_->objects.get());
    layer_ = std::make_unique<WriteLayer>((dir_ / "data").string(), store_->objects.get(),
                                          chunks_.get(), &table_, base_.get());
  }
  void TearDown() override {
    layer_.reset();
    base_.reset();
    chunks_.reset();
    trees_.reset();
    ViewFixture::TearDown();
  }
  static std::string Content(UpperFile& f, size_t n) {
    auto use = f.Acquire();
    EXPECT_TRUE(use.ok());
    std::string out(n, '\0');
    EXPECT_EQ(::pread(use->fd(), out.data(), n, 0), static_cast<ssize_t>(n));
    return out;
  }

  InodeTable table_;
  std::unique_ptr<TreeCache> trees_;
  std::unique_ptr<ChunkCache> chunks_;
  std::unique_ptr<BaseTree> base_;
  std::unique_ptr<WriteLayer> layer_;
  std::mutex mu_;
};

TEST_F(WriteLayerTest, NewUpperFilesAreNumberedOnce) {
  auto a = layer_->NewEmpty();
  auto b = layer_->NewEmpty();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)->id(), (*b)->id());
  EXPECT_TRUE(std::filesystem::exists(dir_ / "data" / std::to_string((*a)->id())));
}

// Copy-up copies the committed content (up to the limit); an empty copy-up
// keeps the base entry (xattrs) but not the content.
TEST_F(WriteLayerTest, CopyUpOfACommittedFile) {
  Seed({{"f", "committed"}, {"g", "other"}});
  std::unique_lock<std::mutex> lock(mu_);
  auto snap = engine_->Head(Volume());
  Node* root = table_.Add(BaseTree::NodeFromEntry(snap->root()));
  auto f = base_->Resolve(lock, root, "f");
  ASSERT_TRUE(f.ok() && *f != nullptr);
  table_.Ref(*f);  // the kernel's reference: otherwise dropped when unpinned
  ASSERT_TRUE(layer_->CopyUp(lock, *f, false, 4).ok());
  ASSERT_NE((*f)->upper, nullptr);
  EXPECT_EQ(Content(*(*f)->upper, 4), "comm");
  auto upper = (*f)->upper;
  ASSERT_TRUE(layer_->CopyUp(lock, *f, false, 100).ok());  // has one: no-op
  EXPECT_EQ((*f)->upper, upper);
  auto g = base_->Resolve(lock, root, "g");
  ASSERT_TRUE(g.ok() && *g != nullptr);
  table_.Ref(*g);
  ASSERT_TRUE(layer_->CopyUp(lock, *g, true, 0).ok());
  ASSERT_NE((*g)->upper, nullptr);
  EXPECT_EQ(*(*g)->upper->Size(), 0u);
}

}  // namespace
}  // namespace snapvol::fs
