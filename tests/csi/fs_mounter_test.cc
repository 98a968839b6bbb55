// FsMounter pieces that need no FUSE: mount point detection, the helper's
// error reporting, and "nothing mounted" answers. Real mounts: e2e/csi.
#include "driver/csi/fs_mounter.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "driver/core/env.h"
#include "tests/store/temp_dir.h"

namespace snapvol::csi {
namespace {

FsMounterOptions Options(const std::string& dir, const std::string& helper) {
  FsMounterOptions o;
  o.store = dir + "/store";
  o.state_dir = dir + "/state";
  o.helper_binary = helper;
  return o;
}

TEST(FsMounterTest, DetectsMountPoints) {
  EXPECT_TRUE(IsMountPoint("/"));
  EXPECT_TRUE(IsMountPoint("/proc"));
  EXPECT_FALSE(IsMountPoint("/definitely/not/a/mount"));
}

TEST(FsMounterTest, NothingMountedIsNotFound) {
  store::TempDir dir;
  FsMounter m(Options(dir.path(), "/bin/false"));
  EXPECT_TRUE(m.Inspect(dir.path()).status().Is(core::Code::kNotFound));
  EXPECT_TRUE(m.Unmount(dir.path()).Is(core::Code::kNotFound));
}

TEST(FsMounterTest, HelperFailureIsReported) {
  store::TempDir dir;
  FsMounter m(Options(dir.path(), "/bin/false"));
  MountSpec spec;
  spec.environment = "main";
  spec.volume = "v";
  spec.target_path = dir.path();
  core::Status st = m.Mount(spec);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("mount helper exited"), std::string::npos) << st.ToString();
}

TEST(FsMounterTest, MountGroupChangesOnlyTheRootAndOnlyOnce) {
  if (::geteuid() != 0) GTEST_SKIP() << "chown needs root";
  store::TempDir dir;
  const std::string root = dir.path() + "/root";
  ASSERT_EQ(::mkdir(root.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root + "/sub").c_str(), 0700), 0);
  ASSERT_TRUE(ApplyMountGroup(root, 4242).ok());
  struct stat st {};
  ASSERT_EQ(::stat(root.c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, 4242u);
  EXPECT_EQ(st.st_mode & 07777, static_cast<mode_t>(02775));
  struct stat sub {};
  ASSERT_EQ(::stat((root + "/sub").c_str(), &sub), 0);
  EXPECT_EQ(sub.st_gid, 0u);  // no walk
  EXPECT_EQ(sub.st_mode & 07777, static_cast<mode_t>(0700));
  // Already applied: nothing is changed (no ctime bump, so no commit).
  struct timespec before = st.st_ctim;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(ApplyMountGroup(root, 4242).ok());
  ASSERT_EQ(::stat(root.c_str(), &st), 0);
  EXPECT_EQ(st.st_ctim.tv_sec, before.tv_sec);
  EXPECT_EQ(st.st_ctim.tv_nsec, before.tv_nsec);
  EXPECT_TRUE(ApplyMountGroup(dir.path() + "/missing", 1).Is(core::Code::kNotFound));
}

TEST(FsMounterTest, HelperRejectsBadArguments) {
  store::TempDir dir;
  std::string error_file = dir.path() + "/err";
  char prog[] = "snapvol-driver", cmd[] = "__mount", json[] = "{not json";
  std::string ef = error_file;
  char* argv[] = {prog, cmd, json, ef.data()};
  EXPECT_EQ(RunMountHelper(4, argv), 1);
  auto text = core::Env::Default()->ReadFile(error_file);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("InvalidArgument"), std::string::npos) << *text;
  EXPECT_EQ(RunMountHelper(2, argv), 2);
}

}  // namespace
}  // namespace snapvol::csi
