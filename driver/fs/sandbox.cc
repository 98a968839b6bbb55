#include "driver/fs/sandbox.h"

#include <sys/socket.h>
#include <unistd.h>

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

core::Status SandboxMountServer() {
  return core::InstallSyscallAllowlist(MountServerAllowlist())
      .Annotate("sandboxing the mount server");
}

}  // namespace snapvol::fs
