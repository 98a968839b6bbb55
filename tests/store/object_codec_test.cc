#include "driver/store/object_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <vector>

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
  // A page is read because something references it: absent is damage.
  EXPECT_EQ(GetTreePage(**store, Hash::Of("absent")).status().code(), Code::kCorruption);
}

TEST(ObjectCodecTest, NamesTargetsAndXattrNamesAreBytes) {
  // Any bytes but '/' and NUL: not UTF-8, control characters, a lone 0x80.
  const std::vector<std::string> names = {
      "bad\xff\xfename", "a\nb", "\x80", "\x1b[31m", "caf\xc3\xa9", std::string(255, '\xfe')};
  objects::TreePage page;
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  for (const std::string& name : sorted) {
    objects::Entry* e = page.add_entries();
    e->set_name(name);
    e->set_type(objects::SYMLINK);
    e->set_mode(0777);
    e->set_symlink_target("../\xff/" + name);
    e->set_size(e->symlink_target().size());
    objects::Xattr* x = e->add_xattrs();
    x->set_name("user.\xfe\x01");
    x->set_value("\xff");
  }
  TempDir dir;
  auto store = LocalObjectStore::Open(dir.path(), core::Env::Default());
  ASSERT_TRUE(store.ok());
  auto id = PutTreePage(**store, page);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto back = GetTreePage(**store, *id);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->entries_size(), static_cast<int>(sorted.size()));
  for (int i = 0; i < back->entries_size(); ++i) {
    EXPECT_EQ(back->entries(i).name(), sorted[i]);
    EXPECT_EQ(back->entries(i).symlink_target(), "../\xff/" + sorted[i]);
    EXPECT_EQ(back->entries(i).xattrs(0).name(), "user.\xfe\x01");
  }
  objects::Commit c = SampleCommit();
  c.set_message("\xff message");
  c.mutable_summary()->add_sample("A /bad\xff");
  c.mutable_author()->set_user("\xfe");
  auto cid = PutCommit(**store, c);
  ASSERT_TRUE(cid.ok()) << cid.status().ToString();
  auto cback = GetCommit(**store, *cid);
  ASSERT_TRUE(cback.ok()) << cback.status().ToString();
  EXPECT_EQ(cback->message(), "\xff message");
  EXPECT_EQ(cback->summary().sample(1), "A /bad\xff");
}

TEST(ObjectCodecTest, TheWireFormatOfNamesIsUnchanged) {
  // Names were protobuf `string` before they were `bytes`: both encode as
  // field 1, length-delimited, so objects written before read the same.
  // Entry{name "a", FILE, mode 0644, size 3, inline "abc"} in a leaf page:
  const std::string old_page(
      "svT1\x12\x11"
      "\x0a\x01"
      "a"
      "\x10\x01"
      "\x18\xa4\x03"
      "\x30\x03"
      "\x42\x05\x0a\x03"
      "abc",
      23);
  auto page = DecodeTreePage(old_page, Hash::Of(old_page));
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->entries_size(), 1);
  EXPECT_EQ(page->entries(0).name(), "a");
  EXPECT_EQ(page->entries(0).content().inline_data(), "abc");
  EXPECT_EQ(EncodeTreePage(*page), old_page);
  // The same page with the name byte 0xff, which `string` refused to parse.
  std::string byte_name = old_page;
  byte_name[8] = '\xff';
  auto bytes_page = DecodeTreePage(byte_name, Hash::Of(byte_name));
  ASSERT_TRUE(bytes_page.ok()) << bytes_page.status().ToString();
  EXPECT_EQ(bytes_page->entries(0).name(), "\xff");
}

objects::Entry ValidFile(const std::string& name) {
  objects::Entry e;
  e.set_name(name);
  e.set_type(objects::FILE);
  e.set_mode(0644);
  e.set_size(3);
  e.mutable_content()->set_inline_data("abc");
  return e;
}

// Each inconsistency a decoder must refuse, as a change to a valid page.
TEST(ObjectCodecTest, InconsistentPagesAreRefusedOnReadAndOnWrite) {
  using Mutate = std::function<void(objects::TreePage*)>;
  const std::string h32(Hash::Of("x").Bytes());
  const std::vector<std::pair<const char*, Mutate>> cases = {
      {"unsorted", [](objects::TreePage* p) { p->mutable_entries()->SwapElements(0, 1); }},
      {"duplicate", [](objects::TreePage* p) { p->mutable_entries(1)->set_name("a"); }},
      {"dot-dot", [](objects::TreePage* p) { p->mutable_entries(0)->set_name(".."); }},
      {"dot", [](objects::TreePage* p) { p->mutable_entries(0)->set_name("."); }},
      {"empty name", [](objects::TreePage* p) { p->mutable_entries(0)->set_name(""); }},
      {"slash", [](objects::TreePage* p) { p->mutable_entries(0)->set_name("a/b"); }},
      {"nul", [](objects::TreePage* p) { p->mutable_entries(0)->set_name(std::string("a\0", 2)); }},
      {"256 bytes",
       [](objects::TreePage* p) { p->mutable_entries(1)->set_name(std::string(256, 'b')); }},
      {"unknown type",
       [](objects::TreePage* p) { p->mutable_entries(0)->set_type(objects::EntryType(9)); }},
      {"no type",
       [](objects::TreePage* p) {
         p->mutable_entries(0)->set_type(objects::ENTRY_TYPE_UNSPECIFIED);
       }},
      {"mode bits", [](objects::TreePage* p) { p->mutable_entries(0)->set_mode(0100644); }},
      {"inline size", [](objects::TreePage* p) { p->mutable_entries(0)->set_size(4); }},
      {"chunk sum",
       [h32](objects::TreePage* p) {
         objects::Content* c = p->mutable_entries(0)->mutable_content();
         c->Clear();
         c->add_chunks()->set_hash(h32);
         c->mutable_chunks(0)->set_size(2);
       }},
      {"chunk hash",
       [](objects::TreePage* p) {
         objects::Content* c = p->mutable_entries(0)->mutable_content();
         c->Clear();
         c->add_chunks()->set_hash("short");
         c->mutable_chunks(0)->set_size(3);
       }},
      {"two forms",
       [h32](objects::TreePage* p) { p->mutable_entries(0)->mutable_content()->set_index(h32); }},
      {"pack outside",
       [h32](objects::TreePage* p) {
         objects::Content* c = p->mutable_entries(0)->mutable_content();
         c->Clear();
         objects::PackSlice* s = c->mutable_packed();
         s->set_hash(h32);
         s->set_pack_size(4);
         s->set_offset(2);
         s->set_size(3);
       }},
      {"dir without tree",
       [](objects::TreePage* p) {
         objects::Entry* e = p->mutable_entries(0);
         e->clear_content();
         e->set_size(0);
         e->set_type(objects::DIRECTORY);
       }},
      {"file with tree", [h32](objects::TreePage* p) { p->mutable_entries(0)->set_tree(h32); }},
      {"symlink size",
       [](objects::TreePage* p) {
         objects::Entry* e = p->mutable_entries(0);
         e->clear_content();
         e->set_type(objects::SYMLINK);
         e->set_symlink_target("target");
       }},
      {"xattr order",
       [](objects::TreePage* p) {
         objects::Entry* e = p->mutable_entries(0);
         e->add_xattrs()->set_name("user.b");
         e->add_xattrs()->set_name("user.a");
       }},
      {"entries in interior", [](objects::TreePage* p) { p->set_level(1); }},
      {"children in leaf",
       [h32](objects::TreePage* p) {
         objects::PageRef* r = p->add_children();
         r->set_first_name("z");
         r->set_hash(h32);
       }},
  };
  TempDir dir;
  auto store = LocalObjectStore::Open(dir.path(), core::Env::Default());
  ASSERT_TRUE(store.ok());
  for (const auto& [what, mutate] : cases) {
    objects::TreePage page;
    *page.add_entries() = ValidFile("a");
    *page.add_entries() = ValidFile("b");
    ASSERT_TRUE(PutTreePage(**store, page).ok()) << what;
    mutate(&page);
    const std::string raw = EncodeTreePage(page);
    auto put = PutTreePage(**store, page);
    EXPECT_TRUE(put.status().Is(Code::kCorruption)) << what << ": " << put.status().ToString();
    EXPECT_FALSE(*(*store)->Contains(Hash::Of(raw), ObjectKind::kTree)) << what;
    auto read = DecodeTreePage(raw, Hash::Of(raw));
    EXPECT_TRUE(read.status().Is(Code::kCorruption)) << what << ": " << read.status().ToString();
  }
}

TEST(ObjectCodecTest, InconsistentCommitsAreRefused) {
  objects::Commit c = SampleCommit();
  TempDir dir;
  auto store = LocalObjectStore::Open(dir.path(), core::Env::Default());
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(PutCommit(**store, c).ok());
  objects::Commit no_parent = c;
  no_parent.clear_parent();
  objects::Commit file_root = c;
  file_root.mutable_root()->set_type(objects::FILE);
  file_root.mutable_root()->clear_tree();
  objects::Commit named_root = c;
  named_root.mutable_root()->set_name("x");
  objects::Commit version0 = c;
  version0.set_version(0);
  for (const objects::Commit* bad : {&no_parent, &file_root, &named_root, &version0}) {
    EXPECT_TRUE(PutCommit(**store, *bad).status().Is(Code::kCorruption));
    const std::string raw = EncodeCommit(*bad);
    EXPECT_TRUE(DecodeCommit(raw, Hash::Of(raw)).status().Is(Code::kCorruption));
  }
}

}  // namespace
}  // namespace snapvol::store
