#include "driver/volume/fsck.h"

#include <gtest/gtest.h>

#include <string>

#include "driver/store/object_codec.h"
#include "tests/volume/content_helpers.h"
#include "tests/volume/test_store.h"

namespace snapvol::volume {
namespace {

using testing::PutFile;

// A volume with big and small files, nested and large directories (a tree
// of several pages), over three versions; on the in-memory store, whose
// objects a test can delete or corrupt.
class FsckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = testing::OpenTestStore(testing::Backend::kMemory);
    ASSERT_TRUE(t.ok());
    ts_ = std::move(*t);
    engine_ = std::make_unique<Engine>(ts_.store.get(), core::Env::Default());
    auto v = engine_->CreateVolume("main", "v", {});
    ASSERT_TRUE(v.ok());
    vol_ = *v;
    ChangeSet cs;
    PutFile(&cs, objects(), "/big", std::string(6 << 20, 'b'));
    PutFile(&cs, objects(), "/d/e/small", "small");
    for (int i = 0; i < 3000; ++i) PutFile(&cs, objects(), "/many/f" + std::to_string(i), "x");
    Commit(cs);
    ChangeSet more;
    PutFile(&more, objects(), "/d/later", std::string(3 << 20, 'l'));
    Commit(more);
    ChangeSet del;
    ASSERT_TRUE(del.Delete("/d/e").ok());
    Commit(del);
  }

  void Commit(const ChangeSet& cs) {
    CommitOptions o;
    o.author = DefaultAuthor("test");
    ASSERT_TRUE(engine_->Commit(vol_, cs, o).ok());
  }

  store::ObjectStore& objects() { return engine_->objects(); }
  testing::MemObjectStore& mem() { return static_cast<testing::MemObjectStore&>(objects()); }

  FsckReport Run(bool quick = false) {
    FsckOptions o;
    o.quick = quick;
    auto r = Fsck(*ts_.store, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : FsckReport();
  }

  // The hash of the first chunk of the file at `path` in the head.
  Hash ChunkOf(const std::string& path) {
    auto head = engine_->Head(vol_);
    auto e = engine_->Lookup(*head, *core::SplitVolumePath(path));
    return *store::HashField((*e)->content().chunks(0).hash(), "chunk");
  }

  static std::string All(const FsckReport& r) {
    std::string out;
    for (const auto& p : r.problems) out += p.where + ": " + p.what + "\n";
    return out;
  }

  testing::TestStore ts_;
  std::unique_ptr<Engine> engine_;
  VolumeRecord vol_;
};

TEST_F(FsckTest, ACleanStoreHasNoProblems) {
  FsckReport r = Run();
  EXPECT_TRUE(r.clean()) << All(r);
  EXPECT_EQ(r.volumes, 1u);
  EXPECT_EQ(r.versions, 3u);
  EXPECT_GT(r.pages, 3u);  // /many spans several pages
  EXPECT_GE(r.chunk_bytes, 9u << 20);
  EXPECT_TRUE(Run(/*quick=*/true).clean());
}

TEST_F(FsckTest, AMissingChunkIsFoundOnceWhereItIsFirstUsed) {
  ASSERT_TRUE(objects().Delete(ChunkOf("/big"), store::ObjectKind::kChunk).ok());
  FsckReport r = Run(/*quick=*/true);
  ASSERT_FALSE(r.clean());
  EXPECT_NE(All(r).find("/big"), std::string::npos) << All(r);
  EXPECT_NE(All(r).find("missing"), std::string::npos) << All(r);
}

TEST_F(FsckTest, ACorruptChunkIsFoundByReadingNotByQuick) {
  mem().Corrupt(ChunkOf("/d/later"));
  EXPECT_TRUE(Run(/*quick=*/true).clean());
  FsckReport r = Run();
  ASSERT_FALSE(r.clean());
  EXPECT_NE(All(r).find("version 2, /d/later"), std::string::npos) << All(r);
}

TEST_F(FsckTest, AMissingTreePageIsFound) {
  auto head = engine_->Head(vol_);
  auto many = engine_->Lookup(*head, {"many"});
  ASSERT_TRUE(many.ok() && many->has_value());
  ASSERT_TRUE(objects().Delete(*TreeOf(**many), store::ObjectKind::kTree).ok());
  FsckReport r = Run(/*quick=*/true);
  ASSERT_FALSE(r.clean());
  EXPECT_NE(All(r).find("/many"), std::string::npos) << All(r);
}

// A commit that decodes and passes every per-object rule but whose totals
// or chain lie: only the whole walk sees it.
TEST_F(FsckTest, TotalsAndTheChainAreChecked) {
  auto head = engine_->Head(vol_);
  ASSERT_TRUE(head.ok());
  objects::Commit lying = head->commit;
  lying.set_version(4);
  lying.set_parent(std::string(head->commit_hash.Bytes()));
  lying.set_inodes(lying.inodes() + 5);
  lying.mutable_root()->set_subtree_bytes(1);
  auto id = store::PutCommit(objects(), lying);
  ASSERT_TRUE(id.ok());
  store::VersionRecord rec;
  rec.version = 4;
  rec.commit = *id;
  ASSERT_TRUE(*ts_.store->catalog->AppendVersion(vol_.id, rec));
  objects::Commit orphan = lying;
  orphan.set_version(5);
  orphan.set_parent(std::string(head->commit_hash.Bytes()));  // not version 4
  orphan.set_inodes(head->commit.inodes());
  *orphan.mutable_root() = head->commit.root();
  auto id5 = store::PutCommit(objects(), orphan);
  rec.version = 5;
  rec.commit = *id5;
  ASSERT_TRUE(*ts_.store->catalog->AppendVersion(vol_.id, rec));
  FsckReport r = Run(/*quick=*/true);
  const std::string all = All(r);
  EXPECT_NE(all.find("version 4, /: the directory counts"), std::string::npos) << all;
  EXPECT_NE(all.find("version 4: the commit counts"), std::string::npos) << all;
  EXPECT_NE(all.find("version 5: the commit's parent is not the previous version"),
            std::string::npos)
      << all;
  EXPECT_EQ(all.find("version 3"), std::string::npos) << all;
}

}  // namespace
}  // namespace snapvol::volume
