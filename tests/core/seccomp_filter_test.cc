// The allowlist is installed in a forked child (it is irreversible); the
// child reports each check as one byte over a pipe and leaves with _exit so
// that no sanitizer or test-framework exit code runs under the filter.
#include "driver/core/seccomp_filter.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <string>
#include <thread>

#include "tests/testing/child_report.h"

namespace snapvol::core {
namespace {

// Runs `body` in a child after installing `list`; returns what the child
// reported (or "install failed: ...").
std::string InChild(const SyscallAllowlist& list, const std::function<std::string()>& body) {
  return snapvol::testing::ChildReport([&] {
    Status s = InstallSyscallAllowlist(list);
    return s.ok() ? body() : "install failed: " + s.ToString();
  });
}

// Enough for a child to run the checks below and exit (pipe2: UBSan probes
// whether memory is readable by writing it to a pipe).
SyscallAllowlist Minimal() {
  SyscallAllowlist list;
  list.syscalls = {"read",
                   "write",
                   "close",
                   "exit",
                   "exit_group",
                   "mmap",
                   "munmap",
                   "mprotect",
                   "madvise",
                   "brk",
                   "futex",
                   "rt_sigprocmask",
                   "set_robust_list",
                   "rseq",
                   "getpid",
                   "clone",
                   "gettid",
                   "sched_yield",
                   "openat",
                   "newfstatat",
                   "fstat",
                   "prctl",
                   "sigaltstack",
                   "rt_sigaction",
                   "getrlimit",
                   "prlimit64",
                   "sched_getaffinity",
                   "mremap",
                   "tgkill",
                   "pipe2"};
  list.socket_families = {AF_UNIX};
  return list;
}

// "<errno name or ok>" for a raw syscall result.
std::string Outcome(long rc) {
  if (rc >= 0) return "ok";
  if (errno == EPERM) return "EPERM";
  if (errno == ENOSYS) return "ENOSYS";
  return "errno " + std::to_string(errno);
}

TEST(SeccompFilterTest, AllowedCallsWorkAndEverythingElseIsEperm) {
  std::string out = InChild(Minimal(), [] {
    std::string r;
    r += "mode=" + std::to_string(CurrentSeccompMode()) + ";";
    r += "getpid=" + Outcome(::syscall(SYS_getpid)) + ";";
    r += "mkdir=" + Outcome(::syscall(SYS_mkdirat, AT_FDCWD, "/tmp/snapvol-seccomp-x", 0700)) + ";";
    r += "uname=" + Outcome(::syscall(SYS_uname, nullptr)) + ";";
    return r;
  });
  EXPECT_EQ(out, "mode=2;getpid=ok;mkdir=EPERM;uname=EPERM;");
}

TEST(SeccompFilterTest, SocketsOnlyOfTheListedFamilies) {
  std::string out = InChild(Minimal(), [] {
    std::string r;
    long unix_fd = ::syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
    r += "unix=" + Outcome(unix_fd) + ";";
    r += "inet=" + Outcome(::syscall(SYS_socket, AF_INET, SOCK_STREAM, 0)) + ";";
    r += "netlink=" + Outcome(::syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 0)) + ";";
    return r;
  });
  EXPECT_EQ(out, "unix=ok;inet=EPERM;netlink=EPERM;");
}

TEST(SeccompFilterTest, ThreadsStillStartButNamespacesDoNot) {
  std::string out = InChild(Minimal(), [] {
    std::string r;
    // clone3 reports ENOSYS so that libc falls back to clone, whose flags
    // the filter can check.
    r += "clone3=" + Outcome(::syscall(SYS_clone3, nullptr, 0)) + ";";
    bool ran = false;
    std::thread t([&] { ran = true; });
    t.join();
    r += std::string("thread=") + (ran ? "ok" : "no") + ";";
    r += "clone_newuser=" +
         Outcome(::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0)) + ";";
    r += "unshare=" + Outcome(::syscall(SYS_unshare, CLONE_NEWNS)) + ";";
    return r;
  });
  EXPECT_EQ(out, "clone3=ENOSYS;thread=ok;clone_newuser=EPERM;unshare=EPERM;");
}

TEST(SeccompFilterTest, AppliesToThreadsThatExistedBefore) {
  std::string out = snapvol::testing::ChildReport([] {
    // A thread started before the filter, blocked until it is installed.
    int gate[2];
    if (::pipe(gate) != 0) return std::string("pipe failed");
    std::string seen;
    std::thread t([&] {
      char c;
      if (::read(gate[0], &c, 1) != 1) return;
      seen = Outcome(::syscall(SYS_mkdirat, AT_FDCWD, "/tmp/snapvol-seccomp-y", 0700));
    });
    Status s = InstallSyscallAllowlist(Minimal());
    bool opened = ::write(gate[1], "x", 1) == 1;
    t.join();
    if (!opened) return std::string("gate failed");
    return s.ok() ? seen : s.ToString();
  });
  EXPECT_EQ(out, "EPERM");
}

}  // namespace
}  // namespace snapvol::core
