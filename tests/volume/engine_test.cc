#include "driver/volume/engine.h"

#include <gtest/gtest.h>

#include <fstream>

#include "driver/store/local/local_layout.h"
#include "driver/store/object_codec.h"
#include "tests/volume/content_helpers.h"
#include "tests/volume/test_store.h"
#include "tests/volume/tree_checker.h"

namespace snapvol::volume {
namespace {

using core::Code;
using testing::Backend;
using testing::HookedStore;
using testing::PutFile;
using testing::ReadPath;

class EngineTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    auto t = testing::OpenTestStore(GetParam());
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    ts_ = std::move(*t);
    engine_ = std::make_unique<Engine>(ts_.store.get(), core::Env::Default());
  }

  VolumeRecord NewVolume(const std::string& name, uint64_t limit = store::kDefaultInodeLimit,
                         const std::string& env = "main") {
    CreateVolumeOptions o;
    o.inode_limit = limit;
    auto v = engine_->CreateVolume(env, name, o);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : VolumeRecord();
  }

  CommitResult MustCommit(const VolumeRecord& v, const ChangeSet& cs, Engine* engine = nullptr) {
    CommitOptions o;
    o.author = DefaultAuthor("test");
    o.message = "test commit";
    auto r = (engine ? engine : engine_.get())->Commit(v, cs, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : CommitResult();
  }

  Snapshot MustHead(const VolumeRecord& v) {
    auto h = engine_->Head(v);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? *h : Snapshot();
  }

  store::ObjectStore& objects() { return engine_->objects(); }

  Hash MustCommitHash(const VolumeRecord& v, uint64_t version) {
    auto snap = engine_->AtVersion(v, version);
    EXPECT_TRUE(snap.ok()) << snap.status().ToString();
    return snap.ok() ? snap->commit_hash : Hash();
  }

  testing::TestStore ts_;
  std::unique_ptr<Engine> engine_;
};

INSTANTIATE_TEST_SUITE_P(Backends, EngineTest, ::testing::Values(Backend::kMemory, Backend::kLocal),
                         [](const auto& info) { return testing::BackendName(info.param); });

TEST_P(EngineTest, Environments) {
  EXPECT_TRUE(engine_->CreateEnvironment("dev").ok());
  Status dup = engine_->CreateEnvironment("dev");
  EXPECT_TRUE(dup.Is(Code::kAlreadyExists));
  EXPECT_NE(dup.message().find("'dev'"), std::string::npos);
  Status bad = engine_->CreateEnvironment("-bad");
  EXPECT_TRUE(bad.Is(Code::kInvalidArgument));
  EXPECT_NE(bad.message().find("A-Za-z0-9"), std::string::npos) << bad.message();

  auto envs = engine_->ListEnvironments();
  ASSERT_TRUE(envs.ok());
  std::vector<std::string> names;
  for (const auto& e : *envs) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"dev", "main"}));

  NewVolume("v1", store::kDefaultInodeLimit, "dev");
  EXPECT_TRUE(engine_->DeleteEnvironment("dev", false).Is(Code::kFailedPrecondition));
  EXPECT_TRUE(engine_->DeleteEnvironment("dev", true).ok());
  EXPECT_TRUE(engine_->DeleteEnvironment("dev", true).Is(Code::kNotFound));
  EXPECT_TRUE(engine_->DeleteEnvironment("main", true).Is(Code::kFailedPrecondition));
  EXPECT_TRUE(engine_->ListVolumes("dev").status().Is(Code::kNotFound));
}

TEST_P(EngineTest, VolumeLifecycleAndMessages) {
  VolumeRecord v = NewVolume("data");
  EXPECT_FALSE(v.id.empty());
  auto dup = engine_->CreateVolume("main", "data", {});
  ASSERT_TRUE(dup.status().Is(Code::kAlreadyExists));
  EXPECT_EQ(dup.status().message(), "volume 'data' in environment 'main' already exists");
  CreateVolumeOptions if_missing;
  if_missing.if_missing = true;
  auto same = engine_->CreateVolume("main", "data", if_missing);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->id, v.id);

  auto missing = engine_->GetVolume("main", "nope");
  ASSERT_TRUE(missing.status().Is(Code::kNotFound));
  EXPECT_EQ(missing.status().message(), "volume 'nope' in environment 'main' not found");
  auto no_env = engine_->CreateVolume("ghost", "x", {});
  EXPECT_TRUE(no_env.status().Is(Code::kNotFound));
  EXPECT_NE(no_env.status().message().find("environment 'ghost'"), std::string::npos);
  EXPECT_TRUE(engine_->CreateVolume("main", "bad/name", {}).status().Is(Code::kInvalidArgument));

  ASSERT_TRUE(engine_->RenameVolume("main", "data", "renamed").ok());
  EXPECT_TRUE(engine_->GetVolume("main", "data").status().Is(Code::kNotFound));
  auto renamed = engine_->GetVolume("main", "renamed");
  ASSERT_TRUE(renamed.ok());
  EXPECT_EQ(renamed->id, v.id);
  NewVolume("other");
  Status clash = engine_->RenameVolume("main", "renamed", "other");
  EXPECT_TRUE(clash.Is(Code::kAlreadyExists));
  EXPECT_NE(clash.message().find("volume 'other' in environment 'main'"), std::string::npos);

  auto list = engine_->ListVolumes("main");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "other");

  // A re-created name is a new volume with no history.
  ChangeSet cs;
  PutFile(&cs, objects(), "/f", "x");
  MustCommit(*renamed, cs);
  ASSERT_TRUE(engine_->DeleteVolume("main", "renamed").ok());
  Status gone = engine_->DeleteVolume("main", "renamed");
  EXPECT_EQ(gone.message(), "volume 'renamed' in environment 'main' not found");
  VolumeRecord again = NewVolume("renamed");
  EXPECT_NE(again.id, v.id);
  EXPECT_EQ(MustHead(again).version, 0u);
}

TEST_P(EngineTest, EmptyVolumeIsVersionZero) {
  VolumeRecord v = NewVolume("empty");
  Snapshot head = MustHead(v);
  EXPECT_EQ(head.version, 0u);
  EXPECT_TRUE(head.commit_hash.IsZero());
  EXPECT_EQ(head.inodes(), 1u);
  EXPECT_EQ(head.root().type(), objects::DIRECTORY);
  auto list = engine_->reader().List(*TreeOf(head.root()), "", 0);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  auto log = engine_->Log(v, 0);
  ASSERT_TRUE(log.ok());
  EXPECT_TRUE(log->empty());
  auto at0 = engine_->AtVersion(v, 0);
  ASSERT_TRUE(at0.ok());
  EXPECT_EQ(at0->version, 0u);
}

TEST_P(EngineTest, VersionsChainAndOldVersionsStayReadable) {
  VolumeRecord v = NewVolume("hist");
  std::vector<Hash> commits;
  for (int i = 1; i <= 3; ++i) {
    ChangeSet cs;
    PutFile(&cs, objects(), "/file", "content " + std::to_string(i));
    PutFile(&cs, objects(), "/only" + std::to_string(i), std::string(5000 * i, 'a' + i));
    CommitResult r = MustCommit(v, cs);
    EXPECT_EQ(r.version, static_cast<uint64_t>(i));
    EXPECT_EQ(r.attempts, 1);
    EXPECT_FALSE(r.empty);
    commits.push_back(r.commit);
  }
  Snapshot head = MustHead(v);
  EXPECT_EQ(head.version, 3u);
  EXPECT_EQ(head.commit_hash, commits[2]);
  EXPECT_EQ(head.commit.parent(), std::string(commits[1].Bytes()));
  EXPECT_EQ(head.inodes(), 5u);
  EXPECT_EQ(head.commit.bytes(), 9u + 5000 * (1 + 2 + 3u));
  EXPECT_EQ(head.commit.author().tool(), "test");
  EXPECT_EQ(head.commit.message(), "test commit");

  for (uint64_t ver = 1; ver <= 3; ++ver) {
    auto snap = engine_->AtVersion(v, ver);
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    EXPECT_EQ(snap->commit.version(), ver);
    EXPECT_EQ(ReadPath(*engine_, *snap, "/file"), "content " + std::to_string(ver));
    EXPECT_EQ(ReadPath(*engine_, *snap, "/only" + std::to_string(ver)),
              std::string(5000 * ver, 'a' + ver));
    if (ver == 1) {
      EXPECT_TRUE(snap->commit.parent().empty());
      EXPECT_FALSE(ReadPath(*engine_, *snap, "/only2"));
    } else {
      EXPECT_EQ(snap->commit.parent(), std::string(commits[ver - 2].Bytes()));
    }
  }
  auto missing = engine_->AtVersion(v, 4);
  ASSERT_TRUE(missing.status().Is(Code::kNotFound));
  EXPECT_NE(missing.status().message().find("volume 'hist' in environment 'main'"),
            std::string::npos);

  auto log = engine_->Log(v, 0);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 3u);
  EXPECT_EQ((*log)[0].version, 3u);
  EXPECT_EQ((*log)[2].version, 1u);
  auto two = engine_->Log(v, 2);
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].version, 3u);
  EXPECT_EQ((*two)[1].version, 2u);
  EXPECT_EQ((*two)[1].commit_hash, commits[1]);
}

TEST_P(EngineTest, SummaryCountsChanges) {
  VolumeRecord v = NewVolume("sum");
  ChangeSet a;
  PutFile(&a, objects(), "/dir/x", "1");
  PutFile(&a, objects(), "/y", "22");
  MustCommit(v, a);
  ChangeSet b;
  PutFile(&b, objects(), "/y", "333");
  ASSERT_TRUE(b.Delete("/dir/x").ok());
  ASSERT_TRUE(b.Rename("/dir", "/dir2").ok());
  CommitResult r = MustCommit(v, b);
  EXPECT_EQ(r.summary.modified(), 1u);
  EXPECT_EQ(r.summary.deleted(), 1u);
  EXPECT_EQ(r.summary.renamed(), 1u);
  EXPECT_EQ(r.summary.bytes_written(), 3u);
  EXPECT_EQ(std::vector<std::string>(r.summary.sample().begin(), r.summary.sample().end()),
            (std::vector<std::string>{"M /y", "D /dir/x", "R /dir -> /dir2"}));
  Snapshot head = MustHead(v);
  EXPECT_EQ(head.commit.summary().SerializeAsString(), r.summary.SerializeAsString());
}

TEST_P(EngineTest, EmptyChangeSetCreatesNoVersion) {
  VolumeRecord v = NewVolume("noop");
  ChangeSet none;
  CommitResult r = MustCommit(v, none);
  EXPECT_TRUE(r.empty);
  EXPECT_EQ(r.version, 0u);
  ChangeSet cs;
  PutFile(&cs, objects(), "/a", "a");
  MustCommit(v, cs);
  // Only no-ops: still nothing to commit.
  ChangeSet noops;
  ASSERT_TRUE(noops.Delete("/absent").ok());
  ASSERT_TRUE(noops.Rename("/ghost", "/b").ok());
  CommitResult n = MustCommit(v, noops);
  EXPECT_TRUE(n.empty);
  EXPECT_EQ(n.version, 1u);
  EXPECT_EQ(n.skipped, std::vector<std::string>{"/ghost"});
  EXPECT_EQ(MustHead(v).version, 1u);
}

TEST_P(EngineTest, LastWriterWinsPerPathAndDifferentPathsSurvive) {
  VolumeRecord v = NewVolume("lww");
  ChangeSet base;
  PutFile(&base, objects(), "/shared", "base");
  PutFile(&base, objects(), "/doomed/file", "d");
  MustCommit(v, base);

  // Two writers prepared their change sets from version 1.
  ChangeSet a, b;
  PutFile(&a, objects(), "/a-only", "A");
  PutFile(&a, objects(), "/shared", "from A");
  PutFile(&b, objects(), "/b-only", "B");
  PutFile(&b, objects(), "/shared", "from B");
  ASSERT_TRUE(b.Rename("/doomed", "/kept").ok());
  EXPECT_EQ(MustCommit(v, a).version, 2u);
  EXPECT_EQ(MustCommit(v, b).version, 3u);

  Snapshot head = MustHead(v);
  EXPECT_EQ(ReadPath(*engine_, head, "/a-only"), "A");
  EXPECT_EQ(ReadPath(*engine_, head, "/b-only"), "B");
  EXPECT_EQ(ReadPath(*engine_, head, "/shared"), "from B");
  EXPECT_EQ(ReadPath(*engine_, head, "/kept/file"), "d");
  EXPECT_FALSE(ReadPath(*engine_, head, "/doomed/file"));
  EXPECT_EQ(head.inodes(), 6u);
}

TEST_P(EngineTest, LosingTheRaceRetriesOnTheNewHead) {
  VolumeRecord v = NewVolume("race");
  HookedStore hooked(ts_.store.get());
  Engine loser(&hooked.store, core::Env::Default());

  ChangeSet mine;
  PutFile(&mine, objects(), "/mine", "M");
  PutFile(&mine, objects(), "/shared", "loser wrote last");
  int sneaks = 0;
  // Right before the loser's first append, another writer lands version 1.
  hooked.catalog->before_append = [&] {
    if (sneaks++ == 0) {
      ChangeSet theirs;
      PutFile(&theirs, objects(), "/theirs", "T");
      PutFile(&theirs, objects(), "/shared", "winner of v1");
      MustCommit(v, theirs);
    }
    return Status::Ok();
  };
  CommitResult r = MustCommit(v, mine, &loser);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(r.version, 2u);
  Snapshot head = MustHead(v);
  EXPECT_EQ(ReadPath(*engine_, head, "/mine"), "M");
  EXPECT_EQ(ReadPath(*engine_, head, "/theirs"), "T");
  EXPECT_EQ(ReadPath(*engine_, head, "/shared"), "loser wrote last");

  // Losing every time ends in Aborted, with nothing half-landed.
  hooked.catalog->before_append = [&] {
    ChangeSet theirs;
    PutFile(&theirs, objects(), "/t" + std::to_string(sneaks++), "T");
    MustCommit(v, theirs);
    return Status::Ok();
  };
  CommitOptions o;
  o.max_attempts = 3;
  ChangeSet late;
  PutFile(&late, objects(), "/late", "L");
  auto aborted = loser.Commit(v, late, o);
  EXPECT_TRUE(aborted.status().Is(Code::kAborted)) << aborted.status().ToString();
  EXPECT_NE(aborted.status().message().find("volume 'race'"), std::string::npos);
  EXPECT_FALSE(ReadPath(*engine_, MustHead(v), "/late"));
  EXPECT_EQ(MustHead(v).version, 5u);
}

TEST_P(EngineTest, HeadReadsOneRecordAndOneCommit) {
  VolumeRecord v = NewVolume("attach");
  {
    // Version 0: one record read, no object read or written.
    HookedStore hooked(ts_.store.get());
    Engine attach(&hooked.store, core::Env::Default());
    auto empty = attach.Head(v);
    ASSERT_TRUE(empty.ok());
    EXPECT_EQ(empty->version, 0u);
    auto listing = attach.reader().List(*TreeOf(empty->root()), "", 0);
    ASSERT_TRUE(listing.ok());
    EXPECT_TRUE(listing->empty());
    EXPECT_EQ(hooked.catalog->latest_calls.load(), 1);
    EXPECT_EQ(hooked.objects->gets.load(), 0);
    for (int k = 0; k < 4; ++k) EXPECT_EQ(hooked.objects->puts[k].load(), 0);
  }
  ChangeSet cs;
  for (int i = 0; i < 3000; ++i) PutFile(&cs, objects(), "/d/f" + std::to_string(i), "x");
  MustCommit(v, cs);
  HookedStore hooked(ts_.store.get());
  Engine attach(&hooked.store, core::Env::Default());
  auto head = attach.Head(v);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->inodes(), 3002u);
  EXPECT_EQ(hooked.catalog->latest_calls.load(), 1);
  EXPECT_EQ(hooked.objects->gets.load(), 1);
  EXPECT_EQ(hooked.objects->Puts(store::ObjectKind::kTree), 0);
}

TEST_P(EngineTest, CommitCostDoesNotGrowWithVolumeSize) {
  VolumeRecord v = NewVolume("big");
  ChangeSet fill;
  for (int d = 0; d < 20; ++d) {
    for (int i = 0; i < 2000; ++i) {
      ASSERT_TRUE(fill.Put("/d" + std::to_string(d) + "/f" + std::to_string(i),
                           testing::StoreFile(objects(), "x"))
                      .ok());
    }
  }
  MustCommit(v, fill);
  HookedStore hooked(ts_.store.get());
  Engine engine(&hooked.store, core::Env::Default());
  ChangeSet one;
  PutFile(&one, objects(), "/d7/f1234", "changed");
  hooked.objects->ResetCounts();
  CommitResult r = MustCommit(v, one, &engine);
  EXPECT_EQ(r.version, 2u);
  // Root page, /d7's leaf and its interior root, and the commit.
  EXPECT_LE(hooked.objects->Puts(store::ObjectKind::kTree), 3);
  EXPECT_EQ(hooked.objects->Puts(store::ObjectKind::kCommit), 1);
  // The head commit, the lookups of /d7 and of the old entry, and the pages
  // UpdateTree rewrites: a handful, whatever the volume size.
  EXPECT_LE(hooked.objects->gets.load(), 8);
  EXPECT_EQ(MustHead(v).inodes(), 40'021u);
}

TEST_P(EngineTest, InodeLimitRefusesGrowthButAllowsDeletes) {
  VolumeRecord v = NewVolume("limited", 5);
  ChangeSet four;
  for (int i = 0; i < 4; ++i) PutFile(&four, objects(), "/f" + std::to_string(i), "x");
  MustCommit(v, four);  // root + 4 = 5 inodes: at the limit
  ChangeSet more;
  PutFile(&more, objects(), "/f4", "x");
  auto over = engine_->Commit(v, more, {});
  ASSERT_TRUE(over.status().Is(Code::kResourceExhausted));
  EXPECT_EQ(over.status().message(),
            "volume 'limited' in environment 'main' would hold 6 inodes, over its limit of 5");
  EXPECT_EQ(MustHead(v).version, 1u);

  // Replacing a file keeps the count: allowed at the limit.
  ChangeSet replace;
  PutFile(&replace, objects(), "/f0", "new");
  EXPECT_EQ(MustCommit(v, replace).version, 2u);

  // Over the limit already (it was lowered): shrinking is still allowed.
  VolumeRecord lowered = v;
  lowered.inode_limit = 2;
  ChangeSet del;
  ASSERT_TRUE(del.Delete("/f1").ok());
  EXPECT_EQ(MustCommit(lowered, del).version, 3u);
  ChangeSet grow;
  ASSERT_TRUE(grow.Mkdir("/newdir", 0755, 0, 0, 0).ok());
  ASSERT_TRUE(grow.Delete("/f2").ok());
  EXPECT_EQ(MustCommit(lowered, grow).version, 4u);  // same count
  ChangeSet add;
  PutFile(&add, objects(), "/newdir/x", "x");
  EXPECT_TRUE(engine_->Commit(lowered, add, {}).status().Is(Code::kResourceExhausted));
}

TEST_P(EngineTest, EnvironmentsAreIsolated) {
  ASSERT_TRUE(engine_->CreateEnvironment("prod").ok());
  VolumeRecord m = NewVolume("shared-name");
  VolumeRecord p = NewVolume("shared-name", store::kDefaultInodeLimit, "prod");
  EXPECT_NE(m.id, p.id);
  ChangeSet cs;
  PutFile(&cs, objects(), "/secret", "prod only");
  MustCommit(p, cs);
  EXPECT_EQ(MustHead(m).version, 0u);
  EXPECT_FALSE(ReadPath(*engine_, MustHead(m), "/secret"));
  EXPECT_EQ(ReadPath(*engine_, MustHead(p), "/secret"), "prod only");

  ASSERT_TRUE(engine_->DeleteVolume("main", "shared-name").ok());
  auto still = engine_->GetVolume("prod", "shared-name");
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(MustHead(*still).version, 1u);
  auto msg = engine_->GetVolume("main", "shared-name");
  EXPECT_EQ(msg.status().message(), "volume 'shared-name' in environment 'main' not found");
}

TEST_P(EngineTest, RenameAndCopyResolveAgainstTheHead) {
  VolumeRecord v = NewVolume("mv");
  ChangeSet base;
  PutFile(&base, objects(), "/models/a/weights", std::string(100'000, 'w'));
  PutFile(&base, objects(), "/models/a/config", "cfg");
  MustCommit(v, base);
  Hash tree_before = *TreeOf(**engine_->Lookup(MustHead(v), {"models", "a"}));

  ChangeSet cs;
  ASSERT_TRUE(cs.Copy("/models/a", "/models/b").ok());
  ASSERT_TRUE(cs.Rename("/models/a", "/archive/a").ok());
  ASSERT_TRUE(cs.Rename("/models/zzz", "/nowhere").ok());
  CommitResult r = MustCommit(v, cs);
  EXPECT_EQ(r.skipped, std::vector<std::string>{"/models/zzz"});
  Snapshot head = MustHead(v);
  EXPECT_EQ(ReadPath(*engine_, head, "/models/b/weights"), std::string(100'000, 'w'));
  EXPECT_EQ(ReadPath(*engine_, head, "/archive/a/config"), "cfg");
  EXPECT_FALSE(ReadPath(*engine_, head, "/models/a/config"));
  EXPECT_EQ(*TreeOf(**engine_->Lookup(head, {"archive", "a"})), tree_before);
  EXPECT_EQ(*TreeOf(**engine_->Lookup(head, {"models", "b"})), tree_before);
  EXPECT_EQ(head.inodes(), 1 + 2 + 3 + 3u);  // models, archive; b + 2; a + 2
  EXPECT_EQ(head.commit.bytes(), 2 * 100'003u);
  testing::CheckDirEntry(objects(), head.root());
}

TEST_P(EngineTest, CorruptChunkIsAnErrorNeverWrongBytes) {
  VolumeRecord v = NewVolume("corrupt");
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7919) >> 5);
  ChangeSet cs;
  PutFile(&cs, objects(), "/big", data);
  MustCommit(v, cs);
  auto entry = engine_->Lookup(MustHead(v), {"big"});
  ASSERT_TRUE(entry.ok() && entry->has_value());
  ASSERT_GE((*entry)->content().chunks_size(), 1);
  Hash victim = *store::HashField((*entry)->content().chunks(0).hash(), "chunk");
  if (GetParam() == Backend::kMemory) {
    static_cast<testing::MemObjectStore&>(objects()).Corrupt(victim);
  } else {
    std::string path = store::LocalLayout(ts_.store->spec).ObjectFile(victim);
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good()) << path;
    f.seekp(1000);
    f.put('\x5a' ^ data[1000]);
  }
  auto reader = FileReader::Open(&objects(), (*entry)->content(), (*entry)->size());
  ASSERT_TRUE(reader.ok());
  std::string got;
  Status s = (*reader)->ReadAll([&](std::string_view d) {
    got.append(d);
    return Status::Ok();
  });
  EXPECT_TRUE(s.Is(Code::kCorruption)) << s.ToString();
  EXPECT_TRUE(got.empty());  // the first chunk is bad: nothing was served
  char buf[16];
  // The local store moved the bad object aside: now it is missing. Either
  // way the read fails rather than serving bytes.
  EXPECT_FALSE((*reader)->ReadAt(1000, sizeof(buf), buf).ok());
}

TEST_P(EngineTest, CommitRootForksAVersionWithoutCopying) {
  VolumeRecord src = NewVolume("src");
  ChangeSet cs;
  for (int i = 0; i < 50; ++i) {
    PutFile(&cs, objects(), "/d/f" + std::to_string(i), std::string(3000, 'a' + i % 26));
  }
  PutFile(&cs, objects(), "/top", "top");
  MustCommit(src, cs);
  Snapshot pinned = MustHead(src);

  VolumeRecord dst = NewVolume("dst");
  HookedStore hooked(ts_.store.get());
  Engine counting(&hooked.store, core::Env::Default());
  CommitOptions o;
  o.author = DefaultAuthor("test");
  o.message = "restore";
  auto r = counting.CommitRoot(dst, pinned.root(), o, /*expected_head=*/0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->version, 1u);
  EXPECT_FALSE(r->empty);
  // Only the commit object is written: no tree page, index or chunk.
  EXPECT_EQ(hooked.objects->Puts(store::ObjectKind::kCommit), 1);
  EXPECT_EQ(hooked.objects->Puts(store::ObjectKind::kTree), 0);
  EXPECT_EQ(hooked.objects->Puts(store::ObjectKind::kChunk), 0);
  EXPECT_EQ(hooked.objects->Puts(store::ObjectKind::kIndex), 0);

  Snapshot forked = MustHead(dst);
  EXPECT_EQ(forked.version, 1u);
  EXPECT_TRUE(forked.commit.parent().empty());
  EXPECT_EQ(forked.root().SerializeAsString(), pinned.root().SerializeAsString());
  EXPECT_EQ(forked.inodes(), pinned.inodes());
  EXPECT_EQ(forked.commit.bytes(), pinned.commit.bytes());
  EXPECT_EQ(forked.commit.message(), "restore");
  EXPECT_EQ(ReadPath(*engine_, forked, "/d/f7"), std::string(3000, 'a' + 7));

  // The two volumes then diverge independently.
  ChangeSet more;
  PutFile(&more, objects(), "/top", "changed in dst");
  EXPECT_EQ(MustCommit(dst, more).version, 2u);
  EXPECT_EQ(ReadPath(*engine_, MustHead(src), "/top"), "top");
  EXPECT_EQ(ReadPath(*engine_, MustHead(dst), "/top"), "changed in dst");

  // Committing the head's own root again is empty; committing an older
  // root without expected_head lands on top of the head (a rollback).
  auto same = engine_->CommitRoot(dst, MustHead(dst).root(), o);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_TRUE(same->empty);
  EXPECT_EQ(same->version, 2u);
  auto back = engine_->CommitRoot(dst, pinned.root(), o);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->version, 3u);
  Snapshot head = MustHead(dst);
  EXPECT_EQ(head.commit.parent(), std::string(MustCommitHash(dst, 2).Bytes()));
  EXPECT_EQ(ReadPath(*engine_, head, "/top"), "top");
}

TEST_P(EngineTest, CommitRootChecksItsPreconditions) {
  VolumeRecord src = NewVolume("src");
  ChangeSet cs;
  PutFile(&cs, objects(), "/a", "A");
  PutFile(&cs, objects(), "/b", "B");
  MustCommit(src, cs);
  const objects::Entry root = MustHead(src).root();
  CommitOptions o;

  VolumeRecord dst = NewVolume("dst");
  ChangeSet first;
  PutFile(&first, objects(), "/x", "X");
  MustCommit(dst, first);
  auto moved = engine_->CommitRoot(dst, root, o, /*expected_head=*/0);
  ASSERT_TRUE(moved.status().Is(Code::kFailedPrecondition)) << moved.status().ToString();
  EXPECT_NE(moved.status().message().find("volume 'dst'"), std::string::npos);
  EXPECT_EQ(MustHead(dst).version, 1u);

  objects::Entry file = root;
  file.set_type(objects::FILE);
  auto not_dir = engine_->CommitRoot(dst, file, o);
  EXPECT_TRUE(not_dir.status().Is(Code::kInvalidArgument)) << not_dir.status().ToString();

  objects::Entry missing = root;
  missing.set_tree(std::string(Hash::Of("no such tree").Bytes()));
  auto absent = engine_->CommitRoot(dst, missing, o);
  EXPECT_TRUE(absent.status().Is(Code::kNotFound)) << absent.status().ToString();
  EXPECT_NE(absent.status().message().find("volume 'dst'"), std::string::npos);

  VolumeRecord tiny = NewVolume("tiny", /*limit=*/2);
  auto over = engine_->CommitRoot(tiny, root, o);  // 3 inodes: root, a, b
  EXPECT_TRUE(over.status().Is(Code::kResourceExhausted)) << over.status().ToString();
  EXPECT_EQ(MustHead(tiny).version, 0u);
}

TEST_P(EngineTest, CommitRootRetriesALostRaceUnlessTheHeadIsExpected) {
  VolumeRecord src = NewVolume("src");
  ChangeSet cs;
  PutFile(&cs, objects(), "/restored", "R");
  MustCommit(src, cs);
  const objects::Entry root = MustHead(src).root();

  VolumeRecord v = NewVolume("contended");
  HookedStore hooked(ts_.store.get());
  Engine loser(&hooked.store, core::Env::Default());
  // Right before the loser's first append, another writer lands a version.
  auto sneak_into = [&](const VolumeRecord& target) {
    auto sneaks = std::make_shared<int>(0);
    hooked.catalog->before_append = [this, target, sneaks] {
      if ((*sneaks)++ == 0) {
        ChangeSet theirs;
        PutFile(&theirs, objects(), "/theirs", "T");
        MustCommit(target, theirs);
      }
      return Status::Ok();
    };
  };
  sneak_into(v);
  auto r = loser.CommitRoot(v, root, CommitOptions());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(r->version, 2u);
  Snapshot head = MustHead(v);
  EXPECT_EQ(ReadPath(*engine_, head, "/restored"), "R");
  EXPECT_FALSE(ReadPath(*engine_, head, "/theirs"));  // the root replaces the content

  VolumeRecord w = NewVolume("expected");
  sneak_into(w);
  auto refused = loser.CommitRoot(w, root, CommitOptions(), /*expected_head=*/0);
  EXPECT_TRUE(refused.status().Is(Code::kFailedPrecondition)) << refused.status().ToString();
  EXPECT_EQ(MustHead(w).version, 1u);
  EXPECT_EQ(ReadPath(*engine_, MustHead(w), "/theirs"), "T");
}

TEST(DefaultAuthorTest, NamesUserHostAndTool) {
  objects::Author a = DefaultAuthor("cli");
  EXPECT_EQ(a.tool(), "cli");
  EXPECT_FALSE(a.user().empty());
  EXPECT_FALSE(a.host().empty());
}

}  // namespace
}  // namespace snapvol::volume
