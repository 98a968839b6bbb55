#include "driver/store/local/local_object_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

#include "driver/core/fault_env.h"
#include "driver/store/local/verified_memo.h"
#include "tests/store/object_store_conformance.h"
#include "tests/store/temp_dir.h"

namespace snapvol::store {
namespace {

using core::Code;
using core::Env;

class LocalTarget : public ObjectStoreTarget {
 public:
  Result<std::unique_ptr<ObjectStore>> Open() override {
    ASSIGN_OR_RETURN(auto s, LocalObjectStore::Open(dir_.path() + "/store", Env::Default()));
    return std::unique_ptr<ObjectStore>(std::move(s));
  }

 private:
  TempDir dir_;
};

// Same backend, but Flush always takes the syncfs path.
class LocalSyncfsTarget : public ObjectStoreTarget {
 public:
  Result<std::unique_ptr<ObjectStore>> Open() override {
    LocalObjectStoreOptions options;
    options.syncfs_threshold = 1;
    ASSIGN_OR_RETURN(auto s,
                     LocalObjectStore::Open(dir_.path() + "/store", Env::Default(), options));
    return std::unique_ptr<ObjectStore>(std::move(s));
  }

 private:
  TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(
    Local, ObjectStoreConformanceTest,
    ::testing::Values(ObjectStoreBackend{"local", [] { return std::make_unique<LocalTarget>(); }},
                      ObjectStoreBackend{"local_syncfs",
                                         [] { return std::make_unique<LocalSyncfsTarget>(); }}),
    ObjectStoreBackendName);

std::vector<std::string> Listing(const std::string& dir) {
  auto names = Env::Default()->ListDir(dir);
  EXPECT_TRUE(names.ok()) << names.status().ToString();
  std::vector<std::string> v = names.ok() ? *names : std::vector<std::string>{};
  std::sort(v.begin(), v.end());
  return v;
}

void WriteRaw(const std::string& path, std::string_view data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

ino_t Inode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

class LocalObjectStoreTest : public ::testing::Test {
 protected:
  std::string root() const { return dir_.path() + "/store"; }
  std::unique_ptr<LocalObjectStore> Open(Env* env = Env::Default(),
                                         LocalObjectStoreOptions options = {}) {
    auto s = LocalObjectStore::Open(root(), env, options);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  TempDir dir_;
};

TEST_F(LocalObjectStoreTest, OnDiskLayoutMatchesTheDocs) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->layout().root(), root());
  EXPECT_EQ(Listing(root()),
            (std::vector<std::string>{"FORMAT", "objects", "quarantine", "tmp", "tmp.lock"}));
  EXPECT_EQ(*Env::Default()->ReadFile(root() + "/FORMAT"), "snapvol-store 1\n");
  EXPECT_TRUE(Listing(root() + "/objects").empty());  // prefixes appear on first use
  EXPECT_EQ(Listing(root() + "/tmp"), (std::vector<std::string>{store->owner() + ".lock"}));
  EXPECT_EQ(store->owner().rfind(std::to_string(::getpid()) + "-", 0), 0u) << store->owner();

  std::string data = "object bytes";
  Hash id = Hash::Of(data);
  ASSERT_TRUE(store->Put(id, ObjectKind::kTree, data).ok());
  std::string hex = id.Hex();
  std::string path = root() + "/objects/" + hex.substr(0, 2) + "/" + hex.substr(2);
  EXPECT_EQ(store->layout().ObjectFile(id), path);
  EXPECT_EQ(*Env::Default()->ReadFile(path), data);  // raw bytes, no framing
  EXPECT_EQ(Listing(root() + "/objects"), std::vector<std::string>{hex.substr(0, 2)});
  EXPECT_EQ(Listing(root() + "/tmp").size(), 1u);  // no temp left behind

  // The same names are written down in docs/storage-format.md.
  std::ifstream doc(std::string(SNAPVOL_SOURCE_DIR) + "/docs/storage-format.md");
  ASSERT_TRUE(doc.good());
  std::stringstream text;
  text << doc.rdbuf();
  for (const char* name : {"FORMAT", "snapvol-store 1", "objects/<xx>/<62 hex>", "tmp.lock",
                           "tmp/<owner>.lock", "tmp/<owner>.<tid>.<n>",
                           "quarantine/<64 hex>.<owner>.<n>", "verified/<64 hex>", "catalog.db"}) {
    EXPECT_NE(text.str().find(name), std::string::npos) << name;
  }
}

TEST_F(LocalObjectStoreTest, StoredChunksCarryTheHostsVerificationMemo) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  // A chunk: the store hashed these bytes to name it, so the host's memo
  // (verified_memo.h) says so and the first mount reading it need not hash.
  const std::string chunk(300000, 'c');
  auto id = store->PutContent(ObjectKind::kChunk, chunk);
  ASSERT_TRUE(id.ok());
  const std::string path = store->layout().ObjectFile(*id);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  // Only once the bytes are durable: a crash before Flush may lose them.
  EXPECT_FALSE(store->VerifiedBefore(*id, st));
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_TRUE(store->VerifiedBefore(*id, st));
  EXPECT_EQ(*Env::Default()->ReadFile(root() + "/verified/" + id->Hex()), VerifiedIdentity(st));
  // Another instance (a mount) trusts it too.
  auto other = Open();
  EXPECT_TRUE(other->VerifiedBefore(*id, st));
  // Other kinds are never read by the chunk cache, small chunks are cheaper
  // to hash than to look up: no memo.
  const std::string tree = "tree bytes";
  ASSERT_TRUE(store->Put(Hash::Of(tree), ObjectKind::kTree, tree).ok());
  auto small = store->PutContent(ObjectKind::kChunk, std::string(1000, 's'));
  ASSERT_TRUE(small.ok());
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(Listing(root() + "/verified"), std::vector<std::string>{id->Hex()});
  // A deleted object takes its memo along.
  ASSERT_TRUE(store->Delete(*id, ObjectKind::kChunk).ok());
  EXPECT_TRUE(Listing(root() + "/verified").empty());
}

// S10: an object edited in place whose mtime was put back (touch -d,
// utimensat) keeps inode, size and mtime; the memo must not vouch for it.
TEST_F(LocalObjectStoreTest, ChunkEditedInPlaceWithItsMtimePutBackIsNoLongerVerified) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::string chunk(300000, 'c');
  auto id = store->PutContent(ObjectKind::kChunk, chunk);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(store->Flush().ok());
  const std::string path = store->layout().ObjectFile(*id);
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  struct stat before;
  ASSERT_EQ(::fstat(fd, &before), 0);
  ASSERT_TRUE(store->VerifiedBefore(*id, before));
  ASSERT_EQ(::pwrite(fd, "d", 1, 10), 1);
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::futimens(fd, times), 0);
  struct stat after;
  ASSERT_EQ(::fstat(fd, &after), 0);
  ::close(fd);
  ASSERT_EQ(after.st_ino, before.st_ino);
  ASSERT_EQ(after.st_size, before.st_size);
  ASSERT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  ASSERT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  EXPECT_FALSE(store->VerifiedBefore(*id, after));
  // Get always hashes: the damage is reported and the file quarantined.
  auto got = store->Get(*id, ObjectKind::kChunk);
  EXPECT_EQ(got.status().code(), Code::kCorruption) << got.status().ToString();
  EXPECT_EQ(Listing(root() + "/quarantine").size(), 1u);
  EXPECT_FALSE(*store->Contains(*id, ObjectKind::kChunk));
}

TEST_F(LocalObjectStoreTest, CorruptObjectIsReportedQuarantinedAndHealedByPut) {
  auto store = Open();
  std::string data(10000, 'a');
  data[5000] = 'b';
  Hash id = Hash::Of(data);
  ASSERT_TRUE(store->Put(id, ObjectKind::kChunk, data).ok());
  ASSERT_TRUE(store->Flush().ok());
  std::string path = store->layout().ObjectFile(id);
  std::string flipped = data;
  flipped[1234] ^= 0x01;
  WriteRaw(path, flipped);

  auto got = store->Get(id, ObjectKind::kChunk);
  EXPECT_EQ(got.status().code(), Code::kCorruption);
  EXPECT_NE(got.status().message().find(id.Hex()), std::string::npos) << got.status().ToString();
  EXPECT_FALSE(*Env::Default()->FileExists(path));
  auto quarantined = Listing(root() + "/quarantine");
  ASSERT_EQ(quarantined.size(), 1u);
  EXPECT_EQ(quarantined[0].substr(0, 64), id.Hex());
  EXPECT_EQ(*Env::Default()->ReadFile(root() + "/quarantine/" + quarantined[0]), flipped);
  EXPECT_FALSE(*store->Contains(id, ObjectKind::kChunk));
  EXPECT_EQ(store->Get(id, ObjectKind::kChunk).status().code(), Code::kNotFound);

  ASSERT_TRUE(store->Put(id, ObjectKind::kChunk, data).ok());
  EXPECT_EQ(*store->Get(id, ObjectKind::kChunk), data);
}

TEST_F(LocalObjectStoreTest, CorruptObjectIsCorruptionOnGetIntoAndQuarantined) {
  auto store = Open();
  std::string data(3 << 20, 'c');
  data[12345] = 'd';
  auto id = store->PutContent(ObjectKind::kChunk, data);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_TRUE(store->Flush().ok());
  std::string path = store->layout().ObjectFile(*id);
  ObjectBuffer buf;
  ASSERT_TRUE(store->GetInto(*id, ObjectKind::kChunk, &buf).ok());
  ASSERT_TRUE(buf.view() == data);

  std::string flipped = data;
  flipped[(2 << 20) + 5] ^= 0x40;
  WriteRaw(path, flipped);
  Status s = store->GetInto(*id, ObjectKind::kChunk, &buf);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find(id->Hex()), std::string::npos) << s.ToString();
  EXPECT_FALSE(*Env::Default()->FileExists(path));
  EXPECT_EQ(Listing(root() + "/quarantine").size(), 1u);
  EXPECT_EQ(store->GetInto(*id, ObjectKind::kChunk, &buf).code(), Code::kNotFound);

  // An object with extra bytes after the expected ones is corrupt too, not
  // cut back to a size that happens to match.
  ASSERT_TRUE(store->Put(*id, ObjectKind::kChunk, data).ok());
  WriteRaw(path, data + "x");
  EXPECT_EQ(store->GetInto(*id, ObjectKind::kChunk, &buf).code(), Code::kCorruption);

  ASSERT_TRUE(store->Put(*id, ObjectKind::kChunk, data).ok());
  ASSERT_TRUE(store->GetInto(*id, ObjectKind::kChunk, &buf).ok());
  EXPECT_TRUE(buf.view() == data);
}

TEST_F(LocalObjectStoreTest, TruncatedObjectIsRewrittenByPut) {
  auto store = Open();
  std::string data(50000, 'z');
  Hash id = Hash::Of(data);
  ASSERT_TRUE(store->Put(id, ObjectKind::kChunk, data).ok());
  std::string path = store->layout().ObjectFile(id);
  // What a power loss leaves of a renamed but unflushed object.
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);
  EXPECT_FALSE(*store->Contains(id, ObjectKind::kChunk));
  ASSERT_TRUE(store->Put(id, ObjectKind::kChunk, data).ok());
  EXPECT_EQ(*store->Get(id, ObjectKind::kChunk), data);
  ASSERT_EQ(::truncate(path.c_str(), 100), 0);
  ASSERT_TRUE(store->Put(id, ObjectKind::kChunk, data).ok());
  EXPECT_EQ(*store->Get(id, ObjectKind::kChunk), data);
}

TEST_F(LocalObjectStoreTest, TruncatedObjectIsCorruptionOnGet) {
  auto store = Open();
  std::string data(4096, 'q');
  Hash id = Hash::Of(data);
  ASSERT_TRUE(store->Put(id, ObjectKind::kIndex, data).ok());
  ASSERT_EQ(::truncate(store->layout().ObjectFile(id).c_str(), 10), 0);
  EXPECT_EQ(store->Get(id, ObjectKind::kIndex).status().code(), Code::kCorruption);
  EXPECT_EQ(store->Get(id, ObjectKind::kIndex).status().code(), Code::kNotFound);
}

TEST_F(LocalObjectStoreTest, ExistingObjectIsNotRewritten) {
  auto store = Open();
  std::string data = "dedup me";
  Hash id = Hash::Of(data);
  ASSERT_TRUE(store->Put(id, ObjectKind::kChunk, data).ok());
  ino_t before = Inode(store->layout().ObjectFile(id));
  ASSERT_TRUE(store->Put(id, ObjectKind::kChunk, data).ok());
  EXPECT_EQ(Inode(store->layout().ObjectFile(id)), before);
}

TEST_F(LocalObjectStoreTest, UnknownFormatIsRefused) {
  { ASSERT_NE(Open(), nullptr); }
  WriteRaw(root() + "/FORMAT", "snapvol-store 2\n");
  auto s = LocalObjectStore::Open(root(), Env::Default());
  EXPECT_EQ(s.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("version '2'"), std::string::npos) << s.status().ToString();
  WriteRaw(root() + "/FORMAT", "restic repository\n");
  s = LocalObjectStore::Open(root(), Env::Default());
  EXPECT_EQ(s.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("unknown store format 'restic repository'"),
            std::string::npos)
      << s.status().ToString();
  WriteRaw(root() + "/FORMAT", "snapvol-store 1");  // a missing newline is fine
  EXPECT_TRUE(LocalObjectStore::Open(root(), Env::Default()).ok());
}

TEST(LocalLayoutTest, FormatCheckEscapesForeignBytes) {
  const LocalLayout layout("/s");
  EXPECT_TRUE(layout.CheckFormat("snapvol-store 1 \r\n\n").ok());
  core::Status s = layout.CheckFormat("snapvol-store \x1b[31m2\n");
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("version '\\033[31m2'"), std::string::npos) << s.message();
  s = layout.CheckFormat(std::string(1000, '\xff'));
  EXPECT_EQ(s.message().find('\xff'), std::string::npos);
  EXPECT_LT(s.message().size(), 400u) << "foreign bytes are cut";
}

TEST_F(LocalObjectStoreTest, ForeignNonEmptyDirectoryIsRefused) {
  ASSERT_TRUE(Env::Default()->CreateDirs(root()).ok());
  WriteRaw(root() + "/notes.txt", "mine");
  auto s = LocalObjectStore::Open(root(), Env::Default());
  EXPECT_EQ(s.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("notes.txt"), std::string::npos) << s.status().ToString();
  EXPECT_FALSE(*Env::Default()->FileExists(root() + "/objects"));
}

TEST_F(LocalObjectStoreTest, RelativeRootIsMadeAbsolute) {
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof(cwd)), nullptr);
  ASSERT_EQ(::chdir(dir_.path().c_str()), 0);
  auto s = LocalObjectStore::Open("./rel//store/", Env::Default());
  ASSERT_EQ(::chdir(cwd), 0);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->layout().root(), dir_.path() + "/rel/store");
}

TEST_F(LocalObjectStoreTest, StaleTempFilesAreCleanedOnOpen) {
  auto live = Open();
  ASSERT_NE(live, nullptr);
  std::string tmp = root() + "/tmp";
  // A crashed instance: lock file nobody holds, plus its temp files.
  WriteRaw(tmp + "/999-dead.lock", "");
  WriteRaw(tmp + "/999-dead.4242.0", "partial");
  WriteRaw(tmp + "/999-dead.4243.17", "partial");
  // Orphans whose lock file is already gone, and a stray file.
  WriteRaw(tmp + "/998-gone.77.3", "partial");
  WriteRaw(tmp + "/stray", "x");
  // A live instance's temp file must survive.
  WriteRaw(tmp + "/" + live->owner() + ".1.42", "in flight");

  auto second = Open();
  ASSERT_NE(second, nullptr);
  std::vector<std::string> want = {live->owner() + ".1.42", live->owner() + ".lock",
                                   second->owner() + ".lock"};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(Listing(tmp), want);
  std::string second_lock = second->owner() + ".lock";
  second.reset();  // a clean close removes its lock file
  EXPECT_FALSE(*Env::Default()->FileExists(tmp + "/" + second_lock));
}

// Runs `before(path)` ahead of every TryLockFile and `after(path, locked)`
// once it returned.
class LockHookEnv : public core::EnvWrapper {
 public:
  LockHookEnv(std::function<void(const std::string&)> before,
              std::function<void(const std::string&, bool)> after)
      : EnvWrapper(Env::Default()), before_(std::move(before)), after_(std::move(after)) {}
  Result<std::unique_ptr<core::FileLock>> TryLockFile(const std::string& p) override {
    before_(p);
    auto lock = target()->TryLockFile(p);
    after_(p, lock.ok());
    return lock;
  }

 private:
  std::function<void(const std::string&)> before_;
  std::function<void(const std::string&, bool)> after_;
};

// The interleaving behind one failed put in 1,000 concurrent ones (issue
// 12; AcquireOwnerLock), forced: a starting instance's lock file exists but
// is not locked yet when another instance opens and cleans tmp/. A cleaner
// that got hold of the file keeps it until the starting Open returned, as
// one preempted on a loaded machine would. The starting instance must open.
TEST_F(LocalObjectStoreTest, OpenNeverFailsBecauseAnotherInstanceCleansMeanwhile) {
  ASSERT_NE(Open(), nullptr);
  const std::string tmp = root() + "/tmp/";
  const auto in_tmp = [&](const std::string& p) { return p.rfind(tmp, 0) == 0; };
  const auto patience = std::chrono::seconds(30);
  std::mutex mu;
  std::condition_variable cv;
  bool cleaner_holds_it = false, cleaner_opened = false, starter_opened = false;
  int cleaner_tmp_locks = 0;

  LockHookEnv cleaner_env([](const std::string&) {},
                          [&](const std::string& p, bool locked) {
                            // Its first lock in tmp/ is its own.
                            if (!in_tmp(p) || ++cleaner_tmp_locks == 1 || !locked) return;
                            std::unique_lock<std::mutex> l(mu);
                            cleaner_holds_it = true;
                            cv.notify_all();
                            cv.wait_for(l, patience, [&] { return starter_opened; });
                          });
  std::thread cleaner;
  bool started_cleaner = false;
  LockHookEnv starter_env(
      [&](const std::string& p) {
        if (!in_tmp(p) || started_cleaner) return;
        started_cleaner = true;
        const int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);  // not locked yet
        ASSERT_GE(fd, 0);
        ::close(fd);
        cleaner = std::thread([&] {
          auto c = LocalObjectStore::Open(root(), &cleaner_env);
          EXPECT_TRUE(c.ok()) << c.status().ToString();
          std::lock_guard<std::mutex> l(mu);
          cleaner_opened = true;
          cv.notify_all();
        });
        std::unique_lock<std::mutex> l(mu);
        cv.wait_for(l, patience, [&] { return cleaner_holds_it || cleaner_opened; });
      },
      [](const std::string&, bool) {});

  auto starter = LocalObjectStore::Open(root(), &starter_env);
  {
    std::lock_guard<std::mutex> l(mu);
    starter_opened = true;
    cv.notify_all();
  }
  ASSERT_TRUE(started_cleaner);
  cleaner.join();
  EXPECT_TRUE(starter.ok()) << starter.status().ToString();
  EXPECT_FALSE(cleaner_holds_it) << "a cleaner locked a starting instance's lock file";
}

TEST_F(LocalObjectStoreTest, ForEachIgnoresForeignFiles) {
  auto store = Open();
  std::string data = "x";
  ASSERT_TRUE(store->Put(Hash::Of(data), ObjectKind::kChunk, data).ok());
  WriteRaw(root() + "/objects/00/short", "junk");
  WriteRaw(root() + "/objects/README", "junk");
  std::vector<Hash> seen;
  ASSERT_TRUE(store
                  ->ForEach(ObjectKind::kCommit,
                            [&](const Hash& h) {
                              seen.push_back(h);
                              return Status::Ok();
                            })
                  .ok());
  EXPECT_EQ(seen, std::vector<Hash>{Hash::Of(data)});  // kind is not recorded locally
}

TEST_F(LocalObjectStoreTest, FlushSyncsEachFileBelowTheThresholdAndTheFilesystemAbove) {
  core::FaultEnv env(Env::Default());
  LocalObjectStoreOptions options;
  options.syncfs_threshold = 3;
  auto store = Open(&env, options);
  auto put = [&](std::string d) {
    ASSERT_TRUE(store->Put(Hash::Of(d), ObjectKind::kChunk, d).ok());
  };

  put("a");
  put("b");
  env.FailOperation("syncfs", EIO);
  EXPECT_TRUE(store->Flush().ok());  // 2 pending: per-file fdatasync
  env.FailOperation("", 0);

  put("c");
  put("d");
  put("e");
  env.FailOperation("syncfile", EIO);
  EXPECT_TRUE(store->Flush().ok());  // 3 pending: one syncfs
  env.FailOperation("", 0);
}

TEST_F(LocalObjectStoreTest, FailedFlushKeepsObjectsPending) {
  core::FaultEnv env(Env::Default());
  auto store = Open(&env);
  std::string d = "pending";
  ASSERT_TRUE(store->Put(Hash::Of(d), ObjectKind::kChunk, d).ok());
  env.FailOperation("syncfile", EIO);
  Status s = store->Flush();
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_NE(s.message().find("flush store"), std::string::npos) << s.ToString();
  EXPECT_EQ(store->Flush().code(), Code::kIOError);  // still pending, still failing
  env.FailOperation("", 0);
  EXPECT_TRUE(store->Flush().ok());
  env.FailOperation("syncfile", EIO);
  EXPECT_TRUE(store->Flush().ok());  // nothing pending any more
  env.FailOperation("", 0);
}

TEST_F(LocalObjectStoreTest, DedupHitIsFlushedByTheSecondWriter) {
  // Writer A renames the object in but never flushes; writer B finds it
  // present and references it, so B's Flush must make it durable.
  auto a = Open();
  core::FaultEnv env(Env::Default());
  auto b = Open(&env);
  std::string d = "shared object";
  ASSERT_TRUE(a->Put(Hash::Of(d), ObjectKind::kChunk, d).ok());
  ASSERT_TRUE(b->Put(Hash::Of(d), ObjectKind::kChunk, d).ok());
  env.FailOperation("syncfile", EIO);
  EXPECT_FALSE(b->Flush().ok());
  env.FailOperation("", 0);
  EXPECT_TRUE(b->Flush().ok());
}

TEST_F(LocalObjectStoreTest, FlushReportsObjectsDeletedBeforeTheyWereDurable) {
  auto a = Open();
  auto b = Open();
  std::string d = "short lived";
  ASSERT_TRUE(a->Put(Hash::Of(d), ObjectKind::kChunk, d).ok());
  ASSERT_TRUE(b->Delete(Hash::Of(d), ObjectKind::kChunk).ok());
  Status s = a->Flush();
  EXPECT_EQ(s.code(), Code::kAborted);
  EXPECT_NE(s.message().find(Hash::Of(d).Hex()), std::string::npos) << s.ToString();
  EXPECT_TRUE(a->Flush().ok());  // reported once, not pending any more
}

TEST_F(LocalObjectStoreTest, RemovedPrefixDirectoryIsRecreated) {
  auto store = Open();
  std::string first = "first";
  ASSERT_TRUE(store->Put(Hash::Of(first), ObjectKind::kChunk, first).ok());
  ASSERT_TRUE(store->Delete(Hash::Of(first), ObjectKind::kChunk).ok());
  std::string dir = root() + "/objects/" + Hash::Of(first).Hex().substr(0, 2);
  ASSERT_EQ(::rmdir(dir.c_str()), 0);
  ASSERT_TRUE(store->Put(Hash::Of(first), ObjectKind::kChunk, first).ok());
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(*store->Get(Hash::Of(first), ObjectKind::kChunk), first);
  std::string d = "second";
  Hash id = Hash::Of(d);
  ASSERT_TRUE(store->Put(id, ObjectKind::kChunk, d).ok());
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(*store->Get(id, ObjectKind::kChunk), d);
}

}  // namespace
}  // namespace snapvol::store
