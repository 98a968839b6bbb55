#include "driver/fs/tree_cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include "driver/core/env.h"
#include "driver/store/local/local_object_store.h"
#include "driver/volume/tree_editor.h"
#include "driver/volume/tree_reader.h"

namespace snapvol::fs {
namespace {

class TreeCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tree_cache_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto s = store::LocalObjectStore::Open(dir_.string(), core::Env::Default());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    objects_ = std::move(*s);
    std::map<std::string, std::optional<objects::Entry>> changes;
    for (int i = 0; i < 3000; ++i) {  // several leaf pages and a root above them
      objects::Entry e;
      e.set_type(objects::FILE);
      e.set_name("n" + std::to_string(10000 + i));
      e.set_size(static_cast<uint64_t>(i));
      e.set_mode(0644);
      changes[e.name()] = e;
    }
    auto empty = volume::TreeReader::EmptyTree(*objects_);
    ASSERT_TRUE(empty.ok());
    auto t = volume::UpdateTree(*objects_, *empty, changes);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    tree_ = t->first;
  }
  void TearDown() override {
    objects_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::ObjectStore> objects_;
  Hash tree_;
};

TEST_F(TreeCacheTest, ListRefsMatchesListAcrossPages) {
  TreeCache cache(objects_.get(), 64 << 20);
  for (const std::string after : {"", "n10000", "n11023", "n12500", "n12999", "o"}) {
    for (size_t limit : {1, 100, 1024, 5000}) {
      auto copies = cache.List(tree_, after, limit);
      auto refs = cache.ListRefs(tree_, after, limit);
      ASSERT_TRUE(copies.ok() && refs.ok());
      ASSERT_EQ(copies->size(), refs->entries.size()) << after << " " << limit;
      for (size_t i = 0; i < copies->size(); ++i) {
        EXPECT_EQ((*copies)[i].SerializeAsString(), refs->entries[i]->SerializeAsString());
        if (i == 0) {
          EXPECT_GT(refs->entries[i]->name(), after);
        }
      }
    }
  }
  auto all = cache.ListRefs(tree_, "", 5000);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->entries.size(), 3000u);
  EXPECT_GT(all->pages.size(), 1u);
}

// The listing owns its pages: entries stay valid after the cache dropped
// them (a cache of one page, then other listings evict it).
TEST_F(TreeCacheTest, ListingOutlivesEviction) {
  TreeCache cache(objects_.get(), 1);
  auto first = cache.ListRefs(tree_, "", 10);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->entries.size(), 10u);
  for (const std::string after : {"n11500", "n12500", "n10500"}) {
    ASSERT_TRUE(cache.ListRefs(tree_, after, 2000).ok());
  }
  EXPECT_LE(cache.stats().pages, 1u);
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(first->entries[i]->name(), "n" + std::to_string(10000 + i));
    EXPECT_EQ(first->entries[i]->size(), i);
  }
}

// A directory a lookup finds, or a listing shows, has the root page of its
// tree fetched ahead; the next lookup inside it is then a cache hit.
TEST_F(TreeCacheTest, DirectoriesFoundAreReadAhead) {
  std::map<std::string, std::optional<objects::Entry>> parent;
  for (int i = 0; i < 3; ++i) {
    objects::Entry d;
    d.set_type(objects::DIRECTORY);
    d.set_name("sub" + std::to_string(i));
    d.set_tree(std::string(tree_.Bytes()));
    parent[d.name()] = d;
  }
  auto empty = volume::TreeReader::EmptyTree(*objects_);
  ASSERT_TRUE(empty.ok());
  auto top = volume::UpdateTree(*objects_, *empty, parent);
  ASSERT_TRUE(top.ok());

  auto wait_for_pages = [](TreeCache& cache, size_t n) {
    for (int i = 0; i < 500 && cache.stats().pages < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  {
    TreeCache cache(objects_.get(), 64 << 20);
    auto found = cache.Lookup(top->first, "sub1");
    ASSERT_TRUE(found.ok() && found->has_value());
    // The top page, then sub1's root page (an interior page over 3 leaves).
    wait_for_pages(cache, 2);
    EXPECT_EQ(cache.stats().read_ahead, 1u);
    const uint64_t misses = cache.stats().misses;
    auto inside = cache.Lookup(tree_, "n10000");  // root page hit, one leaf missed
    ASSERT_TRUE(inside.ok() && inside->has_value());
    EXPECT_EQ(cache.stats().misses, misses + 1);
  }
  {
    TreeCache cache(objects_.get(), 64 << 20);
    auto listed = cache.ListRefs(top->first, "", 10);
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed->entries.size(), 3u);
    wait_for_pages(cache, 2);
    EXPECT_EQ(cache.stats().read_ahead, 1u);     // the three share one tree
    auto files = cache.ListRefs(tree_, "", 10);  // files: nothing to read ahead
    ASSERT_TRUE(files.ok());
    EXPECT_EQ(cache.stats().read_ahead, 1u);
  }
}

}  // namespace
}  // namespace snapvol::fs
