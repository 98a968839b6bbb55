#include "driver/core/fault_env.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <filesystem>

namespace snapvol::core {
namespace {

class FaultEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/snapvol-faultenv-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(FaultEnvTest, FailsTheChosenStepOnly) {
  FaultEnv env(Env::Default());
  env.FailStep(2, ENOSPC);
  auto f = env.NewWritableFile(dir_ + "/a");  // step 1
  ASSERT_TRUE(f.ok());
  Status s = (*f)->Append("hello");  // step 2
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_EQ(s.sys_errno(), ENOSPC);
  EXPECT_TRUE((*f)->Append("hello").ok());  // step 3
  EXPECT_TRUE((*f)->Close().ok());
}

TEST_F(FaultEnvTest, CrashFailsEverythingAfterAndDropsUnsyncedData) {
  FaultEnv env(Env::Default());
  {
    auto f = env.NewWritableFile(dir_ + "/synced");
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append("durable").ok());
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Append("-lost").ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  {
    auto f = env.NewWritableFile(dir_ + "/unsynced");
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append("gone").ok());
    env.CrashAtStep(env.steps() + 1);
    EXPECT_FALSE((*f)->Close().ok());
  }
  EXPECT_TRUE(env.crashed());
  EXPECT_FALSE(env.CreateDir(dir_ + "/d").ok());
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  EXPECT_EQ(*Env::Default()->ReadFile(dir_ + "/synced"), "durable");
  EXPECT_FALSE(*Env::Default()->FileExists(dir_ + "/unsynced"));
}

TEST_F(FaultEnvTest, FailOperationByName) {
  FaultEnv env(Env::Default());
  env.FailOperation("rename", EIO);
  auto f = env.NewWritableFile(dir_ + "/a");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(env.RenameFile(dir_ + "/a", dir_ + "/b").sys_errno(), EIO);
  env.FailOperation("", 0);
  EXPECT_TRUE(env.RenameFile(dir_ + "/a", dir_ + "/b").ok());
}

TEST_F(FaultEnvTest, SyncFileMarksThatFileDurable) {
  FaultEnv env(Env::Default());
  for (const char* name : {"/a", "/b"}) {
    auto f = env.NewWritableFile(dir_ + name);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append("content").ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  ASSERT_TRUE(env.RenameFile(dir_ + "/a", dir_ + "/a2").ok());
  ASSERT_TRUE(env.SyncFile(dir_ + "/a2").ok());
  EXPECT_EQ(env.SyncFile(dir_ + "/missing").code(), Code::kNotFound);
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  EXPECT_EQ(*Env::Default()->ReadFile(dir_ + "/a2"), "content");
  EXPECT_FALSE(*Env::Default()->FileExists(dir_ + "/b"));
}

TEST_F(FaultEnvTest, SyncFilesystemMarksEveryFileDurable) {
  FaultEnv env(Env::Default());
  for (const char* name : {"/a", "/b"}) {
    auto f = env.NewWritableFile(dir_ + name);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(name).ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  ASSERT_TRUE(env.SyncFilesystem(dir_).ok());
  auto f = env.NewWritableFile(dir_ + "/later");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Close().ok());
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  EXPECT_EQ(*Env::Default()->ReadFile(dir_ + "/a"), "/a");
  EXPECT_EQ(*Env::Default()->ReadFile(dir_ + "/b"), "/b");
  EXPECT_FALSE(*Env::Default()->FileExists(dir_ + "/later"));
}

TEST_F(FaultEnvTest, SyncedEmptyFileSurvivesAndNewOpsAreSteps) {
  FaultEnv env(Env::Default());
  auto f = env.NewWritableFile(dir_ + "/empty");  // step 1
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Sync().ok());   // step 2
  ASSERT_TRUE((*f)->Close().ok());  // step 3
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  EXPECT_TRUE(*Env::Default()->FileExists(dir_ + "/empty"));

  env.FailOperation("syncfile", EIO);
  EXPECT_EQ(env.SyncFile(dir_ + "/empty").sys_errno(), EIO);  // step 4
  env.FailOperation("syncfs", ENOSPC);
  EXPECT_EQ(env.SyncFilesystem(dir_).code(), Code::kResourceExhausted);  // step 5
  env.FailOperation("lock", EIO);
  EXPECT_EQ(env.TryLockFile(dir_ + "/l").status().sys_errno(), EIO);  // step 6
  env.FailOperation("", 0);
  EXPECT_EQ(env.steps(), 6);
  env.CrashAtStep(7);
  EXPECT_FALSE(env.TryLockFile(dir_ + "/l").ok());
  EXPECT_TRUE(env.crashed());
}

TEST(PosixEnvTest, FileLocksAreExclusiveAndReleasedOnDestroy) {
  char tmpl[] = "/tmp/snapvol-posixenv-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  Env* env = Env::Default();
  std::string path = dir + "/x.lock";
  {
    auto a = env->TryLockFile(path);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_TRUE(*env->FileExists(path));
    auto b = env->TryLockFile(path);  // another open file description: conflicts
    EXPECT_EQ(b.status().code(), Code::kUnavailable);
    EXPECT_NE(b.status().message().find(path), std::string::npos);
  }
  auto c = env->TryLockFile(path);
  EXPECT_TRUE(c.ok());
  // Unlinking a held lock file lets a new holder lock a new file by that name.
  ASSERT_TRUE(env->RemoveFile(path).ok());
  auto d = env->TryLockFile(path);
  EXPECT_TRUE(d.ok());
  EXPECT_EQ(env->TryLockFile(dir + "/no/such/dir.lock").status().code(), Code::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST(PosixEnvTest, SyncByPathAndLargeReads) {
  char tmpl[] = "/tmp/snapvol-posixenv-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  Env* env = Env::Default();
  std::string big(3 * 4096 + 17, 'b');
  auto f = env->NewWritableFile(dir + "/f");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append(big).ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_TRUE(env->SyncFile(dir + "/f").ok());
  EXPECT_TRUE(env->SyncFilesystem(dir).ok());
  EXPECT_EQ(env->SyncFile(dir + "/missing").code(), Code::kNotFound);
  EXPECT_EQ(*env->ReadFile(dir + "/f"), big);
  auto empty = env->NewWritableFile(dir + "/e");
  ASSERT_TRUE(empty.ok());
  ASSERT_TRUE((*empty)->Close().ok());
  EXPECT_EQ(*env->ReadFile(dir + "/e"), "");
  // Files whose size stat does not know (procfs) are read to the end.
  EXPECT_FALSE(env->ReadFile("/proc/self/status")->empty());
  std::filesystem::remove_all(dir);
}

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + seed * 13 + i / 4096) & 0xff);
  return s;
}

TEST(PosixEnvTest, DirectWritableFileKeepsExactContentAndSize) {
  char tmpl[] = "/tmp/snapvol-posixenv-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  Env* env = Env::Default();
  const size_t kMiB = 1 << 20;
  // Whole sizes around block (4 KiB) and buffer (4 MiB) boundaries.
  for (size_t size : {size_t{0}, size_t{1}, size_t{4095}, size_t{4096}, size_t{4097}, 4 * kMiB - 1,
                      4 * kMiB, 4 * kMiB + 1, 9 * kMiB + 123}) {
    std::string data = Pattern(size, static_cast<int>(size % 97));
    std::string path = dir + "/f" + std::to_string(size);
    auto f = env->NewDirectWritableFile(path);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE((*f)->Append(data).ok());
    ASSERT_TRUE((*f)->StartWriteback().ok());
    ASSERT_TRUE((*f)->Close().ok());
    EXPECT_EQ(*env->FileSize(path), size);
    EXPECT_TRUE(*env->ReadFile(path) == data) << size;
  }
  // Many odd-sized appends, with Syncs in between (each leaves the exact
  // length on disk; later appends rewrite the partial block).
  std::string path = dir + "/pieces";
  auto f = env->NewDirectWritableFile(path);
  ASSERT_TRUE(f.ok());
  std::string all;
  for (int i = 0; i < 40; ++i) {
    std::string piece = Pattern(static_cast<size_t>(i) * 30011 % 700001 + 1, i);
    ASSERT_TRUE((*f)->Append(piece).ok());
    all += piece;
    if (i % 9 == 4) {
      ASSERT_TRUE((*f)->Sync().ok());
      EXPECT_EQ(*env->FileSize(path), all.size());
    }
  }
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(*env->FileSize(path), all.size());
  EXPECT_TRUE(*env->ReadFile(path) == all);
  EXPECT_EQ(env->NewDirectWritableFile(dir + "/no/such/dir").status().code(), Code::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST_F(FaultEnvTest, DirectWritableFilesAreStepsAndTracked) {
  FaultEnv env(Env::Default());
  auto f = env.NewDirectWritableFile(dir_ + "/d");  // step 1
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append(std::string(10000, 'd')).ok());  // step 2
  ASSERT_TRUE((*f)->Sync().ok());                           // step 3
  ASSERT_TRUE((*f)->Append("lost").ok());                   // step 4
  ASSERT_TRUE((*f)->Close().ok());                          // step 5
  EXPECT_EQ(env.steps(), 5);
  env.FailOperation("create", ENOSPC);
  EXPECT_EQ(env.NewDirectWritableFile(dir_ + "/e").status().code(), Code::kResourceExhausted);
  env.FailOperation("", 0);
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  EXPECT_EQ(*Env::Default()->ReadFile(dir_ + "/d"), std::string(10000, 'd'));
}

TEST(PosixEnvTest, ReadWriteListRename) {
  char tmpl[] = "/tmp/snapvol-posixenv-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  Env* env = Env::Default();
  ASSERT_TRUE(env->CreateDirs(dir + "/x/y").ok());
  auto f = env->NewWritableFile(dir + "/x/y/f");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append(std::string(10000, 'q')).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(*env->FileSize(dir + "/x/y/f"), 10000u);
  ASSERT_TRUE(env->RenameFile(dir + "/x/y/f", dir + "/x/g").ok());
  EXPECT_EQ(env->ReadFile(dir + "/x/g")->size(), 10000u);
  auto names = env->ListDir(dir + "/x");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), 2u);
  EXPECT_EQ(env->ReadFile(dir + "/missing").status().code(), Code::kNotFound);
  EXPECT_TRUE(env->SyncDir(dir).ok());
  std::filesystem::remove_all(dir);
}

TEST(PosixEnvTest, RandomRWFileModesAndPositionalIo) {
  char tmpl[] = "/tmp/snapvol-posixenv-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  Env* env = Env::Default();
  const std::string path = dir + "/rw";
  EXPECT_EQ(env->NewRandomRWFile(path, OpenMode::kOpenExisting).status().code(), Code::kNotFound);
  EXPECT_EQ(env->NewRandomRWFile(path, OpenMode::kReadOnly).status().code(), Code::kNotFound);
  auto f = env->NewRandomRWFile(path, OpenMode::kCreateNew);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(env->NewRandomRWFile(path, OpenMode::kCreateNew).status().code(), Code::kAlreadyExists);
  ASSERT_TRUE((*f)->Write(4, "world").ok());
  ASSERT_TRUE((*f)->Write(0, "helo").ok());
  EXPECT_EQ(*(*f)->Size(), 9u);
  char buf[16] = {};
  EXPECT_EQ(*(*f)->Read(0, sizeof(buf), buf), 9u);  // short only at the end
  EXPECT_EQ(std::string(buf, 9), "heloworld");
  ASSERT_TRUE((*f)->Truncate(4).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  EXPECT_GE((*f)->fd(), 0);
  auto again = env->NewRandomRWFile(path, OpenMode::kOpenOrCreate);  // never truncates
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*env->ReadFile(path), "helo");
  ASSERT_TRUE((*f)->Chmod(0400).ok());
  auto ro = env->NewRandomRWFile(path, OpenMode::kReadOnly);
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ((*ro)->Write(0, "x").sys_errno(), EBADF);
  EXPECT_EQ(*env->ReadFile(path), "helo");
  std::filesystem::remove_all(dir);
}

TEST_F(FaultEnvTest, RandomRWFileCrashGoesBackToLastSync) {
  FaultEnv env(Env::Default());
  auto f = env.NewRandomRWFile(dir_ + "/rw", OpenMode::kCreateNew);  // step 1
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Write(0, "durable!").ok());  // step 2
  ASSERT_TRUE((*f)->Sync().ok());                // step 3
  ASSERT_TRUE(env.SyncDir(dir_).ok());           // step 4: the name is durable
  ASSERT_TRUE((*f)->Write(2, "XX").ok());        // overwritten, never synced
  ASSERT_TRUE((*f)->Write(8, "-tail").ok());
  // Bytes written through the raw descriptor are unsynced data too.
  ASSERT_EQ(::pwrite((*f)->fd(), "raw", 3, 20), 3);
  EXPECT_EQ(env.steps(), 6);
  auto g = env.NewRandomRWFile(dir_ + "/unnamed", OpenMode::kCreateNew);
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE((*g)->Write(0, "synced, but its name is not").ok());
  ASSERT_TRUE((*g)->Sync().ok());
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  EXPECT_EQ(*Env::Default()->ReadFile(dir_ + "/rw"), "durable!");
  EXPECT_FALSE(*Env::Default()->FileExists(dir_ + "/unnamed"));
}

TEST_F(FaultEnvTest, FailedSyncLosesUnsyncedBytesForGood) {
  FaultEnv env(Env::Default());
  ASSERT_TRUE(Env::Default()->NewWritableFile(dir_ + "/old").ok());  // exists before: durable
  auto f = env.NewRandomRWFile(dir_ + "/old", OpenMode::kOpenExisting);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Write(0, "A").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Write(1, "B").ok());
  env.FailOperation("sync", EIO);
  Status failed = (*f)->Sync();
  EXPECT_EQ(failed.sys_errno(), EIO);
  env.FailOperation("", 0);
  ASSERT_TRUE((*f)->Write(2, "C").ok());
  EXPECT_TRUE((*f)->Sync().ok());  // what the kernel says after a failure...
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  EXPECT_EQ(*Env::Default()->ReadFile(dir_ + "/old"), "A");  // ...is not durability
}

TEST_F(FaultEnvTest, FullDiskWritesWhatFitsThenFailsWithEnospc) {
  FaultEnv env(Env::Default());
  env.FillDiskAfter(10);
  auto f = env.NewRandomRWFile(dir_ + "/rw", OpenMode::kCreateNew);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*(*f)->WriteSome(0, "0123456"), 7u);
  EXPECT_EQ(*(*f)->WriteSome(7, "789abc"), 3u);  // short: the disk is full now
  Result<size_t> full = (*f)->WriteSome(10, "x");
  EXPECT_EQ(full.status().code(), Code::kResourceExhausted);
  EXPECT_EQ(full.status().sys_errno(), ENOSPC);
  EXPECT_EQ((*f)->Write(10, "more").sys_errno(), ENOSPC);
  EXPECT_EQ(*Env::Default()->ReadFile(dir_ + "/rw"), "0123456789");
  auto w = env.NewWritableFile(dir_ + "/w");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->Append("y").sys_errno(), ENOSPC);
  env.Reset();
  EXPECT_TRUE((*f)->Write(10, "more").ok());
}

}  // namespace
}  // namespace snapvol::core
