// CheckTree: walks a directory tree and verifies every B+tree invariant the
// TreeEditor promises (sorted names, page limits, no empty pages, exact
// PageRef and subtree totals, no single-child interior root). For tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "driver/store/object_codec.h"
#include "driver/volume/tree_editor.h"
#include "driver/volume/tree_page.h"

namespace snapvol::volume::testing {

struct PageWalk {
  TreeTotals totals;
  std::string first, last;
  int pages = 0;
};

// Checks the page `h` (and below); `recurse` also checks subdirectories.
inline PageWalk CheckPage(store::ObjectStore& objects, const core::Hash& h, int64_t level,
                          bool is_root, bool recurse);

inline TreeTotals CheckTree(store::ObjectStore& objects, const core::Hash& h, bool recurse = true) {
  if (IsEmptyTree(h)) return {};
  return CheckPage(objects, h, -1, true, recurse).totals;
}

inline void CheckDirEntry(store::ObjectStore& objects, const objects::Entry& e) {
  auto tree = TreeOf(e);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  TreeTotals t = CheckTree(objects, *tree, true);
  EXPECT_EQ(e.subtree_inodes(), t.inodes) << "directory " << e.name();
  EXPECT_EQ(e.subtree_bytes(), t.bytes) << "directory " << e.name();
}

inline PageWalk CheckPage(store::ObjectStore& objects, const core::Hash& h, int64_t level,
                          bool is_root, bool recurse) {
  PageWalk w;
  auto page = store::GetTreePage(objects, h);
  EXPECT_TRUE(page.ok()) << page.status().ToString();
  if (!page.ok()) return w;
  w.pages = 1;
  if (level >= 0) {
    EXPECT_EQ(page->level(), level);
  }
  size_t encoded = store::EncodeTreePage(*page).size();
  if (page->level() == 0) {
    EXPECT_EQ(page->children_size(), 0);
    EXPECT_LE(page->entries_size(), static_cast<int>(kMaxLeafEntries));
    if (page->entries_size() > 1) {
      EXPECT_LE(encoded, kMaxPageBytes);
    }
    if (!is_root) {
      EXPECT_GT(page->entries_size(), 0) << "empty non-root leaf";
    }
    for (const objects::Entry& e : page->entries()) {
      if (!w.first.empty() || w.totals.entries > 0) {
        EXPECT_LT(w.last, e.name());
      }
      if (w.totals.entries == 0) w.first = e.name();
      w.last = e.name();
      w.totals.entries++;
      w.totals.inodes += EntryInodes(e);
      w.totals.bytes += EntryBytes(e);
      if (recurse && e.type() == objects::DIRECTORY) CheckDirEntry(objects, e);
    }
    return w;
  }
  EXPECT_EQ(page->entries_size(), 0);
  EXPECT_LE(page->children_size(), static_cast<int>(kMaxFanout));
  EXPECT_GT(page->children_size(), is_root ? 1 : 0) << "interior root with one child";
  for (const objects::PageRef& ref : page->children()) {
    auto ch = store::HashField(ref.hash(), "ref");
    EXPECT_TRUE(ch.ok());
    if (!ch.ok()) continue;
    PageWalk c = CheckPage(objects, *ch, page->level() - 1, false, recurse);
    EXPECT_EQ(ref.first_name(), c.first);
    EXPECT_EQ(ref.entries(), c.totals.entries);
    EXPECT_EQ(ref.inodes(), c.totals.inodes);
    EXPECT_EQ(ref.bytes(), c.totals.bytes);
    if (w.totals.entries > 0) {
      EXPECT_LT(w.last, c.first);
    }
    if (w.totals.entries == 0) w.first = c.first;
    w.last = c.last;
    w.totals.entries += c.totals.entries;
    w.totals.inodes += c.totals.inodes;
    w.totals.bytes += c.totals.bytes;
    w.pages += c.pages;
  }
  return w;
}

}  // namespace snapvol::volume::testing
