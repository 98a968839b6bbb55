// The mount-free parts of mount_inspect.h; live and dead mounts are in
// e2e/mount_e2e_test.cc (MountE2eTest.InspectTellsLiveDeadAndAbsent).
#include "driver/fs/mount_inspect.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "driver/fs/state_layout.h"

namespace snapvol::fs {
namespace {

class MountInspectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mount-inspect-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Record(const std::string& state, const std::string& id, const std::string& mountpoint) {
    MountDirLayout layout(StateLayout(state).MountDir(id));
    std::filesystem::create_directories(layout.dir());
    MountInfo info;
    info.id = id;
    info.volume = "v-" + id;
    info.mountpoint = mountpoint;
    info.pid = 4242;
    std::ofstream(layout.InfoFile()) << EncodeMountInfo(info);
  }

  std::string dir_;
};

TEST_F(MountInspectTest, AnUnmountedDirectoryIsAbsent) {
  MountInspection found = InspectMount(dir_);
  EXPECT_EQ(found.presence, MountPresence::kAbsent);
  EXPECT_TRUE(found.error.Is(core::Code::kNotFound)) << found.error.ToString();
  EXPECT_EQ(InspectMount(dir_ + "/does-not-exist").presence, MountPresence::kAbsent);
}

TEST_F(MountInspectTest, AnotherFileSystemIsNotSnapvol) {
  // /proc is a mount on every Linux host, and answers no user.snapvol.* attribute.
  MountInspection found = InspectMount("/proc");
  EXPECT_EQ(found.presence, MountPresence::kNotSnapvol);
  EXPECT_FALSE(found.error.ok());
}

TEST_F(MountInspectTest, DetachingWhatIsNotMountedIsDone) {
  // Idempotent: a second unmount of a detached mount (or of nothing) is OK.
  EXPECT_TRUE(DetachDeadMount(dir_).ok());
  EXPECT_TRUE(DetachDeadMount(dir_ + "/does-not-exist").ok());
}

TEST_F(MountInspectTest, FindsTheRecordedMountOfAMountpoint) {
  const std::string state = dir_ + "/state";
  const std::string mp = dir_ + "/mp";
  std::filesystem::create_directories(mp);
  Record(state, "aaaa", dir_ + "/elsewhere");
  Record(state, "bbbb", mp);
  std::optional<MountInfo> found = RecordedMountAt(state, mp);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, "bbbb");
  EXPECT_EQ(found->pid, 4242);
  // Through a symlink and with a trailing slash: the same mountpoint.
  std::filesystem::create_directory_symlink(mp, dir_ + "/link");
  ASSERT_TRUE(RecordedMountAt(state, dir_ + "/link").has_value());
  EXPECT_EQ(RecordedMountAt(state, mp + "/")->id, "bbbb");
  EXPECT_FALSE(RecordedMountAt(state, dir_ + "/nowhere").has_value());
  EXPECT_FALSE(RecordedMountAt(dir_ + "/no-state", mp).has_value());
}

TEST_F(MountInspectTest, CorruptRecordsAreSkipped) {
  const std::string state = dir_ + "/state";
  const std::string mp = dir_ + "/mp";
  std::filesystem::create_directories(mp);
  MountDirLayout bad(StateLayout(state).MountDir("cccc"));
  std::filesystem::create_directories(bad.dir());
  std::ofstream(bad.InfoFile()) << "{not json";
  EXPECT_FALSE(RecordedMountAt(state, mp).has_value());
  EXPECT_TRUE(RecordedMounts(state).empty());
  Record(state, "dddd", mp);
  ASSERT_EQ(RecordedMounts(state).size(), 1u);
  EXPECT_EQ(RecordedMounts(state)[0].id, "dddd");
  ASSERT_TRUE(RecordedMountAt(state, mp).has_value());
  EXPECT_EQ(RecordedMountAt(state, mp)->id, "dddd");
}

TEST(DeadMountErrorTest, SaysWhatToDo) {
  core::Status s = DeadMountError("/mnt/x");
  EXPECT_TRUE(s.Is(core::Code::kUnavailable));
  EXPECT_NE(s.message().find("snapvol recover"), std::string::npos);
  EXPECT_NE(s.message().find("/mnt/x"), std::string::npos);
}

}  // namespace
}  // namespace snapvol::fs
