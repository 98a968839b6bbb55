#include "driver/volume/tree_editor.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "driver/core/names.h"
#include "driver/store/object_codec.h"
#include "driver/volume/file_reader.h"
#include "driver/volume/file_writer.h"
#include "driver/volume/tree_page.h"
#include "tests/volume/test_store.h"
#include "tests/volume/tree_checker.h"

namespace snapvol::volume {
namespace {

using objects::Entry;
using store::ObjectKind;
using testing::CheckDirEntry;
using testing::CheckTree;
using testing::HookedObjectStore;
using testing::MemObjectStore;
using Changes = std::map<std::string, std::optional<Entry>>;

std::string Name(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "n%07d", i);
  return buf;
}

Entry File(const std::string& data, uint32_t mode = 0644) {
  Entry e;
  e.set_type(objects::FILE);
  e.set_mode(mode);
  e.set_size(data.size());
  e.mutable_content()->set_inline_data(data);
  return e;
}

Entry EmptyRootEntry(store::ObjectStore& objects) {
  Entry root;
  root.set_type(objects::DIRECTORY);
  root.set_mode(0755);
  auto t = TreeReader::EmptyTree(objects);
  EXPECT_TRUE(t.ok());
  root.set_tree(std::string(t->Bytes()));
  return root;
}

Path P(std::string_view s) {
  auto p = core::SplitVolumePath(s);
  EXPECT_TRUE(p.ok());
  return *p;
}

ChangeOp PutOp(std::string_view path, Entry e) {
  return ChangeOp{ChangeOp::Kind::kPut, P(path), {}, std::move(e), {}};
}
ChangeOp DeleteOp(std::string_view path) {
  return ChangeOp{ChangeOp::Kind::kDelete, P(path), {}, {}, {}};
}
ChangeOp MoveOp(ChangeOp::Kind k, std::string_view from, std::string_view to) {
  return ChangeOp{k, P(from), P(to), {}, {}};
}
ChangeOp MkdirOp(std::string_view path, uint32_t mode) {
  Entry e;
  e.set_type(objects::DIRECTORY);
  e.set_mode(mode);
  return ChangeOp{ChangeOp::Kind::kMkdir, P(path), {}, e, {}};
}
ChangeOp SetAttrOp(std::string_view path, AttrChange a) {
  return ChangeOp{ChangeOp::Kind::kSetAttr, P(path), {}, {}, a};
}

// Applies ops in one editor and returns the finished root.
Entry Edit(store::ObjectStore& objects, const Entry& root, const std::vector<ChangeOp>& ops,
           ApplyStats* stats = nullptr) {
  TreeEditor editor(&objects, root, 7);
  for (const ChangeOp& op : ops) {
    Status s = editor.Apply(op);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  auto r = editor.Finish();
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (stats) *stats = editor.stats();
  return r.ok() ? *r : root;
}

std::optional<Entry> At(store::ObjectStore& objects, const Entry& root, std::string_view path) {
  TreeReader reader(&objects);
  auto r = reader.Resolve(root, P(path));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::nullopt;
}

std::string ReadFile(store::ObjectStore& objects, const Entry& e) {
  auto reader = FileReader::Open(&objects, e.content(), e.size());
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) return "";
  std::string out;
  Status s = (*reader)->ReadAll([&](std::string_view d) {
    out.append(d);
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// ---- UpdateTree: paging ------------------------------------------------

TEST(UpdateTreeTest, SplitsLeavesAndKeepsTotalsExact) {
  MemObjectStore objects;
  Changes changes;
  for (int i = 0; i < 5000; ++i) changes[Name(i)] = File(std::string(i % 13, 'a'));
  auto r = UpdateTree(objects, Hash(), changes);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  TreeTotals t = CheckTree(objects, r->first);
  EXPECT_EQ(t.entries, 5000u);
  EXPECT_EQ(r->second.entries, 5000u);
  EXPECT_EQ(r->second.inodes, 5000u);
  uint64_t bytes = 0;
  for (int i = 0; i < 5000; ++i) bytes += i % 13;
  EXPECT_EQ(r->second.bytes, bytes);
  auto root = store::GetTreePage(objects, r->first);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->level(), 1u);
}

TEST(UpdateTreeTest, SplitsOnEncodedBytes) {
  MemObjectStore objects;
  Changes changes;
  // 4 KiB inline entries: the byte limit bites long before the entry limit.
  for (int i = 0; i < 600; ++i) changes[Name(i)] = File(std::string(kInlineLimit, 'b'));
  auto r = UpdateTree(objects, Hash(), changes);
  ASSERT_TRUE(r.ok());
  CheckTree(objects, r->first);
  auto root = store::GetTreePage(objects, r->first);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->level(), 1u);
  EXPECT_GE(root->children_size(), 3);
}

TEST(UpdateTreeTest, SingleChangeRewritesOnlyItsPath) {
  MemObjectStore mem;
  HookedObjectStore objects(&mem);
  Changes build;
  for (int i = 0; i < 100'000; ++i) build[Name(i)] = File("x");
  auto built = UpdateTree(objects, Hash(), build);
  ASSERT_TRUE(built.ok());
  auto root = store::GetTreePage(objects, built->first);
  ASSERT_TRUE(root.ok());
  const int depth = static_cast<int>(root->level()) + 1;

  for (int i : {0, 50'000, 99'999}) {
    objects.ResetCounts();
    Changes one;
    one[Name(i)] = File("changed");
    auto r = UpdateTree(objects, built->first, one);
    ASSERT_TRUE(r.ok());
    EXPECT_LE(objects.Puts(ObjectKind::kTree), depth) << i;
    EXPECT_LE(objects.gets.load(), depth) << i;
    EXPECT_EQ(r->second.entries, 100'000u);
  }
  objects.ResetCounts();
  Changes insert;
  insert[Name(123) + "a"] = File("new");
  auto r = UpdateTree(objects, built->first, insert);
  ASSERT_TRUE(r.ok());
  EXPECT_LE(objects.Puts(ObjectKind::kTree), depth + 2);  // a leaf may split
  EXPECT_EQ(r->second.entries, 100'001u);
  CheckTree(objects, r->first);
}

TEST(UpdateTreeTest, DeletingEverythingLeavesTheEmptyTree) {
  MemObjectStore objects;
  Changes build, drop;
  for (int i = 0; i < 3000; ++i) {
    build[Name(i)] = File("x");
    drop[Name(i)] = std::nullopt;
  }
  auto built = UpdateTree(objects, Hash(), build);
  ASSERT_TRUE(built.ok());
  auto r = UpdateTree(objects, built->first, drop);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, EmptyTreeHash());
  EXPECT_EQ(r->second.entries, 0u);
}

TEST(UpdateTreeTest, ShrinkingCollapsesTheRootAndMergesPages) {
  MemObjectStore objects;
  Changes build, drop;
  for (int i = 0; i < 50'000; ++i) build[Name(i)] = File("x");
  for (int i = 0; i < 50'000; ++i)
    if (i % 100 != 0) drop[Name(i)] = std::nullopt;
  auto built = UpdateTree(objects, Hash(), build);
  ASSERT_TRUE(built.ok());
  auto r = UpdateTree(objects, built->first, drop);
  ASSERT_TRUE(r.ok());
  CheckTree(objects, r->first);
  EXPECT_EQ(r->second.entries, 500u);
  auto root = store::GetTreePage(objects, r->first);
  ASSERT_TRUE(root.ok());
  // 500 entries fit one leaf once the small pages are merged.
  EXPECT_EQ(root->level(), 0u);
}

TEST(UpdateTreeTest, RandomBatchesMatchAMap) {
  MemObjectStore objects;
  std::mt19937 rng(1234);
  std::map<std::string, std::string> model;
  Hash tree;
  for (int round = 0; round < 40; ++round) {
    Changes changes;
    int n = std::uniform_int_distribution<int>(1, round % 5 == 0 ? 5000 : 300)(rng);
    // Grow for the first rounds, then mostly delete.
    int delete_pct = round < 20 ? 20 : 80;
    for (int k = 0; k < n; ++k) {
      std::string name = Name(std::uniform_int_distribution<int>(0, 40'000)(rng));
      if (std::uniform_int_distribution<int>(0, 99)(rng) < delete_pct) {
        changes[name] = std::nullopt;
      } else {
        std::string data(std::uniform_int_distribution<int>(0, 40)(rng), 'a' + round % 26);
        changes[name] = File(data);
      }
    }
    for (const auto& [name, e] : changes) {
      if (e) {
        model[name] = e->content().inline_data();
      } else {
        model.erase(name);
      }
    }
    auto r = UpdateTree(objects, tree, changes);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    tree = r->first;
    TreeTotals t = CheckTree(objects, tree);
    ASSERT_EQ(t.entries, model.size());
    EXPECT_EQ(r->second.entries, model.size());
    EXPECT_EQ(r->second.inodes, model.size());
    uint64_t bytes = 0;
    for (const auto& [name, data] : model) bytes += data.size();
    EXPECT_EQ(r->second.bytes, bytes);
  }
  TreeReader reader(&objects);
  auto all = reader.List(tree, "", 0);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), model.size());
  auto it = model.begin();
  for (const Entry& e : *all) {
    EXPECT_EQ(e.name(), it->first);
    EXPECT_EQ(e.content().inline_data(), it->second);
    ++it;
  }
}

// ---- TreeEditor: change rules -------------------------------------------

TEST(TreeEditorTest, PutCreatesParentsAndReplacesNonDirectories) {
  MemObjectStore objects;
  Entry root = EmptyRootEntry(objects);
  ApplyStats stats;
  root = Edit(objects, root, {PutOp("/a/b/c", File("hello"))}, &stats);
  EXPECT_EQ(stats.added, 3u);
  EXPECT_EQ(stats.sample, (std::vector<std::string>{"A /a", "A /a/b", "A /a/b/c"}));
  auto a = At(objects, root, "/a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), objects::DIRECTORY);
  EXPECT_EQ(a->mode(), 0755u);
  EXPECT_EQ(a->subtree_inodes(), 2u);
  EXPECT_EQ(a->subtree_bytes(), 5u);
  EXPECT_EQ(root.subtree_inodes(), 3u);

  // /a/b/c is a file: putting below it replaces it by a directory.
  root = Edit(objects, root, {PutOp("/a/b/c/d", File("x"))});
  auto c = At(objects, root, "/a/b/c");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->type(), objects::DIRECTORY);
  EXPECT_EQ(root.subtree_inodes(), 4u);
  EXPECT_EQ(root.subtree_bytes(), 1u);
  CheckDirEntry(objects, root);
}

TEST(TreeEditorTest, MkdirOnExistingDirectoryOnlyChangesAttributes) {
  MemObjectStore objects;
  Entry root = EmptyRootEntry(objects);
  root = Edit(objects, root, {PutOp("/d/f", File("1")), PutOp("/d/g", File("2"))});
  ApplyStats stats;
  root = Edit(objects, root, {MkdirOp("/d", 0700)}, &stats);
  auto d = At(objects, root, "/d");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->mode(), 0700u);
  EXPECT_EQ(d->subtree_inodes(), 2u);
  EXPECT_TRUE(At(objects, root, "/d/f"));
  EXPECT_EQ(stats.modified, 1u);
  // Same attributes again: nothing changes at all.
  Entry again = Edit(objects, root, {MkdirOp("/d", 0700)}, &stats);
  EXPECT_EQ(again.SerializeAsString(), root.SerializeAsString());
  EXPECT_EQ(stats.modified, 0u);
}

// The volume root is a directory that always exists: a Mkdir of it (a
// mount that changed the root's xattrs) sets its attributes and, when
// asked, its xattrs; its tree stays.
TEST(TreeEditorTest, MkdirOfTheRootSetsItsAttributesAndXattrs) {
  MemObjectStore objects;
  Entry root = EmptyRootEntry(objects);
  root = Edit(objects, root, {PutOp("/f", File("1"))});
  ChangeOp set{ChangeOp::Kind::kMkdir, Path(), {}, Entry(), {}};
  set.entry.set_type(objects::DIRECTORY);
  set.entry.set_mode(0700);
  objects::Xattr* x = set.entry.add_xattrs();
  x->set_name("user.x");
  x->set_value("1");
  Entry plain = Edit(objects, root, {set});
  EXPECT_EQ(plain.mode(), 0700u);
  EXPECT_EQ(plain.xattrs_size(), 0);
  set.set_xattrs = true;
  ApplyStats stats;
  root = Edit(objects, root, {set}, &stats);
  ASSERT_EQ(root.xattrs_size(), 1);
  EXPECT_EQ(root.xattrs(0).name(), "user.x");
  EXPECT_EQ(root.xattrs(0).value(), "1");
  EXPECT_TRUE(At(objects, root, "/f"));
  // Other ops still refuse the root.
  TreeEditor editor(&objects, root, 7);
  EXPECT_FALSE(editor.Apply(ChangeOp{ChangeOp::Kind::kPut, Path(), {}, File("x"), {}}).ok());
}

TEST(TreeEditorTest, MkdirOnExistingDirectorySetsXattrsOnlyWhenAsked) {
  MemObjectStore objects;
  Entry root = EmptyRootEntry(objects);
  root = Edit(objects, root, {PutOp("/d/f", File("1"))});
  auto xattrs_of = [&](const Entry& r) {
    std::vector<std::string> out;
    auto d = At(objects, r, "/d");
    if (d) {
      for (const objects::Xattr& x : d->xattrs()) out.push_back(x.name() + "=" + x.value());
    }
    return out;
  };
  ChangeOp set = MkdirOp("/d", 0755);
  auto add = [&](const char* name, const char* value) {
    objects::Xattr* x = set.entry.add_xattrs();
    x->set_name(name);
    x->set_value(value);
  };
  add("user.a", "1");
  add("user.b", "2");
  // Without the flag (a caller that changed attributes only) the xattrs
  // in the op are ignored.
  ApplyStats stats;
  Entry same = Edit(objects, root, {set}, &stats);
  EXPECT_TRUE(xattrs_of(same).empty());
  set.set_xattrs = true;
  root = Edit(objects, root, {set}, &stats);
  EXPECT_EQ(xattrs_of(root), (std::vector<std::string>{"user.a=1", "user.b=2"}));
  EXPECT_EQ(stats.modified, 1u);
  EXPECT_TRUE(At(objects, root, "/d/f"));
  // The whole set replaces the old one: a removed name goes.
  set.entry.clear_xattrs();
  add("user.b", "3");
  root = Edit(objects, root, {set}, &stats);
  EXPECT_EQ(xattrs_of(root), std::vector<std::string>{"user.b=3"});
  // The same set again changes nothing.
  Entry again = Edit(objects, root, {set}, &stats);
  EXPECT_EQ(again.SerializeAsString(), root.SerializeAsString());
  EXPECT_EQ(stats.modified, 0u);
  // A chmod-only op leaves them.
  ChangeOp chmod = MkdirOp("/d", 0700);
  root = Edit(objects, root, {chmod});
  EXPECT_EQ(xattrs_of(root), std::vector<std::string>{"user.b=3"});
  EXPECT_EQ(At(objects, root, "/d")->mode(), 0700u);
}

TEST(TreeEditorTest, DeleteIsRecursiveAndAbsentIsANoop) {
  MemObjectStore objects;
  Entry root = EmptyRootEntry(objects);
  root = Edit(objects, root, {PutOp("/x/y/z", File("abc")), PutOp("/keep", File("k"))});
  ApplyStats stats;
  Entry after =
      Edit(objects, root, {DeleteOp("/x"), DeleteOp("/nope"), DeleteOp("/keep/sub")}, &stats);
  EXPECT_EQ(stats.deleted, 1u);
  EXPECT_EQ(stats.sample, std::vector<std::string>{"D /x"});
  EXPECT_FALSE(At(objects, after, "/x"));
  EXPECT_TRUE(At(objects, after, "/keep"));
  EXPECT_EQ(after.subtree_inodes(), 1u);
  EXPECT_EQ(after.subtree_bytes(), 1u);
  Entry same = Edit(objects, root, {DeleteOp("/nope")});
  EXPECT_EQ(same.SerializeAsString(), root.SerializeAsString());
}

TEST(TreeEditorTest, SetAttrChangesExistingOnly) {
  MemObjectStore objects;
  Entry root = EmptyRootEntry(objects);
  root = Edit(objects, root, {PutOp("/f", File("data"))});
  AttrChange a;
  a.mode = 0600;
  a.uid = 12;
  a.mtime_ns = 99;
  root = Edit(objects, root, {SetAttrOp("/f", a), SetAttrOp("/missing", a), SetAttrOp("/", a)});
  auto f = At(objects, root, "/f");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->mode(), 0600u);
  EXPECT_EQ(f->uid(), 12u);
  EXPECT_EQ(f->mtime_ns(), 99);
  EXPECT_EQ(root.mode(), 0600u);
  EXPECT_FALSE(At(objects, root, "/missing"));
}

TEST(TreeEditorTest, TruncateAndExtendInlineAndChunkedFiles) {
  MemObjectStore objects;
  std::string data(1 << 20, '\0');
  std::mt19937 rng(7);
  for (char& c : data) c = static_cast<char>(rng());
  // Small chunks so the file gets a FileIndex.
  FileWriter w(&objects, store::ChunkerParams{4096, 8192, 16384});
  ASSERT_TRUE(w.Write(data).ok());
  auto content = w.Finish();
  ASSERT_TRUE(content.ok());
  ASSERT_FALSE(content->index().empty());
  Entry big;
  big.set_type(objects::FILE);
  big.set_size(data.size());
  *big.mutable_content() = *content;

  Entry root = EmptyRootEntry(objects);
  root = Edit(objects, root, {PutOp("/big", big), PutOp("/small", File("abcdef"))});

  auto resize = [&](std::string_view path, uint64_t size) {
    AttrChange a;
    a.size = size;
    root = Edit(objects, root, {SetAttrOp(path, a)});
    auto e = At(objects, root, path);
    EXPECT_TRUE(e);
    EXPECT_EQ(e->size(), size);
    return ReadFile(objects, *e);
  };
  EXPECT_EQ(resize("/big", 300'001), data.substr(0, 300'001));
  EXPECT_EQ(resize("/big", 100), data.substr(0, 100));
  EXPECT_EQ(resize("/big", 5'000'000), data.substr(0, 100) + std::string(5'000'000 - 100, '\0'));
  EXPECT_EQ(resize("/big", 0), "");
  EXPECT_EQ(resize("/small", 3), "abc");
  EXPECT_EQ(resize("/small", 10), std::string("abc") + std::string(7, '\0'));
  EXPECT_EQ(resize("/small", 10'000), std::string("abc") + std::string(9'997, '\0'));
  EXPECT_EQ(root.subtree_bytes(), 10'000u);
}

TEST(TreeEditorTest, RenameMovesADirectoryAsOneReference) {
  MemObjectStore mem;
  HookedObjectStore objects(&mem);
  Entry root = EmptyRootEntry(objects);
  std::vector<ChangeOp> ops;
  for (int i = 0; i < 3000; ++i) {
    std::string data = "chunk " + std::to_string(i) + std::string(5000, 'z');
    FileWriter w(&objects);
    ASSERT_TRUE(w.Write(data).ok());
    auto c = w.Finish();
    ASSERT_TRUE(c.ok());
    Entry e;
    e.set_type(objects::FILE);
    e.set_size(data.size());
    *e.mutable_content() = *c;
    ops.push_back(PutOp("/data/sub/" + Name(i), e));
  }
  root = Edit(objects, root, ops);
  auto before = At(objects, root, "/data");
  ASSERT_TRUE(before);

  objects.ResetCounts();
  ApplyStats stats;
  root = Edit(objects, root, {MoveOp(ChangeOp::Kind::kRename, "/data", "/moved/here")}, &stats);
  EXPECT_EQ(objects.Puts(ObjectKind::kChunk), 0);
  EXPECT_EQ(objects.Puts(ObjectKind::kIndex), 0);
  EXPECT_LE(objects.Puts(ObjectKind::kTree), 2);  // root page and /moved
  auto after = At(objects, root, "/moved/here");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->tree(), before->tree());
  EXPECT_EQ(after->subtree_inodes(), before->subtree_inodes());
  EXPECT_FALSE(At(objects, root, "/data"));
  EXPECT_EQ(stats.renamed, 1u);
  EXPECT_EQ(stats.sample.back(), "R /data -> /moved/here");
  EXPECT_EQ(root.subtree_inodes(), 3000u + 3);

  objects.ResetCounts();
  root = Edit(objects, root, {MoveOp(ChangeOp::Kind::kCopy, "/moved/here", "/copy")});
  EXPECT_EQ(objects.Puts(ObjectKind::kChunk), 0);
  auto copy = At(objects, root, "/copy");
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy->tree(), before->tree());
  EXPECT_EQ(root.subtree_inodes(), 2 * (3000u + 2) + 1);
  CheckDirEntry(objects, root);
}

TEST(TreeEditorTest, RenameSeesEarlierOpsAndSkipsAbsentSources) {
  MemObjectStore objects;
  Entry root = EmptyRootEntry(objects);
  ApplyStats stats;
  root = Edit(objects, root,
              {PutOp("/new/a", File("1")), PutOp("/new/b", File("2")),
               MoveOp(ChangeOp::Kind::kRename, "/new", "/renamed"), PutOp("/renamed/c", File("3")),
               MoveOp(ChangeOp::Kind::kRename, "/ghost", "/x"),
               MoveOp(ChangeOp::Kind::kCopy, "/renamed/a", "/a-copy")},
              &stats);
  EXPECT_EQ(stats.skipped, std::vector<std::string>{"/ghost"});
  EXPECT_FALSE(At(objects, root, "/new"));
  EXPECT_FALSE(At(objects, root, "/x"));
  for (auto p : {"/renamed/a", "/renamed/b", "/renamed/c", "/a-copy"}) {
    EXPECT_TRUE(At(objects, root, p)) << p;
  }
  EXPECT_EQ(root.subtree_inodes(), 5u);
  CheckDirEntry(objects, root);

  TreeEditor editor(&objects, root, 1);
  EXPECT_TRUE(editor.Apply(MoveOp(ChangeOp::Kind::kRename, "/renamed", "/renamed/inside"))
                  .Is(core::Code::kInvalidArgument));
}

TEST(TreeEditorTest, SampleIsCapped) {
  MemObjectStore objects;
  std::vector<ChangeOp> ops;
  for (int i = 0; i < 50; ++i) ops.push_back(PutOp("/" + Name(i), File("x")));
  ApplyStats stats;
  Edit(objects, EmptyRootEntry(objects), ops, &stats);
  EXPECT_EQ(stats.added, 50u);
  EXPECT_EQ(stats.sample.size(), ApplyStats::kMaxSample);
}

TEST(TreeEditorTest, ChangeInAHugeDirectoryWritesFewPages) {
  MemObjectStore mem;
  HookedObjectStore objects(&mem);
  std::vector<ChangeOp> ops;
  for (int i = 0; i < 30'000; ++i) ops.push_back(PutOp("/big/" + Name(i), File("v")));
  Entry root = Edit(objects, EmptyRootEntry(objects), ops);
  objects.ResetCounts();
  root = Edit(objects, root, {PutOp("/big/" + Name(4242), File("changed"))});
  // Root directory page + the big directory's leaf and interior root.
  EXPECT_LE(objects.Puts(ObjectKind::kTree), 3);
  EXPECT_EQ(root.subtree_inodes(), 30'001u);
  auto e = At(objects, root, "/big/" + Name(4242));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->content().inline_data(), "changed");
}

// ---- Randomized against a naive model ------------------------------------

struct ModelEntry {
  bool dir = false;
  uint32_t mode = 0;
  std::string data;
};

// The whole volume as path -> entry, with the rules of change_set.h.
class Model {
 public:
  std::map<std::string, ModelEntry> m;

  static bool Below(const std::string& k, const std::string& p) {
    return k.size() > p.size() && k.compare(0, p.size(), p) == 0 && k[p.size()] == '/';
  }
  void RemoveTree(const std::string& p) {
    m.erase(p);
    for (auto it = m.lower_bound(p + "/"); it != m.end() && Below(it->first, p);) {
      it = m.erase(it);
    }
  }
  void EnsureParents(const Path& path) {
    std::string prefix;
    for (size_t i = 0; i + 1 < path.size(); ++i) {
      prefix += "/" + path[i];
      auto it = m.find(prefix);
      if (it != m.end() && it->second.dir) continue;
      RemoveTree(prefix);
      m[prefix] = ModelEntry{true, 0755, ""};
    }
  }
  std::optional<ModelEntry> Get(const std::string& p) const {
    auto it = m.find(p);
    if (it == m.end()) return std::nullopt;
    return it->second;
  }
  void Apply(const ChangeOp& op) {
    std::string p = core::JoinVolumePath(op.path);
    switch (op.kind) {
      case ChangeOp::Kind::kPut:
        EnsureParents(op.path);
        RemoveTree(p);
        m[p] = ModelEntry{false, op.entry.mode(), op.entry.content().inline_data()};
        break;
      case ChangeOp::Kind::kMkdir: {
        EnsureParents(op.path);
        auto it = m.find(p);
        if (it != m.end() && it->second.dir) {
          it->second.mode = op.entry.mode();
        } else {
          RemoveTree(p);
          m[p] = ModelEntry{true, op.entry.mode(), ""};
        }
        break;
      }
      case ChangeOp::Kind::kDelete:
        RemoveTree(p);
        break;
      case ChangeOp::Kind::kSetAttr: {
        auto it = m.find(p);
        if (it == m.end()) break;
        if (op.attrs.mode) it->second.mode = *op.attrs.mode;
        if (op.attrs.size && !it->second.dir) it->second.data.resize(*op.attrs.size, '\0');
        break;
      }
      case ChangeOp::Kind::kRename:
      case ChangeOp::Kind::kCopy: {
        if (!m.count(p)) break;
        std::string to = core::JoinVolumePath(op.to);
        std::vector<std::pair<std::string, ModelEntry>> sub;
        for (const auto& [k, v] : m)
          if (k == p || Below(k, p)) sub.emplace_back(k.substr(p.size()), v);
        if (op.kind == ChangeOp::Kind::kRename) RemoveTree(p);
        EnsureParents(op.to);
        RemoveTree(to);
        for (auto& [rel, v] : sub) m[to + rel] = v;
        break;
      }
    }
  }
};

void Collect(store::ObjectStore& objects, const Entry& dir, const std::string& prefix,
             std::map<std::string, ModelEntry>* out) {
  TreeReader reader(&objects);
  auto tree = TreeOf(dir);
  ASSERT_TRUE(tree.ok());
  Status s = reader.ForEach(*tree, [&](const Entry& e) {
    std::string p = prefix + "/" + e.name();
    ModelEntry me{e.type() == objects::DIRECTORY, e.mode(), ""};
    if (!me.dir) me.data = ReadFile(objects, e);
    (*out)[p] = me;
    if (me.dir) Collect(objects, e, p, out);
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
}

TEST(TreeEditorTest, RandomOpsMatchANaiveModel) {
  MemObjectStore objects;
  std::mt19937 rng(20240601);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  const std::vector<std::string> names = {"a", "b", "c", "d", "e"};
  auto random_path = [&] {
    int depth = 1 + pick(3);
    std::string p;
    for (int i = 0; i < depth; ++i) p += "/" + names[pick(names.size())];
    return p;
  };

  Model model;
  Entry root = EmptyRootEntry(objects);
  for (int round = 0; round < 800; ++round) {
    TreeEditor editor(&objects, root, round);
    int nops = 1 + pick(8);
    for (int k = 0; k < nops; ++k) {
      ChangeOp op;
      int kind = pick(10);
      std::string path = random_path();
      if (kind < 3) {
        std::string data(pick(3) == 0 ? 5000 : pick(40), 'a' + pick(26));
        Entry e = data.size() > kInlineLimit ? Entry() : File(data, 0600 + pick(8));
        if (data.size() > kInlineLimit) {
          FileWriter w(&objects);
          ASSERT_TRUE(w.Write(data).ok());
          auto c = w.Finish();
          ASSERT_TRUE(c.ok());
          e.set_type(objects::FILE);
          e.set_mode(0600);
          e.set_size(data.size());
          *e.mutable_content() = *c;
        }
        op = PutOp(path, e);
        // The model keeps file bytes, not content refs.
        op.entry.mutable_content()->set_inline_data(data);
        model.Apply(op);
        op = PutOp(path, e);
      } else {
        if (kind < 4) {
          op = MkdirOp(path, 0700 + pick(8));
        } else if (kind < 6) {
          op = DeleteOp(path);
        } else if (kind < 7) {
          AttrChange a;
          if (pick(2)) a.mode = 0640 + pick(8);
          if (pick(2)) a.size = pick(3) == 0 ? 6000 + pick(100) : pick(60);
          op = SetAttrOp(path, a);
        } else {
          std::string to = random_path();
          Path f = P(path), t = P(to);
          if (t.size() >= f.size() && std::equal(f.begin(), f.end(), t.begin())) continue;
          op = MoveOp(kind < 9 ? ChangeOp::Kind::kRename : ChangeOp::Kind::kCopy, path, to);
        }
        model.Apply(op);
      }
      Status s = editor.Apply(op);
      ASSERT_TRUE(s.ok()) << s.ToString();

      // Get sees the ops applied so far.
      std::string probe = random_path();
      auto got = editor.Get(P(probe));
      ASSERT_TRUE(got.ok());
      auto want = model.Get(probe);
      ASSERT_EQ(got->has_value(), want.has_value()) << "round " << round << " " << probe;
      if (want) {
        EXPECT_EQ((*got)->type() == objects::DIRECTORY, want->dir) << probe;
        EXPECT_EQ((*got)->mode(), want->mode) << probe;
        if (!want->dir) {
          EXPECT_EQ((*got)->size(), want->data.size()) << probe;
        }
      }
    }
    auto finished = editor.Finish();
    ASSERT_TRUE(finished.ok()) << finished.status().ToString();
    root = *finished;

    std::map<std::string, ModelEntry> got;
    Collect(objects, root, "", &got);
    ASSERT_EQ(got.size(), model.m.size()) << "round " << round;
    for (const auto& [p, want] : model.m) {
      auto it = got.find(p);
      ASSERT_NE(it, got.end()) << "round " << round << " missing " << p;
      EXPECT_EQ(it->second.dir, want.dir) << p;
      EXPECT_EQ(it->second.mode, want.mode) << p;
      EXPECT_EQ(it->second.data, want.data) << p;
    }
    uint64_t bytes = 0;
    for (const auto& [p, e] : model.m) bytes += e.data.size();
    EXPECT_EQ(root.subtree_inodes(), model.m.size());
    EXPECT_EQ(root.subtree_bytes(), bytes);
    CheckDirEntry(objects, root);
  }
}

}  // namespace
}  // namespace snapvol::volume
