#include "driver/volume/tree_reader.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>

#include "driver/store/object_codec.h"
#include "driver/volume/tree_editor.h"
#include "driver/volume/tree_page.h"
#include "tests/volume/test_store.h"

namespace snapvol::volume {
namespace {

using objects::Entry;
using testing::HookedObjectStore;
using testing::MemObjectStore;

std::string Name(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "file-%06d", i);
  return buf;
}

Entry File(uint64_t size) {
  Entry e;
  e.set_type(objects::FILE);
  e.set_mode(0644);
  e.set_size(size);
  e.mutable_content()->set_inline_data(std::string(size, 'x'));
  return e;
}

// A directory of `n` files built in one UpdateTree.
Hash BuildDir(store::ObjectStore& objects, int n, int step = 1) {
  std::map<std::string, std::optional<Entry>> changes;
  for (int i = 0; i < n; i += step) changes[Name(i)] = File(i % 7);
  auto r = UpdateTree(objects, Hash(), changes);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r->first;
}

TEST(TreeReaderTest, EmptyTreeNeedsNoReads) {
  MemObjectStore mem;
  HookedObjectStore objects(&mem);
  auto empty = TreeReader::EmptyTree(objects);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, EmptyTreeHash());
  objects.ResetCounts();
  TreeReader reader(&objects);
  auto found = reader.Lookup(*empty, "x");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  auto list = reader.List(*empty, "", 0);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  EXPECT_EQ(objects.gets.load(), 0);
}

TEST(TreeReaderTest, HugeDirectoryPagesAndLooksUpInLogPages) {
  MemObjectStore mem;
  HookedObjectStore objects(&mem);
  constexpr int kN = 100'000;
  Hash tree = BuildDir(objects, kN, 2);  // even names only
  TreeReader reader(&objects);

  auto root = store::GetTreePage(objects, tree);
  ASSERT_TRUE(root.ok());
  EXPECT_GE(root->level(), 1u);

  for (int i = 0; i < kN; i += 997) {
    objects.ResetCounts();
    auto found = reader.Lookup(tree, Name(i));
    ASSERT_TRUE(found.ok());
    ASSERT_EQ(found->has_value(), i % 2 == 0) << i;
    if (i % 2 == 0) {
      EXPECT_EQ((*found)->name(), Name(i));
      EXPECT_EQ((*found)->size(), static_cast<uint64_t>(i % 7));
    }
    EXPECT_LE(objects.gets.load(), static_cast<int>(root->level()) + 1);
  }
  auto before_all = reader.Lookup(tree, "a");
  ASSERT_TRUE(before_all.ok());
  EXPECT_FALSE(before_all->has_value());
  auto after_all = reader.Lookup(tree, "zzz");
  ASSERT_TRUE(after_all.ok());
  EXPECT_FALSE(after_all->has_value());
}

TEST(TreeReaderTest, ListPagesWithAfterAndLimit) {
  MemObjectStore objects;
  constexpr int kN = 20'000;
  Hash tree = BuildDir(objects, kN);
  TreeReader reader(&objects);

  std::string after;
  int next = 0;
  for (;;) {
    auto page = reader.List(tree, after, 777);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    EXPECT_LE(page->size(), 777u);
    for (const Entry& e : *page) EXPECT_EQ(e.name(), Name(next++));
    after = page->back().name();
  }
  EXPECT_EQ(next, kN);

  // `after` need not be a name in the directory.
  auto mid = reader.List(tree, Name(5000) + "!", 3);
  ASSERT_TRUE(mid.ok());
  ASSERT_EQ(mid->size(), 3u);
  EXPECT_EQ((*mid)[0].name(), Name(5001));

  auto all = reader.List(tree, "", 0);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), static_cast<size_t>(kN));
}

TEST(TreeReaderTest, ForEachVisitsInOrderAndStopsOnError) {
  MemObjectStore objects;
  Hash tree = BuildDir(objects, 5000);
  TreeReader reader(&objects);
  int n = 0;
  ASSERT_TRUE(reader
                  .ForEach(tree,
                           [&](const Entry& e) {
                             EXPECT_EQ(e.name(), Name(n++));
                             return Status::Ok();
                           })
                  .ok());
  EXPECT_EQ(n, 5000);
  n = 0;
  Status s = reader.ForEach(
      tree, [&](const Entry&) { return ++n == 10 ? Status::Aborted("stop") : Status::Ok(); });
  EXPECT_TRUE(s.Is(core::Code::kAborted));
  EXPECT_EQ(n, 10);
}

TEST(TreeReaderTest, ResolveWalksDirectories) {
  MemObjectStore objects;
  Entry root;
  root.set_type(objects::DIRECTORY);
  root.set_mode(0755);
  TreeEditor editor(&objects, root, 1);
  ChangeSet cs;
  ASSERT_TRUE(cs.Put("/a/b/c.txt", File(3)).ok());
  for (const ChangeOp& op : cs.ops()) ASSERT_TRUE(editor.Apply(op).ok());
  auto finished = editor.Finish();
  ASSERT_TRUE(finished.ok());

  TreeReader reader(&objects);
  auto c = reader.Resolve(*finished, {"a", "b", "c.txt"});
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->size(), 3u);
  auto self = reader.Resolve(*finished, {});
  ASSERT_TRUE(self.ok() && self->has_value());
  EXPECT_EQ((*self)->type(), objects::DIRECTORY);
  auto through_file = reader.Resolve(*finished, {"a", "b", "c.txt", "d"});
  ASSERT_TRUE(through_file.ok());
  EXPECT_FALSE(through_file->has_value());
  auto missing = reader.Resolve(*finished, {"a", "x"});
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST(TreeReaderTest, CorruptPageIsAnError) {
  MemObjectStore objects;
  Hash tree = BuildDir(objects, 3000);
  TreeReader reader(&objects);
  objects.Corrupt(tree);
  auto found = reader.Lookup(tree, Name(1));
  EXPECT_TRUE(found.status().Is(core::Code::kCorruption)) << found.status().ToString();
}

TEST(TreeReaderTest, TreeOfRejectsNonDirectories) {
  EXPECT_FALSE(TreeOf(File(1)).ok());
  Entry dir;
  dir.set_type(objects::DIRECTORY);
  dir.set_tree("short");
  EXPECT_TRUE(TreeOf(dir).status().Is(core::Code::kCorruption));
}

}  // namespace
}  // namespace snapvol::volume
