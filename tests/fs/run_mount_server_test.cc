// The server process body without a kernel mount: a server that cannot
// open its store reports why on the ready pipe and exits 1 (in a child
// process: RunMountServer may install a seccomp filter and tunes malloc).
// Serving is e2e (mount_e2e_test.cc, cli_mount_e2e_test.cc).
#include "driver/fs/run_mount_server.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "driver/fs/startup_report.h"

namespace snapvol::fs {
namespace {

struct Outcome {
  int exit_code = -1;
  std::string report;
};

Outcome RunInChild(const MountOptions& options, bool with_sandbox) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (!with_sandbox) ::setenv("SNAPVOL_SECCOMP", "0", 1);
    ServeOptions serve;
    serve.ready_fd = fds[1];
    ::_exit(RunMountServer(options, serve));
  }
  ::close(fds[1]);
  Outcome out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) out.report.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

MountOptions Missing() {
  MountOptions o;
  o.store = "/nonexistent/snapvol-store";
  o.state_dir = "/nonexistent/snapvol-state";
  o.volume = "v";
  o.mountpoint = "/nonexistent/mp";
  return o;
}

TEST(RunMountServerTest, AStartupFailureIsReportedOnTheReadyPipe) {
  for (bool sandbox : {false, true}) {
    Outcome out = RunInChild(Missing(), sandbox);
    EXPECT_EQ(out.exit_code, 1) << sandbox;
    core::Status st = DecodeStartup(out.report);
    EXPECT_FALSE(st.ok()) << sandbox;
    // The server's own reason, not "exited during startup".
    EXPECT_EQ(st.message().find("exited during startup"), std::string::npos) << st.ToString();
  }
}

}  // namespace
}  // namespace snapvol::fs
