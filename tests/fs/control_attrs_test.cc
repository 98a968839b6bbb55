// ControlAttrs over a real MountServer on an embedded store in a temporary
// directory: the answers the FUSE layer turns into getxattr/setxattr
// replies, without a kernel.
#include "driver/fs/control_attrs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>

#include "driver/fs/control_json.h"
#include "driver/store/store.h"
#include "driver/volume/engine.h"

namespace snapvol::fs {
namespace {

namespace stdfs = std::filesystem;

class ControlAttrsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = stdfs::temp_directory_path() /
           ("snapvol-control-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    stdfs::remove_all(dir_);
    stdfs::create_directories(dir_);
    {
      auto st = store::OpenStore((dir_ / "store").string(), core::Env::Default());
      ASSERT_TRUE(st.ok()) << st.status().ToString();
      volume::Engine engine(st->get(), core::Env::Default());
      ASSERT_TRUE(engine.CreateVolume("main", "v", volume::CreateVolumeOptions()).ok());
    }
    MountOptions o;
    o.store = (dir_ / "store").string();
    o.volume = "v";
    o.mountpoint = "/unused";
    o.state_dir = (dir_ / "state").string();
    o.commit_interval = std::chrono::milliseconds(0);
    auto s = MountServer::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    control_ = std::make_unique<ControlAttrs>(
        server_.get(), &io_,
        [this](Invalidations, bool async_root) {
          ++delivered_;
          last_async_root_ = async_root;
        },
        [this] { ++drained_; });
  }
  void TearDown() override {
    control_.reset();
    server_.reset();
    stdfs::remove_all(dir_);
  }

  // A file created through the view: one pending change.
  void Change(const std::string& name) {
    auto r = server_->view().Create(kRootIno, name, 0644, O_WRONLY, Cred());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    server_->view().Release(r->second.handle);
    server_->view().Forget(r->first.ino, 1);
  }

  stdfs::path dir_;
  KernelIo io_;
  std::unique_ptr<MountServer> server_;
  std::unique_ptr<ControlAttrs> control_;
  int delivered_ = 0;
  int drained_ = 0;
  bool last_async_root_ = false;
};

TEST_F(ControlAttrsTest, OnlyUserSnapvolNamesOnTheRootAreControl) {
  EXPECT_TRUE(ControlAttrs::IsControl(kRootIno, "user.snapvol.commit"));
  EXPECT_TRUE(ControlAttrs::IsControl(kRootIno, "user.snapvol.anything"));
  EXPECT_FALSE(ControlAttrs::IsControl(kRootIno, "user.other"));
  EXPECT_FALSE(ControlAttrs::IsControl(kRootIno + 1, "user.snapvol.commit"));
}

TEST_F(ControlAttrsTest, VersionAndItsSizeProbe) {
  auto v = control_->Get(kXattrVersion, 0, Cred(), 0);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value, "0");
  EXPECT_EQ(v->probe_size, 1u);
}

TEST_F(ControlAttrsTest, SettingCommitCommits) {
  Change("f");
  ASSERT_TRUE(control_->Set(kXattrCommit, Cred(), 0).ok());
  EXPECT_EQ(server_->CurrentStatus().commits, 1u);
  EXPECT_EQ(server_->CurrentStatus().pending, 0u);
}

TEST_F(ControlAttrsTest, ReadingCommitCommitsButItsProbeDoesNot) {
  Change("f");
  auto probe = control_->Get(kXattrCommit, 0, Cred(), 0);
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe->probe_size, ControlAttrs::kProbeSize);
  EXPECT_EQ(server_->CurrentStatus().commits, 0u);
  auto r = control_->Get(kXattrCommit, 4096, Cred(), 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto info = DecodeCommitInfo(r->value);
  ASSERT_TRUE(info.ok()) << r->value;
  EXPECT_EQ(info->version, 1u);
  EXPECT_FALSE(info->empty);
}

TEST_F(ControlAttrsTest, ReloadDeliversInvalidations) {
  ASSERT_TRUE(control_->Set(kXattrReload, Cred(), 0).ok());
  EXPECT_EQ(delivered_, 1);
  EXPECT_TRUE(last_async_root_);  // setxattr holds the root's inode lock
  auto r = control_->Get(kXattrReload, 64, Cred(), 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value, "0");
  EXPECT_EQ(delivered_, 2);
  EXPECT_FALSE(last_async_root_);  // getxattr holds none
  EXPECT_GE(drained_, 1);
}

TEST_F(ControlAttrsTest, UnknownNames) {
  EXPECT_EQ(control_->Set(kXattrVersion, Cred(), 0).sys_errno(), EPERM);
  EXPECT_EQ(control_->Set("user.snapvol.nope", Cred(), 0).sys_errno(), EPERM);
  EXPECT_EQ(control_->Get("user.snapvol.nope", 10, Cred(), 0).status().sys_errno(), ENODATA);
}

TEST_F(ControlAttrsTest, ARootThatTheCallerMayNotReadRefusesControl) {
  ASSERT_TRUE(server_->view()
                  .SetAttr(
                      kRootIno,
                      [] {
                        SetAttrIn in;
                        in.mode = 0700;
                        return in;
                      }(),
                      Cred())
                  .ok());
  const Cred stranger(12345, 12345);
  EXPECT_FALSE(control_->Set(kXattrCommit, stranger, 12345).ok());
  EXPECT_FALSE(control_->Get(kXattrStatus, 0, stranger, 12345).ok());
  EXPECT_EQ(server_->CurrentStatus().commits, 0u);
}

// Gap: the status said passthrough "on" as soon as INIT accepted it. Now
// `passthrough` is whether a backing file is in use, and
// `passthrough_accepted` what INIT said.
TEST_F(ControlAttrsTest, StatusReportsPassthroughFromUseNotFromInit) {
  auto decode = [this] {
    auto v = control_->Get(kXattrStatus, 1 << 20, Cred(), 0);
    EXPECT_TRUE(v.ok());
    EXPECT_GE(v->probe_size, ControlAttrs::kProbeSize);
    auto s = DecodeMountStatus(v->value);
    EXPECT_TRUE(s.ok()) << v->value;
    return *s;
  };
  MountStatus s = decode();
  EXPECT_FALSE(s.passthrough_accepted);
  EXPECT_FALSE(s.passthrough);
  io_.Accept();  // INIT accepted
  s = decode();
  EXPECT_TRUE(s.passthrough_accepted);
  EXPECT_FALSE(s.passthrough);
  KernelIo::Open open;
  open.key = core::Hash::Of("content");
  KernelIo::Decision d = io_.BeginOpen(5, open);
  ASSERT_EQ(io_.FinishOpen(5, open, d.ticket, 1).action, KernelIo::Action::kPassthrough);
  s = decode();
  EXPECT_TRUE(s.passthrough_accepted);
  EXPECT_TRUE(s.passthrough);
  EXPECT_GE(drained_, 3);  // queued invalidations are delivered before a status
}

}  // namespace
}  // namespace snapvol::fs
