#include "driver/volume/tree_page.h"

#include <gtest/gtest.h>

#include "driver/store/object_codec.h"
#include "tests/volume/test_store.h"

namespace snapvol::volume {
namespace {

TEST(TreePageTest, SizesMatchTheEncoding) {
  for (uint32_t level : {0u, 1u, 5u, 200u}) {
    objects::TreePage page;
    page.set_level(level);
    EXPECT_EQ(EmptyPageBytes(level), store::EncodeTreePage(page).size()) << level;
    size_t expect = EmptyPageBytes(level);
    for (int i = 0; i < 40; ++i) {
      if (level == 0) {
        objects::Entry* e = page.add_entries();
        e->set_name(std::string(i * 7 + 1, 'n'));
        e->set_size(static_cast<uint64_t>(i) << (i % 40));
        e->mutable_content()->set_inline_data(std::string(i * 13, 'd'));
        expect += RepeatedFieldBytes(e->ByteSizeLong());
      } else {
        objects::PageRef* r = page.add_children();
        r->set_first_name(std::string(i * 5 + 1, 'f'));
        r->set_hash(std::string(32, 'h'));
        r->set_entries(static_cast<uint64_t>(i) * 1000);
        expect += RepeatedFieldBytes(r->ByteSizeLong());
      }
      EXPECT_EQ(expect, store::EncodeTreePage(page).size());
    }
  }
}

TEST(TreePageTest, TotalsPerEntry) {
  objects::Entry f;
  f.set_type(objects::FILE);
  f.set_size(10);
  EXPECT_EQ(EntryInodes(f), 1u);
  EXPECT_EQ(EntryBytes(f), 10u);
  objects::Entry d;
  d.set_type(objects::DIRECTORY);
  d.set_subtree_inodes(7);
  d.set_subtree_bytes(70);
  EXPECT_EQ(EntryInodes(d), 8u);
  EXPECT_EQ(EntryBytes(d), 70u);
  objects::Entry l;
  l.set_type(objects::SYMLINK);
  l.set_size(5);
  EXPECT_EQ(EntryBytes(l), 0u);
}

TEST(TreePageTest, EmptyTreeAndShapeChecks) {
  EXPECT_EQ(EmptyTreeHash(), core::Hash::Of(store::EncodeTreePage(objects::TreePage())));
  EXPECT_TRUE(IsEmptyTree(core::Hash()));
  EXPECT_TRUE(IsEmptyTree(EmptyTreeHash()));

  testing::MemObjectStore objects;
  objects::TreePage mixed;
  mixed.set_level(1);
  mixed.add_entries()->set_name("x");
  // Writers refuse such a page; one stored anyway is refused on reading.
  EXPECT_TRUE(store::PutTreePage(objects, mixed).status().Is(core::Code::kCorruption));
  auto h = objects.PutContent(store::ObjectKind::kTree, store::EncodeTreePage(mixed));
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(LoadTreePage(objects, *h, -1).status().Is(core::Code::kCorruption));
  objects::TreePage leaf;
  objects::Entry* x = leaf.add_entries();
  x->set_name("x");
  x->set_type(objects::FIFO);
  auto lh = store::PutTreePage(objects, leaf);
  ASSERT_TRUE(lh.ok());
  EXPECT_TRUE(LoadTreePage(objects, *lh, 0).ok());
  EXPECT_TRUE(LoadTreePage(objects, *lh, 1).status().Is(core::Code::kCorruption));
}

}  // namespace
}  // namespace snapvol::volume
