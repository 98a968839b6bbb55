#include "driver/fs/sandbox.h"

#include <linux/capability.h>
#include <linux/fs.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace snapvol::fs {

core::SyscallAllowlist MountServerAllowlist() {
  core::SyscallAllowlist list;
  list.syscalls = {
      // Data I/O: /dev/fuse, the write layer, chunk files, SQLite.
      "read",
      "write",
      "readv",
      "writev",
      "pread64",
      "pwrite64",
      "preadv",
      "pwritev",
      "preadv2",
      "pwritev2",
      "lseek",
      "splice",
      "vmsplice",
      "tee",
      "sendfile",
      "copy_file_range",
      "fallocate",
      "ftruncate",
      "truncate",
      "fsync",
      "fdatasync",
      "sync_file_range",
      "syncfs",
      "fadvise64",
      "readahead",
      // Files and directories of the store, state dir and write layer.
      "open",
      "openat",
      "openat2",
      "close",
      "close_range",
      "creat",
      "stat",
      "fstat",
      "lstat",
      "newfstatat",
      "statx",
      "statfs",
      "fstatfs",
      "getdents64",
      "mkdir",
      "mkdirat",
      "rmdir",
      "unlink",
      "unlinkat",
      "rename",
      "renameat",
      "renameat2",
      "link",
      "linkat",
      "symlink",
      "symlinkat",
      "readlink",
      "readlinkat",
      "chmod",
      "fchmod",
      "fchmodat",
      "chown",
      "fchown",
      "fchownat",
      "lchown",
      "utimensat",
      "access",
      "faccessat",
      "faccessat2",
      "getxattr",
      "lgetxattr",
      "fgetxattr",
      "setxattr",
      "lsetxattr",
      "fsetxattr",
      "listxattr",
      "llistxattr",
      "flistxattr",
      "removexattr",
      "lremovexattr",
      "fremovexattr",
      "dup",
      "dup2",
      "dup3",
      "fcntl",
      "flock",
      "umask",
      "getcwd",
      "chdir",
      "fchdir",
      // Memory.
      "mmap",
      "munmap",
      "mprotect",
      "mremap",
      "madvise",
      "brk",
      "msync",
      "mincore",
      // Threads, time, signals (libfuse's worker pool, background commits).
      "clone",
      "futex",
      "set_robust_list",
      "get_robust_list",
      "rseq",
      "set_tid_address",
      "exit",
      "exit_group",
      "sched_yield",
      "sched_getaffinity",
      "getpid",
      "getppid",
      "gettid",
      "tgkill",
      "tkill",
      "rt_sigaction",
      "rt_sigprocmask",
      "rt_sigreturn",
      "rt_sigtimedwait",
      "sigaltstack",
      "restart_syscall",
      "nanosleep",
      "clock_nanosleep",
      "clock_gettime",
      "clock_getres",
      "gettimeofday",
      "time",
      "getrandom",
      "prlimit64",
      "getrlimit",
      "uname",
      "getuid",
      "geteuid",
      "getgid",
      "getegid",
      "getgroups",
      "getresuid",
      "getresgid",
      "prctl",
      "membarrier",
      // Waiting on descriptors.
      "poll",
      "ppoll",
      "select",
      "pselect6",
      "epoll_create1",
      "epoll_ctl",
      "epoll_wait",
      "epoll_pwait",
      "eventfd2",
      "pipe",
      "pipe2",
      "timerfd_create",
      "timerfd_settime",
      "timerfd_gettime",
      // Sockets: user lookups (nscd) now, the S3 backend's HTTPS later.
      "connect",
      "sendto",
      "recvfrom",
      "sendmsg",
      "recvmsg",
      "getsockopt",
      "setsockopt",
      "getsockname",
      "getpeername",
      "shutdown",
      "socketpair",
      // Tearing the mount down at exit (root: umount2 directly).
      "umount2",
  };
  list.socket_families = {AF_UNIX, AF_INET, AF_INET6};
  // FUSE_DEV_IOC_BACKING_OPEN and _CLOSE on /dev/fuse (passthrough reads,
  // fuse_ops.cc); no other ioctl.
  list.ioctl_requests = {kFuseBackingOpen, kFuseBackingClose};
  return list;
}

bool ShouldSandboxMountServer() {
  if (::geteuid() != 0) return false;
  const char* env = std::getenv("SNAPVOL_SECCOMP");
  return env == nullptr || std::strcmp(env, "0") != 0;
}

core::SyscallAllowlist MountServerStartupAllowlist() {
  core::SyscallAllowlist list = MountServerAllowlist();
  // The Orlov spread flag on the state directory (SpreadChildren).
  list.ioctl_requests.push_back(FS_IOC_GETFLAGS);
  list.ioctl_requests.push_back(FS_IOC_SETFLAGS);
  for (const char* extra : {"mount", "capget", "capset", "prctl", "getrlimit", "setrlimit",
                            "prlimit64", "setsid", "sched_setaffinity", "seccomp"}) {
    list.syscalls.push_back(extra);
  }
  return list;
}

core::SyscallAllowlist DriverAllowlist() {
  core::SyscallAllowlist list = MountServerStartupAllowlist();
  for (const char* extra : {// Starting the mount helper (posix_spawn) and reaping it and servers.
                            "execve", "execveat", "clone3", "vfork", "fork", "wait4", "waitid",
                            "kill", "setpgid", "getpgid", "getpgrp", "pidfd_open",
                            // What the dynamic loader of an exec'd program does first (TLS).
                            "arch_prctl",
                            // Serving gRPC on its unix socket.
                            "bind", "listen", "accept", "accept4", "epoll_pwait2", "eventfd",
                            "sched_getparam", "sched_getscheduler", "sysinfo", "getcpu"}) {
    list.syscalls.push_back(extra);
  }
  return list;
}

core::Status SandboxMountServerStartup() {
  return core::InstallSyscallAllowlist(MountServerStartupAllowlist())
      .Annotate("sandboxing the mount server's start-up");
}

uint64_t CurrentEffectiveCapabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return 0;
  return static_cast<uint64_t>(data[0].effective) |
         (static_cast<uint64_t>(data[1].effective) << 32);
}

core::Status SandboxMountServer() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct have[2] = {};
  if (::syscall(SYS_capget, &header, have) != 0) {
    return core::Status::FromErrno(errno, "reading the mount server's capabilities");
  }
  __user_cap_data_struct data[2] = {};
  for (int cap : {CAP_SYS_ADMIN, CAP_SYS_RESOURCE}) {
    // Kept only if held (a container's root may lack CAP_SYS_RESOURCE).
    const uint32_t bit = CAP_TO_MASK(cap) & have[CAP_TO_INDEX(cap)].permitted;
    data[CAP_TO_INDEX(cap)].effective |= bit;
    data[CAP_TO_INDEX(cap)].permitted |= bit;
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return core::Status::FromErrno(errno, "clearing the mount server's ambient capabilities");
  }
  if (::syscall(SYS_capset, &header, data) != 0) {
    return core::Status::FromErrno(errno, "dropping the mount server's capabilities");
  }
  return core::InstallSyscallAllowlist(MountServerAllowlist())
      .Annotate("sandboxing the mount server");
}

}  // namespace snapvol::fs
