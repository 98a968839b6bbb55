// RunMountServer: the body of a mount server process (`snapvol-mount`).
// fs::Mount() (mount.h, the client side) starts that process; this is the
// server side: process set-up (malloc tuning, descriptor limit, seccomp),
// MountServer::Open, ServeFuse until unmounted, then the final commit.
#pragma once

#include "driver/fs/mount.h"

namespace snapvol::fs {

struct ServeOptions {
  // Where the startup result goes (startup_report.h); -1 for none.
  int ready_fd = -1;
  // Serving for `snapvol mount --foreground` (the CLI process exec'ed into
  // the server): keep stderr, and say on stdout when the mount is ready and
  // when it is gone. Otherwise stderr goes to the mount's server.log.
  bool foreground = false;
};

// Serves `options` (already validated by Mount) until the file system is
// unmounted or the process is told to stop (SIGTERM, SIGINT, SIGHUP), then
// makes the final commit. Returns the process exit code: 0 served and
// committed, 1 failed to start, 2 (1 in the foreground, as `snapvol` exits)
// the final commit failed (the changes stay for `snapvol recover`).
int RunMountServer(const MountOptions& options, const ServeOptions& serve);

}  // namespace snapvol::fs
