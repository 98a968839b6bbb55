// FsMounter pieces that need no FUSE: mount point detection, the helper's
// error reporting, and "nothing mounted" answers. Real mounts: e2e/csi.
#include "driver/csi/fs_mounter.h"

#include <gtest/gtest.h>

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
