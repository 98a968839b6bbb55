#include "driver/store/object_codec.h"

#include <gtest/gtest.h>

#include "driver/store/local/local_object_store.h"
#include "tests/store/temp_dir.h"

namespace snapvol::store {
namespace {

using core::Code;

objects::TreePage SamplePage() {
  objects::TreePage page;
  page.set_level(0);
  for (const char* name : {"a.txt", "b", "link"}) {
    auto* e = page.add_entries();
    e->set_name(name);
    e->set_type(objects::FILE);
    e->set_mode(0644);
    e->set_size(3);
    e->set_mtime_ns(1700000000000000000);
    e->mutable_content()->set_inline_data("abc");
    auto* x = e->add_xattrs();
    x->set_name("user.k");
    x->set_value("v");
  }
  return page;
}

objects::Commit SampleCommit() {
  objects::Commit c;
  c.set_volume_id("0123456789abcdef0123456789abcdef");
  c.set_version(7);
  c.set_parent(std::string(Hash::Of("parent").Bytes()));
  c.mutable_root()->set_type(objects::DIRECTORY);
  c.mutable_root()->set_tree(std::string(Hash::Of("tree").Bytes()));
  c.set_time_ns(123);
  c.mutable_author()->set_host("node-1");
  c.mutable_summary()->set_added(2);
  c.mutable_summary()->add_sample("A /x");
  c.set_inodes(3);
  c.set_message("hello");
  return c;
}

TEST(ObjectCodecTest, RoundTripsEveryStructuredKind) {
  objects::TreePage page = SamplePage();
  std::string bytes = EncodeTreePage(page);
  EXPECT_EQ(bytes.substr(0, 4), "svT1");
  auto back = DecodeTreePage(bytes, Hash::Of(bytes));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->SerializeAsString(), page.SerializeAsString());

  objects::FileIndex index;
  for (int i = 0; i < 3; ++i) {
    auto* c = index.add_chunks();
    c->set_hash(std::string(Hash::Of(std::to_string(i)).Bytes()));
    c->set_size(1 << 20);
  }
  bytes = EncodeFileIndex(index);
  EXPECT_EQ(bytes.substr(0, 4), "svI1");
  auto index_back = DecodeFileIndex(bytes, Hash::Of(bytes));
  ASSERT_TRUE(index_back.ok());
  EXPECT_EQ(index_back->chunks_size(), 3);
  EXPECT_EQ(index_back->chunks(2).size(), 1u << 20);

  objects::Commit commit = SampleCommit();
  bytes = EncodeCommit(commit);
  EXPECT_EQ(bytes.substr(0, 4), "svC1");
  auto commit_back = DecodeCommit(bytes, Hash::Of(bytes));
  ASSERT_TRUE(commit_back.ok());
  EXPECT_EQ(commit_back->version(), 7u);
  EXPECT_EQ(commit_back->message(), "hello");
  EXPECT_EQ(*HashField(commit_back->parent(), "parent"), Hash::Of("parent"));
}

TEST(ObjectCodecTest, EncodingIsDeterministic) {
  // Same message built in a different order → same bytes → same object name.
  objects::Commit a = SampleCommit();
  objects::Commit b;
  b.set_message("hello");
  b.set_inodes(3);
  b.mutable_summary()->add_sample("A /x");
  b.mutable_summary()->set_added(2);
  b.mutable_author()->set_host("node-1");
  b.set_time_ns(123);
  b.mutable_root()->set_tree(std::string(Hash::Of("tree").Bytes()));
  b.mutable_root()->set_type(objects::DIRECTORY);
  b.set_parent(std::string(Hash::Of("parent").Bytes()));
  b.set_version(7);
  b.set_volume_id("0123456789abcdef0123456789abcdef");
  EXPECT_EQ(EncodeCommit(a), EncodeCommit(b));
  EXPECT_EQ(EncodeTreePage(SamplePage()), EncodeTreePage(SamplePage()));
  // A pinned encoding: changing it changes every object name (format break).
  objects::FileIndex index;
  auto* c = index.add_chunks();
  c->set_hash("h");
  c->set_size(5);
  EXPECT_EQ(EncodeFileIndex(index), std::string("svI1\x0a\x05\x0a\x01h\x10\x05", 11));
}

TEST(ObjectCodecTest, BadMagicOrGarbageIsCorruptionNamingTheObject) {
  std::string page = EncodeTreePage(SamplePage());
  Hash id = Hash::Of("some id");
  // A commit is not a tree.
  auto wrong = DecodeTreePage(EncodeCommit(SampleCommit()), id);
  EXPECT_EQ(wrong.status().code(), Code::kCorruption);
  EXPECT_NE(wrong.status().message().find(id.Hex()), std::string::npos);
  // Future format version.
  std::string v9 = page;
  v9[3] = '9';
  EXPECT_EQ(DecodeTreePage(v9, id).status().code(), Code::kCorruption);
  // The packed-page header over a page without packed entries.
  std::string v2 = page;
  v2[3] = '2';
  EXPECT_EQ(DecodeTreePage(v2, id).status().code(), Code::kCorruption);
  // Too short for a magic.
  EXPECT_EQ(DecodeCommit("sv", id).status().code(), Code::kCorruption);
  EXPECT_EQ(DecodeFileIndex("", id).status().code(), Code::kCorruption);
  // Right magic, undecodable body (truncated varint, invalid wire type).
  EXPECT_EQ(DecodeTreePage(std::string("svT1\xff\xff\xff", 7), id).status().code(),
            Code::kCorruption);
  EXPECT_EQ(DecodeCommit(std::string("svC1\x0f\x01", 6), id).status().code(), Code::kCorruption);
  // Truncated real object.
  auto cut = DecodeTreePage(page.substr(0, page.size() - 3), id);
  EXPECT_EQ(cut.status().code(), Code::kCorruption);
  // Malformed hash field.
  EXPECT_EQ(HashField("short", "tree ref").status().code(), Code::kCorruption);
}

TEST(ObjectCodecTest, PutAndGetThroughAStore) {
  TempDir dir;
  auto store = LocalObjectStore::Open(dir.path(), core::Env::Default());
  ASSERT_TRUE(store.ok());
  auto id = PutTreePage(**store, SamplePage());
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, Hash::Of(EncodeTreePage(SamplePage())));
  auto page = GetTreePage(**store, *id);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->entries_size(), 3);
  auto commit_id = PutCommit(**store, SampleCommit());
  ASSERT_TRUE(commit_id.ok());
  EXPECT_EQ(GetCommit(**store, *commit_id)->version(), 7u);
  // Asking for the wrong kind decodes as Corruption, never as a wrong value.
  EXPECT_EQ(GetFileIndex(**store, *id).status().code(), Code::kCorruption);
  EXPECT_EQ(GetTreePage(**store, Hash::Of("absent")).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace snapvol::store
