#include "driver/volume/inline_pack.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>

#include "driver/store/object_codec.h"
#include "driver/volume/engine.h"
#include "tests/volume/content_helpers.h"
#include "tests/volume/test_store.h"

namespace snapvol::volume {
namespace {

using core::Code;
using testing::MemObjectStore;
using testing::ReadEntry;
using testing::StoreFile;
using Changes = std::map<std::string, std::optional<objects::Entry>>;

// Bytes no other test writes, so no pack read earlier in this process is
// remembered for them (ReadPacked keeps recent packs).
std::string Unique(const std::string& tag, size_t n) {
  std::string s = "inline_pack_test " + tag + " ";
  while (s.size() < n) s += std::to_string(s.size()) + ",";
  s.resize(n);
  return s;
}

TEST(InlinePackTest, SmallFilesMoveIntoPacksAndReadBack) {
  MemObjectStore objects;
  Changes changes;
  std::map<std::string, std::string> want;
  for (int i = 0; i < 200; ++i) {
    std::string name = "f" + std::to_string(1000 + i);
    want[name] = Unique(name, 1000 + static_cast<size_t>(i) * 13);
    changes[name] = StoreFile(objects, want[name]);
  }
  ASSERT_TRUE(PackInline(objects, &changes).ok());
  std::set<std::string> packs;
  uint64_t packed_bytes = 0;
  for (auto& [name, e] : changes) {
    ASSERT_TRUE(e->content().has_packed()) << name;
    EXPECT_TRUE(e->content().inline_data().empty()) << name;
    const objects::PackSlice& s = e->content().packed();
    EXPECT_LE(s.pack_size(), kPackTargetBytes);
    EXPECT_EQ(s.size(), want[name].size());
    if (packs.insert(s.hash()).second) packed_bytes += s.pack_size();
    EXPECT_EQ(ReadEntry(objects, *e), want[name]) << name;
  }
  uint64_t total = 0;
  for (auto& [name, data] : want) total += data.size();
  EXPECT_EQ(packed_bytes, total);  // every byte once, nothing else
  EXPECT_GT(packs.size(), 1u);     // more than kPackTargetBytes in all: several packs
  EXPECT_EQ(objects.Count(store::ObjectKind::kChunk), packs.size());
}

TEST(InlinePackTest, LeavesTinyFilesChunkedFilesDeletesAndDirectoriesAlone) {
  MemObjectStore objects;
  Changes changes;
  changes["tiny"] = StoreFile(objects, std::string(kPackMinBytes, 't'));
  changes["empty"] = StoreFile(objects, "");
  changes["big"] = StoreFile(objects, Unique("big", kInlineLimit + 1));
  changes["gone"] = std::nullopt;
  objects::Entry dir;
  dir.set_type(objects::DIRECTORY);
  changes["dir"] = dir;
  objects::Entry link;
  link.set_type(objects::SYMLINK);
  link.set_symlink_target(std::string(300, 'l'));
  changes["link"] = link;
  const Changes before = changes;
  ASSERT_TRUE(PackInline(objects, &changes).ok());
  for (auto& [name, e] : changes) {
    if (!e) continue;
    EXPECT_EQ(e->SerializeAsString(), before.at(name)->SerializeAsString()) << name;
  }
  EXPECT_FALSE(changes["gone"].has_value());
}

TEST(InlinePackTest, SameChangesGiveSamePacks) {
  MemObjectStore a, b;
  Changes ca, cb;
  for (int i = 0; i < 5; ++i) {
    std::string name = "n" + std::to_string(i);
    ca[name] = StoreFile(a, Unique(name, 500));
    cb[name] = StoreFile(b, Unique(name, 500));
  }
  ASSERT_TRUE(PackInline(a, &ca).ok());
  ASSERT_TRUE(PackInline(b, &cb).ok());
  for (auto& [name, e] : ca) EXPECT_EQ(e->SerializeAsString(), cb[name]->SerializeAsString());
}

TEST(InlinePackTest, MalformedOrOutOfRangeSlicesAreCorruption) {
  MemObjectStore objects;
  Changes changes;
  changes["a"] = StoreFile(objects, Unique("range", 400));
  ASSERT_TRUE(PackInline(objects, &changes).ok());
  const objects::PackSlice good = changes["a"]->content().packed();

  objects::PackSlice s = good;
  s.set_hash("short");
  EXPECT_EQ(ReadPacked(objects, s).status().code(), Code::kCorruption);
  s = good;
  s.set_offset(good.pack_size());
  s.set_size(1);
  EXPECT_EQ(ReadPacked(objects, s).status().code(), Code::kCorruption);
  s = good;
  s.set_offset(~uint64_t{0});  // offset + size overflows
  EXPECT_EQ(ReadPacked(objects, s).status().code(), Code::kCorruption);
  s = good;
  s.set_pack_size(good.pack_size() + 1);
  s.set_size(good.pack_size() + 1);
  EXPECT_EQ(ReadPacked(objects, s).status().code(), Code::kCorruption);
  auto r = ReadPacked(objects, good);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, Unique("range", 400));
}

TEST(InlinePackTest, ACorruptPackIsNeverServed) {
  MemObjectStore objects;
  Changes changes;
  changes["a"] = StoreFile(objects, Unique("corrupt", 700));
  ASSERT_TRUE(PackInline(objects, &changes).ok());
  auto h = store::HashField(changes["a"]->content().packed().hash(), "test");
  ASSERT_TRUE(h.ok());
  objects.Corrupt(*h);
  EXPECT_EQ(ReadPacked(objects, changes["a"]->content().packed()).status().code(),
            Code::kCorruption);
  auto reader = FileReader::Open(&objects, changes["a"]->content(), 700);
  EXPECT_EQ(reader.status().code(), Code::kCorruption);
}

TEST(InlinePackTest, TreePagesWithPacksUseTheirOwnHeader) {
  MemObjectStore objects;
  objects::TreePage page;
  objects::Entry* e = page.add_entries();
  *e = StoreFile(objects, "x");
  e->set_name("x");
  EXPECT_EQ(store::EncodeTreePage(page).substr(0, 4), "svT1");
  Changes changes;
  changes["y"] = StoreFile(objects, Unique("header", 300));
  ASSERT_TRUE(PackInline(objects, &changes).ok());
  *page.add_entries() = *changes["y"];
  page.mutable_entries(1)->set_name("y");
  std::string bytes = store::EncodeTreePage(page);
  EXPECT_EQ(bytes.substr(0, 4), "svT2");
  Hash id = Hash::Of(bytes);
  auto back = store::DecodeTreePage(bytes, id);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->entries(1).content().has_packed());
  // The old header over packed entries: a reader must not take it.
  bytes.replace(0, 4, "svT1");
  EXPECT_EQ(store::DecodeTreePage(bytes, Hash::Of(bytes)).status().code(), Code::kCorruption);
}

// A change set's small files are packed per directory in name order, their
// bytes freed; other operations and big or tiny files are left alone.
TEST(InlinePackTest, ChangeSetsArePackedPerDirectory) {
  MemObjectStore objects;
  ChangeSet cs;
  std::map<std::string, std::string> want;
  for (int i = 0; i < 20; ++i) {  // two directories, interleaved, names descending
    for (const char* dir : {"a", "b"}) {
      std::string path = std::string(dir) + "/f" + std::to_string(100 - i);
      want[path] = Unique(path, 600);
      testing::PutFile(&cs, objects, path, want[path]);
    }
  }
  testing::PutFile(&cs, objects, "a/tiny", "tiny");
  testing::PutFile(&cs, objects, "a/big", Unique("a/big", kInlineLimit + 10));
  ASSERT_TRUE(cs.Mkdir("c", 0755, 0, 0, 0).ok());
  ASSERT_TRUE(PackChangeSet(objects, &cs).ok());
  std::map<std::string, std::set<std::string>> packs_of_dir;
  std::map<std::string, std::pair<std::string, uint64_t>> slice_of;
  for (const ChangeOp& op : cs.ops()) {
    const std::string path = core::JoinVolumePath(op.path).substr(1);  // no leading '/'
    if (want.count(path) == 0) {
      if (path == "a/tiny") {
        EXPECT_EQ(op.entry.content().inline_data(), "tiny");
      } else {
        EXPECT_FALSE(op.entry.content().has_packed()) << path;
      }
      continue;
    }
    ASSERT_TRUE(op.entry.content().has_packed()) << path;
    EXPECT_LE(op.entry.content().inline_data().capacity(), 15u) << path;  // bytes freed
    packs_of_dir[op.path[0]].insert(op.entry.content().packed().hash());
    slice_of[path] = {op.entry.content().packed().hash(), op.entry.content().packed().offset()};
    EXPECT_EQ(ReadEntry(objects, op.entry), want[path]) << path;
  }
  ASSERT_EQ(packs_of_dir.size(), 2u);
  for (const std::string& h : packs_of_dir["a"]) EXPECT_EQ(packs_of_dir["b"].count(h), 0u);
  // Name order inside a directory's pack: f100 sorts before f81.
  EXPECT_EQ(slice_of["a/f100"].first, slice_of["a/f81"].first);
  EXPECT_LT(slice_of["a/f100"].second, slice_of["a/f81"].second);
}

// Through the engine: a commit of small files writes pages without their
// bytes, and the files read back; a later truncate of a packed file works.
TEST(InlinePackTest, CommitWritesPagesWithoutFileBytes) {
  auto t = testing::OpenTestStore(testing::Backend::kLocal);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  Engine engine(t->store.get(), core::Env::Default());
  auto v = engine.CreateVolume("main", "packs", CreateVolumeOptions());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ChangeSet cs;
  std::map<std::string, std::string> want;
  for (int i = 0; i < 300; ++i) {
    std::string path = "d/f" + std::to_string(i);
    want[path] = Unique(path, 2000 + static_cast<size_t>(i));
    testing::PutFile(&cs, engine.objects(), path, want[path]);
  }
  CommitOptions o;
  o.author = DefaultAuthor("test");
  ASSERT_TRUE(engine.Commit(*v, cs, o).ok());
  auto head = engine.Head(*v);
  ASSERT_TRUE(head.ok());
  auto d = engine.Lookup(*head, Path{"d"});
  ASSERT_TRUE(d.ok() && d->has_value());
  auto tree = TreeOf(**d);
  ASSERT_TRUE(tree.ok());
  auto page = store::GetTreePage(engine.objects(), *tree);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->level(), 0u);
  EXPECT_EQ(page->entries_size(), 300);
  EXPECT_LT(page->ByteSizeLong(), 300u * 200);  // names and attributes, not 600 KB of bytes
  for (const auto& [path, data] : want) {
    EXPECT_EQ(testing::ReadPath(engine, *head, path), data) << path;
  }

  ChangeSet cut;
  AttrChange to10;
  to10.size = 10;
  ASSERT_TRUE(cut.SetAttr("d/f7", to10).ok());
  ASSERT_TRUE(engine.Commit(*v, cut, o).ok());
  head = engine.Head(*v);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(testing::ReadPath(engine, *head, "d/f7"), want["d/f7"].substr(0, 10));
  EXPECT_EQ(testing::ReadPath(engine, *head, "d/f8"), want["d/f8"]);
}

}  // namespace
}  // namespace snapvol::volume
