// The mount server's allowlist, installed in a forked child: what a file
// server does keeps working, what an attacker inside it would want does not.
#include "driver/fs/sandbox.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>

#include "tests/testing/child_report.h"

namespace snapvol::fs {
namespace {

std::string Outcome(long rc) {
  if (rc >= 0) return "ok";
  if (errno == EPERM) return "EPERM";
  return "errno " + std::to_string(errno);
}

// Runs the checks in a sandboxed child; returns its report.
std::string SandboxedReport(const std::string& dir) {
  return snapvol::testing::ChildReport([&] {
    core::Status s = SandboxMountServer();
    std::string r;
    if (!s.ok()) {
      r = s.ToString();
    } else {
      // A file server's day: create, write, sync, xattr, rename, unlink.
      std::string a = dir + "/a", b = dir + "/b";
      int fd = ::open(a.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
      bool ok = fd >= 0 && ::pwrite(fd, "data", 4, 0) == 4 && ::fdatasync(fd) == 0 &&
                ::fsetxattr(fd, "user.k", "v", 1, 0) == 0 && ::close(fd) == 0 &&
                ::rename(a.c_str(), b.c_str()) == 0 && ::mkdir((dir + "/d").c_str(), 0700) == 0 &&
                ::unlink(b.c_str()) == 0;
      r += std::string("files=") + (ok ? "ok" : "failed errno " + std::to_string(errno)) + ";";
      bool ran = false;
      std::thread t([&] { ran = true; });
      t.join();
      r += std::string("thread=") + (ran ? "ok" : "no") + ";";
      // What it must not do.
      char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
      r += "execve=" + Outcome(::syscall(SYS_execve, "/bin/true", argv, environ)) + ";";
      r += "mount=" + Outcome(::syscall(SYS_mount, "none", dir.c_str(), "tmpfs", 0, nullptr)) + ";";
      r += "ptrace=" + Outcome(::syscall(SYS_ptrace, PTRACE_TRACEME, 0, nullptr, nullptr)) + ";";
      r += "unshare=" + Outcome(::syscall(SYS_unshare, CLONE_NEWUSER)) + ";";
      r += "open_by_handle_at=" +
           Outcome(::syscall(SYS_open_by_handle_at, AT_FDCWD, nullptr, O_RDONLY)) + ";";
      r += "chroot=" + Outcome(::syscall(SYS_chroot, "/")) + ";";
      r += "setuid=" + Outcome(::syscall(SYS_setuid, 0)) + ";";
      // ioctl: only the FUSE backing-file requests pass the filter (on a
      // plain file the kernel then answers ENOTTY); any other is refused.
      int f = ::open((dir + "/io").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
      int pending = 0;
      r += "ioctl_fionread=" + Outcome(::ioctl(f, FIONREAD, &pending)) + ";";
      struct {
        int32_t fd;
        uint32_t flags;
        uint64_t padding;
      } map = {f, 0, 0};
      r += "ioctl_backing_open=" + Outcome(::ioctl(f, kFuseBackingOpen, &map)) + ";";
      uint32_t backing_id = 1;
      r += "ioctl_backing_close=" + Outcome(::ioctl(f, kFuseBackingClose, &backing_id)) + ";";
      ::close(f);
      ::unlink((dir + "/io").c_str());
    }
    return r;
  });
}

TEST(SandboxTest, MountServerAllowlistKeepsFileServingAndRefusesTheRest) {
  char tmpl[] = "/tmp/snapvol-sandbox-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string report = SandboxedReport(dir);
  EXPECT_EQ(report,
            "files=ok;thread=ok;execve=EPERM;mount=EPERM;ptrace=EPERM;unshare=EPERM;"
            "open_by_handle_at=EPERM;chroot=EPERM;setuid=EPERM;ioctl_fionread=EPERM;"
            "ioctl_backing_open=errno 25;ioctl_backing_close=errno 25;");
  ::rmdir((dir + "/d").c_str());
  ::rmdir(dir.c_str());
}

TEST(SandboxTest, OnlyRootServersSandboxAndTheEnvironmentCanTurnItOff) {
  ::unsetenv("SNAPVOL_SECCOMP");
  EXPECT_EQ(ShouldSandboxMountServer(), ::geteuid() == 0);
  ::setenv("SNAPVOL_SECCOMP", "0", 1);
  EXPECT_FALSE(ShouldSandboxMountServer());
  ::unsetenv("SNAPVOL_SECCOMP");
}

}  // namespace
}  // namespace snapvol::fs
