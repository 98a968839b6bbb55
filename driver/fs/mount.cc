#include "driver/fs/mount.h"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "driver/fs/control_json.h"
#include "driver/fs/mount_inspect.h"
#include "driver/fs/posix_error.h"
#include "driver/fs/recovery.h"
#include "driver/fs/startup_report.h"

namespace snapvol::fs {
namespace {

Result<std::string> RealPath(const std::string& path, const std::string& what) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) {
    return Status::FromErrno(errno, what + " '" + path + "'");
  }
  return std::string(buf);
}

std::string Absolute(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

}  // namespace

std::vector<std::string> ServerEnvironment(char** env) {
  // glibc reads its tunables only at start, so the launcher sets them.
  // hugetlb=1: malloc marks the memory it gets from the kernel for
  // transparent huge pages (madvise), which takes effect where THP is
  // "madvise" or "always". The caller's own tunables come after ours and so
  // win.
  constexpr std::string_view kName = "GLIBC_TUNABLES=";
  std::string tunables = std::string(kName) + "glibc.malloc.hugetlb=1";
  std::vector<std::string> out;
  for (char** e = env; e != nullptr && *e != nullptr; ++e) {
    std::string_view v(*e);
    if (v.substr(0, kName.size()) == kName) {
      if (v.size() > kName.size()) tunables += ":" + std::string(v.substr(kName.size()));
      continue;
    }
    out.emplace_back(v);
  }
  out.push_back(tunables);
  return out;
}

namespace {

Status FromXattrErrno(int e, const std::string& what, const std::string& mountpoint) {
  if (e == ENOTSUP || e == ENODATA) {
    return Status::InvalidArgument("'" + mountpoint + "' is not a snapvol mount");
  }
  return PosixError(e, what + " of mount '" + mountpoint + "' failed: " + std::strerror(e));
}

Result<std::string> ReadControl(const std::string& mountpoint, const char* name) {
  std::string buf(256 << 10, '\0');
  ssize_t n = ::getxattr(mountpoint.c_str(), name, buf.data(), buf.size());
  if (n < 0) return FromXattrErrno(errno, name, mountpoint);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

// The server's detailed message for a failed commit, if it has one.
Status Detailed(const Status& failed, const std::string& mountpoint) {
  Result<MountStatus> st = StatusOf(mountpoint);
  if (st.ok() && st->has_last_commit && !st->last_commit_ok && !st->last_commit_error.empty()) {
    return Status(failed.code(),
                  "commit of mount '" + mountpoint + "' failed: " + st->last_commit_error,
                  failed.sys_errno());
  }
  return failed;
}

Status WaitExit(int pid, int timeout_ms) {
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    if (errno == ESRCH) return Status::Ok();
    // No pidfd: poll for the process.
    for (int waited = 0; waited < timeout_ms; waited += 50) {
      if (::kill(pid, 0) != 0 && errno == ESRCH) return Status::Ok();
      ::usleep(50'000);
    }
    return Status::Unavailable("mount server " + std::to_string(pid) + " did not exit");
  }
  struct pollfd p = {pidfd, POLLIN, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, timeout_ms);
  } while (rc < 0 && errno == EINTR);
  ::close(pidfd);
  if (rc == 0) return Status::Unavailable("mount server " + std::to_string(pid) + " did not exit");
  return Status::Ok();
}

std::string ServerBinary(const std::string& configured) {
  if (!configured.empty()) return configured;
  if (const char* env = std::getenv("SNAPVOL_MOUNT_SERVER"); env != nullptr && *env) return env;
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    self[n] = '\0';
    std::string beside = std::filesystem::path(self).parent_path().string() + "/snapvol-mount";
    if (::access(beside.c_str(), X_OK) == 0) return beside;
  }
#ifdef SNAPVOL_MOUNT_SERVER_BUILD_PATH
  if (::access(SNAPVOL_MOUNT_SERVER_BUILD_PATH, X_OK) == 0) return SNAPVOL_MOUNT_SERVER_BUILD_PATH;
#endif
  return "snapvol-mount";
}

// Replaces this process with the server; returns only if exec failed.
void ExecServer(const std::string& server, std::vector<std::string>& args,
                std::vector<char*>& envp) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (server.find('/') != std::string::npos) {
    ::execve(server.c_str(), argv.data(), envp.data());
  } else {
    ::execvpe(server.c_str(), argv.data(), envp.data());
  }
}

Status KernelUnmount(const std::string& mountpoint) {
  Status st = UnmountFuse(mountpoint, /*lazy=*/false);
  if (st.sys_errno() == EBUSY) {
    return Status::FailedPrecondition("mount '" + mountpoint + "' is busy (files are open)");
  }
  return st;
}

}  // namespace

Status Mount(const MountOptions& in) {
  MountOptions o = in;
  if (o.store.empty()) return Status::InvalidArgument("no store given");
  if (o.volume.empty()) return Status::InvalidArgument("no volume given");
  if (o.mountpoint.empty()) return Status::InvalidArgument("no mountpoint given");
  if (o.fuse_fd >= 0 && o.foreground) {
    return Status::InvalidArgument(
        "a handed-over FUSE connection cannot be served in the foreground");
  }
  if (o.fuse_fd < 0) {
    ASSIGN_OR_RETURN(o.mountpoint, RealPath(o.mountpoint, "mountpoint"));
    struct stat st;
    if (::stat(o.mountpoint.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Status::InvalidArgument("mountpoint '" + o.mountpoint + "' is not a directory");
    }
  }
  o.store = Absolute(o.store);
  if (o.state_dir.empty()) o.state_dir = DefaultStateDir(o.store);
  o.state_dir = Absolute(o.state_dir);
  if (o.version != 0) o.read_only = true;
  if (o.commit_interval.count() < 0) return Status::InvalidArgument("negative commit interval");

  const std::string server = ServerBinary(o.server_binary);
  // The server finds a handed-over FUSE connection at descriptor 4.
  const int fuse_fd = o.fuse_fd;
  if (fuse_fd >= 0) o.fuse_fd = 4;
  const std::string encoded = EncodeMountOptions(o);
  std::vector<std::string> env = ServerEnvironment(environ);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  if (o.foreground) {
    // This process becomes the server: its pid, terminal and signals are
    // the caller's, and the CLI links no FUSE (docs/architecture.md).
    std::vector<std::string> args = {server, "--foreground", "--options", encoded};
    std::fflush(nullptr);
    ExecServer(server, args, envp);
    return Status::FromErrno(errno, "starting mount server '" + server + "'");
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return Status::FromErrno(e, "fork");
  }
  if (pid == 0) {
    // Detach (own session, re-parented to init, cwd "/", no terminal) and
    // exec a fresh server process: nothing of the caller's state (open
    // SQLite connections, threads, locks) may leak into a long-lived server.
    ::setsid();
    pid_t grandchild = ::fork();
    if (grandchild != 0) ::_exit(grandchild < 0 ? 1 : 0);
    if (::chdir("/") != 0) ::_exit(1);
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, STDIN_FILENO);
      ::dup2(devnull, STDOUT_FILENO);
      ::dup2(devnull, STDERR_FILENO);
    }
    // Out of the way of 3 and 4 first (either may be one of them).
    const int fuse = fuse_fd >= 0 ? ::fcntl(fuse_fd, F_DUPFD_CLOEXEC, 10) : -1;
    const int ready = ::fcntl(fds[1], F_DUPFD_CLOEXEC, 10);
    if (ready < 0 || (fuse_fd >= 0 && fuse < 0)) ::_exit(1);
    ::dup2(ready, 3);  // clears close-on-exec on the copy
    if (fuse >= 0) ::dup2(fuse, 4);
    ::close_range(fuse >= 0 ? 5 : 4, ~0U, 0);
    std::vector<std::string> args = {server, "--ready-fd", "3", "--options", encoded};
    ExecServer(server, args, envp);
    WriteStartup(3, Status::FromErrno(errno, "starting mount server '" + server + "'"));
    ::_exit(127);
  }
  ::close(fds[1]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string msg;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    msg.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  Status s = DecodeStartup(msg);
  if (!s.ok()) {
    return Status(s.code(),
                  "mounting volume '" + o.volume + "' at '" + o.mountpoint + "': " + s.message(),
                  s.sys_errno());
  }
  return s;
}

Result<MountStatus> StatusOf(const std::string& mountpoint) {
  ASSIGN_OR_RETURN(std::string mp, RealPath(mountpoint, "mountpoint"));
  ASSIGN_OR_RETURN(std::string json, ReadControl(mp, kXattrStatus));
  return DecodeMountStatus(json);
}

Result<CommitInfo> CommitMount(const std::string& mountpoint) {
  ASSIGN_OR_RETURN(std::string mp, RealPath(mountpoint, "mountpoint"));
  Result<std::string> json = ReadControl(mp, kXattrCommit);
  if (!json.ok()) return Detailed(json.status(), mp);
  return DecodeCommitInfo(*json);
}

Status ReloadMount(const std::string& mountpoint) {
  ASSIGN_OR_RETURN(std::string mp, RealPath(mountpoint, "mountpoint"));
  return ReadControl(mp, kXattrReload).status();
}

Status Unmount(const std::string& mountpoint) {
  ASSIGN_OR_RETURN(std::string mp, RealPath(mountpoint, "mountpoint"));
  ASSIGN_OR_RETURN(MountStatus st, StatusOf(mp));
  Status committed = Status::Ok();
  if (!st.read_only) committed = CommitMount(mp).status();
  RETURN_IF_ERROR(KernelUnmount(mp));
  // The server commits anything left and exits; a large final commit may
  // take a while.
  Status exited = WaitExit(st.pid, 10 * 60 * 1000);
  if (!committed.ok()) {
    return Status(committed.code(),
                  "unmounted '" + mp + "', but its changes could not be committed (" +
                      committed.message() + "); they are kept for `snapvol recover`",
                  committed.sys_errno());
  }
  return exited;
}

Result<RecoverReport> Recover(const std::string& store, const std::string& state_dir) {
  const std::string abs_store = Absolute(store);
  const std::string dir = state_dir.empty() ? DefaultStateDir(abs_store) : Absolute(state_dir);
  core::Env* env = core::Env::Default();
  ASSIGN_OR_RETURN(std::unique_ptr<store::Store> s, store::OpenStore(abs_store, env));
  volume::Engine engine(s.get(), env);
  return RecoverMounts(engine, dir);
}

}  // namespace snapvol::fs
