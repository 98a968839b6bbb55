// Fault injection into the local object store through core::FaultEnv: every
// step of "Put N objects + Flush" fails once (ENOSPC, EIO) or the process
// "crashes" there and unsynced data is dropped, as after a power loss.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "driver/core/fault_env.h"
#include "driver/store/local/local_object_store.h"
#include "tests/store/temp_dir.h"

namespace snapvol::store {
namespace {

using core::Code;
using core::Env;
using core::FaultEnv;

// The real file system without the waiting: FaultEnv decides what a power
// loss keeps (DropUnsyncedData), so real fsyncs only slow these tests down.
// The real sync paths are covered by the conformance and local tests.
class NoSyncFile : public core::WritableFile {
 public:
  explicit NoSyncFile(std::unique_ptr<core::WritableFile> base) : base_(std::move(base)) {}
  Status Append(std::string_view data) override { return base_->Append(data); }
  Status StartWriteback() override { return Status::Ok(); }
  Status Sync() override { return Status::Ok(); }
  Status Close() override { return base_->Close(); }

 private:
  std::unique_ptr<core::WritableFile> base_;
};

class NoSyncEnv : public core::EnvWrapper {
 public:
  NoSyncEnv() : EnvWrapper(Env::Default()) {}
  Result<std::unique_ptr<core::WritableFile>> NewWritableFile(const std::string& p) override {
    ASSIGN_OR_RETURN(auto f, target()->NewWritableFile(p));
    return std::unique_ptr<core::WritableFile>(new NoSyncFile(std::move(f)));
  }
  Result<std::unique_ptr<core::WritableFile>> NewDirectWritableFile(const std::string& p) override {
    ASSIGN_OR_RETURN(auto f, target()->NewDirectWritableFile(p));
    return std::unique_ptr<core::WritableFile>(new NoSyncFile(std::move(f)));
  }
  Status SyncDir(const std::string&) override { return Status::Ok(); }
  Status SyncFile(const std::string& p) override {
    // Still NotFound for a missing file, like the real call.
    ASSIGN_OR_RETURN(bool exists, target()->FileExists(p));
    return exists ? Status::Ok() : Status::NotFound("sync " + p + ": no such file");
  }
  Status SyncFilesystem(const std::string&) override { return Status::Ok(); }
};

NoSyncEnv* Base() {
  static auto* env = new NoSyncEnv();
  return env;
}

struct Object {
  Hash id;
  std::string data;
};

std::vector<Object> Objects() {
  std::vector<Object> out;
  for (size_t size : {1, 100, 4096, 300000}) {  // the last one takes the direct-I/O path
    std::string d(size, '\0');
    for (size_t i = 0; i < size; ++i) d[i] = static_cast<char>((i * 131 + size) & 0xff);
    out.push_back({Hash::Of(d), d});
  }
  return out;
}

// Puts every object (the first one twice: a dedup hit) and flushes; returns
// the first error.
Status PutAllAndFlush(ObjectStore& store, const std::vector<Object>& objects) {
  for (const auto& o : objects) RETURN_IF_ERROR(store.Put(o.id, ObjectKind::kChunk, o.data));
  RETURN_IF_ERROR(store.Put(objects[0].id, ObjectKind::kChunk, objects[0].data));
  return store.Flush();
}

// Every object is absent or intact; Get never returns wrong bytes.
void ExpectNothingHalfVisible(ObjectStore& store, const std::vector<Object>& objects,
                              const std::string& where) {
  for (const auto& o : objects) {
    auto got = store.Get(o.id, ObjectKind::kChunk);
    if (got.ok()) {
      EXPECT_EQ(*got, o.data) << where;
    } else {
      EXPECT_TRUE(got.status().Is(Code::kNotFound) || got.status().Is(Code::kCorruption))
          << where << ": " << got.status().ToString();
    }
  }
}

void ExpectAllIntact(ObjectStore& store, const std::vector<Object>& objects,
                     const std::string& where) {
  for (const auto& o : objects) {
    auto got = store.Get(o.id, ObjectKind::kChunk);
    ASSERT_TRUE(got.ok()) << where << ": " << got.status().ToString();
    EXPECT_EQ(*got, o.data) << where;
  }
}

class LocalStoreFaultTest : public ::testing::TestWithParam<size_t> {
 protected:
  LocalObjectStoreOptions Options() const {
    LocalObjectStoreOptions o;
    o.syncfs_threshold = GetParam();
    return o;
  }

  // A fresh store root (layout created with the real Env).
  std::string NewRoot() {
    std::string root = dir_.path() + "/s" + std::to_string(next_++);
    auto s = LocalObjectStore::Open(root, Base(), Options());
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return root;
  }

  // Steps a fault-free run takes, counted after open.
  int64_t CountSteps() {
    std::string root = NewRoot();
    FaultEnv env(Base());
    auto store = LocalObjectStore::Open(root, &env, Options());
    EXPECT_TRUE(store.ok());
    env.Reset();
    EXPECT_TRUE(PutAllAndFlush(**store, objects_).ok());
    return env.steps();
  }

  std::vector<std::string> TmpListing(const std::string& root) {
    auto names = Env::Default()->ListDir(root + "/tmp");
    EXPECT_TRUE(names.ok());
    return names.ok() ? *names : std::vector<std::string>{};
  }

  TempDir dir_;
  int next_ = 0;
  std::vector<Object> objects_ = Objects();
};

TEST_P(LocalStoreFaultTest, EveryStepFailingGivesAClearErrorAndNoHalfVisibleObject) {
  int64_t total = CountSteps();
  ASSERT_GT(total, 10);
  for (int err : {ENOSPC, EIO}) {
    for (int64_t k = 1; k <= total; ++k) {
      std::string where = "errno " + std::to_string(err) + " at step " + std::to_string(k);
      std::string root = NewRoot();
      FaultEnv env(Base());
      auto store = LocalObjectStore::Open(root, &env, Options());
      ASSERT_TRUE(store.ok()) << where;
      env.Reset();
      env.FailStep(k, err);
      Status s = PutAllAndFlush(**store, objects_);
      ASSERT_FALSE(s.ok()) << where;
      EXPECT_EQ(s.code(), err == ENOSPC ? Code::kResourceExhausted : Code::kIOError) << where;
      EXPECT_EQ(s.sys_errno(), err) << where;
      EXPECT_NE(s.message().find("injected fault"), std::string::npos) << where;
      EXPECT_NE(s.message().find(root), std::string::npos) << where << ": " << s.ToString();

      ExpectNothingHalfVisible(**store, objects_, where);
      // A failed Put leaves no temp file behind.
      EXPECT_EQ(TmpListing(root), std::vector<std::string>{(*store)->owner() + ".lock"}) << where;
      // The fault was transient: doing it again succeeds and everything is there.
      ASSERT_TRUE(PutAllAndFlush(**store, objects_).ok()) << where;
      ExpectAllIntact(**store, objects_, where);
    }
  }
}

TEST_P(LocalStoreFaultTest, CrashAtEveryStepThenPowerLossRecovers) {
  int64_t total = CountSteps();
  // total + 1: the crash comes after a successful Flush.
  for (int64_t k = 1; k <= total + 1; ++k) {
    std::string where = "crash at step " + std::to_string(k);
    std::string root = NewRoot();
    FaultEnv env(Base());
    Status s;
    {
      auto store = LocalObjectStore::Open(root, &env, Options());
      ASSERT_TRUE(store.ok()) << where;
      env.Reset();
      env.CrashAtStep(k);
      s = PutAllAndFlush(**store, objects_);
      EXPECT_EQ(s.ok(), k > total) << where << ": " << s.ToString();
    }  // the "process" is gone
    ASSERT_TRUE(env.DropUnsyncedData().ok()) << where;

    auto store = LocalObjectStore::Open(root, Base(), Options());
    ASSERT_TRUE(store.ok()) << where << ": " << store.status().ToString();
    if (s.ok()) {
      ExpectAllIntact(**store, objects_, where);  // a returned Flush is durable
    } else {
      ExpectNothingHalfVisible(**store, objects_, where);
    }
    // Stale temp files of the dead instance are gone.
    EXPECT_EQ(TmpListing(root), std::vector<std::string>{(*store)->owner() + ".lock"}) << where;
    ASSERT_TRUE(PutAllAndFlush(**store, objects_).ok()) << where;
    ExpectAllIntact(**store, objects_, where);
  }
}

TEST_P(LocalStoreFaultTest, CrashWhileCreatingTheLayoutLeavesAnOpenableStore) {
  // Count the steps of creating a store from scratch.
  int64_t total;
  {
    FaultEnv env(Base());
    auto store = LocalObjectStore::Open(dir_.path() + "/count", &env, Options());
    ASSERT_TRUE(store.ok());
    total = env.steps();  // before the destructor's own steps
  }
  for (int64_t k = 1; k <= total; ++k) {
    std::string where = "crash at creation step " + std::to_string(k);
    std::string root = dir_.path() + "/c" + std::to_string(k);
    FaultEnv env(Base());
    env.CrashAtStep(k);
    EXPECT_FALSE(LocalObjectStore::Open(root, &env, Options()).ok()) << where;
    ASSERT_TRUE(env.DropUnsyncedData().ok());
    auto store = LocalObjectStore::Open(root, Base(), Options());
    ASSERT_TRUE(store.ok()) << where << ": " << store.status().ToString();
    ASSERT_TRUE(PutAllAndFlush(**store, objects_).ok()) << where;
    ExpectAllIntact(**store, objects_, where);
  }
}

INSTANTIATE_TEST_SUITE_P(FlushModes, LocalStoreFaultTest,
                         ::testing::Values(size_t{1000}, size_t{1}),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return info.param == 1 ? std::string("syncfs")
                                                  : std::string("fdatasync");
                         });

}  // namespace
}  // namespace snapvol::store
