#include "driver/fs/run_mount_server.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include "driver/fs/fuse_session.h"
#include "driver/fs/mount_server.h"
#include "driver/fs/sandbox.h"
#include "driver/fs/startup_report.h"

namespace snapvol::fs {
namespace {

// Chunk files are served from open descriptors (ChunkCache), and every file
// written since the last commit keeps its upper file open: a job writing
// 100k files before committing needs 100k descriptors. Take the soft limit
// up to the hard one, and as root (CAP_SYS_RESOURCE) the hard one up to the
// kernel's ceiling, since a container runtime's default (often 20k or less)
// would otherwise fail such a job with EMFILE.
void RaiseOpenFileLimit() {
  struct rlimit nofile;
  if (::getrlimit(RLIMIT_NOFILE, &nofile) != 0) return;
  rlim_t ceiling = 0;
  std::ifstream nr_open("/proc/sys/fs/nr_open");
  if (!(nr_open >> ceiling)) ceiling = 0;
  if (ceiling > nofile.rlim_max) {
    struct rlimit raised = {ceiling, ceiling};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return;
  }
  if (nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
}

// "volume 'V' in environment 'E'", as the CLI names a volume.
std::string VolumeName(const MountOptions& o) {
  return "volume '" + o.volume + "' in environment '" + o.environment + "'";
}

}  // namespace

int RunMountServer(const MountOptions& options, const ServeOptions& serve) {
  const bool daemon = serve.ready_fd >= 0 && !serve.foreground;
  // Up to 64 FUSE threads would each grow a malloc arena of their own; the
  // View serializes on one lock anyway. One arena also grows by brk with a
  // large pad instead of a thread heap's mprotect per 4 KiB, and with the
  // transparent huge pages ServerEnvironment asks for, a cold `find` over
  // 100k files takes ~600 page faults instead of ~14,000 (on a
  // paravirtualised VM each costs tens of microseconds): server CPU
  // 0.49-0.54 s -> 0.26-0.39 s.
  ::mallopt(M_ARENA_MAX, 1);
  ::mallopt(M_TOP_PAD, 64 << 20);
  RaiseOpenFileLimit();
  bool reported = false;
  auto report = [&](const Status& s) {
    if (serve.ready_fd >= 0 && !reported) {
      WriteStartup(serve.ready_fd, s);
      ::close(serve.ready_fd);
    }
    reported = true;
  };
  auto fail = [&](const Status& s) {
    report(s);
    if (!daemon) {
      std::fprintf(stderr, "snapvol mount: %s\n", s.ToString().c_str());
      if (serve.foreground) {
        std::fprintf(stderr, "snapvol: serving %s at '%s' ended with an error (see above)\n",
                     VolumeName(options).c_str(), options.mountpoint.c_str());
      }
    }
    return 1;
  };
  // Fail closed: a server that cannot sandbox itself does not serve
  // (SNAPVOL_SECCOMP=0 turns the sandbox off, for debugging).
  const bool sandbox = ShouldSandboxMountServer();
  if (sandbox) {
    if (Status st = SandboxMountServerStartup(); !st.ok()) return fail(st);
  }
  Result<std::unique_ptr<MountServer>> server = MountServer::Open(options);
  if (!server.ok()) return fail(server.status());
  if (daemon && !(*server)->mount_dir().empty()) {
    const std::string log = (*server)->mount_dir() + "/server.log";
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::dup2(fd, STDERR_FILENO);
      ::close(fd);
    }
  }
  Status served = ServeFuse(**server, [&]() -> Status {
    // The mount exists: from here on the server only serves files.
    if (sandbox) RETURN_IF_ERROR(SandboxMountServer());
    report(Status::Ok());
    if (serve.foreground) {
      std::printf(
          "Mounted %s at '%s' (version %llu); serving in the foreground until it is "
          "unmounted (snapvol unmount, Ctrl-C or SIGTERM).\n",
          VolumeName(options).c_str(), options.mountpoint.c_str(),
          static_cast<unsigned long long>((*server)->view().base_version()));
      std::fflush(stdout);
    }
    return Status::Ok();
  });
  if (!reported) {
    return fail(served.ok() ? Status::Internal("the mount ended before it was ready") : served);
  }
  if (!served.ok()) std::fprintf(stderr, "snapvol mount: %s\n", served.ToString().c_str());
  Status done = (*server)->Shutdown();
  if (!done.ok()) {
    std::fprintf(stderr, "snapvol mount: %s\n", done.ToString().c_str());
    return serve.foreground ? 1 : 2;
  }
  if (serve.foreground) {
    std::printf("Unmounted '%s'.\n", options.mountpoint.c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace snapvol::fs
