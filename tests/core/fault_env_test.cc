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

}  // namespace
}  // namespace snapvol::core
